import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { signToken } from './load/token.js';
import { startNodeServer } from './processes.js';

/**
 * `node bench/dist/heap-snapshot.js [N]` (after `npm run build`): what one
 * idle authenticated gateway connection holds on the JS heap. Starts
 * `albatross serve` with `--heapsnapshot-signal`, opens and closes 200
 * connections (warm-up), takes a snapshot, opens N idle connections
 * (first-frame JWT, 3 baseline subscriptions, distinct users in 100
 * tenants), takes another, and prints the difference by V8 node type and
 * constructor, per connection (self sizes). N is bounded to 15,000 (the
 * open-files limit of one process on small machines). With `--floor` the
 * same is measured on the plain-`ws` floor (its peer ignores the auth frame
 * and sends its `welcome` at once), for the share the socket and `ws` take.
 */
const args = process.argv.slice(2);
const floor = args.includes('--floor');
const N = Math.min(15_000, Math.max(100, Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000) || 10_000));
const SECRET = `heap-${'k'.repeat(32)}`;
const dir = mkdtempSync(join(tmpdir(), 'albatross-heap-'));
const cli = fileURLToPath(new URL('../../packages/server/dist/cli/main.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const floorPeer = fileURLToPath(new URL('./peers/ws-floor.js', import.meta.url));
const server = await startNodeServer(
  floor ? floorPeer : cli,
  floor
    ? ['--port', '0']
    : ['serve', '--port', '0', '--jwt-secret', SECRET, '--admin-key', `admin-${'k'.repeat(24)}`, '--log-level', 'warn'],
  { nodeFlags: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] },
);
const snapshots = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'));

/** Signals the gateway and waits (at most 120 s) until the new snapshot file stops growing. */
async function snapshot(): Promise<string> {
  const before = snapshots().length;
  server.child.kill('SIGUSR2');
  const until = Date.now() + 120_000;
  let size = -1;
  let same = 0;
  while (Date.now() < until) {
    await sleep(500);
    const file = snapshots().sort().at(-1);
    if (snapshots().length === before || !file) continue;
    const now = statSync(join(dir, file)).size;
    same = now === size && now > 0 ? same + 1 : 0;
    size = now;
    if (same >= 3) return join(dir, file);
  }
  throw new Error('no heap snapshot within 120 s');
}

function connect(i: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error('no welcome within 30 s')), 30_000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token: signToken(SECRET, `u${i}`, `t${i % 100}`) })));
    ws.on('message', (data) => {
      if (String(data).includes('"welcome"')) {
        clearTimeout(timer);
        resolve(ws);
      }
    });
    ws.on('error', reject);
  });
}

async function open(from: number, count: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i += 100)
    sockets.push(
      ...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, k) => connect(from + i + k)))),
    );
  return sockets;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count by `type:constructor` (strings and code folded into one row each). */
function aggregate(file: string): Map<string, { count: number; bytes: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const rows = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType] ?? 0] ?? '?';
    const name = type.includes('string')
      ? ''
      : type === 'code'
        ? ''
        : (snap.strings[snap.nodes[i + iName] ?? 0] ?? '').slice(0, 60);
    const key = `${type}:${name}`;
    const row = rows.get(key) ?? { count: 0, bytes: 0 };
    row.count += 1;
    row.bytes += snap.nodes[i + iSize] ?? 0;
    rows.set(key, row);
  }
  return rows;
}

try {
  for (const ws of await open(1_000_000, 200)) ws.terminate();
  await sleep(1500);
  const before = aggregate(await snapshot());
  const sockets = await open(0, N);
  await sleep(1500);
  const after = aggregate(await snapshot());
  for (const ws of sockets) ws.terminate();
  const diff = [...after].map(([key, a]) => {
    const b = before.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: (a.count - b.count) / N, bytes: (a.bytes - b.bytes) / N };
  });
  diff.sort((x, y) => y.bytes - x.bytes);
  const total = diff.reduce((s, d) => s + d.bytes, 0);
  process.stdout.write(
    `JS heap per idle connection${floor ? ' (ws floor)' : ''}: ${Math.round(total)} B (${N} connections)\n\n`,
  );
  process.stdout.write('| node (type:constructor) | count / conn | bytes / conn |\n|---|---:|---:|\n');
  for (const d of diff.slice(0, 25))
    process.stdout.write(`| \`${d.key}\` | ${d.count.toFixed(2)} | ${Math.round(d.bytes)} |\n`);
} finally {
  await server.stop(0);
  rmSync(dir, { recursive: true, force: true });
}
