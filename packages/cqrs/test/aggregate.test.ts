import { AlbatrossError } from '@albatross/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCommandHandler,
  type DecidedEvent,
  openEventStore,
  replay,
  type SqlEventStore,
  type StoredEvent,
} from '../src/index.js';
import { uid } from './helpers.js';
import { ticket } from './ticket.js';

const NOW = new Date('2026-01-02T03:04:05.000Z');

function stored(events: readonly DecidedEvent[]): StoredEvent[] {
  return events.map((event, index) => ({
    position: index + 1,
    streamId: 'ticket-t1',
    streamVersion: index + 1,
    type: event.type,
    schemaVersion: 1,
    payload: event.payload,
    tenantId: null,
    causationId: null,
    correlationId: null,
    actorId: null,
    commandId: null,
    recordedAt: NOW.toISOString(),
  }));
}

/** given(history).when(command) → the decided events, or the error thrown. */
function given(history: readonly DecidedEvent[]) {
  const events = stored(history);
  return {
    when(command: unknown): DecidedEvent[] | AlbatrossError {
      const parsed = ticket.commandSchema.parse(command);
      try {
        return [
          ...ticket.decide(replay(ticket, events), parsed, {
            streamId: 'ticket-t1',
            id: 't1',
            version: events.length,
            now: NOW,
          }),
        ];
      } catch (error) {
        if (error instanceof AlbatrossError) return error;
        throw error;
      }
    },
  };
}

const opened = { type: 'ticket.opened', payload: { title: 'Printer on fire', opened_at: NOW.toISOString() } };

describe('ticket aggregate (given / when / then)', () => {
  it('given nothing, when opened, then ticket.opened', () => {
    expect(given([]).when({ type: 'open', title: 'Printer on fire' })).toEqual([opened]);
  });

  it('given an open ticket, when opened again, then ALREADY_EXISTS', () => {
    expect(given([opened]).when({ type: 'open', title: 'again' })).toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('given an open ticket, when assigned, then ticket.assigned; when assigned to the same person again, nothing', () => {
    expect(given([opened]).when({ type: 'assign', assignee: 'ana' })).toEqual([
      { type: 'ticket.assigned', payload: { assignee: 'ana' } },
    ]);
    const assigned = { type: 'ticket.assigned', payload: { assignee: 'ana' } };
    expect(given([opened, assigned]).when({ type: 'assign', assignee: 'ana' })).toEqual([]);
  });

  it('given a closed ticket, when noted, then INVALID_STATE', () => {
    const closed = { type: 'ticket.closed', payload: { reason: 'fixed' } };
    expect(given([opened, closed]).when({ type: 'note', text: 'hello' })).toMatchObject({ code: 'INVALID_STATE' });
  });

  it('given nothing, when closed, then INVALID_STATE', () => {
    expect(given([]).when({ type: 'close', reason: 'x' })).toMatchObject({ code: 'INVALID_STATE' });
  });
});

describe('command handler', () => {
  let store: SqlEventStore;
  beforeAll(async () => {
    store = await openEventStore({ url: 'memory://' });
  });
  afterAll(async () => {
    await store?.close();
  });
  const handler = () => createCommandHandler(store, ticket, { now: () => NOW });

  it('loads, decides and appends with the version it read, returning the new state', async () => {
    const id = uid();
    const first = await handler().handle(id, { type: 'open', title: 'Hi' }, { actorId: 'u1', tenantId: 't1' });
    expect(first).toMatchObject({ streamId: `ticket-${id}`, version: 1, duplicate: false, retries: 0 });
    expect(first.state).toEqual({ status: 'open', title: 'Hi', assignee: null, notes: 0 });
    expect(first.events.map((e) => [e.type, e.actorId, e.tenantId])).toEqual([['ticket.opened', 'u1', 't1']]);
    const second = await handler().handle(id, { type: 'assign', assignee: 'bo' });
    expect(second.version).toBe(2);
    expect(second.position).toBeGreaterThan(first.position);
    expect(await handler().load(id)).toMatchObject({ version: 2, state: { assignee: 'bo' } });
    // A no-op decision appends nothing.
    const noop = await handler().handle(id, { type: 'assign', assignee: 'bo' });
    expect(noop).toMatchObject({ version: 2, events: [], position: 0 });
  });

  it('validates commands with zod at the boundary: INVALID_MESSAGE with the issues, nothing appended', async () => {
    const id = uid();
    for (const input of [
      { type: 'open' },
      { type: 'open', title: 'x', extra: true },
      { type: 'explode' },
      'open',
      null,
    ]) {
      const error = await handler()
        .handle(id, input)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AlbatrossError);
      expect((error as AlbatrossError).code).toBe('INVALID_MESSAGE');
      expect((error as AlbatrossError).details?.issues).toBeInstanceOf(Array);
    }
    await expect(handler().handle('bad id!', { type: 'open', title: 'x' })).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
    });
    expect(await store.readStream(`ticket-${id}`)).toEqual([]);
  });

  it('turns a broken domain rule into its AlbatrossError code', async () => {
    const id = uid();
    await expect(handler().handle(id, { type: 'note', text: 'x' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('is idempotent per command id: the same id returns the first result and appends nothing', async () => {
    const id = uid();
    await handler().handle(id, { type: 'open', title: 'Hi' });
    const commandId = `cmd-${uid()}`;
    const first = await handler().handle(id, { type: 'note', text: 'one' }, { commandId });
    const again = await handler().handle(id, { type: 'note', text: 'one' }, { commandId });
    expect(again).toMatchObject({
      duplicate: true,
      version: first.version,
      position: first.position,
      events: [],
    });
    expect(again.state.notes).toBe(1);
    expect(await store.readStream(`ticket-${id}`)).toHaveLength(2);
  });

  it('retries a conflict a bounded number of times, then lets it through', async () => {
    const id = uid();
    await handler().handle(id, { type: 'open', title: 'Hi' });
    // Ten racing notes: each is re-decided on fresh state until it lands.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        createCommandHandler(store, ticket, { maxRetries: 20 }).handle(id, { type: 'note', text: `n${i}` }),
      ),
    );
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect((await handler().load(id)).state.notes).toBe(10);
    // All ten loaded version 1 before any appended, so most of them had to retry.
    expect(results.filter((r) => r.retries > 0).length).toBeGreaterThan(0);

    // With no retries allowed, racing commands conflict.
    const other = uid();
    await handler().handle(other, { type: 'open', title: 'Hi' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        createCommandHandler(store, ticket, { maxRetries: 0 }).handle(other, { type: 'note', text: `n${i}` }),
      ),
    );
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const o of rejected) expect((o.reason as AlbatrossError).code).toBe('CONCURRENCY_CONFLICT');
    expect((await handler().load(other)).state.notes).toBe(10 - rejected.length);
  });

  it('never retries a command pinned to a version, nor one the aggregate marks as not retryable', async () => {
    const id = uid();
    await handler().handle(id, { type: 'open', title: 'Hi' });
    await handler().handle(id, { type: 'note', text: 'x' });
    await expect(handler().handle(id, { type: 'note', text: 'stale' }, { expectedVersion: 1 })).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
      status: 409,
    });
    expect(await store.readStream(`ticket-${id}`)).toHaveLength(2);
    const ok = await handler().handle(id, { type: 'close', reason: 'done' }, { expectedVersion: 2 });
    expect(ok.version).toBe(3);
  });
});
