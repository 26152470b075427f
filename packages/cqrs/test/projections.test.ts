import type { PublishRequest } from '@albatross/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCommandHandler,
  createProjectionRunner,
  createRealtimeProjection,
  openEventStore,
  type Projection,
  parkedEvents,
  projectionStatus,
  type RunnerEvent,
  rebuildProjection,
  type SqlEventStore,
  waitForProjections,
} from '../src/index.js';
import { ticketSummary } from './fixtures/projections.js';
import { uid, usePostgresStore, waitFor } from './helpers.js';
import { ticket } from './ticket.js';

async function readModel(store: SqlEventStore): Promise<{ tickets: unknown[]; log: unknown[] }> {
  return {
    tickets: await store.driver.query('SELECT id, title, status, assignee, notes FROM tickets ORDER BY id'),
    log: (await store.driver.query('SELECT position, ticket_id FROM ticket_log ORDER BY position, ticket_id')).map(
      (r) => [Number(r.position), r.ticket_id],
    ),
  };
}

async function checkpoint(store: SqlEventStore, name: string): Promise<number> {
  const status = await projectionStatus(store);
  return status.find((s) => s.name === name)?.position ?? -1;
}

/** Some ticket history: opens, assignments, notes and closes over several tickets. */
async function writeHistory(store: SqlEventStore, tickets: number, notesEach: number): Promise<void> {
  const handler = createCommandHandler(store, ticket);
  for (let t = 0; t < tickets; t++) {
    const id = `${uid()}-${t}`;
    await handler.handle(id, { type: 'open', title: `Ticket ${t}` });
    await handler.handle(id, { type: 'assign', assignee: `agent-${t % 3}` });
    for (let n = 0; n < notesEach; n++) await handler.handle(id, { type: 'note', text: `note ${n}` });
    if (t % 2 === 0) await handler.handle(id, { type: 'close', reason: 'done' });
  }
}

describe('projections on embedded PostgreSQL', () => {
  let store: SqlEventStore;
  beforeAll(async () => {
    store = await openEventStore({ url: 'memory://' });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('builds incrementally (catch-up, then live) exactly what a rebuild from zero builds', async () => {
    await writeHistory(store, 6, 3);
    const events: RunnerEvent[] = [];
    const runner = createProjectionRunner(store, [ticketSummary], {
      batchSize: 7,
      pollIntervalMs: 60_000, // live updates must come from LISTEN/NOTIFY, not polling
      onEvent: (e) => events.push(e),
    });
    await runner.start();
    try {
      await waitFor(
        async () => (await checkpoint(store, 'ticket_summary')) === (await store.headPosition()),
        'catch-up',
      );
      // Live: new events arrive through notifications.
      await writeHistory(store, 3, 2);
      const head = await store.headPosition();
      await waitForProjections(store, ['ticket_summary'], head, { timeoutMs: 30_000, pollIntervalMs: 60_000 });
      const incremental = await readModel(store);
      expect(incremental.tickets).toHaveLength(9);
      expect(incremental.log).toHaveLength(head);
      // Batches were bounded by batchSize.
      for (const e of events) if (e.type === 'applied') expect(e.events).toBeLessThanOrEqual(7);

      // Rebuild while the runner keeps running; the old table serves until the swap.
      const rebuilt = await rebuildProjection(store, ticketSummary, {
        batchSize: 10,
        onProgress: () => {
          void store.driver.query('SELECT count(*) FROM tickets');
        },
      });
      expect(rebuilt).toMatchObject({ name: 'ticket_summary', position: head, applied: head, parked: 0 });
      expect(await readModel(store)).toEqual(incremental);
      // Live updates land in the swapped-in table.
      await writeHistory(store, 1, 1);
      const after = await store.headPosition();
      await waitForProjections(store, ['ticket_summary'], after, { timeoutMs: 30_000 });
      const model = await readModel(store);
      expect(model.tickets).toHaveLength(10);
      expect(model.log).toHaveLength(after);
      const tables = await store.driver.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'ticket%' ORDER BY 1",
      );
      expect(tables.map((t) => t.tablename)).toEqual(['ticket_log', 'tickets']);
    } finally {
      await runner.stop();
    }
    const [status] = (await projectionStatus(store)).filter((s) => s.name === 'ticket_summary');
    expect(status).toMatchObject({ status: 'stopped', owner: null, lag: 0, parked: 0 });
  });

  it('lets one runner of several own a projection, and another take over when it stops', async () => {
    const a = createProjectionRunner(store, [ticketSummary], { lockRetryMs: 50 });
    const b = createProjectionRunner(store, [ticketSummary], { lockRetryMs: 50 });
    await a.start();
    await b.start();
    try {
      await waitFor(() => a.owned().length + b.owned().length === 1, 'one owner');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(a.owned().length + b.owned().length).toBe(1);
      const [first, second] = a.owned().length === 1 ? [a, b] : [b, a];
      await first.stop();
      await waitFor(() => second.owned().length === 1, 'takeover');
      await writeHistory(store, 1, 0);
      await waitForProjections(store, ['ticket_summary'], await store.headPosition(), { timeoutMs: 30_000 });
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('retries a failing handler with backoff, then parks the event; other projections are not blocked', async () => {
    const poison = `poison-${uid()}`;
    const attemptsAt = new Map<number, number>();
    const fragile: Projection = {
      name: 'fragile',
      handles: ['ticket.opened'],
      tables: { fragile_titles: (t) => `CREATE TABLE ${t} (position bigint PRIMARY KEY, title text NOT NULL)` },
      async apply(event, { tx, table }) {
        const title = (event.payload as { title: string }).title;
        // Written before the failure: must be rolled back with it.
        await tx.query(`INSERT INTO ${table('fragile_titles')} VALUES ($1, $2)`, [event.position, title]);
        if (title === poison) {
          attemptsAt.set(event.position, (attemptsAt.get(event.position) ?? 0) + 1);
          throw new Error(`cannot project ${poison}`);
        }
      },
    };
    const before = await store.headPosition();
    const handler = createCommandHandler(store, ticket);
    await handler.handle(uid(), { type: 'open', title: 'fine 1' });
    const bad = await handler.handle(uid(), { type: 'open', title: poison });
    await handler.handle(uid(), { type: 'open', title: 'fine 2' });
    const events: RunnerEvent[] = [];
    const runner = createProjectionRunner(store, [fragile, ticketSummary], {
      maxAttempts: 3,
      backoffMs: 20,
      onEvent: (e) => events.push(e),
    });
    await runner.start();
    try {
      const head = await store.headPosition();
      await waitForProjections(store, ['fragile', 'ticket_summary'], head, { timeoutMs: 30_000 });
    } finally {
      await runner.stop();
    }
    expect(attemptsAt.get(bad.position)).toBe(3);
    const titles = await store.driver.query(
      'SELECT position, title FROM fragile_titles WHERE position > $1 ORDER BY 1',
      [before],
    );
    expect(titles.map((t) => t.title)).toEqual(['fine 1', 'fine 2']);
    const parked = await parkedEvents(store, 'fragile');
    expect(parked).toEqual([
      expect.objectContaining({ position: bad.position, type: 'ticket.opened', attempts: 3, streamId: bad.streamId }),
    ]);
    expect(parked[0]?.error).toContain(poison);
    expect(events.filter((e) => e.type === 'retrying')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'parked')).toHaveLength(1);
    const status = (await projectionStatus(store)).find((s) => s.name === 'fragile');
    expect(status).toMatchObject({ parked: 1, retryCount: 0, lag: 0 });
    expect(status?.lastError).toContain(poison);
    // A rebuild replays the parked event, fails again and keeps it parked.
    const rebuilt = await rebuildProjection(store, fragile, { maxAttempts: 2 });
    expect(rebuilt.parked).toBe(1);
    expect((await parkedEvents(store, 'fragile')).map((p) => p.position)).toEqual([bad.position]);
  });

  it('publishes each event once through publish(), keyed by its position, with type, entity and meta', async () => {
    const published: PublishRequest[] = [];
    const realtime = createRealtimeProjection({
      handles: ['ticket.opened', 'ticket.assigned'],
      route: (event) => {
        const id = event.streamId.slice('ticket-'.length);
        return event.type === 'ticket.opened'
          ? { channels: [`ticket:${id}`, 'tenant:t1:updates'], entityId: id, changedFields: ['title', 'status'] }
          : { channels: [`ticket:${id}`], entityId: id, changedFields: ['assignee'] };
      },
      publish: async (request) => {
        published.push(request);
      },
    });
    // History before the realtime projection's first start is not published: it starts at the head.
    await createCommandHandler(store, ticket).handle(uid(), { type: 'open', title: 'Old news' });
    const start = await store.headPosition();
    const runner = createProjectionRunner(store, [realtime], { pollIntervalMs: 60_000 });
    await runner.start();
    try {
      const id = uid();
      const handler = createCommandHandler(store, ticket);
      const opened = await handler.handle(
        id,
        { type: 'open', title: 'Live' },
        { actorId: 'u7', correlationId: 'corr-1' },
      );
      const assigned = await handler.handle(id, { type: 'assign', assignee: 'ana' }, { actorId: 'u8' });
      await handler.handle(id, { type: 'note', text: 'not routed' });
      await waitForProjections(store, ['realtime'], await store.headPosition(), { timeoutMs: 30_000 });
      expect(published).toEqual([
        {
          channels: [`ticket:${id}`, 'tenant:t1:updates'],
          event_type: 'ticket.opened',
          payload: { id, title: 'Live', opened_at: expect.any(String) },
          meta: {
            source: 'albatross',
            entity_id: id,
            position: opened.position,
            user_id: 'u7',
            correlation_id: 'corr-1',
            changed_fields: ['title', 'status'],
          },
          idempotency_key: String(opened.position),
        },
        {
          channel: `ticket:${id}`,
          event_type: 'ticket.assigned',
          payload: { id, assignee: 'ana' },
          meta: {
            source: 'albatross',
            entity_id: id,
            position: assigned.position,
            user_id: 'u8',
            changed_fields: ['assignee'],
          },
          idempotency_key: String(assigned.position),
        },
      ]);
    } finally {
      await runner.stop();
    }
    // A replay (the checkpoint lost, as after a crash before commit) publishes
    // the same keys again, which the gateway's idempotency drops; nothing new.
    const firstRun = published.splice(0);
    await store.driver.query('UPDATE albatross_projections SET position = $2 WHERE name = $1', ['realtime', start]);
    const replay = createProjectionRunner(store, [realtime]);
    await replay.start();
    try {
      await waitForProjections(store, ['realtime'], await store.headPosition(), { timeoutMs: 30_000 });
    } finally {
      await replay.stop();
    }
    expect(published).toEqual(firstRun);
    await expect(rebuildProjection(store, realtime)).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });
});

describe('projection runner on PostgreSQL', () => {
  const pg = usePostgresStore();

  it('applies an event appended while a batch runs at once, not after the poll interval', async () => {
    const handler = createCommandHandler(pg.store, ticket);
    const first = uid();
    await handler.handle(first, { type: 'open', title: 'before' });
    const applied: string[] = [];
    let entered: () => void = () => {};
    const inBatch = new Promise<void>((resolve) => (entered = resolve));
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow: Projection = {
      name: `slow_${uid()}`,
      handles: ['ticket.opened'],
      async apply(event) {
        applied.push(event.streamId);
        if (applied.length === 1) {
          entered();
          await released; // the batch stays open while the next append commits and notifies
        }
      },
    };
    const runner = createProjectionRunner(pg.store, [slow], { pollIntervalMs: 60_000 });
    await runner.start();
    try {
      await inBatch;
      const notifiedAt: number[] = [];
      const unsubscribe = await pg.store.subscribe((position) => notifiedAt.push(position));
      const second = uid();
      const appended = await handler.handle(second, { type: 'open', title: 'during' });
      // The runner listens on the same connection: once this listener has the
      // position, the runner's notification has come too, mid-batch.
      await waitFor(() => notifiedAt.includes(appended.position), 'the append notification', 10_000);
      await unsubscribe();
      release();
      // A 60 s poll interval: only the notification can bring the event this soon.
      await waitFor(() => applied.length === 2, 'the second event applied', 10_000);
      expect(applied).toEqual([`ticket-${first}`, `ticket-${second}`]);
    } finally {
      release();
      await runner.stop();
    }
  });
});
