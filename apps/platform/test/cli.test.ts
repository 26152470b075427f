import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Jwks, TokenResponse } from '@albatross/platform-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../tests/support/cli.js';
import { Api, strongPassword } from './helpers.js';

// `albatross platform` and `albatross keys rotate`, run from the CLI's sources as `npm start` runs them built.
const CWD = fileURLToPath(new URL('..', import.meta.url));

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: CWD, env });

async function waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('albatross platform (CLI)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'albatross-platform-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one listening line and the one-time password on first start only; keys rotate adds a key', async () => {
    const first = run(['platform', '--port', '0', '--data-dir', dir]);
    try {
      await waitFor(() => jsonLines(first.out()).some((l) => l.msg === 'listening'), 'listening', 90_000);
      await waitFor(() => first.err().includes('Password:'), 'the password banner', 10_000);
      // The log line travels on stdout, the banner on stderr: either may arrive first.
      await waitFor(
        () => jsonLines(first.out()).some((l) => typeof l.one_time_password === 'string'),
        'the one-time password log line',
        10_000,
      );
    } catch (error) {
      first.child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${first.out()}\n${first.err()}`);
    }
    const lines = jsonLines(first.out());
    const listening = lines.filter((l) => l.msg === 'listening');
    expect(listening).toHaveLength(1);
    const port = Number(listening[0]?.port);
    expect(port).toBeGreaterThan(0);
    const boot = lines.find((l) => typeof l.one_time_password === 'string');
    const password = String(boot?.one_time_password);
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(first.err()).toContain(password);
    const api = new Api(`http://127.0.0.1:${port}`);
    const login = await api.post<TokenResponse>('/api/auth/login', { email: 'admin@albatross.local', password });
    expect(login.body.must_change_password).toBe(true);
    const newPassword = strongPassword();
    expect(
      (
        await api
          .as(login.body.access_token)
          .post('/api/me/password', { current_password: password, new_password: newPassword })
      ).status,
    ).toBe(200);
    const kidsBefore = (await api.get<Jwks>('/.well-known/jwks.json')).body.keys.map((k) => k.kid);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // Wired to the shared signal handling (its rules are unit-tested in the server package).
    expect(jsonLines(first.out()).filter((l) => l.msg === 'shutting down')).toEqual([
      expect.objectContaining({ signal: 'SIGTERM', drain_ms: 5000 }),
    ]);

    const rotate = run(['keys', 'rotate', '--data-dir', dir]);
    expect(await rotate.exited).toBe(0);
    const rotated = jsonLines(rotate.out()).find((l) => l.msg === 'signing key rotated');
    expect(typeof rotated?.kid).toBe('string');

    const second = run(['platform', '--data-dir', dir], { PORT: '0' });
    try {
      await waitFor(() => jsonLines(second.out()).some((l) => l.msg === 'listening'), 'second listening', 90_000);
      const port2 = Number(jsonLines(second.out()).find((l) => l.msg === 'listening')?.port);
      const api2 = new Api(`http://127.0.0.1:${port2}`);
      expect(
        (await api2.post('/api/auth/login', { email: 'admin@albatross.local', password: newPassword })).status,
      ).toBe(200);
      const kidsAfter = (await api2.get<Jwks>('/.well-known/jwks.json')).body.keys.map((k) => k.kid);
      expect(kidsAfter).toEqual(expect.arrayContaining([...kidsBefore, rotated?.kid]));
      // The changed password works (above), and the one-time one is never printed again: checked after
      // those round trips, since on a first start the banner comes after the listening line.
      expect(second.out()).not.toContain('one_time_password');
      expect(second.err()).not.toContain('Password:');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('refuses bad flags with exit code 2', async () => {
    const bad = run(['platform', '--port', 'eighty']);
    expect(await bad.exited).toBe(2);
    expect(bad.err()).toMatch(/invalid --port/);
    const badDb = run(['platform', '--database-url', 'mysql://x']);
    expect(await badDb.exited).toBe(2);
  });
});
