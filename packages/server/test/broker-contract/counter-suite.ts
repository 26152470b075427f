import { describe, expect, it } from 'vitest';
import type { ConnectionCounter } from '../../src/limits/connection-counter.js';

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
        expect(await counter.acquire('t1', 'u1', limits)).toBe('user');
        expect(await counter.acquire('t2', 'u1', limits)).toBe('ok');
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
        // A release may reach a shared store asynchronously: wait for the slot, bounded.
        const deadline = Date.now() + 5000;
        let result = await counter.acquire('t1', 'c', limits);
        while (result !== 'ok' && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          result = await counter.acquire('t1', 'c', limits);
        }
        expect(result).toBe('ok');
        expect(await counter.acquire('t1', 'd', limits)).toBe('tenant');
      });
    });
  });
}
