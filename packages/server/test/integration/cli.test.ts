import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HistoryResponse } from '@albatross/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../../../../tests/support/cli.js';
import { get, post, sendHalfUpgrade, sha256Hex, signToken, TestClient } from '../support/harness.js';

// The CLI runs from its TypeScript sources through tsx, resolving workspace
// packages to their sources too, so these tests need no build.
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
const CLI_SECRET = 'cli-test-secret-0123456789';
const CLI_ADMIN = 'cli-admin-key-5f0c1e9a7b';

interface Cli {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stdout JSON line with msg "listening". */
  listening(timeoutMs?: number): Promise<{ port: number; [key: string]: unknown }>;
}

const running: Cli[] = [];
afterEach(() => {
  for (const cli of running.splice(0)) if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
});

function startCli(args: string[], env: Record<string, string> = {}): Cli {
  const child = spawnCli(args, { cwd: PACKAGE_DIR, env });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters: Array<() => void> = [];
  const collect = (into: string[]) => {
    let partial = '';
    return (chunk: Buffer) => {
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      into.push(...lines.filter((line) => line !== ''));
      for (const w of waiters.splice(0)) w();
    };
  };
  child.stdout?.on('data', collect(stdout));
  child.stderr?.on('data', collect(stderr));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      // Let the pipes drain.
      setTimeout(() => {
        for (const w of waiters.splice(0)) w();
        resolve({ code, signal });
      }, 50);
    });
  });
  const cli: Cli = {
    child,
    stdout,
    stderr,
    exited,
    async listening(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const line of stdout) {
          try {
            const parsed = JSON.parse(line) as { msg?: string; port?: number };
            if (parsed.msg === 'listening' && typeof parsed.port === 'number') {
              return parsed as { port: number };
            }
          } catch {
            // not JSON
          }
        }
        if (child.exitCode !== null) throw new Error(`CLI exited ${child.exitCode}: ${stderr.join('\n')}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no listening line; stdout: ${stdout.join('\n')} stderr: ${stderr.join('\n')}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
  running.push(cli);
  return cli;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'albatross-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('albatross serve (standalone CLI)', () => {
  it('logs one JSON "listening" line with the port picked for --port 0, and serves', async () => {
    const cli = startCli(['serve', '--port', '0', '--jwt-secret', CLI_SECRET, '--admin-key', CLI_ADMIN]);
    const line = await cli.listening();
    expect(line.port).toBeGreaterThan(0);
    expect(line.port).not.toBe(8080);
    const base = `http://127.0.0.1:${line.port}`;
    expect((await get(base, '/live', null)).status).toBe(200);
    expect((await get(base, '/ready', null)).status).toBe(200);
    const { client, welcome } = await TestClient.authed(
      `ws://127.0.0.1:${line.port}/ws`,
      await signToken({ sub: 'u1' }, CLI_SECRET),
    );
    expect(welcome).toMatchObject({ user_id: 'u1', heartbeat_ms: 30000 });
    const published = await post(
      base,
      '/api/publish',
      { channel: 'user:u1:updates', event_type: 'x', payload: 7 },
      CLI_ADMIN,
    );
    expect(published.status).toBe(200);
    expect((await client.next('event')).payload).toBe(7);
    // Unknown paths: 404 for HTTP and for upgrades.
    expect((await get(base, '/nope', null)).status).toBe(404);
    client.close();
  });

  it('closes a half-sent upgrade request after --headers-timeout-ms with 408 (slowloris, D12)', async () => {
    const cli = startCli(['serve', '--port', '0', '--jwt-secret', CLI_SECRET, '--headers-timeout-ms', '400']);
    const { port } = await cli.listening();
    // Node's default held such a socket over a minute; the helper's 10 s guard firing means not closed by the server.
    const { answer, byServer } = await sendHalfUpgrade(port).closed;
    expect(byServer).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a bad setting exits non-zero with one line naming it and why', async () => {
    const cases: Array<{ args: string[]; env?: Record<string, string>; name: RegExp }> = [
      { args: ['--port', '70000', '--jwt-secret', CLI_SECRET], name: /--port.*70000/ },
      { args: ['--port', '0', '--jwt-secret', CLI_SECRET, '--heartbeat-ms', 'soon'], name: /--heartbeat-ms.*soon/ },
      {
        args: ['--port', '0'],
        env: { ALBATROSS_JWT_SECRET: CLI_SECRET, ALBATROSS_HISTORY_SIZE: '0' },
        name: /--history-size.*ALBATROSS_HISTORY_SIZE/,
      },
      { args: ['--port', '0'], name: /credentials|--jwt-secret/ },
      { args: ['--port', '0', '--config', join(dir, 'missing-config.json')], name: /--config/ },
      // A one-character admin key would be guessed in seconds (D7); the key itself is not echoed.
      {
        args: ['--port', '0', '--jwt-secret', CLI_SECRET, '--admin-key', 'a'],
        name: /^albatross: invalid --admin-key \(from flag --admin-key\): must be at least 16 characters$/,
      },
    ];
    const results = await Promise.all(
      cases.map(async ({ args, env, name }) => {
        const cli = startCli(['serve', ...args], env);
        const { code } = await cli.exited;
        return { code, stderr: cli.stderr, stdout: cli.stdout, name };
      }),
    );
    for (const { code, stderr, stdout, name } of results) {
      // Configuration errors exit 2, like a usage error.
      expect(code, stderr.join('\n')).toBe(2);
      expect(stderr, stderr.join('\n')).toHaveLength(1);
      expect(stderr[0]).toMatch(name);
      expect(stdout.some((line) => line.includes('"listening"'))).toBe(false);
    }
  });

  it('reads flags over ALBATROSS_* env over the --config file over defaults', async () => {
    const keyFile = join(dir, 'keys.json');
    await writeFile(
      keyFile,
      JSON.stringify({ keys: [{ id: 'k1', sha256: sha256Hex('cli-api-key'), sub: 'svc-1', tenant_id: 't1' }] }),
    );
    const config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        'jwt-secret': CLI_SECRET, // only in the file
        'api-keys-file': keyFile, // only in the file
        'heartbeat-ms': 1111, // file < env < flag
        'history-size': 7, // file < env
        'max-publish-bytes': 300, // file only
        port: 1, // env overrides
      }),
    );
    const cli = startCli(['serve', '--config', config, '--heartbeat-ms', '3333'], {
      ALBATROSS_HEARTBEAT_MS: '2222',
      ALBATROSS_HISTORY_SIZE: '4',
      ALBATROSS_ADMIN_KEY: CLI_ADMIN,
      ALBATROSS_PORT: '0',
    });
    const { port } = await cli.listening();
    const base = `http://127.0.0.1:${port}`;
    const { client, welcome } = await TestClient.authed(`ws://127.0.0.1:${port}/ws`, await signToken({}, CLI_SECRET));
    expect(welcome).toMatchObject({ heartbeat_ms: 3333 });
    client.close();
    const apiKeyClient = await TestClient.connect(`ws://127.0.0.1:${port}/ws?api_key=cli-api-key`);
    expect(await apiKeyClient.next('welcome')).toMatchObject({ user_id: 'svc-1' });
    apiKeyClient.close();
    for (let i = 0; i < 6; i++) {
      const r = await post(base, '/api/publish', { channel: 'tenant:t1:x', event_type: 'x', payload: i }, CLI_ADMIN);
      expect(r.status).toBe(200);
    }
    const history = (await get(base, '/api/channels/tenant:t1:x/history', CLI_ADMIN)).body as HistoryResponse;
    expect(history.offset).toBe(6);
    expect(history.publications.map((p) => p.offset)).toEqual([3, 4, 5, 6]); // history-size 4 from env
    const big = await post(
      base,
      '/api/publish',
      { channel: 'tenant:t1:x', event_type: 'x', payload: 'y'.repeat(400) },
      CLI_ADMIN,
    );
    expect(big).toMatchObject({ status: 413, body: { code: 'MESSAGE_TOO_LARGE' } });
  });

  it('on SIGTERM closes clients with 1001 and exits 0', async () => {
    const cli = startCli(['serve', '--port', '0', '--jwt-secret', CLI_SECRET]);
    const { port } = await cli.listening();
    const { client } = await TestClient.authed(`ws://127.0.0.1:${port}/ws`, await signToken({}, CLI_SECRET));
    cli.child.kill('SIGTERM');
    const closed = await client.waitClose(15_000);
    expect(closed.code).toBe(1001);
    const { code, signal } = await cli.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
  });
});
