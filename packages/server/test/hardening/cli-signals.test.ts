import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnCli } from '../../../../tests/support/cli.js';
import { signToken, TestClient } from '../support/harness.js';

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'test-secret-0123456789abcdef';
let child: ChildProcess | null = null;

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = null;
});

async function startCli(
  args: string[],
): Promise<{ process: ChildProcess; port: number; logged(msg: string): Promise<void> }> {
  const proc = spawnCli(['serve', '--port', '0', '--jwt-secret', SECRET, ...args], { cwd: PACKAGE_DIR });
  child = proc;
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const seen = new Set<string>();
  lines.on('line', (line) => {
    try {
      const msg = (JSON.parse(line) as { msg?: string }).msg;
      if (msg !== undefined) seen.add(msg);
    } catch {
      // not a log line
    }
  });
  /** Resolves once the process has logged a line with this `msg`. */
  const logged = (msg: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${msg}" line in 20 s`)), 20_000);
      const check = () => {
        if (!seen.has(msg)) return;
        clearTimeout(timer);
        lines.off('line', check);
        resolve();
      };
      lines.on('line', check);
      check();
    });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no listening line in 20 s')), 20_000);
    proc.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    lines.on('line', (line) => {
      const record = JSON.parse(line) as { msg?: string; port?: number };
      if (record.msg === 'listening' && typeof record.port === 'number') {
        clearTimeout(timer);
        resolve(record.port);
      }
    });
  });
  return { process: proc, port, logged };
}

const exitOf = (proc: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    else proc.once('exit', (code) => resolve(code));
  });

describe('standalone shutdown signals', () => {
  it('drains on SIGTERM (ready 503 at once), and a second signal 1 s later exits at once, non-zero', async () => {
    const {
      process: proc,
      port,
      logged,
    } = await startCli(['--drain-ms', '20000', '--drain-ms-per-connection', '10000', '--log-level', 'info']);
    // Two clients at 10 s each, so the 20 s drain window has a client left to close late.
    const a = await TestClient.authed(`ws://127.0.0.1:${port}/ws`, await signToken({ sub: 'a' }));
    const b = await TestClient.authed(`ws://127.0.0.1:${port}/ws`, await signToken({ sub: 'b' }));
    proc.kill('SIGTERM');
    // The process logs the signal as it handles it: from then on the second
    // signal is sent at once (not after a polling loop that a busy machine
    // could stretch past the 1 s).
    await logged('shutting down');
    // A second signal within 1 s is ignored…
    proc.kill('SIGTERM');
    // /ready turned 503 when the drain began.
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(proc.exitCode).toBeNull();
    // …one after 1 s exits at once with a non-zero status.
    const started = Date.now();
    proc.kill('SIGINT');
    expect(await exitOf(proc)).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    a.client.close();
    b.client.close();
  }, 40_000);

  it('exits 0 after closing every client 1001 within the drain window', async () => {
    const { process: proc, port } = await startCli(['--drain-ms', '300', '--log-level', 'warn']);
    const { client } = await TestClient.authed(`ws://127.0.0.1:${port}/ws`, await signToken());
    proc.kill('SIGTERM');
    const closed = await client.waitClose(5000);
    expect(closed.code).toBe(1001);
    const reason = JSON.parse(closed.reason) as { reconnect_after_ms: number };
    expect(reason.reconnect_after_ms).toBeGreaterThanOrEqual(0);
    expect(reason.reconnect_after_ms).toBeLessThanOrEqual(300);
    expect(await exitOf(proc)).toBe(0);
  }, 40_000);
});
