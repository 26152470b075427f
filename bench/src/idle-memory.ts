import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { startGatewayProcess } from './gateway-process.js';
import { round } from './stats.js';

export interface IdleMemoryResult {
  scenario: 'idle-memory';
  connections: number;
  subscriptions_per_connection: number;
  rss_before_mib: number;
  rss_after_mib: number;
  bytes_per_connection: number;
}

const SECRET = 'bench-secret-0123456789abcdef';

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Memory per idle authenticated connection: RSS of the gateway process after
 * N connections (each holding the 3 baseline subscriptions) minus before, / N.
 */
export async function runIdleMemory(connections: number): Promise<IdleMemoryResult> {
  const gateway = await startGatewayProcess([
    '--port',
    '0',
    '--jwt-secret',
    SECRET,
    '--log-level',
    'warn',
    '--heartbeat-ms',
    '600000',
  ]);
  const sockets: WebSocket[] = [];
  try {
    const url = `ws://127.0.0.1:${gateway.port}/ws`;
    const token = (sub: string) =>
      new SignJWT({ tenant_id: `t${sub.length % 10}` })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(SECRET));
    // Warm up the server's code paths before the baseline reading.
    await connectBatch(url, token, 0, 50, sockets);
    for (const ws of sockets.splice(0)) ws.terminate();
    await settle(1000);
    const before = rssBytes(gateway.pid);
    for (let i = 0; i < connections; i += 200)
      await connectBatch(url, token, i, Math.min(200, connections - i), sockets);
    await settle(1000);
    const after = rssBytes(gateway.pid);
    return {
      scenario: 'idle-memory',
      connections,
      subscriptions_per_connection: 3,
      rss_before_mib: round(before / 1048576),
      rss_after_mib: round(after / 1048576),
      bytes_per_connection: Math.round((after - before) / connections),
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    await gateway.stop();
  }
}

async function connectBatch(
  url: string,
  token: (sub: string) => Promise<string>,
  start: number,
  count: number,
  sockets: WebSocket[],
): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async (_, k) => {
      const jwt = await token(`user-${start + k}`);
      const ws = new WebSocket(url, { perMessageDeflate: false });
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no welcome in 10 s')), 10_000);
        ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token: jwt })));
        ws.on('error', reject);
        ws.on('message', (data: Buffer) => {
          if (data.toString().startsWith('{"type":"welcome"')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    }),
  );
}
