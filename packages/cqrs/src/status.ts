import { AlbatrossError } from '@albatross/protocol';
import { CHECKPOINTS_CHANNEL } from './projection.js';
import type { SqlEventStore } from './store.js';

/** One projection's state, as `albatross projections status` shows it. */
export interface ProjectionStatus {
  name: string;
  /** Its checkpoint: every event up to here is in its read model. */
  position: number;
  /** The store's head position. */
  head: number;
  /** `head - position`. */
  lag: number;
  /** `running`, `retrying` (a handler is failing), `stopped`, or `idle` (never run). */
  status: string;
  /** The runner that last advanced it (`host:pid`), `null` when stopped. */
  owner: string | null;
  /** The last handler error, kept after recovery. */
  lastError: string | null;
  /** Attempts so far on the event it is stuck at. */
  retryCount: number;
  /** Events parked after failing every attempt. */
  parked: number;
  updatedAt: string;
}

/** A parked event: the handler failed on it every time and the projection moved on. */
export interface ParkedEvent {
  projection: string;
  position: number;
  streamId: string;
  type: string;
  error: string;
  attempts: number;
  parkedAt: string;
}

/** The status of every projection that has a checkpoint. */
export async function projectionStatus(store: SqlEventStore): Promise<ProjectionStatus[]> {
  const head = await store.headPosition();
  const rows = await store.driver.query(
    `SELECT p.name, p.position, p.status, p.owner, p.last_error, p.retry_count, p.updated_at,
       (SELECT count(*) FROM albatross_parked_events k WHERE k.projection = p.name) AS parked
     FROM albatross_projections p ORDER BY p.name`,
  );
  return rows.map((row) => {
    const position = Number(row.position);
    return {
      name: String(row.name),
      position,
      head,
      lag: Math.max(0, head - position),
      status: String(row.status),
      owner: row.owner === null ? null : String(row.owner),
      lastError: row.last_error === null ? null : String(row.last_error),
      retryCount: Number(row.retry_count),
      parked: Number(row.parked),
      updatedAt: new Date(row.updated_at as string | Date).toISOString(),
    };
  });
}

/** Parked events of one projection (oldest first, at most `limit`). */
export async function parkedEvents(store: SqlEventStore, projection: string, limit = 100): Promise<ParkedEvent[]> {
  const rows = await store.driver.query(
    `SELECT projection, position, stream_id, type, error, attempts, parked_at FROM albatross_parked_events
     WHERE projection = $1 ORDER BY position LIMIT $2`,
    [projection, limit],
  );
  return rows.map((row) => ({
    projection: String(row.projection),
    position: Number(row.position),
    streamId: String(row.stream_id),
    type: String(row.type),
    error: String(row.error),
    attempts: Number(row.attempts),
    parkedAt: new Date(row.parked_at as string | Date).toISOString(),
  }));
}

/**
 * Waits until every named projection's checkpoint has reached `position`
 * (read-your-writes: a command's answer waits for the read models to pass
 * its position). Woken by the checkpoint notifications, with polling as a
 * fallback; fails with `UNAVAILABLE` after `timeoutMs` (default 5 s).
 */
export async function waitForProjections(
  store: SqlEventStore,
  names: readonly string[],
  position: number,
  options: { timeoutMs?: number; pollIntervalMs?: number } = {},
): Promise<void> {
  if (names.length === 0 || position <= 0) return;
  const timeoutMs = options.timeoutMs ?? 5000;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let wake: () => void = () => undefined;
  const unlisten = await store.driver.listen(CHECKPOINTS_CHANNEL, () => wake());
  try {
    for (;;) {
      const rows = await store.driver.query<{ n: unknown }>(
        'SELECT count(*) AS n FROM albatross_projections WHERE name = ANY($1::text[]) AND position >= $2',
        [[...names], position],
      );
      if (Number(rows[0]?.n ?? 0) === new Set(names).size) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new AlbatrossError(
          'UNAVAILABLE',
          `projections ${names.join(', ')} did not reach position ${position} within ${timeoutMs} ms`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, pollIntervalMs));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    await unlisten();
  }
}
