import { ErrorCode } from '@albatross/protocol';
import type { Identity } from '../auth/identity.js';
import { AlbatrossError } from '../errors.js';
import type { ConnectionCounter, ConnectionLimits } from '../limits/connection-counter.js';

/** Share of `maxConnections` unauthenticated connections get when no explicit cap is set. */
export const DEFAULT_UNAUTHENTICATED_SHARE = 0.1;

/** Limits {@link Admission} enforces; every one is optional (unset: unlimited). */
export interface AdmissionLimits extends ConnectionLimits {
  /** Every connection of the node: unauthenticated, authenticated and upgrades in flight. */
  readonly maxConnections?: number;
  /**
   * Unauthenticated connections (upgraded without a credential, waiting for
   * their `auth` frame). Default: {@link DEFAULT_UNAUTHENTICATED_SHARE} of
   * `maxConnections`, rounded up, when that is set.
   */
  readonly maxUnauthenticated?: number;
  /** Unauthenticated connections per source address key (see `sourceKey`). */
  readonly maxUnauthenticatedPerAddress?: number;
}

/** One admitted connection's hold on the limits, from admission until {@link AdmissionTicket.release}. */
export interface AdmissionTicket {
  /** `unauthenticated` until promoted; `released` once released. */
  readonly kind: 'unauthenticated' | 'authenticated' | 'released';
  /** Gives every count back; idempotent, so every way a socket can end may call it. */
  release(): void;
}

/** Snapshot of the counts, for metrics and tests. */
export interface AdmissionCounts {
  readonly total: number;
  readonly unauthenticated: number;
}

const limitReached = (message: string) => new AlbatrossError(ErrorCode.CONNECTION_LIMIT, message);

/**
 * The one owner of connection admission on a node.
 *
 * Every connection holds one slot of `maxConnections` from its upgrade until
 * its socket closes. Connections that upgrade without a credential also hold
 * one of the smaller unauthenticated share (and one of their source
 * address's), until they authenticate with their first frame: silent sockets
 * can fill that share and no more, so an upgrade that carries a valid
 * credential is admitted whenever the node has room. Authenticated
 * connections are also counted per tenant and per user by the
 * {@link ConnectionCounter} (shared across nodes when the broker provides one).
 *
 * Slots are taken synchronously, so concurrent upgrades cannot overshoot a
 * cap; only the per-tenant and per-user count may be asynchronous.
 */
export class Admission {
  private total = 0;
  private unauthenticated = 0;
  private readonly byAddress = new Map<string, number>();
  private readonly maxUnauthenticated: number | undefined;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly counter: ConnectionCounter,
  ) {
    this.maxUnauthenticated =
      limits.maxUnauthenticated ??
      (limits.maxConnections === undefined
        ? undefined
        : Math.max(1, Math.ceil(limits.maxConnections * DEFAULT_UNAUTHENTICATED_SHARE)));
  }

  /**
   * Whether unauthenticated connections are counted per source address (a
   * per-address cap is set). When not, callers may pass any constant key
   * and spare reading the peer's address.
   */
  get countsAddresses(): boolean {
    return this.limits.maxUnauthenticatedPerAddress !== undefined;
  }

  /** The unauthenticated cap in force (explicit, or the default share). */
  get unauthenticatedLimit(): number | undefined {
    return this.maxUnauthenticated;
  }

  /** Current counts. */
  counts(): AdmissionCounts {
    return { total: this.total, unauthenticated: this.unauthenticated };
  }

  /**
   * Cheap refusal before any work is spent on an upgrade (credential
   * verification, broker round trip). Throws `CONNECTION_LIMIT` when an
   * upgrade of this kind could not be admitted now; admits nothing.
   */
  precheck(authenticated: boolean, address: string): void {
    this.checkTotal();
    if (!authenticated) this.checkUnauthenticated(address);
  }

  /**
   * Admits a connection that has no credential yet: one slot of the node, of
   * the unauthenticated share and of its address. Throws `CONNECTION_LIMIT`.
   */
  admitUnauthenticated(address: string): AdmissionTicket {
    this.checkTotal();
    this.checkUnauthenticated(address);
    this.total += 1;
    this.unauthenticated += 1;
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    return new Ticket(this, address);
  }

  /**
   * Admits a connection whose credential was verified on the upgrade: one
   * slot of the node (taken before the per-tenant/per-user count is awaited,
   * so concurrent upgrades cannot overshoot), then the tenant and user
   * counts. Throws `CONNECTION_LIMIT`; nothing stays counted then.
   */
  async admitAuthenticated(identity: Identity): Promise<AdmissionTicket> {
    this.checkTotal();
    this.total += 1;
    const ticket = new Ticket(this, null);
    try {
      await this.acquireIdentity(identity);
    } catch (error) {
      ticket.release();
      throw error;
    }
    ticket.authenticate(identity);
    return ticket;
  }

  /**
   * Turns an unauthenticated ticket into an authenticated one after a
   * first-frame `auth`: counts the tenant and user, then frees the
   * unauthenticated slot (the node slot is kept). Throws `CONNECTION_LIMIT`
   * and leaves the ticket as it was. When the ticket was released while the
   * count was awaited (the socket closed), the count is given back at once.
   */
  async promote(ticket: AdmissionTicket, identity: Identity): Promise<void> {
    if (!(ticket instanceof Ticket) || ticket.owner !== this) throw new Error('ticket of another admission');
    if (ticket.kind !== 'unauthenticated') return;
    await this.acquireIdentity(identity);
    if (ticket.kind !== 'unauthenticated') {
      // Released meanwhile, or promoted by a concurrent call: this count is not owned by anyone.
      this.counter.release(identity.tenantId, identity.userId);
      return;
    }
    this.leaveUnauthenticated(ticket.address);
    ticket.authenticate(identity);
  }

  /** @internal Called by a ticket, once. */
  releaseTicket(ticket: Ticket, kindBefore: 'unauthenticated' | 'authenticated'): void {
    this.total -= 1;
    if (kindBefore === 'unauthenticated') this.leaveUnauthenticated(ticket.address);
    else if (ticket.identity) this.counter.release(ticket.identity.tenantId, ticket.identity.userId);
  }

  private leaveUnauthenticated(address: string | null): void {
    this.unauthenticated -= 1;
    if (address === null) return;
    const count = this.byAddress.get(address) ?? 0;
    if (count <= 1) this.byAddress.delete(address);
    else this.byAddress.set(address, count - 1);
  }

  private checkTotal(): void {
    if (this.limits.maxConnections !== undefined && this.total >= this.limits.maxConnections) {
      throw limitReached('server connection limit reached');
    }
  }

  private checkUnauthenticated(address: string): void {
    if (this.maxUnauthenticated !== undefined && this.unauthenticated >= this.maxUnauthenticated) {
      throw limitReached(
        'too many unauthenticated connections: send the credential on the upgrade (Authorization header) or retry later',
      );
    }
    const perAddress = this.limits.maxUnauthenticatedPerAddress;
    if (perAddress !== undefined && (this.byAddress.get(address) ?? 0) >= perAddress) {
      throw limitReached('too many unauthenticated connections from this address');
    }
  }

  private async acquireIdentity(identity: Identity): Promise<void> {
    const result = await this.counter.acquire(identity.tenantId, identity.userId, this.limits);
    switch (result) {
      case 'ok':
        return;
      case 'tenant':
      case 'user':
        throw limitReached(`too many connections for this ${result}`);
      default: {
        const unexpected: never = result;
        throw new Error(`unexpected acquire result ${JSON.stringify(unexpected)}`);
      }
    }
  }
}

/** The ticket {@link Admission} hands out. */
class Ticket implements AdmissionTicket {
  kind: 'unauthenticated' | 'authenticated' | 'released';
  identity: Identity | null = null;

  constructor(
    readonly owner: Admission,
    /** Source address key while unauthenticated; null once authenticated (not kept for the connection's life). */
    public address: string | null,
  ) {
    this.kind = address === null ? 'authenticated' : 'unauthenticated';
  }

  authenticate(identity: Identity): void {
    this.kind = 'authenticated';
    this.identity = identity;
    this.address = null;
  }

  release(): void {
    if (this.kind === 'released') return;
    const before = this.kind;
    this.kind = 'released';
    this.owner.releaseTicket(this, before);
  }
}
