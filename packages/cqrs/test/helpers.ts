import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openEventStore, type SqlEventStore } from '../src/index.js';

/** The machine's PostgreSQL (trust auth); CI starts it. Override with ALBATROSS_TEST_PG_URL. */
export const PG_ADMIN_URL = process.env.ALBATROSS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of its own for one test file, dropped by `drop()`. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates a uniquely named database on the test PostgreSQL server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `albatross_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
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
