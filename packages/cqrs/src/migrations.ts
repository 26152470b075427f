import type { SqlDriver } from './driver.js';
import { ALBATROSS_LOCK_CLASS, MIGRATION_LOCK } from './locks.js';

/** One schema change. Versions are applied in order, once, and never edited after release. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The store's schema, one list for both drivers (PGlite is PostgreSQL, so
 * the same statements run on each).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events, streams, commands, projection checkpoints',
    sql: `
CREATE TABLE albatross_events (
  position        bigserial PRIMARY KEY,
  stream_id       text NOT NULL,
  stream_version  integer NOT NULL,
  type            text NOT NULL,
  schema_version  integer NOT NULL DEFAULT 1,
  payload         jsonb NOT NULL,
  tenant_id       text,
  causation_id    text,
  correlation_id  text,
  actor_id        text,
  command_id      text,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, stream_version)
);
CREATE INDEX albatross_events_type_position ON albatross_events (type, position);
CREATE INDEX albatross_events_tenant_position ON albatross_events (tenant_id, position);

CREATE TABLE albatross_streams (
  stream_id   text PRIMARY KEY,
  version     integer NOT NULL,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);

CREATE TABLE albatross_commands (
  command_id      text NOT NULL,
  stream_id       text NOT NULL,
  version         integer NOT NULL,
  first_position  bigint,
  position        bigint,
  event_count     integer NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (command_id, stream_id)
);

CREATE TABLE albatross_projections (
  name         text PRIMARY KEY,
  position     bigint NOT NULL DEFAULT 0,
  status       text NOT NULL DEFAULT 'idle',
  owner        text,
  last_error   text,
  retry_count  integer NOT NULL DEFAULT 0,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE albatross_parked_events (
  projection  text NOT NULL,
  position    bigint NOT NULL,
  stream_id   text NOT NULL,
  type        text NOT NULL,
  error       text NOT NULL,
  attempts    integer NOT NULL,
  parked_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, position)
);
`,
  },
];

/**
 * Applies every migration not applied yet, in one transaction under a
 * transaction-scoped advisory lock: two nodes starting together serialise
 * here, and the second finds nothing left to do. Returns the versions it applied.
 */
export async function migrate(driver: SqlDriver, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return driver.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [ALBATROSS_LOCK_CLASS, MIGRATION_LOCK]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS albatross_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number }>('SELECT version FROM albatross_migrations');
    const done = new Set(rows.map((row) => Number(row.version)));
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO albatross_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}
