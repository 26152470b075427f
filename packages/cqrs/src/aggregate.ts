import type { JsonValue } from '@albatross/protocol';
import { AlbatrossError } from '@albatross/protocol';
import type { z } from 'zod';
import type { AppendMetadata, EventStore, ExpectedVersion, StoredEvent } from './types.js';
import { MAX_READ_LIMIT } from './types.js';

/** An event an aggregate decides: its type (`{aggregate}.{past_tense}`) and payload. */
export interface DecidedEvent {
  type: string;
  payload: JsonValue;
  schemaVersion?: number;
}

/** What `decide` may know besides state and command (who asks, when). */
export interface DecideContext {
  /** The stream id, `{aggregate}-{id}`. */
  streamId: string;
  /** The entity id (the part after `{aggregate}-`). */
  id: string;
  /** The stream version the state was built from (0: no stream yet). */
  version: number;
  actorId?: string;
  tenantId?: string;
  /** The time of this attempt (injected so `decide` stays pure and testable). */
  now: Date;
}

/**
 * An aggregate as plain functions. `decide` and `evolve` must be pure: the
 * command handler may call `decide` again on fresher state after a conflict.
 * A broken domain rule throws an `AlbatrossError` with a stable code
 * (`INVALID_STATE`, `ALREADY_EXISTS`, `FORBIDDEN`, …), never a string.
 */
export interface Aggregate<S, C> {
  /** Stream prefix and event type prefix, e.g. `pirep` → streams `pirep-{id}`, events `pirep.*`. */
  name: string;
  /** zod schema of the commands, checked at the boundary before `decide` runs. */
  commandSchema: z.ZodType<C>;
  /** State before the first event. */
  initialState: S;
  /** Events a command produces on `state` (none: nothing to do). */
  decide(state: S, command: C, context: DecideContext): readonly DecidedEvent[];
  /** State after one event. */
  evolve(state: S, event: StoredEvent): S;
  /**
   * Whether a command may be retried on fresher state after a concurrency
   * conflict (default: yes). Say no for commands whose meaning depends on
   * the exact state the caller saw.
   */
  retryOnConflict?(command: C): boolean;
}

/** Options of one {@link CommandHandler.handle} call. */
export interface HandleOptions extends Omit<AppendMetadata, 'commandId'> {
  /** Caller-supplied id: the same id again returns the first result and appends nothing. */
  commandId?: string;
  /**
   * The version the caller saw (e.g. from `If-Match`). When given, a stale
   * version is a `CONCURRENCY_CONFLICT` and is never retried.
   */
  expectedVersion?: ExpectedVersion;
}

/** The result of a handled command. */
export interface CommandResult<S> {
  streamId: string;
  /** Stream version after the command. */
  version: number;
  /** Global position of the last event written (0 when none was). Wait for projections to pass it for read-your-writes. */
  position: number;
  /** The events this command wrote (empty for a duplicate or a no-op). */
  events: StoredEvent[];
  /** True when `commandId` had been handled before: nothing was appended. */
  duplicate: boolean;
  /** The aggregate's state after the command (for a duplicate: its current state). */
  state: S;
  /** How many conflicts were retried. */
  retries: number;
}

/** Options of {@link createCommandHandler}. */
export interface CommandHandlerOptions {
  /** Most conflict retries of one command (default 3); after them the conflict reaches the caller. */
  maxRetries?: number;
  /** Clock for `DecideContext.now` (tests inject one). */
  now?: () => Date;
}

/** Runs commands against one aggregate type. */
export interface CommandHandler<S> {
  /** Validates `input`, loads `{aggregate}-{id}`, decides, appends with the version it read. */
  handle(id: string, input: unknown, options?: HandleOptions): Promise<CommandResult<S>>;
  /** The current state and version of one entity (`version` 0: it does not exist). */
  load(id: string): Promise<{ state: S; version: number }>;
}

const ENTITY_ID = /^[A-Za-z0-9_.:@-]{1,150}$/;

/** Builds the state of one aggregate from its events (for tests and loaders). */
export function replay<S, C>(aggregate: Aggregate<S, C>, events: readonly StoredEvent[]): S {
  return events.reduce((state, event) => aggregate.evolve(state, event), aggregate.initialState);
}

/** Turns a zod failure into the shared `INVALID_MESSAGE` error, with the issues as details. */
export function validationError(error: z.ZodError, what: string): AlbatrossError {
  const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  const first = issues[0];
  return new AlbatrossError(
    'INVALID_MESSAGE',
    `invalid ${what}${first ? `: ${first.path === '' ? '' : `${first.path}: `}${first.message}` : ''}`,
    { details: { issues } },
  );
}

/**
 * A command handler for `aggregate`. Policy on conflicts: a command the
 * caller pinned to a version (`expectedVersion`) is never retried; any
 * other is re-decided on fresh state up to `maxRetries` times (default 3),
 * unless `aggregate.retryOnConflict` says no. Re-deciding is safe because
 * `decide` is pure and sees the new state, so its rules are checked again.
 */
export function createCommandHandler<S, C>(
  store: EventStore,
  aggregate: Aggregate<S, C>,
  options: CommandHandlerOptions = {},
): CommandHandler<S> {
  const maxRetries = options.maxRetries ?? 3;
  const now = options.now ?? (() => new Date());
  if (!/^[a-z][a-z0-9_]*$/.test(aggregate.name)) {
    throw new AlbatrossError(
      'INVALID_MESSAGE',
      `aggregate name ${JSON.stringify(aggregate.name)}: lowercase a-z 0-9 _`,
    );
  }

  function streamOf(id: string): string {
    if (typeof id !== 'string' || !ENTITY_ID.test(id)) {
      throw new AlbatrossError('INVALID_MESSAGE', `invalid ${aggregate.name} id ${JSON.stringify(id)}`);
    }
    return `${aggregate.name}-${id}`;
  }

  async function loadStream(streamId: string): Promise<{ state: S; version: number }> {
    let state = aggregate.initialState;
    let version = 0;
    for (;;) {
      const page = await store.readStream(streamId, { fromVersion: version + 1, limit: MAX_READ_LIMIT });
      for (const event of page) {
        state = aggregate.evolve(state, event);
        version = event.streamVersion;
      }
      if (page.length < MAX_READ_LIMIT) return { state, version };
    }
  }

  return {
    load: (id) => loadStream(streamOf(id)),

    async handle(id, input, handleOptions = {}) {
      const streamId = streamOf(id);
      const parsed = aggregate.commandSchema.safeParse(input);
      if (!parsed.success) throw validationError(parsed.error, `${aggregate.name} command`);
      const command = parsed.data;
      const { commandId, expectedVersion, ...metadata } = handleOptions;
      if (commandId !== undefined) {
        const seen = await store.commandResult(commandId);
        if (seen) {
          const current = await loadStream(seen.streamId);
          return { ...seen, events: [], duplicate: true, state: current.state, retries: 0 };
        }
      }
      const mayRetry = expectedVersion === undefined && (aggregate.retryOnConflict?.(command) ?? true);
      for (let attempt = 0; ; attempt++) {
        const { state, version } = await loadStream(streamId);
        if (typeof expectedVersion === 'number' && expectedVersion !== version) {
          throw new AlbatrossError(
            'CONCURRENCY_CONFLICT',
            `${streamId}: expected version ${expectedVersion}, found ${version}`,
            { details: { stream_id: streamId, expected_version: expectedVersion, actual_version: version } },
          );
        }
        const decided = aggregate.decide(state, command, {
          streamId,
          id,
          version,
          now: now(),
          ...(metadata.actorId === undefined ? {} : { actorId: metadata.actorId }),
          ...(metadata.tenantId === undefined ? {} : { tenantId: metadata.tenantId }),
        });
        for (const event of decided) {
          if (!event.type.startsWith(`${aggregate.name}.`)) {
            throw new AlbatrossError(
              'INTERNAL',
              `aggregate ${aggregate.name} decided an event of another aggregate: ${event.type}`,
            );
          }
        }
        if (decided.length === 0) {
          return { streamId, version, position: 0, events: [], duplicate: false, state, retries: attempt };
        }
        try {
          const result = await store.append(streamId, decided, {
            ...metadata,
            ...(commandId === undefined ? {} : { commandId }),
            expectedVersion: version === 0 ? 'no_stream' : version,
          });
          if (result.duplicate) {
            // Another caller with the same command id won the race.
            const current = await loadStream(result.streamId);
            return { ...result, events: [], duplicate: true, state: current.state, retries: attempt };
          }
          const events = await store.readStream(streamId, { fromVersion: version + 1, limit: decided.length });
          const next = events.reduce((s, event) => aggregate.evolve(s, event), state);
          return {
            streamId,
            version: result.version,
            position: result.position,
            events,
            duplicate: false,
            state: next,
            retries: attempt,
          };
        } catch (error) {
          const isConflict = error instanceof AlbatrossError && error.code === 'CONCURRENCY_CONFLICT';
          if (!isConflict || !mayRetry || attempt >= maxRetries) throw error;
          // Small jittered pause so racing writers do not collide again in lockstep.
          await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)));
        }
      }
    },
  };
}
