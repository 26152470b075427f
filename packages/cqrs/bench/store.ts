// Event store benchmark: appends/s (1 and 8 writers), projection catch-up
// events/s, and latency from append to the realtime projection's publish,
// on embedded PostgreSQL (PGlite, on disk) and on PostgreSQL.
//
//   npm run bench:store [-- --quick] [--only pglite|postgres] [--pg-url postgres://…]
//
// Every loop is bounded in count. PostgreSQL runs in a database of its own,
// dropped at the end. Prints a markdown table and writes JSON to stdout's last line.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  createProjectionRunner,
  createRealtimeProjection,
  openEventStore,
  type Projection,
  type SqlEventStore,
  waitForProjections,
} from '../src/index.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
const only = flag('only');
const pgAdminUrl =
  flag('pg-url') ?? process.env.ALBATROSS_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const APPENDS = quick ? 400 : 3000;
const CATCH_UP = quick ? 5000 : 50_000;
const LATENCY_SAMPLES = quick ? 100 : 500;

interface Result {
  backend: string;
  appendsPerSec1: number;
  appendsPerSec8: number;
  catchUpPerSec: number;
  publishP50Ms: number;
  publishP99Ms: number;
}

const log = (msg: string) => process.stderr.write(`bench:store ${msg}\n`);

async function appendRate(store: SqlEventStore, writers: number): Promise<number> {
  const perWriter = Math.ceil(APPENDS / writers);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const stream = `bench-${randomBytes(4).toString('hex')}-${w}`;
      for (let i = 0; i < perWriter; i++) {
        await store.append(stream, [{ type: 'bench.appended', payload: { i, w } }], {
          expectedVersion: i === 0 ? 'no_stream' : i,
        });
      }
    }),
  );
  return (perWriter * writers) / ((performance.now() - started) / 1000);
}

async function catchUpRate(store: SqlEventStore): Promise<number> {
  const before = await store.headPosition();
  await store.driver.query(
    `INSERT INTO albatross_events (stream_id, stream_version, type, payload)
     SELECT 'catchup-' || $1::text || '-' || (g / 1000), (g % 1000) + 1, 'bench.loaded', jsonb_build_object('n', g)
     FROM generate_series(0, $2::int - 1) AS g`,
    [randomBytes(4).toString('hex'), CATCH_UP],
  );
  const counter: Projection = {
    name: 'bench_counter',
    handles: ['bench.loaded'],
    tables: { bench_counts: (t) => `CREATE TABLE ${t} (stream_id text PRIMARY KEY, n integer NOT NULL)` },
    async apply(event, { tx, table }) {
      await tx.query(
        `INSERT INTO ${table('bench_counts')} (stream_id, n) VALUES ($1, 1)
         ON CONFLICT (stream_id) DO UPDATE SET n = ${table('bench_counts')}.n + 1`,
        [event.streamId],
      );
    },
  };
  await store.driver.query(
    `INSERT INTO albatross_projections (name, position) VALUES ('bench_counter', $1)
     ON CONFLICT (name) DO UPDATE SET position = $1`,
    [before],
  );
  const head = await store.headPosition();
  const runner = createProjectionRunner(store, [counter], { batchSize: 500 });
  const started = performance.now();
  await runner.start();
  await waitForProjections(store, ['bench_counter'], head, { timeoutMs: 600_000 });
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  return CATCH_UP / seconds;
}

async function publishLatency(store: SqlEventStore): Promise<{ p50: number; p99: number }> {
  const appendedAt = new Map<number, number>();
  const latencies: number[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const realtime = createRealtimeProjection({
    name: 'bench_realtime',
    handles: ['bench.pinged'],
    route: (event) => ({ channels: ['bench:latency'], entityId: event.streamId }),
    publish: async (request) => {
      const at = appendedAt.get(Number(request.idempotency_key));
      if (at !== undefined) latencies.push(performance.now() - at);
      if (latencies.length >= LATENCY_SAMPLES) done();
    },
  });
  await store.driver.query(
    `INSERT INTO albatross_projections (name, position) VALUES ('bench_realtime', $1)
     ON CONFLICT (name) DO UPDATE SET position = $1`,
    [await store.headPosition()],
  );
  const runner = createProjectionRunner(store, [realtime], { pollIntervalMs: 5000 });
  await runner.start();
  const stream = `ping-${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const started = performance.now();
    const result = await store.append(stream, [{ type: 'bench.pinged', payload: { i } }], { expectedVersion: i });
    appendedAt.set(result.position, started);
    // One at a time, spaced out: this measures latency, not throughput.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  await runner.stop();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

async function measure(backend: string, store: SqlEventStore): Promise<Result> {
  log(`${backend}: appends, 1 writer`);
  const appendsPerSec1 = await appendRate(store, 1);
  log(`${backend}: appends, 8 writers`);
  const appendsPerSec8 = await appendRate(store, 8);
  log(`${backend}: catch-up of ${CATCH_UP} events`);
  const catchUpPerSec = await catchUpRate(store);
  log(`${backend}: append → publish latency, ${LATENCY_SAMPLES} samples`);
  const latency = await publishLatency(store);
  return {
    backend,
    appendsPerSec1,
    appendsPerSec8,
    catchUpPerSec,
    publishP50Ms: latency.p50,
    publishP99Ms: latency.p99,
  };
}

const results: Result[] = [];
if (only === undefined || only === 'pglite') {
  const dir = await mkdtemp(join(tmpdir(), 'albatross-bench-'));
  const store = await openEventStore({ url: join(dir, 'data') });
  try {
    results.push(await measure('PGlite (on disk)', store));
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
if (only === undefined || only === 'postgres') {
  const name = `albatross_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(pgAdminUrl);
  url.pathname = `/${name}`;
  const store = await openEventStore({ url: url.toString() });
  try {
    results.push(await measure('PostgreSQL 15 (local, fsync on)', store));
  } finally {
    await store.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
process.stdout.write(
  [
    `Event store (${quick ? 'quick: ' : ''}${APPENDS} appends of 1 event per configuration, catch-up of ${CATCH_UP} events, ${LATENCY_SAMPLES} latency samples)`,
    '',
    '| store | appends/s, 1 writer | appends/s, 8 writers | catch-up events/s | append → publish p50 | p99 |',
    '|---|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.backend} | ${fmt(r.appendsPerSec1)} | ${fmt(r.appendsPerSec8)} | ${fmt(r.catchUpPerSec)} | ${ms(r.publishP50Ms)} ms | ${ms(r.publishP99Ms)} ms |`,
    ),
    '',
    JSON.stringify({ quick, results }),
    '',
  ].join('\n'),
);
