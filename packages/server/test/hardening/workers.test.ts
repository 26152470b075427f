import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EventFrame } from '@albatross/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../../../../tests/support/cli.js';
import { type RedisServer, startRedis } from '../redis/support/servers.js';
import { ADMIN_KEY, post, signToken, TestClient } from '../support/harness.js';

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'test-secret-0123456789abcdef';
let redis: RedisServer;
let primary: ChildProcess | null = null;

beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  if (primary && primary.exitCode === null) primary.kill('SIGKILL');
  await redis?.stop();
});

const exitOf = (proc: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    else proc.once('exit', (code) => resolve(code));
  });

describe('multi-core mode (--workers)', () => {
  it('refuses more than one worker without Redis, naming the setting', async () => {
    const proc = spawnCli(['serve', '--jwt-secret', SECRET, '--workers', '2'], { cwd: PACKAGE_DIR });
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    expect(await exitOf(proc)).toBe(2);
    expect(stderr).toContain('--workers');
  });

  it('runs workers on one port that together deliver every publication once, in order, and stop on SIGTERM', async () => {
    primary = spawnCli(
      [
        'serve',
        '--port',
        '0',
        '--workers',
        '2',
        '--redis-url',
        redis.url,
        '--jwt-secret',
        SECRET,
        '--admin-key',
        ADMIN_KEY,
        '--rate-limit',
        'off',
        '--drain-ms',
        '200',
      ],
      { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: primary.stdout as NodeJS.ReadableStream });
    const listening = await new Promise<{ port: number; workers: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no listening line in 40 s')), 40_000);
      lines.on('line', (line) => {
        const record = JSON.parse(line) as { msg?: string; port?: number; workers?: number };
        if (record.msg === 'listening' && typeof record.port === 'number') {
          clearTimeout(timer);
          resolve({ port: record.port, workers: record.workers ?? 0 });
        }
      });
    });
    expect(listening.workers).toBe(2);
    const url = `ws://127.0.0.1:${listening.port}/ws`;
    const clients = await Promise.all(
      Array.from(
        { length: 8 },
        async (_, i) => (await TestClient.authed(url, await signToken({ sub: `w${i}` }))).client,
      ),
    );
    // Connections are spread: no single worker holds all eight.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`http://127.0.0.1:${listening.port}/api/connections?limit=100`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      const body = (await res.json()) as { connections: unknown[] };
      expect(body.connections.length).toBeGreaterThan(0);
      expect(body.connections.length).toBeLessThan(8);
    }
    // Publish through the shared port: requests land on either worker.
    const total = 40;
    for (let i = 1; i <= total; i++) {
      const res = await post(`http://127.0.0.1:${listening.port}`, '/api/publish', {
        channel: 'tenant:t1:updates',
        event_type: 'n',
        payload: i,
      });
      expect(res.status).toBe(200);
    }
    for (const client of clients) {
      const events: EventFrame[] = [];
      while (events.length < total) events.push(await client.next('event', 10_000));
      expect(events.map((e) => e.payload)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(events.map((e) => e.offset)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(await client.quiet(100)).toEqual([]);
    }
    primary.kill('SIGTERM');
    for (const client of clients) expect((await client.waitClose(10_000)).code).toBe(1001);
    expect(await exitOf(primary)).toBe(0);
  }, 90_000);
});
