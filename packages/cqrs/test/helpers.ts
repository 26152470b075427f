import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { TestDatabase } from '../../../tests/support/postgres.js';
import { createTestDatabase as createDatabase } from '../../../tests/support/postgres.js';
import { openEventStore, type SqlEventStore } from '../src/index.js';

export type { TestDatabase };

/** A database of its own on the test PostgreSQL server (see tests/support/postgres.ts). */
export const createTestDatabase = () => createDatabase('albatross_test');

/**
 * A store on a PostgreSQL database of its own for the calling `describe`
 * block: created before its tests, closed and dropped after them.
 *
 * @example
 * const pg = usePostgresStore();
 * it('…', async () => { await pg.store.append(…); spawnWorker(pg.url); });
 */
export function usePostgresStore(): { readonly store: SqlEventStore; readonly url: string } {
  let db: TestDatabase | undefined;
  let store: SqlEventStore | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = await openEventStore({ url: db.url });
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });
  const opened = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('usePostgresStore: read inside a test, not at collection time');
    return value;
  };
  return {
    get store() {
      return opened(store);
    },
    get url() {
      return opened(db).url;
    },
  };
}

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
