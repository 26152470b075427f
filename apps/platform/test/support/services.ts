import { type ChildProcess, execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../../../../tests/support/postgres.js';

const run = promisify(execFile);

/**
 * Real services for the multi-process tests: a `redis-server` of their own
 * on a free loopback port (never the machine's 6379), and a database of
 * their own on the machine's PostgreSQL, dropped afterwards.
 */

export { PG_ADMIN_URL, type TestDatabase } from '../../../../tests/support/postgres.js';

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function ping(port: number): Promise<boolean> {
  try {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { timeout: 2000 });
    return stdout.trim() === 'PONG';
  } catch {
    return false;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Starts `redis-server` on a free port in 20000–39999 (a few attempts: ports can be taken meanwhile). */
export async function startRedis(): Promise<TestRedis> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (!(await portIsFree(port))) continue;
    const child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    child.on('error', () => {});
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await ping(port)) return { port, url: `redis://127.0.0.1:${port}`, stop: () => stopChild(child) };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await stopChild(child);
  }
  throw new Error('could not start redis-server on a free port');
}

/** A database of its own on the test PostgreSQL server, dropped by `drop()`. */
export const createDatabase = (): Promise<TestDatabase> => createTestDatabase('albatross_platform');
