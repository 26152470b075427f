import { hostname } from 'node:os';
import { AlbatrossError } from '@albatross/protocol';
import type { SqlDriver, SqlExecutor, SqlSession } from './driver.js';
import { PROJECTION_LOCK_SQL } from './locks.js';
import {
  applyEvents,
  CHECKPOINTS_CHANNEL,
  checkProjection,
  describeError,
  ensureProjection,
  type Projection,
  tableResolver,
} from './projection.js';
import { readAllIn, type SqlEventStore } from './store.js';

/** Something the runner did, for logs and metrics. */
export type RunnerEvent =
  | { type: 'acquired'; projection: string; owner: string }
  | { type: 'released'; projection: string }
  | { type: 'lost'; projections: string[]; error?: string }
  | { type: 'applied'; projection: string; events: number; position: number }
  | { type: 'retrying'; projection: string; position: number; attempt: number; error: string; delayMs: number }
  | { type: 'parked'; projection: string; position: number; eventType: string; attempts: number; error: string }
  | { type: 'error'; projection: string; error: string };

/** Options of {@link createProjectionRunner}. */
export interface ProjectionRunnerOptions {
  /** Most events applied in one transaction (default 500). Under load batches fill; when idle they hold one event. */
  batchSize?: number;
  /** Polling fallback when no notification arrives (default 1000 ms). */
  pollIntervalMs?: number;
  /** How often a projection owned elsewhere is tried again (default 1000 ms): takeover time after its owner dies. */
  lockRetryMs?: number;
  /** Attempts of a failing event before it is parked (default 5). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, at most 30 s (default 200 ms). */
  backoffMs?: number;
  /** Name shown as owner in status (default `host:pid`). */
  owner?: string;
  /** Receives what the runner does (log it, count it). */
  onEvent?: (event: RunnerEvent) => void;
}

/** Runs projections: catch-up from each checkpoint, then live. */
export interface ProjectionRunner {
  /** Starts every projection's loop; returns once they are running (not caught up). */
  start(): Promise<void>;
  /** Stops the loops, lets in-flight batches finish, releases ownership. */
  stop(): Promise<void>;
  /** Names of the projections this runner owns right now. */
  owned(): string[];
}

// PGlite is one connection per process: advisory locks taken on it do not
// exclude another runner in the same process, so ownership is also kept here.
const ownedInProcess = new WeakMap<SqlDriver, Set<string>>();

/**
 * Creates a runner for `projections`. Each projection is owned by one runner
 * at a time, across processes, through a session-level advisory lock held on
 * a dedicated connection: when the owner dies its connection closes, the
 * lock is released, and another runner takes over within `lockRetryMs`.
 */
export function createProjectionRunner(
  store: SqlEventStore,
  projections: readonly Projection[],
  options: ProjectionRunnerOptions = {},
): ProjectionRunner {
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const lockRetryMs = options.lockRetryMs ?? 1000;
  const maxAttempts = options.maxAttempts ?? 5;
  const backoffMs = options.backoffMs ?? 200;
  const owner = options.owner ?? `${hostname()}:${process.pid}`;
  const emit = options.onEvent ?? (() => undefined);
  for (const [name, value] of Object.entries({ batchSize, pollIntervalMs, lockRetryMs, maxAttempts, backoffMs })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new AlbatrossError('INVALID_MESSAGE', `projection runner: ${name} must be a positive integer`);
    }
  }
  const names = new Set<string>();
  for (const projection of projections) {
    checkProjection(projection);
    if (names.has(projection.name)) {
      throw new AlbatrossError('ALREADY_EXISTS', `projection ${projection.name} is listed twice`);
    }
    names.add(projection.name);
  }

  const driver = store.driver;
  let processOwned = ownedInProcess.get(driver);
  if (!processOwned) {
    processOwned = new Set();
    ownedInProcess.set(driver, processOwned);
  }
  const inProcess = processOwned;
  const owned = new Set<string>();
  const wakers = new Map<string, () => void>();
  let running = false;
  let session: Promise<SqlSession> | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  let loops: Promise<void>[] = [];

  // Projections told of an append since their current batch began. A
  // notification that comes while a batch runs finds no sleeper to wake; the
  // batch may have read before that append, so its next poll sleep is skipped
  // (without this, the event waited a whole poll interval).
  const notified = new Set<string>();

  function wakeAll(): void {
    for (const projection of projections) notified.add(projection.name);
    for (const wake of wakers.values()) wake();
  }

  /** Sleeps up to `ms`; a notification (or stop) ends it early, or skips it, unless `uninterruptible`. */
  function sleep(name: string, ms: number, uninterruptible = false): Promise<void> {
    if (!uninterruptible && notified.has(name)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        if (wakers.get(name) === wake) wakers.delete(name);
        resolve();
      }
      const wake = (): void => {
        if (!uninterruptible || !running) done();
      };
      wakers.set(name, wake);
    });
  }

  function openSession(): Promise<SqlSession> {
    if (session) return session;
    const opening = driver.session();
    session = opening;
    opening.then(
      (s) => {
        void s.lost.then((error) => {
          if (session !== opening) return;
          session = undefined;
          const lost = [...owned];
          for (const name of lost) inProcess.delete(name);
          owned.clear();
          if (lost.length > 0) emit({ type: 'lost', projections: lost, ...(error ? { error: error.message } : {}) });
        });
      },
      () => {
        if (session === opening) session = undefined;
      },
    );
    return opening;
  }

  async function acquire(name: string): Promise<boolean> {
    if (inProcess.has(name)) return false;
    const s = await openSession();
    inProcess.add(name);
    try {
      const [row] = await s.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${PROJECTION_LOCK_SQL}) AS ok`, [name]);
      if (row?.ok !== true) {
        inProcess.delete(name);
        return false;
      }
    } catch (error) {
      inProcess.delete(name);
      throw error;
    }
    owned.add(name);
    emit({ type: 'acquired', projection: name, owner });
    return true;
  }

  async function release(name: string): Promise<void> {
    if (!owned.has(name)) return;
    owned.delete(name);
    inProcess.delete(name);
    const s = await session?.catch(() => undefined);
    await s?.query(`SELECT pg_advisory_unlock(${PROJECTION_LOCK_SQL})`, [name]).catch(() => undefined);
    emit({ type: 'released', projection: name });
  }

  function backoff(attempt: number): number {
    return Math.min(30_000, backoffMs * 2 ** (attempt - 1));
  }

  /** One batch in one transaction. Returns how many events it read, and a delay if it must retry. */
  async function batch(projection: Projection): Promise<{ count: number; retryAfterMs?: number }> {
    const table = tableResolver(projection, (logical) => logical);
    let after: (() => void) | undefined;
    const result = await driver.transaction(async (tx: SqlExecutor) => {
      // The row lock serialises batches of this projection (and a rebuild's
      // swap) even if two runners ever believed they owned it.
      const [row] = await tx.query<{ position: unknown; retry_count: number }>(
        'SELECT position, retry_count FROM albatross_projections WHERE name = $1 FOR UPDATE',
        [projection.name],
      );
      if (!row) throw new AlbatrossError('NOT_FOUND', `projection ${projection.name} has no checkpoint row`);
      const from = Number(row.position);
      // Head first, events up to it next: every event up to the head is
      // committed (appends commit in position order), so the checkpoint may
      // move to the head even past events of types this projection skips.
      const [headRow] = await tx.query<{ head: unknown }>(
        'SELECT COALESCE(MAX(position), 0) AS head FROM albatross_events',
      );
      const head = Number(headRow?.head ?? 0);
      if (head <= from) return { count: 0 };
      const events = await readAllIn(tx, store, {
        after: from,
        limit: batchSize,
        types: projection.handles,
        upTo: head,
      });
      const outcome = await applyEvents(tx, projection, events, table, from);
      const save = async (position: number, retryCount: number, status: string, error: string | null) => {
        await tx.query(
          `UPDATE albatross_projections SET position = $2, retry_count = $3, status = $4,
             last_error = COALESCE($5, last_error), owner = $6, updated_at = now() WHERE name = $1`,
          [projection.name, position, retryCount, status, error, owner],
        );
        await tx.query('SELECT pg_notify($1, $2)', [CHECKPOINTS_CHANNEL, `${projection.name}:${position}`]);
      };
      if (!outcome.failure) {
        const to = events.length < batchSize ? head : outcome.applied;
        await save(to, 0, 'running', null);
        after = () => emit({ type: 'applied', projection: projection.name, events: events.length, position: to });
        return { count: events.length };
      }
      const failed = outcome.failure.event;
      const attempts = Number(row.retry_count) + 1;
      const message = describeError(outcome.failure.error);
      if (attempts >= maxAttempts) {
        await tx.query(
          `INSERT INTO albatross_parked_events (projection, position, stream_id, type, error, attempts)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (projection, position) DO NOTHING`,
          [projection.name, failed.position, failed.streamId, failed.type, message, attempts],
        );
        await save(failed.position, 0, 'running', message);
        after = () =>
          emit({
            type: 'parked',
            projection: projection.name,
            position: failed.position,
            eventType: failed.type,
            attempts,
            error: message,
          });
        return { count: Math.max(events.length, 1) };
      }
      await save(failed.position - 1, attempts, 'retrying', message);
      const delayMs = backoff(attempts);
      after = () =>
        emit({
          type: 'retrying',
          projection: projection.name,
          position: failed.position,
          attempt: attempts,
          error: message,
          delayMs,
        });
      return { count: events.length, retryAfterMs: delayMs };
    });
    after?.();
    return result;
  }

  async function loop(projection: Projection): Promise<void> {
    let ready = false;
    while (running) {
      try {
        if (!owned.has(projection.name)) {
          ready = false;
          if (!(await acquire(projection.name))) {
            await sleep(projection.name, lockRetryMs, true);
            continue;
          }
        }
        if (!ready) {
          await ensureProjection(store, projection);
          ready = true;
        }
        notified.delete(projection.name);
        const { count, retryAfterMs } = await batch(projection);
        if (retryAfterMs !== undefined) await sleep(projection.name, retryAfterMs, true);
        else if (count < batchSize) await sleep(projection.name, pollIntervalMs);
      } catch (error) {
        if (!running) return;
        emit({ type: 'error', projection: projection.name, error: describeError(error) });
        await sleep(projection.name, Math.max(lockRetryMs, 500), true);
      }
    }
  }

  return {
    async start() {
      if (running) return;
      running = true;
      unsubscribe = await store.subscribe(wakeAll);
      loops = projections.map((projection) => loop(projection));
    },
    async stop() {
      if (!running) return;
      running = false;
      wakeAll();
      await Promise.all(loops);
      loops = [];
      await unsubscribe?.().catch(() => undefined);
      unsubscribe = undefined;
      const mine = [...owned];
      if (mine.length > 0) {
        await driver
          .query(`UPDATE albatross_projections SET status = 'stopped', owner = NULL WHERE name = ANY($1::text[])`, [
            mine,
          ])
          .catch(() => undefined);
      }
      for (const name of mine) await release(name);
      const s = await session?.catch(() => undefined);
      session = undefined;
      await s?.release();
    },
    owned: () => [...owned],
  };
}
