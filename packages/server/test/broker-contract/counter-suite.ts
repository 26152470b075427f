import { describe, expect, it } from 'vitest';
import type { AcquireResult, ConnectionCounter, ConnectionLimits } from '../../src/limits/connection-counter.js';

/**
 * Acquires, retrying while refused for a bounded time: `release` may reach a
 * shared store asynchronously (it returns nothing to wait on).
 */
async function acquireSoon(
  counter: ConnectionCounter,
  tenantId: string,
  userId: string,
  limits: ConnectionLimits,
): Promise<AcquireResult> {
  const deadline = Date.now() + 5000;
  let result = await counter.acquire(tenantId, userId, limits);
  while (result !== 'ok' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    result = await counter.acquire(tenantId, userId, limits);
  }
  return result;
}

/** Makes a fresh counter (own key space) for one test. */
export type CounterFactory = () => Promise<ConnectionCounter & { close?: () => Promise<void> }>;

/**
 * The {@link ConnectionCounter} contract shared by the in-process counter
 * (memory broker) and the Redis one: `--max-connections-per-user` counts per
 * (tenant, user), `--max-connections-per-tenant` per tenant.
 */
export function counterContract(name: string, factory: () => CounterFactory): void {
  describe(`ConnectionCounter contract: ${name}`, () => {
    async function withCounter(run: (counter: ConnectionCounter) => Promise<void>): Promise<void> {
      const counter = await factory()();
      try {
        await run(counter);
      } finally {
        await counter.close?.();
      }
    }

    it('counts a user per (tenant, user): the same user id in another tenant is another user', async () => {
      await withCounter(async (counter) => {
        const limits = { perUser: 1 };
        expect(await counter.acquire('t1', 'u1', limits)).toBe('ok');
        expect(await counter.acquire('t1', 'u1', limits)).toBe('user');
        // u1 of tenant t2 is not u1 of t1: its first connection is admitted.
        expect(await counter.acquire('t2', 'u1', limits)).toBe('ok');
        expect(await counter.acquire('t2', 'u1', limits)).toBe('user');
        // Releasing t2's u1 frees t2's slot only.
        counter.release('t2', 'u1');
        expect(await acquireSoon(counter, 't2', 'u1', limits)).toBe('ok');
        expect(await counter.acquire('t1', 'u1', limits)).toBe('user');
      });
    });

    it('counts a tenant over all its users, and frees a slot on release', async () => {
      await withCounter(async (counter) => {
        const limits = { perTenant: 2, perUser: 5 };
        expect(await counter.acquire('t1', 'a', limits)).toBe('ok');
        expect(await counter.acquire('t1', 'b', limits)).toBe('ok');
        expect(await counter.acquire('t1', 'c', limits)).toBe('tenant');
        expect(await counter.acquire('t2', 'a', limits)).toBe('ok');
        counter.release('t1', 'a');
        expect(await acquireSoon(counter, 't1', 'c', limits)).toBe('ok');
        expect(await counter.acquire('t1', 'd', limits)).toBe('tenant');
      });
    });
  });
}
