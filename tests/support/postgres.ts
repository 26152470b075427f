import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The machine's PostgreSQL (trust auth); CI starts it. Override with ALBATROSS_TEST_PG_URL. */
export const PG_ADMIN_URL = process.env.ALBATROSS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of its own for one test file or suite, dropped by `drop()`. */
export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/**
 * Creates a uniquely named database on the test PostgreSQL server; `drop()`
 * removes it even while connections to it are still open.
 *
 * @example
 * const db = await createTestDatabase('albatross_test');
 * const store = await openEventStore({ url: db.url });
 * // …
 * await store.close();
 * await db.drop();
 */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  // A name the server need not quote: the prefix is ours, the suffix hex.
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`invalid database name prefix ${prefix}`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
