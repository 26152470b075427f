import { randomBytes } from 'node:crypto';
import { createTestDatabase as createDatabase } from '../../../tests/support/postgres.js';
import { openEventStore, type SqlEventStore } from '../src/index.js';

export type { TestDatabase } from '../../../tests/support/postgres.js';

/** A database of its own on the test PostgreSQL server (see tests/support/postgres.ts). */
export const createTestDatabase = () => createDatabase('albatross_test');

/** One backend the contract suites run against. */
export interface Backend {
  name: 'pglite' | 'postgres';
  open(): Promise<{ store: SqlEventStore; url: string; dispose(): Promise<void> }>;
}

export const BACKENDS: readonly Backend[] = [
  {
    name: 'pglite',
    async open() {
      const store = await openEventStore({ url: 'memory://' });
      return { store, url: 'memory://', dispose: () => store.close() };
    },
  },
  {
    name: 'postgres',
    async open() {
      const db = await createTestDatabase();
      const store = await openEventStore({ url: db.url });
      return {
        store,
        url: db.url,
        async dispose() {
          await store.close();
          await db.drop();
        },
      };
    },
  },
];

/** A short random id so tests sharing one store never touch each other's streams. */
export function uid(): string {
  return randomBytes(5).toString('hex');
}

/** Waits until `check` returns true, polling; fails after `timeoutMs` with `what`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
