import { describe, expect, it } from 'vitest';
import type { Identity } from '../../src/auth/identity.js';
import { Admission, type AdmissionTicket } from '../../src/connection/admission.js';
import { AlbatrossError } from '../../src/errors.js';
import {
  type AcquireResult,
  type ConnectionCounter,
  type ConnectionLimits,
  LocalConnectionCounter,
} from '../../src/limits/connection-counter.js';

const identity = (userId: string, tenantId = 't1'): Identity => ({
  userId,
  tenantId,
  roles: [],
  channels: [],
  credential: { kind: 'jwt' },
});

/** Fake counter whose acquire resolves only when the test says so. */
class GatedCounter implements ConnectionCounter {
  readonly inner = new LocalConnectionCounter();
  readonly released: string[] = [];
  private gates: Array<() => void> = [];

  async acquire(tenantId: string, userId: string, limits: ConnectionLimits): Promise<AcquireResult> {
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return this.inner.acquire(tenantId, userId, limits);
  }

  release(tenantId: string, userId: string): void {
    this.released.push(`${tenantId}/${userId}`);
    this.inner.release(tenantId, userId);
  }

  open(): void {
    for (const gate of this.gates.splice(0)) gate();
  }
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AlbatrossError);
    expect((error as AlbatrossError).code).toBe('CONNECTION_LIMIT');
    return (error as AlbatrossError).message;
  }
  throw new Error('expected a CONNECTION_LIMIT refusal');
}

describe('Admission: unauthenticated connections have their own share (D4)', () => {
  it('20 silent sockets on a node capped at 20 leave room for authenticated connections', async () => {
    const admission = new Admission({ maxConnections: 20 }, new LocalConnectionCounter());
    expect(admission.unauthenticatedLimit).toBe(2); // 10 % of 20
    const silent: AdmissionTicket[] = [];
    const refused: string[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        silent.push(admission.admitUnauthenticated('198.51.100.1'));
      } catch (error) {
        refused.push((error as AlbatrossError).code);
      }
    }
    expect(silent).toHaveLength(2);
    expect(refused).toEqual(Array(18).fill('CONNECTION_LIMIT'));
    // Every one of the remaining 18 slots goes to authenticated connections.
    const authed: AdmissionTicket[] = [];
    for (let i = 0; i < 18; i++) authed.push(await admission.admitAuthenticated(identity(`u${i}`)));
    expect(admission.counts()).toEqual({ total: 20, unauthenticated: 2 });
    // Now the node is full, for everyone.
    await expect(admission.admitAuthenticated(identity('late'))).rejects.toMatchObject({ code: 'CONNECTION_LIMIT' });
    expect(refusal(() => admission.admitUnauthenticated('203.0.113.9'))).toMatch(/server connection limit/);
    // A closed authenticated connection frees a slot for the next one.
    authed[0]?.release();
    expect((await admission.admitAuthenticated(identity('late'))).kind).toBe('authenticated');
  });

  it('rounds the default share up, never to 0; an explicit cap wins; without any cap nothing is refused', async () => {
    expect(new Admission({ maxConnections: 1 }, new LocalConnectionCounter()).unauthenticatedLimit).toBe(1);
    expect(new Admission({ maxConnections: 25 }, new LocalConnectionCounter()).unauthenticatedLimit).toBe(3);
    const explicit = new Admission({ maxConnections: 100, maxUnauthenticated: 5 }, new LocalConnectionCounter());
    expect(explicit.unauthenticatedLimit).toBe(5);
    const open = new Admission({}, new LocalConnectionCounter());
    expect(open.unauthenticatedLimit).toBeUndefined();
    for (let i = 0; i < 1000; i++) open.admitUnauthenticated('198.51.100.1');
    expect(open.counts()).toEqual({ total: 1000, unauthenticated: 1000 });
  });

  it('caps unauthenticated connections per source address, leaving the share to other addresses', () => {
    const admission = new Admission(
      { maxConnections: 100, maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 3 },
      new LocalConnectionCounter(),
    );
    const mine = [1, 2, 3].map(() => admission.admitUnauthenticated('198.51.100.1'));
    expect(refusal(() => admission.admitUnauthenticated('198.51.100.1'))).toMatch(/from this address/);
    expect(refusal(() => admission.precheck(false, '198.51.100.1'))).toMatch(/from this address/);
    // The precheck of an authenticated upgrade from the same address passes.
    expect(() => admission.precheck(true, '198.51.100.1')).not.toThrow();
    for (let i = 0; i < 3; i++) admission.admitUnauthenticated('203.0.113.2');
    mine[0]?.release();
    mine[0]?.release(); // idempotent: counted back once
    expect(admission.counts()).toEqual({ total: 5, unauthenticated: 5 });
    admission.admitUnauthenticated('198.51.100.1');
    expect(refusal(() => admission.admitUnauthenticated('198.51.100.1'))).toMatch(/from this address/);
  });

  it('a first-frame auth moves the connection out of the unauthenticated share, keeping its node slot', async () => {
    const admission = new Admission(
      { maxConnections: 10, maxUnauthenticated: 1, maxUnauthenticatedPerAddress: 1 },
      new LocalConnectionCounter(),
    );
    const ticket = admission.admitUnauthenticated('198.51.100.1');
    expect(refusal(() => admission.admitUnauthenticated('203.0.113.2'))).toMatch(/too many unauthenticated/);
    await admission.promote(ticket, identity('u1'));
    expect(ticket.kind).toBe('authenticated');
    expect(admission.counts()).toEqual({ total: 1, unauthenticated: 0 });
    // Both the share and the address's count are free again.
    admission.admitUnauthenticated('198.51.100.1').release();
    ticket.release();
    expect(admission.counts()).toEqual({ total: 0, unauthenticated: 0 });
  });
});

describe('Admission: per-tenant and per-user counts have one owner for both auth paths', () => {
  it('counts upgrade-authenticated and first-frame-authenticated connections against the same limits', async () => {
    const counter = new LocalConnectionCounter();
    const admission = new Admission({ perUser: 2 }, counter);
    const a = await admission.admitAuthenticated(identity('u1'));
    const b = admission.admitUnauthenticated('198.51.100.1');
    await admission.promote(b, identity('u1'));
    const c = admission.admitUnauthenticated('198.51.100.1');
    await expect(admission.promote(c, identity('u1'))).rejects.toMatchObject({
      code: 'CONNECTION_LIMIT',
      message: 'too many connections for this user',
    });
    // The refused promotion left the ticket as it was: still unauthenticated, released once.
    expect(c.kind).toBe('unauthenticated');
    c.release();
    await expect(admission.admitAuthenticated(identity('u1'))).rejects.toMatchObject({ code: 'CONNECTION_LIMIT' });
    // The refused upgrade took no node slot.
    expect(admission.counts()).toEqual({ total: 2, unauthenticated: 0 });
    a.release();
    b.release();
    expect(counter.tenantCount('t1')).toBe(0);
    expect((await admission.admitAuthenticated(identity('u1'))).kind).toBe('authenticated');
  });

  it('concurrent upgrades cannot overshoot the node cap while the per-user count is awaited', async () => {
    const counter = new GatedCounter();
    const admission = new Admission({ maxConnections: 2 }, counter);
    const attempts = Array.from({ length: 5 }, (_, i) => admission.admitAuthenticated(identity(`u${i}`)));
    counter.open();
    const outcomes = await Promise.allSettled(attempts);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(3);
    expect(admission.counts().total).toBe(2);
  });

  it('a ticket released while its promotion is awaited gives the tenant/user count back, never leaking it', async () => {
    const counter = new GatedCounter();
    const admission = new Admission({ perTenant: 1 }, counter);
    const ticket = admission.admitUnauthenticated('198.51.100.1');
    const promotion = admission.promote(ticket, identity('u1'));
    ticket.release(); // the socket closed while the (shared) counter answered
    counter.open();
    await promotion;
    expect(ticket.kind).toBe('released');
    expect(counter.released).toEqual(['t1/u1']);
    expect(counter.inner.tenantCount('t1')).toBe(0);
    expect(admission.counts()).toEqual({ total: 0, unauthenticated: 0 });
  });

  it('releasing an authenticated ticket releases its tenant/user count exactly once', async () => {
    const counter = new GatedCounter();
    const admission = new Admission({}, counter);
    const pending = admission.admitAuthenticated(identity('u1', 't9'));
    counter.open();
    const ticket = await pending;
    ticket.release();
    ticket.release();
    expect(counter.released).toEqual(['t9/u1']);
  });
});
