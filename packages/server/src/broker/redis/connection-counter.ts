import type { AcquireResult, ConnectionCounter, ConnectionLimits } from '../../limits/connection-counter.js';
import type { Logger } from '../../log/logger.js';
import { type CommandClient, FailureLog, LuaScript, redisError } from './client.js';
import type { RedisKeys } from './keys.js';
import { CONNECTION_ACQUIRE_LUA, CONNECTION_RELEASE_LUA, CONNECTION_RENEW_LUA } from './scripts.js';

const ACQUIRE = new LuaScript('connection-acquire', CONNECTION_ACQUIRE_LUA);
const RELEASE = new LuaScript('connection-release', CONNECTION_RELEASE_LUA);
const RENEW = new LuaScript('connection-renew', CONNECTION_RENEW_LUA);

/** This node's own tally for one tenant: the truth its Redis counts are repaired from. */
interface Tally {
  total: number;
  readonly users: Map<string, number>;
  /** Redis may disagree with the tally (a release failed, Redis came back empty). */
  dirty: boolean;
  /** Acquire/release calls in flight: a rewrite waits until there are none. */
  inflight: number;
}

/**
 * Deployment-wide per-tenant and per-user connection counts as expiring
 * leases. Each node keeps its counts in a per-tenant hash and renews a lease
 * (sorted set, score = expiry) every `leaseMs / 3`; counts of a node whose
 * lease expired (crashed) stop counting at once and are purged on the next
 * acquire. Acquire checks and increments in one script, so concurrent
 * connects on several nodes never overshoot a limit.
 */
export class RedisConnectionCounter implements ConnectionCounter {
  readonly nodeId: string;
  private readonly leaseMs: number;
  private readonly logger: Logger;
  private readonly failures: FailureLog;
  private readonly tallies = new Map<string, Tally>();
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;

  constructor(
    private readonly client: CommandClient,
    private readonly keys: RedisKeys,
    options: { nodeId: string; leaseMs: number; logger: Logger },
  ) {
    this.nodeId = options.nodeId.replaceAll('|', '_');
    this.leaseMs = options.leaseMs;
    this.logger = options.logger;
    this.failures = new FailureLog(options.logger);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  async acquire(tenantId: string, userId: string, limits: ConnectionLimits): Promise<AcquireResult> {
    const tally = this.tally(tenantId);
    tally.inflight += 1;
    try {
      const result = await ACQUIRE.run(
        this.client,
        [this.keys.connectionCounts(tenantId), this.keys.connectionLeases(tenantId)],
        [this.nodeId, userId, limits.perTenant ?? -1, limits.perUser ?? -1, this.leaseMs],
      );
      if (result !== 'ok') return result === 'user' ? 'user' : 'tenant';
      tally.total += 1;
      tally.users.set(userId, (tally.users.get(userId) ?? 0) + 1);
      return 'ok';
    } catch (error) {
      throw redisError(error, 'connection count', this.failures);
    } finally {
      tally.inflight -= 1;
      this.forgetIfIdle(tenantId, tally);
    }
  }

  release(tenantId: string, userId: string): void {
    const tally = this.tallies.get(tenantId);
    if (!tally || tally.total === 0) return;
    tally.total -= 1;
    const users = tally.users.get(userId) ?? 0;
    if (users <= 1) tally.users.delete(userId);
    else tally.users.set(userId, users - 1);
    tally.inflight += 1;
    RELEASE.run(this.client, [this.keys.connectionCounts(tenantId)], [this.nodeId, userId])
      .catch(() => {
        tally.dirty = true;
      })
      .finally(() => {
        tally.inflight -= 1;
        this.forgetIfIdle(tenantId, tally);
      });
  }

  /** Redis may have lost or missed counts: rewrite every tenant from the tally on the next renewal. */
  markDirty(): void {
    for (const tally of this.tallies.values()) tally.dirty = true;
  }

  /** Connections this node counts for a tenant (tests, metrics). */
  localCount(tenantId: string): number {
    return this.tallies.get(tenantId)?.total ?? 0;
  }

  /** Renews this node's leases (and repairs dirty counts). */
  renew(): Promise<void> {
    if (this.renewing) return this.renewing;
    this.renewing = this.renewAll().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  private async renewAll(): Promise<void> {
    if (this.client.status !== 'ready') return;
    await Promise.all(
      [...this.tallies].map(async ([tenantId, tally]) => {
        const rewrite = tally.dirty && tally.inflight === 0;
        const args: (string | number)[] = [this.nodeId, this.leaseMs, rewrite ? '1' : '0', tally.total];
        if (rewrite) for (const [user, count] of tally.users) args.push(user, count);
        try {
          await RENEW.run(
            this.client,
            [this.keys.connectionCounts(tenantId), this.keys.connectionLeases(tenantId)],
            args,
          );
          if (rewrite) tally.dirty = false;
          this.forgetIfIdle(tenantId, tally);
        } catch (error) {
          this.logger.debug({ err: (error as Error).message, tenant_id: tenantId }, 'lease renewal failed');
        }
      }),
    );
  }

  private tally(tenantId: string): Tally {
    let tally = this.tallies.get(tenantId);
    if (!tally) {
      tally = { total: 0, users: new Map(), dirty: false, inflight: 0 };
      this.tallies.set(tenantId, tally);
    }
    return tally;
  }

  private forgetIfIdle(tenantId: string, tally: Tally): void {
    if (tally.total === 0 && tally.inflight === 0 && !tally.dirty && this.tallies.get(tenantId) === tally) {
      this.tallies.delete(tenantId);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
