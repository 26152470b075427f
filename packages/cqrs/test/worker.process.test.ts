import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createCommandHandler,
  projectionStatus,
  type RunnerEvent,
  rebuildProjection,
  type SqlEventStore,
} from '../src/index.js';
import { ticketSummary } from './fixtures/projections.js';
import { uid, usePostgresStore, waitFor } from './helpers.js';
import { ticket } from './ticket.js';

// Worker processes (tsx, sources) against the machine's PostgreSQL: the
// crash tests need real processes dying with kill -9 and real sessions
// whose advisory locks die with them.
const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

interface WorkerProcess {
  child: ChildProcess;
  events: Array<RunnerEvent | { type: 'started'; pid: number }>;
  stderr: string[];
  exited: Promise<void>;
}

const children: WorkerProcess[] = [];
afterEach(() => {
  for (const w of children.splice(0))
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
});

function startWorker(url: string, owner: string, env: Record<string, string> = {}): WorkerProcess {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('ALBATROSS_') || key === 'NODE_OPTIONS' || key.startsWith('TEST_')) continue;
    clean[key] = value;
  }
  const child = spawn(process.execPath, ['--conditions=@albatross/source', '--import', 'tsx', WORKER], {
    cwd: PACKAGE_DIR,
    env: { ...clean, DATABASE_URL: url, TEST_OWNER: owner, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: WorkerProcess = {
    child,
    events: [],
    stderr: [],
    exited: new Promise((resolve) => child.on('exit', () => resolve())),
  };
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') worker.events.push(JSON.parse(line));
  });
  child.stderr?.on('data', (chunk: Buffer) => worker.stderr.push(chunk.toString()));
  children.push(worker);
  return worker;
}

async function readModel(store: SqlEventStore): Promise<{ tickets: unknown[]; log: unknown[] }> {
  return {
    tickets: await store.driver.query('SELECT id, title, status, assignee, notes FROM tickets ORDER BY id'),
    log: (await store.driver.query('SELECT position, ticket_id FROM ticket_log ORDER BY position, ticket_id')).map(
      (r) => [Number(r.position), r.ticket_id],
    ),
  };
}

async function checkpoint(store: SqlEventStore): Promise<number> {
  return (await projectionStatus(store)).find((s) => s.name === 'ticket_summary')?.position ?? 0;
}

async function writeHistory(store: SqlEventStore, tickets: number, notesEach: number): Promise<void> {
  const handler = createCommandHandler(store, ticket);
  for (let t = 0; t < tickets; t++) {
    const id = `${uid()}-${t}`;
    await handler.handle(id, { type: 'open', title: `Ticket ${t}` });
    await handler.handle(id, { type: 'assign', assignee: `agent-${t % 3}` });
    for (let n = 0; n < notesEach; n++) await handler.handle(id, { type: 'note', text: `note ${n}` });
  }
}

describe('projection worker processes on PostgreSQL', () => {
  const pg = usePostgresStore();

  it('kill -9 mid-batch, restart: the read model equals a rebuild from zero', async () => {
    await writeHistory(pg.store, 12, 8); // 120 events
    const head = await pg.store.headPosition();
    // 30 ms per event, 40 per batch: each batch transaction stays open ~1.2 s.
    const first = startWorker(pg.url, 'crashy', { TEST_PROJECTION_DELAY_MS: '30', TEST_BATCH_SIZE: '40' });
    await waitFor(() => first.events.some((e) => e.type === 'applied'), 'the first batch to commit', 60_000);
    // Now in the middle of the second batch: some events applied inside an open transaction.
    await new Promise((resolve) => setTimeout(resolve, 500));
    first.child.kill('SIGKILL');
    await first.exited;
    const atCrash = await checkpoint(pg.store);
    expect(atCrash).toBeGreaterThan(0);
    expect(atCrash).toBeLessThan(head);
    // What is in the read model is exactly what the checkpoint says: nothing of the killed batch.
    const partial = await readModel(pg.store);
    expect(partial.log).toHaveLength(atCrash);

    const second = startWorker(pg.url, 'restarted');
    await waitFor(async () => (await checkpoint(pg.store)) === head, 'the restarted worker to catch up', 60_000);
    second.child.kill('SIGTERM');
    await second.exited;
    const incremental = await readModel(pg.store);
    expect(incremental.log).toHaveLength(head);
    const rebuilt = await rebuildProjection(pg.store, ticketSummary);
    expect(rebuilt.position).toBe(head);
    expect(await readModel(pg.store)).toEqual(incremental);
  });

  it('two workers: one owns the projection; after kill -9 of the owner the other takes over', async () => {
    const a = startWorker(pg.url, 'worker-a');
    const b = startWorker(pg.url, 'worker-b');
    await waitFor(
      () => a.events.some((e) => e.type === 'started') && b.events.some((e) => e.type === 'started'),
      'both workers to start',
      60_000,
    );
    await waitFor(
      () => [...a.events, ...b.events].some((e) => e.type === 'acquired'),
      'one worker to own ticket_summary',
      30_000,
    );
    // Give the other a few lock retries: it must not acquire too.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const acquiredBy = (w: WorkerProcess) => w.events.filter((e) => e.type === 'acquired').length;
    expect(acquiredBy(a) + acquiredBy(b)).toBe(1);
    const [owner, standby, standbyName] = acquiredBy(a) === 1 ? [a, b, 'worker-b'] : [b, a, 'worker-a'];

    await writeHistory(pg.store, 2, 2);
    await waitFor(
      async () => (await checkpoint(pg.store)) === (await pg.store.headPosition()),
      'the owner to apply',
      30_000,
    );

    owner.child.kill('SIGKILL');
    await owner.exited;
    await waitFor(() => acquiredBy(standby) === 1, 'the standby to take over', 30_000);
    await writeHistory(pg.store, 2, 2);
    const head = await pg.store.headPosition();
    await waitFor(async () => (await checkpoint(pg.store)) === head, 'the new owner to apply', 30_000);
    const status = (await projectionStatus(pg.store)).find((s) => s.name === 'ticket_summary');
    expect(status).toMatchObject({ owner: standbyName, lag: 0, status: 'running' });
    const model = await readModel(pg.store);
    expect(model.log).toHaveLength(head);
    expect(new Set(model.log.map((entry) => JSON.stringify(entry))).size).toBe(head);
    standby.child.kill('SIGTERM');
    await standby.exited;
  });
});
