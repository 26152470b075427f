import type { JsonValue } from '@albatross/protocol';

/** A stream version the writer expects: a number, `'no_stream'` (the stream must not exist) or `'any'`. */
export type ExpectedVersion = number | 'no_stream' | 'any';

/** An event to append. */
export interface NewEvent {
  /** `{aggregate}.{past_tense}`, e.g. `pirep.submitted`. */
  type: string;
  payload: JsonValue;
  /** Schema version of `payload` as written (default 1); upcasters lift older ones on read. */
  schemaVersion?: number;
}

/** Metadata stored with every event of one append. */
export interface AppendMetadata {
  tenantId?: string;
  causationId?: string;
  correlationId?: string;
  /** The user whose action produced the events. */
  actorId?: string;
  /** Caller-supplied command id: appending the same id again appends nothing and returns the first result. */
  commandId?: string;
}

/** Options of {@link EventStore.append}. */
export interface AppendOptions extends AppendMetadata {
  expectedVersion: ExpectedVersion;
}

/** The result of an append. */
export interface AppendResult {
  streamId: string;
  /** Stream version after the append. */
  version: number;
  /** Global position of the last event appended (0 when nothing was appended to an empty store). */
  position: number;
  /** Global position of the first event appended, or `null` when none was. */
  firstPosition: number | null;
  /** Number of events this append (or the first one with the same command id) wrote. */
  eventCount: number;
  /** True when the command id had been seen: nothing was appended, this is the first result. */
  duplicate: boolean;
}

/** An event as stored, after upcasting. */
export interface StoredEvent<P = JsonValue> {
  /** Global position: unique, increasing in commit order. */
  position: number;
  streamId: string;
  /** 1-based version within its stream. */
  streamVersion: number;
  type: string;
  /** Schema version of `payload` (after upcasting: the current one). */
  schemaVersion: number;
  payload: P;
  tenantId: string | null;
  causationId: string | null;
  correlationId: string | null;
  actorId: string | null;
  commandId: string | null;
  /** ISO 8601 time of the append. */
  recordedAt: string;
}

/** Options of {@link EventStore.readStream}. */
export interface ReadStreamOptions {
  /** First stream version to return (default 1). */
  fromVersion?: number;
  /** At most this many events (default and maximum {@link MAX_READ_LIMIT}). */
  limit?: number;
  /** Also read a soft-deleted stream (default false: a deleted stream reads as empty). */
  includeDeleted?: boolean;
}

/** Options of {@link EventStore.readAll}. */
export interface ReadAllOptions {
  /** Return events after this global position (default 0: from the start). */
  after?: number;
  /** At most this many events (default 1000, maximum {@link MAX_READ_LIMIT}). */
  limit?: number;
  /** Only these event types. */
  types?: readonly string[];
  /** Only this tenant's events. */
  tenantId?: string;
}

/** What the store knows about one stream. */
export interface StreamInfo {
  streamId: string;
  version: number;
  metadata: Record<string, JsonValue>;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

/** Largest `limit` of one read. Larger reads page with `after` (see {@link EventStore.iterateAll}). */
export const MAX_READ_LIMIT = 10_000;
/** Most events one append may carry (over all its streams). */
export const MAX_APPEND_EVENTS = 1_000;
/** Most streams one atomic append may write. */
export const MAX_APPEND_STREAMS = 20;

/** One stream's part of an atomic multi-stream append. */
export interface StreamWrite {
  streamId: string;
  events: readonly NewEvent[];
  expectedVersion: ExpectedVersion;
}

/**
 * An append-only event store: streams of events with optimistic concurrency,
 * one global order readers never skip, idempotent appends per command id.
 */
export interface EventStore {
  /** `'pg'` or `'pglite'`. */
  readonly kind: 'pg' | 'pglite';
  /**
   * Appends `events` to `streamId` atomically. Fails with
   * `CONCURRENCY_CONFLICT` (writing nothing) when the stream's version is
   * not `expectedVersion`; with `INVALID_STATE` when the stream is deleted.
   */
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;
  /**
   * Appends to several streams in one transaction: all or nothing, each
   * checked against its own expected version (e.g. a user and the
   * reservation stream of their unique email). With a command id, the same
   * id again returns the first results and appends nothing.
   */
  appendStreams(writes: readonly StreamWrite[], metadata?: AppendMetadata): Promise<AppendResult[]>;
  /** Events of one stream in version order, upcast. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  /** Events of every stream in global order, upcast. */
  readAll(options?: ReadAllOptions): Promise<StoredEvent[]>;
  /** Pages through `readAll` in bounded memory: yields one page of at most `batchSize` events at a time. */
  iterateAll(options?: Omit<ReadAllOptions, 'limit'> & { batchSize?: number }): AsyncGenerator<StoredEvent[]>;
  /** The highest committed position (0 for an empty store). */
  headPosition(): Promise<number>;
  /** A stream's version and metadata, or `null` when it does not exist. */
  getStream(streamId: string): Promise<StreamInfo | null>;
  /** Replaces a stream's metadata (the stream must exist). */
  setStreamMetadata(streamId: string, metadata: Record<string, JsonValue>): Promise<void>;
  /**
   * Soft-deletes a stream: its events stay (projections keep them), it reads
   * as empty and refuses appends.
   */
  deleteStream(streamId: string, options: { expectedVersion: ExpectedVersion }): Promise<void>;
  /** The result of an earlier append with this command id, or `null`. */
  commandResult(commandId: string): Promise<AppendResult | null>;
  /** Calls `onAppend(position)` after each committed append (any process); returns the unsubscribe. */
  subscribe(onAppend: (position: number) => void): Promise<() => Promise<void>>;
  /** Closes the store's connections. */
  close(): Promise<void>;
}
