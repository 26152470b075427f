import { randomUUID } from 'node:crypto';
import type { SqlEventStore } from '@albatross/cqrs';

/**
 * The platform's own tables beside the event store: state that is not an
 * event (signing keys, refresh tokens, API key usage). Read models live in
 * the projections' tables instead. Created once, serialised by an advisory
 * lock so two nodes starting together do not race on the DDL.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS platform_signing_keys (
  kid text PRIMARY KEY,
  private_jwk jsonb NOT NULL,
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);
CREATE TABLE IF NOT EXISTS platform_refresh_tokens (
  token_hash text PRIMARY KEY,
  family_id text NOT NULL,
  user_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS platform_refresh_tokens_family ON platform_refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS platform_refresh_tokens_user ON platform_refresh_tokens (user_id);
CREATE TABLE IF NOT EXISTS platform_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE IF NOT EXISTS platform_cache_versions (
  scope text PRIMARY KEY,
  version bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS platform_apikey_usage (
  key_id text PRIMARY KEY,
  last_used_at timestamptz NOT NULL
);
`;

/** Creates the platform's own tables when missing. */
export async function ensurePlatformTables(store: SqlEventStore): Promise<void> {
  await store.driver.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('albatross.platform.setup', 0))`);
    await tx.exec(DDL);
    await tx.query(`INSERT INTO platform_meta (key, value) VALUES ('store_id', $1) ON CONFLICT (key) DO NOTHING`, [
      randomUUID(),
    ]);
  });
}

/**
 * A random id of this store, made once. Shared caches (Redis) key on it, so
 * a recreated database, or another deployment on the same Redis, never
 * meets entries cached for a different store with the same versions.
 */
export async function storeIdOf(store: SqlEventStore): Promise<string> {
  const [row] = await store.driver.query<{ value: string }>(`SELECT value FROM platform_meta WHERE key = 'store_id'`);
  if (!row) throw new Error('platform tables missing: ensurePlatformTables() first');
  return row.value;
}

/**
 * Bumps the query-cache version of `tenantId` (and of the platform-wide
 * scope `*`) inside a projection's transaction: cached answers of that
 * tenant are never served again once the read model has changed.
 */
export async function bumpCacheVersion(
  tx: { query: (sql: string, params?: readonly unknown[]) => Promise<unknown> },
  tenantId: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO platform_cache_versions (scope, version) VALUES ($1, 1), ('*', 1)
     ON CONFLICT (scope) DO UPDATE SET version = platform_cache_versions.version + 1`,
    [tenantId],
  );
}
