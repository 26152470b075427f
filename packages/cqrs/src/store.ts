import type { JsonValue } from '@albatross/protocol';
import { AlbatrossError } from '@albatross/protocol';
import { type Row, type SqlDriver, type SqlExecutor, sqlState } from './driver.js';
import { createPgDriver } from './drivers/pg.js';
import { createPgliteDriver } from './drivers/pglite.js';
import { ALBATROSS_LOCK_CLASS, APPEND_LOCK } from './locks.js';
import { migrate } from './migrations.js';
import {
  type AppendMetadata,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  MAX_APPEND_EVENTS,
  MAX_APPEND_STREAMS,
  MAX_READ_LIMIT,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredEvent,
  type StreamInfo,
  type StreamWrite,
} from './types.js';
import { type Upcaster, UpcasterRegistry } from './upcasters.js';

/** The channel every committed append notifies (payload: its last position). */
export const EVENTS_CHANNEL = 'albatross_events';

const STREAM_ID = /^[A-Za-z0-9_.:@-]{1,200}$/;
const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const MAX_ID_LENGTH = 200;

/** Options of {@link openEventStore}. */
export interface OpenEventStoreOptions {
  /**
   * `postgres://…` (or `postgresql://…`) for a PostgreSQL server;
   * `memory://` for embedded PostgreSQL in memory; any other value, or none,
   * is the PGlite data directory (default `./data`).
   */
  url?: string;
  /** Upcasters applied on every read. */
  upcasters?: readonly Upcaster[] | UpcasterRegistry;
  /** Connection pool size for PostgreSQL (default 10). */
  maxConnections?: number;
  /** Run migrations at open (default true). */
  migrate?: boolean;
  /** Pool errors of idle PostgreSQL connections (they are replaced); default: ignored. */
  onError?: (error: Error) => void;
}

/** True when `url` names a PostgreSQL server rather than an embedded store. */
export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//.test(url);
}

/**
 * Opens the event store: PostgreSQL when `url` is a `postgres://` URL, else
 * embedded PostgreSQL (PGlite) in `url` as a data directory, or in memory
 * for `memory://`. Migrations run before it returns.
 */
export async function openEventStore(options: OpenEventStoreOptions = {}): Promise<SqlEventStore> {
  const driver = isPostgresUrl(options.url)
    ? createPgDriver({
        url: options.url,
        ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
        ...(options.onError === undefined ? {} : { onError: options.onError }),
      })
    : await createPgliteDriver({ dataDir: options.url ?? './data' });
  try {
    if (options.migrate !== false) await migrate(driver);
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw new AlbatrossError('UNAVAILABLE', `event store: cannot migrate (${(error as Error).message})`, {
      cause: error,
    });
  }
  const upcasters =
    options.upcasters instanceof UpcasterRegistry ? options.upcasters : new UpcasterRegistry(options.upcasters);
  return new SqlEventStore(driver, upcasters);
}

const EVENT_COLUMNS = `position, stream_id, stream_version, type, schema_version, payload, tenant_id,
  causation_id, correlation_id, actor_id, command_id, recorded_at`;

function toIso(value: unknown): string {
  return (value instanceof Date ? value : new Date(String(value))).toISOString();
}

function nullableString(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function checkId(kind: string, value: string | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new AlbatrossError('INVALID_MESSAGE', `${kind} must be a string of 1 to ${MAX_ID_LENGTH} characters`);
  }
}

function checkStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || !STREAM_ID.test(streamId)) {
    throw new AlbatrossError(
      'INVALID_MESSAGE',
      `invalid stream id ${JSON.stringify(streamId)}: 1-200 characters of A-Z a-z 0-9 _ . : @ -, named {aggregate}-{id}`,
    );
  }
}

function checkLimit(limit: number | undefined, fallback: number): number {
  const value = limit ?? fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_READ_LIMIT) {
    throw new AlbatrossError('INVALID_MESSAGE', `limit must be an integer from 1 to ${MAX_READ_LIMIT}`);
  }
  return value;
}

function checkPosition(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AlbatrossError('INVALID_MESSAGE', `${name} must be a non-negative integer`);
  }
  return value;
}

function checkExpectedVersion(expected: ExpectedVersion): void {
  if (expected === 'any' || expected === 'no_stream') return;
  if (!Number.isSafeInteger(expected) || expected < 0) {
    throw new AlbatrossError('INVALID_MESSAGE', "expectedVersion must be a non-negative integer, 'no_stream' or 'any'");
  }
}

function conflict(streamId: string, expected: ExpectedVersion, actual: number | null): AlbatrossError {
  return new AlbatrossError(
    'CONCURRENCY_CONFLICT',
    `stream ${streamId}: expected version ${expected}, found ${actual === null ? 'no stream' : actual}`,
    { details: { stream_id: streamId, expected_version: expected, actual_version: actual } },
  );
}

/** True when a stream at `actual` (`null`: none) satisfies `expected`. */
function versionMatches(expected: ExpectedVersion, actual: number | null): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === null || actual === 0;
  return (actual ?? 0) === expected;
}

/**
 * The event store in one SQL dialect over a {@link SqlDriver}.
 *
 * Every append runs under one transaction-scoped advisory lock, so positions
 * are taken and committed in the same order and a reader that has seen
 * position N will never later find a committed event below N (see
 * docs/architecture.md, "Why the store is built this way").
 */
export class SqlEventStore implements EventStore {
  readonly driver: SqlDriver;
  readonly upcasters: UpcasterRegistry;

  constructor(driver: SqlDriver, upcasters: UpcasterRegistry = new UpcasterRegistry()) {
    this.driver = driver;
    this.upcasters = upcasters;
  }

  get kind(): 'pg' | 'pglite' {
    return this.driver.kind;
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    const { expectedVersion, ...metadata } = options;
    const results = await this.appendStreams([{ streamId, events, expectedVersion }], metadata);
    return results[0] as AppendResult;
  }

  async appendStreams(writes: readonly StreamWrite[], metadata: AppendMetadata = {}): Promise<AppendResult[]> {
    if (!Array.isArray(writes) || writes.length === 0 || writes.length > MAX_APPEND_STREAMS) {
      throw new AlbatrossError('INVALID_MESSAGE', `an append writes to 1 to ${MAX_APPEND_STREAMS} streams`);
    }
    const seen = new Set<string>();
    let total = 0;
    for (const write of writes) {
      checkStreamId(write.streamId);
      if (seen.has(write.streamId)) {
        throw new AlbatrossError('INVALID_MESSAGE', `stream ${write.streamId} appears twice in one append`);
      }
      seen.add(write.streamId);
      checkExpectedVersion(write.expectedVersion);
      if (!Array.isArray(write.events)) throw new AlbatrossError('INVALID_MESSAGE', 'events must be an array');
      total += write.events.length;
      for (const event of write.events) checkEvent(event);
    }
    if (total > MAX_APPEND_EVENTS) {
      throw new AlbatrossError('INVALID_MESSAGE', `an append carries at most ${MAX_APPEND_EVENTS} events`);
    }
    checkId('tenantId', metadata.tenantId);
    checkId('causationId', metadata.causationId);
    checkId('correlationId', metadata.correlationId);
    checkId('actorId', metadata.actorId);
    checkId('commandId', metadata.commandId);
    try {
      return await this.driver.transaction(async (tx) => {
        // One append at a time, store-wide, until commit: see the class comment.
        await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [ALBATROSS_LOCK_CLASS, APPEND_LOCK]);
        if (metadata.commandId !== undefined) {
          const earlier = await commandResultsIn(tx, metadata.commandId);
          if (earlier.length > 0) return earlier;
        }
        const results: AppendResult[] = [];
        for (const write of writes) results.push(await this.#writeStream(tx, write, metadata));
        if (metadata.commandId !== undefined) {
          for (const result of results) {
            await tx.query(
              `INSERT INTO albatross_commands (command_id, stream_id, version, first_position, position, event_count)
               VALUES ($1, $2, $3, $4, $5, $6)`,
              [
                metadata.commandId,
                result.streamId,
                result.version,
                result.firstPosition,
                result.position,
                result.eventCount,
              ],
            );
          }
        }
        return results;
      });
    } catch (error) {
      // The lock makes this unreachable for writers using this store; the
      // constraints still answer for anyone who bypasses it.
      if (sqlState(error) === '23505') {
        throw new AlbatrossError('CONCURRENCY_CONFLICT', 'a stream was written concurrently', { cause: error });
      }
      throw error;
    }
  }

  async #writeStream(tx: SqlExecutor, write: StreamWrite, options: AppendMetadata): Promise<AppendResult> {
    const { streamId, events } = write;
    const [stream] = await tx.query<{ version: number; deleted: boolean }>(
      'SELECT version, deleted_at IS NOT NULL AS deleted FROM albatross_streams WHERE stream_id = $1',
      [streamId],
    );
    const actual = stream === undefined ? null : Number(stream.version);
    if (stream?.deleted) throw new AlbatrossError('INVALID_STATE', `stream ${streamId} is deleted`);
    if (!versionMatches(write.expectedVersion, actual)) throw conflict(streamId, write.expectedVersion, actual);
    const base = actual ?? 0;
    let firstPosition: number | null = null;
    let position = 0;
    if (events.length > 0) {
      const params: unknown[] = [];
      const rows: string[] = [];
      events.forEach((event, index) => {
        const p = params.length;
        params.push(
          streamId,
          base + index + 1,
          event.type,
          event.schemaVersion ?? 1,
          JSON.stringify(event.payload),
          options.tenantId ?? null,
          options.causationId ?? null,
          options.correlationId ?? null,
          options.actorId ?? null,
          options.commandId ?? null,
        );
        rows.push(
          `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}::jsonb, $${p + 6}, $${p + 7}, $${p + 8}, $${p + 9}, $${p + 10})`,
        );
      });
      // Events, the stream's version and the notification in one round trip:
      // the append lock is held until commit, so every round trip under it counts.
      const n = params.length;
      params.push(streamId, base + events.length, EVENTS_CHANNEL);
      const [inserted] = await tx.query<{ first: unknown; last: unknown }>(
        `WITH inserted AS (
           INSERT INTO albatross_events (stream_id, stream_version, type, schema_version, payload, tenant_id,
             causation_id, correlation_id, actor_id, command_id)
           VALUES ${rows.join(', ')} RETURNING position
         ), stream AS (
           INSERT INTO albatross_streams (stream_id, version) VALUES ($${n + 1}, $${n + 2})
           ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
           RETURNING 1
         ), span AS (SELECT MIN(position) AS first, MAX(position) AS last FROM inserted)
         SELECT span.first, span.last, pg_notify($${n + 3}, span.last::text) FROM span, stream`,
        params,
      );
      firstPosition = Number(inserted?.first);
      position = Number(inserted?.last);
    } else {
      position = Number(
        (await tx.query<{ p: unknown }>('SELECT COALESCE(MAX(position), 0) AS p FROM albatross_events'))[0]?.p ?? 0,
      );
    }
    return {
      streamId,
      version: base + events.length,
      position,
      firstPosition,
      eventCount: events.length,
      duplicate: false,
    };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    checkStreamId(streamId);
    const fromVersion = options.fromVersion ?? 1;
    if (!Number.isSafeInteger(fromVersion) || fromVersion < 1) {
      throw new AlbatrossError('INVALID_MESSAGE', 'fromVersion must be an integer >= 1');
    }
    const limit = checkLimit(options.limit, MAX_READ_LIMIT);
    const rows = await this.driver.query(
      `SELECT ${EVENT_COLUMNS} FROM albatross_events e
       WHERE stream_id = $1 AND stream_version >= $2
         AND ($4::boolean OR NOT EXISTS (
           SELECT 1 FROM albatross_streams s WHERE s.stream_id = e.stream_id AND s.deleted_at IS NOT NULL))
       ORDER BY stream_version LIMIT $3`,
      [streamId, fromVersion, limit, options.includeDeleted === true],
    );
    return rows.map((row) => this.toEvent(row));
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    const after = checkPosition('after', options.after ?? 0);
    const limit = checkLimit(options.limit, 1000);
    return readAllIn(this.driver, this, { ...options, after, limit });
  }

  async *iterateAll(
    options: Omit<ReadAllOptions, 'limit'> & { batchSize?: number } = {},
  ): AsyncGenerator<StoredEvent[]> {
    const batchSize = checkLimit(options.batchSize, 1000);
    let after = checkPosition('after', options.after ?? 0);
    for (;;) {
      const page = await this.readAll({ ...options, after, limit: batchSize });
      if (page.length === 0) return;
      after = page[page.length - 1]?.position ?? after;
      yield page;
      if (page.length < batchSize) return;
    }
  }

  async headPosition(): Promise<number> {
    const [row] = await this.driver.query<{ p: unknown }>(
      'SELECT COALESCE(MAX(position), 0) AS p FROM albatross_events',
    );
    return Number(row?.p ?? 0);
  }

  async getStream(streamId: string): Promise<StreamInfo | null> {
    checkStreamId(streamId);
    const [row] = await this.driver.query(
      'SELECT stream_id, version, metadata, created_at, updated_at, deleted_at FROM albatross_streams WHERE stream_id = $1',
      [streamId],
    );
    if (!row) return null;
    return {
      streamId: String(row.stream_id),
      version: Number(row.version),
      metadata: row.metadata as Record<string, JsonValue>,
      createdAt: toIso(row.created_at),
      updatedAt: toIso(row.updated_at),
      deletedAt: row.deleted_at === null ? null : toIso(row.deleted_at),
    };
  }

  async setStreamMetadata(streamId: string, metadata: Record<string, JsonValue>): Promise<void> {
    checkStreamId(streamId);
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new AlbatrossError('INVALID_MESSAGE', 'stream metadata must be a JSON object');
    }
    const rows = await this.driver.query(
      'UPDATE albatross_streams SET metadata = $2::jsonb, updated_at = now() WHERE stream_id = $1 RETURNING stream_id',
      [streamId, JSON.stringify(metadata)],
    );
    if (rows.length === 0) throw new AlbatrossError('NOT_FOUND', `stream ${streamId} does not exist`);
  }

  async deleteStream(streamId: string, options: { expectedVersion: ExpectedVersion }): Promise<void> {
    checkStreamId(streamId);
    checkExpectedVersion(options.expectedVersion);
    await this.driver.transaction(async (tx) => {
      const [stream] = await tx.query<{ version: number; deleted: boolean }>(
        'SELECT version, deleted_at IS NOT NULL AS deleted FROM albatross_streams WHERE stream_id = $1 FOR UPDATE',
        [streamId],
      );
      if (!stream) throw new AlbatrossError('NOT_FOUND', `stream ${streamId} does not exist`);
      if (stream.deleted) return;
      if (!versionMatches(options.expectedVersion, Number(stream.version))) {
        throw conflict(streamId, options.expectedVersion, Number(stream.version));
      }
      await tx.query('UPDATE albatross_streams SET deleted_at = now(), updated_at = now() WHERE stream_id = $1', [
        streamId,
      ]);
    });
  }

  async commandResult(commandId: string): Promise<AppendResult | null> {
    checkId('commandId', commandId);
    return (await commandResultsIn(this.driver, commandId))[0] ?? null;
  }

  async subscribe(onAppend: (position: number) => void): Promise<() => Promise<void>> {
    return this.driver.listen(EVENTS_CHANNEL, (payload) => {
      const position = Number(payload);
      if (Number.isSafeInteger(position)) onAppend(position);
    });
  }

  async close(): Promise<void> {
    await this.driver.close();
  }

  /** Turns a row of `albatross_events` into an upcast {@link StoredEvent}. */
  toEvent(row: Row): StoredEvent {
    const type = String(row.type);
    const lifted = this.upcasters.apply(type, Number(row.schema_version), row.payload as JsonValue);
    return {
      position: Number(row.position),
      streamId: String(row.stream_id),
      streamVersion: Number(row.stream_version),
      type,
      schemaVersion: lifted.schemaVersion,
      payload: lifted.payload,
      tenantId: nullableString(row.tenant_id),
      causationId: nullableString(row.causation_id),
      correlationId: nullableString(row.correlation_id),
      actorId: nullableString(row.actor_id),
      commandId: nullableString(row.command_id),
      recordedAt: toIso(row.recorded_at),
    };
  }
}

/** `readAll` on any executor (the projection runner reads inside its batch transaction). */
export async function readAllIn(
  executor: SqlExecutor,
  store: SqlEventStore,
  options: {
    after: number;
    limit: number;
    types?: readonly string[] | undefined;
    tenantId?: string | undefined;
    /** Only positions up to this one (a head read earlier in the same transaction). */
    upTo?: number | undefined;
  },
): Promise<StoredEvent[]> {
  const rows = await executor.query(
    `SELECT ${EVENT_COLUMNS} FROM albatross_events
     WHERE position > $1 AND ($3::text[] IS NULL OR type = ANY($3::text[])) AND ($4::text IS NULL OR tenant_id = $4)
       AND ($5::bigint IS NULL OR position <= $5)
     ORDER BY position LIMIT $2`,
    [
      options.after,
      options.limit,
      options.types === undefined ? null : [...options.types],
      options.tenantId ?? null,
      options.upTo ?? null,
    ],
  );
  return rows.map((row) => store.toEvent(row));
}

async function commandResultsIn(executor: SqlExecutor, commandId: string): Promise<AppendResult[]> {
  const rows = await executor.query(
    `SELECT stream_id, version, first_position, position, event_count FROM albatross_commands
     WHERE command_id = $1 ORDER BY first_position NULLS LAST, stream_id`,
    [commandId],
  );
  return rows.map((row) => ({
    streamId: String(row.stream_id),
    version: Number(row.version),
    position: Number(row.position ?? 0),
    firstPosition: row.first_position === null ? null : Number(row.first_position),
    eventCount: Number(row.event_count),
    duplicate: true,
  }));
}

function checkEvent(event: NewEvent): void {
  if (typeof event?.type !== 'string' || !EVENT_TYPE.test(event.type) || event.type.length > MAX_ID_LENGTH) {
    throw new AlbatrossError(
      'INVALID_MESSAGE',
      `invalid event type ${JSON.stringify(event?.type)}: {aggregate}.{past_tense}, lowercase`,
    );
  }
  if (event.payload === undefined) throw new AlbatrossError('INVALID_MESSAGE', `event ${event.type}: no payload`);
  const schemaVersion = event.schemaVersion ?? 1;
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) {
    throw new AlbatrossError('INVALID_MESSAGE', `event ${event.type}: schemaVersion must be an integer >= 1`);
  }
}
