import { randomBytes } from 'node:crypto';
import { AlbatrossError } from '@albatross/protocol';
import { quoteIdent, type SqlExecutor } from './driver.js';
import {
  applyEvents,
  CHECKPOINTS_CHANNEL,
  checkProjection,
  createTables,
  describeError,
  ensureProjection,
  type Projection,
  tableResolver,
} from './projection.js';
import { readAllIn, type SqlEventStore } from './store.js';

/** Options of {@link rebuildProjection}. */
export interface RebuildOptions {
  /** Events per transaction while catching up (default 1000). */
  batchSize?: number;
  /** Attempts of a failing event before it is parked (default 3). */
  maxAttempts?: number;
  /** Progress after each batch. */
  onProgress?: (position: number, head: number) => void;
}

/** What a rebuild did. */
export interface RebuildResult {
  name: string;
  /** The checkpoint the new read model was swapped in at. */
  position: number;
  /** Events applied. */
  applied: number;
  /** Events parked because the handler failed on them every time. */
  parked: number;
}

interface ParkedDuringRebuild {
  position: number;
  streamId: string;
  type: string;
  error: string;
  attempts: number;
}

/**
 * Rebuilds a projection from zero into fresh tables beside the live ones,
 * then swaps them in: the old read model keeps serving (and its runner keeps
 * it current) until the last transaction, which locks the checkpoint row
 * (pausing the runner), applies what arrived meanwhile, renames the fresh
 * tables over the live ones and moves the checkpoint, all at once.
 */
export async function rebuildProjection(
  store: SqlEventStore,
  projection: Projection,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  checkProjection(projection);
  if (Object.keys(projection.tables ?? {}).length === 0) {
    // Replaying a projection without tables would only repeat its side effects.
    throw new AlbatrossError('INVALID_STATE', `projection ${projection.name} has no tables to rebuild`);
  }
  const batchSize = options.batchSize ?? 1000;
  const maxAttempts = options.maxAttempts ?? 3;
  await ensureProjection(store, projection);
  const session = await store.driver.session();
  const [lock] = await session.query<{ ok: boolean }>(
    `SELECT pg_try_advisory_lock(hashtextextended('albatross.rebuild:' || $1, 0)) AS ok`,
    [projection.name],
  );
  if (lock?.ok !== true) {
    await session.release();
    throw new AlbatrossError('INVALID_STATE', `projection ${projection.name} is being rebuilt elsewhere`);
  }
  const generation = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const fresh = (logical: string) => `${logical}__r${generation}`;
  const table = tableResolver(projection, fresh);
  const logicalTables = Object.keys(projection.tables ?? {});
  let position = 0;
  let applied = 0;
  const parked: ParkedDuringRebuild[] = [];

  /** Applies events after `position` up to the head, in batches, inside `tx`; returns whether it reached the head. */
  async function catchUp(tx: SqlExecutor): Promise<boolean> {
    const [headRow] = await tx.query<{ head: unknown }>(
      'SELECT COALESCE(MAX(position), 0) AS head FROM albatross_events',
    );
    const head = Number(headRow?.head ?? 0);
    const events = await readAllIn(tx, store, {
      after: position,
      limit: batchSize,
      types: projection.handles,
      upTo: head,
    });
    let rest = events;
    let attempts = 0;
    while (rest.length > 0) {
      const before = position;
      const outcome = await applyEvents(tx, projection, rest, table, position);
      applied += rest.filter((e) => e.position > before && e.position <= outcome.applied).length;
      position = outcome.applied;
      rest = rest.filter((e) => e.position > position);
      if (!outcome.failure) break;
      // A rebuild retries at once: it replays history, where failures are deterministic.
      attempts += 1;
      if (attempts < maxAttempts) continue;
      const failed = outcome.failure.event;
      parked.push({
        position: failed.position,
        streamId: failed.streamId,
        type: failed.type,
        error: describeError(outcome.failure.error),
        attempts,
      });
      position = failed.position;
      attempts = 0;
      rest = rest.filter((e) => e.position > failed.position);
    }
    const done = events.length < batchSize;
    if (done) position = Math.max(position, head);
    options.onProgress?.(position, head);
    return done;
  }

  try {
    await store.driver.transaction(async (tx) => {
      // Leftovers of a rebuild that died before its swap.
      for (const logical of logicalTables) {
        const stale = await tx.query<{ tablename: string }>(
          `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1`,
          [`${logical.replaceAll('_', '\\_')}\\_\\_r%`],
        );
        for (const row of stale) await tx.exec(`DROP TABLE IF EXISTS ${quoteIdent(row.tablename)}`);
      }
      await createTables(tx, projection, fresh);
    });
    for (let done = false; !done; ) done = await store.driver.transaction(catchUp);
    await store.driver.transaction(async (tx) => {
      await tx.query('SELECT position FROM albatross_projections WHERE name = $1 FOR UPDATE', [projection.name]);
      while (!(await catchUp(tx))) {
        // Events that arrived during the last pass: apply them under the lock.
      }
      for (const logical of logicalTables) {
        const old = quoteIdent(`${logical}__o${generation}`);
        await tx.exec(`ALTER TABLE IF EXISTS ${quoteIdent(logical)} RENAME TO ${old}`);
        await tx.exec(`ALTER TABLE ${quoteIdent(fresh(logical))} RENAME TO ${quoteIdent(logical)}`);
        await tx.exec(`DROP TABLE IF EXISTS ${old}`);
      }
      await tx.query('DELETE FROM albatross_parked_events WHERE projection = $1', [projection.name]);
      for (const p of parked) {
        await tx.query(
          `INSERT INTO albatross_parked_events (projection, position, stream_id, type, error, attempts)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [projection.name, p.position, p.streamId, p.type, p.error, p.attempts],
        );
      }
      await tx.query(
        `UPDATE albatross_projections SET position = $2, retry_count = 0, last_error = $3, updated_at = now()
         WHERE name = $1`,
        [projection.name, position, parked.at(-1)?.error ?? null],
      );
      await tx.query('SELECT pg_notify($1, $2)', [CHECKPOINTS_CHANNEL, `${projection.name}:${position}`]);
    });
  } catch (error) {
    await store.driver
      .transaction(async (tx) => {
        for (const logical of logicalTables) await tx.exec(`DROP TABLE IF EXISTS ${quoteIdent(fresh(logical))}`);
      })
      .catch(() => undefined);
    throw error;
  } finally {
    await session
      .query(`SELECT pg_advisory_unlock(hashtextextended('albatross.rebuild:' || $1, 0))`, [projection.name])
      .catch(() => undefined);
    await session.release();
  }
  return { name: projection.name, position, applied, parked: parked.length };
}
