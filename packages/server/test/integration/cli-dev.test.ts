import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../../../../tests/support/cli.js';
import { post, TestClient } from '../support/harness.js';

// `serve --dev` as a newcomer runs it, from the TypeScript sources through tsx.
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

interface Dev {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

const started: Dev[] = [];
afterEach(() => {
  for (const dev of started.splice(0)) if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
});

function startDev(args: string[]): Dev {
  const child = spawnCli(['serve', '--dev', '--port', '0', ...args], { cwd: PACKAGE_DIR });
  const dev: Dev = {
    child,
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.on('exit', (code) => setTimeout(() => resolve(code), 50))),
  };
  const collect = (into: string[]) => (chunk: Buffer) => into.push(...chunk.toString().split('\n'));
  child.stdout?.on('data', collect(dev.stdout));
  child.stderr?.on('data', collect(dev.stderr));
  started.push(dev);
  return dev;
}

async function until<T>(what: string, dev: Dev, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (dev.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`no ${what}; stdout: ${dev.stdout.join('\n')}\nstderr: ${dev.stderr.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What the banner gives the newcomer: the port, the demo token, the admin key of the curl line, the secrets line. */
async function banner(dev: Dev): Promise<{ port: number; token: string; adminKey: string; secrets: string }> {
  const find = (pattern: RegExp) => {
    for (const line of dev.stderr) {
      const match = pattern.exec(line);
      if (match?.[1]) return match[1];
    }
    return undefined;
  };
  const adminKey = await until('curl line', dev, () => find(/Authorization: Bearer ([^']+)'/));
  return {
    port: Number(find(/WebSocket: +ws:\/\/127\.0\.0\.1:(\d+)\/ws/)),
    token: find(/Demo token: +(\S+)/) ?? '',
    adminKey,
    secrets: find(/Secrets: +(.+)$/) ?? '',
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'albatross-dev-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('serve --dev across restarts', () => {
  it('keeps its secret and admin key in the dev data directory, so tokens and the curl line stay valid; drains in about a second', async () => {
    const data = join(dir, 'keep');
    const first = startDev(['--dev-data-dir', data]);
    const one = await banner(first);
    expect(one.secrets).toBe(`created ${join(data, 'secrets.json')}`);
    expect(first.stderr.join('\n')).toContain('stay valid');
    const file = join(data, 'secrets.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(join(data, '.gitignore'), 'utf8')).split('\n')).toContain('*');
    const stored = JSON.parse(await readFile(file, 'utf8')) as { jwt_secret: string; admin_key: string };
    expect(stored.admin_key).toBe(one.adminKey);
    const before = await TestClient.authed(`ws://127.0.0.1:${one.port}/ws`, one.token);
    expect(before.welcome.type).toBe('welcome');

    // A clean stop with one client drains with dev mode's short cap, not 10 s.
    const stopped = Date.now();
    first.child.kill('SIGTERM');
    expect((await before.client.waitClose(10_000)).code).toBe(1001);
    expect(await first.exited).toBe(0);
    const shutdown = first.stdout.map((line) => line.trim()).find((line) => line.includes('"shutting down"'));
    expect(JSON.parse(shutdown ?? '{}')).toMatchObject({ drain_ms: 1000 });
    expect(Date.now() - stopped).toBeLessThan(10_000); // the old default window alone was 10 s

    const second = startDev(['--dev-data-dir', data]);
    const two = await banner(second);
    expect(two.secrets).toBe(`reused ${file}`);
    expect(two.adminKey).toBe(one.adminKey);
    // The token the open tab still holds, and the curl line printed by the first run, still work.
    const after = await TestClient.authed(`ws://127.0.0.1:${two.port}/ws`, one.token);
    expect(after.welcome).toMatchObject({ user_id: 'demo-user', tenant_id: 'demo-tenant' });
    const published = await post(
      `http://127.0.0.1:${two.port}`,
      '/api/publish',
      { channel: 'tenant:demo-tenant:updates', event_type: 'hello', payload: { text: 'hi' } },
      one.adminKey,
    );
    expect(published.status).toBe(200);
    expect((await after.client.next('event')).type).toBe('event');
    after.client.close();
  });

  it('refuses a secrets file it did not write, saying which and how to start over', async () => {
    const data = join(dir, 'corrupt');
    const first = startDev(['--dev-data-dir', data]);
    await banner(first);
    first.child.kill('SIGKILL');
    await first.exited;
    await writeFile(join(data, 'secrets.json'), '{"jwt_secret":"short"}');
    const second = startDev(['--dev-data-dir', data]);
    expect(await second.exited).toBe(2);
    expect(second.stderr.join('\n')).toContain(
      `invalid --dev-data-dir: ${join(data, 'secrets.json')} is not a secrets file written by --dev (delete it to make new secrets)`,
    );
  });

  it('an explicit --jwt-secret and --admin-key win and are not written', async () => {
    const data = join(dir, 'explicit');
    const dev = startDev([
      '--dev-data-dir',
      data,
      '--jwt-secret',
      'explicit-secret-5b1f0c7e9a2d4e68b3c1',
      '--admin-key',
      'explicit-admin-9f2c4a7d1e6b3c8a5d0f',
    ]);
    const shown = await banner(dev);
    expect(shown.adminKey).toBe('explicit-admin-9f2c4a7d1e6b3c8a5d0f');
    expect(shown.secrets).toBe('');
    await expect(stat(data)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
