import { AlbatrossError } from '@albatross/protocol';
import { quoteIdent, type SqlExecutor } from './driver.js';
import type { SqlEventStore } from './store.js';
import type { StoredEvent } from './types.js';

/** The channel a projection's checkpoint is announced on after each batch commits (payload `name:position`). */
export const CHECKPOINTS_CHANNEL = 'albatross_checkpoints';

/** What a projection's `apply` works with. */
export interface ProjectionContext {
  /** The batch's transaction: write the read model here, it commits with the checkpoint. */
  tx: SqlExecutor;
  /** The quoted name of one of the projection's tables (the live one, or a rebuild's fresh copy). */
  table(name: string): string;
}

/**
 * DDL of one read-model table. `table` is the quoted name to create;
 * `name(suffix)` gives a quoted name for an index or constraint that is
 * unique to this copy of the table (a rebuild creates a second copy beside
 * the live one, so fixed index names would collide).
 */
export type TableDdl = (table: string, name: (suffix: string) => string) => string;

/**
 * A projection: it declares the event types it handles and applies each one
 * inside the transaction that also advances its checkpoint, so its read
 * model is updated exactly once even if the process dies between two events.
 */
export interface Projection {
  /** Unique name, `[a-z][a-z0-9_]*`; also the key of its checkpoint. */
  name: string;
  /** Event types it handles; others pass by (the checkpoint still moves past them). */
  handles: readonly string[];
  /** Its read-model tables: logical name → DDL. They are created on first start and swapped by a rebuild. */
  tables?: Readonly<Record<string, TableDdl>>;
  /**
   * Where a projection with no checkpoint yet starts: `'beginning'` (default;
   * read models need all history) or `'end'` (the store's head: for side
   * effects such as live notifications, where history is no news).
   */
  startFrom?: 'beginning' | 'end';
  /** Applies one event. Throwing rolls back this event only; the runner retries, then parks it. */
  apply(event: StoredEvent, context: ProjectionContext): Promise<void>;
}

const NAME = /^[a-z][a-z0-9_]{0,39}$/;

/** Checks a projection's declaration; throws `INVALID_MESSAGE` naming what is wrong. */
export function checkProjection(projection: Projection): void {
  if (!NAME.test(projection.name)) {
    throw new AlbatrossError(
      'INVALID_MESSAGE',
      `projection name ${JSON.stringify(projection.name)}: [a-z][a-z0-9_]{0,39}`,
    );
  }
  if (!Array.isArray(projection.handles) || projection.handles.length === 0) {
    throw new AlbatrossError('INVALID_MESSAGE', `projection ${projection.name}: handles must list event types`);
  }
  for (const table of Object.keys(projection.tables ?? {})) {
    if (!NAME.test(table)) {
      throw new AlbatrossError(
        'INVALID_MESSAGE',
        `projection ${projection.name}: table name ${JSON.stringify(table)}: [a-z][a-z0-9_]{0,39}`,
      );
    }
  }
}

/** Maps a projection's logical table names to physical ones (identity for the live tables). */
export function tableResolver(projection: Projection, physical: (logical: string) => string): (name: string) => string {
  const tables = projection.tables ?? {};
  return (name) => {
    if (!Object.hasOwn(tables, name)) {
      throw new AlbatrossError('NOT_FOUND', `projection ${projection.name} has no table ${JSON.stringify(name)}`);
    }
    return quoteIdent(physical(name));
  };
}

/** Creates `physical(logical)` for each table of the projection that does not exist yet. */
export async function createTables(
  tx: SqlExecutor,
  projection: Projection,
  physical: (logical: string) => string,
): Promise<void> {
  for (const [logical, ddl] of Object.entries(projection.tables ?? {})) {
    const name = physical(logical);
    const [exists] = await tx.query<{ oid: unknown }>('SELECT to_regclass($1) AS oid', [quoteIdent(name)]);
    if (exists?.oid !== null && exists?.oid !== undefined) continue;
    await tx.exec(ddl(quoteIdent(name), (suffix) => quoteIdent(`${name}_${suffix}`)));
  }
}

/**
 * Makes sure a projection's live tables and checkpoint row exist. Safe to
 * call from every node at start (serialised per projection by an advisory
 * lock); the runner calls it, and an API node may call it so its queries
 * never meet a missing table.
 */
export async function ensureProjection(store: SqlEventStore, projection: Projection): Promise<void> {
  checkProjection(projection);
  await store.driver.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('albatross.setup:' || $1, 0))`, [projection.name]);
    await createTables(tx, projection, (logical) => logical);
    await tx.query(
      `INSERT INTO albatross_projections (name, position)
       SELECT $1, CASE WHEN $2 THEN COALESCE(MAX(position), 0) ELSE 0 END FROM albatross_events
       ON CONFLICT (name) DO NOTHING`,
      [projection.name, projection.startFrom === 'end'],
    );
  });
}

/** The outcome of applying events in one transaction. */
export interface ApplyOutcome {
  /** Position of the last event applied (or passed by). */
  applied: number;
  /** The event that failed, if one did; events after it were not applied. */
  failure?: { event: StoredEvent; error: unknown };
}

/**
 * Applies `events` in order inside `tx` and returns how far it got. The
 * whole batch runs under one savepoint (two statements per batch, not per
 * event); when an event fails, the batch is rolled back to the savepoint and
 * the events before the failing one are applied again, so the failing
 * handler's writes (and only those) are undone and it runs once per batch.
 * Handlers with side effects outside the transaction (the realtime
 * projection's publish) may therefore see the events before a failure
 * twice; they must be idempotent, as they must be for crash replays anyway.
 */
export async function applyEvents(
  tx: SqlExecutor,
  projection: Projection,
  events: readonly StoredEvent[],
  table: (name: string) => string,
  from: number,
): Promise<ApplyOutcome> {
  let upTo = events.length;
  let failure: ApplyOutcome['failure'];
  for (;;) {
    await tx.query('SAVEPOINT albatross_batch');
    let index = 0;
    let failed = false;
    let caught: unknown;
    try {
      for (; index < upTo; index++) await projection.apply(events[index] as StoredEvent, { tx, table });
    } catch (error) {
      failed = true;
      caught = error;
    }
    if (!failed) {
      await tx.query('RELEASE SAVEPOINT albatross_batch');
      const applied = upTo > 0 ? (events[upTo - 1] as StoredEvent).position : from;
      return failure ? { applied, failure } : { applied };
    }
    await tx.query('ROLLBACK TO SAVEPOINT albatross_batch');
    await tx.query('RELEASE SAVEPOINT albatross_batch');
    failure = { event: events[index] as StoredEvent, error: caught };
    upTo = index;
  }
}

/** A short, single-line description of a handler error for status and parking. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s+/g, ' ').slice(0, 1000);
}
