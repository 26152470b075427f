import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Throwaway Redis servers for tests: real `redis-server` processes on free
 * loopback ports, no persistence, killed in teardown. The machine's own Redis
 * (6379) is never touched.
 */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** kill -9 and start again on the same port, empty (no persistence). */
  restart(options?: { downMs?: number }): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterHandle {
  readonly ports: readonly number[];
  readonly nodes: readonly { host: string; port: number }[];
  /** Seeds URL the broker factory understands. */
  readonly url: string;
  stop(): Promise<void>;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A random port in 20000–39999 that is free, with `port + 10000` free too (cluster bus). */
async function freePort(withBus = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await portIsFree(port)) && (!withBus || (await portIsFree(port + 10_000)))) return port;
  }
  throw new Error('no free port for redis-server');
}

async function ping(port: number): Promise<boolean> {
  try {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { timeout: 2000 });
    return stdout.trim() === 'PONG';
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function spawnRedis(port: number, extra: readonly string[], cwd?: string): ChildProcess {
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', ...extra],
    { stdio: 'ignore', ...(cwd === undefined ? {} : { cwd }) },
  );
  child.on('error', () => {});
  return child;
}

async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Retries a start that may lose a race for its port. */
async function withRetries<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

export function startRedis(): Promise<RedisServer> {
  return withRetries(startRedisOnce);
}

async function startRedisOnce(): Promise<RedisServer> {
  const port = await freePort();
  let child = spawnRedis(port, []);
  try {
    await waitFor(() => ping(port), `redis-server on ${port}`);
  } catch (error) {
    await killProcess(child);
    throw error;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart(options = {}) {
      await killProcess(child);
      if (options.downMs) await new Promise((resolve) => setTimeout(resolve, options.downMs));
      child = spawnRedis(port, []);
      await waitFor(() => ping(port), `redis-server restart on ${port}`);
    },
    kill: () => killProcess(child),
    stop: () => killProcess(child),
  };
}

/** Starts `masters` cluster-enabled servers and joins them into a cluster with no replicas. */
export function startCluster(masters = 3): Promise<RedisClusterHandle> {
  return withRetries(() => startClusterOnce(masters));
}

async function startClusterOnce(masters: number): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(path.join(tmpdir(), 'albatross-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(killProcess));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort(true);
      ports.push(port);
      children.push(
        spawnRedis(
          port,
          [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            path.join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            '2000',
          ],
          dir,
        ),
      );
    }
    for (const port of ports) await waitFor(() => ping(port), `cluster node ${port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    await waitFor(
      async () => {
        for (const port of ports) {
          const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
          if (!stdout.includes('cluster_state:ok')) return false;
        }
        return true;
      },
      'cluster_state:ok',
      20_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ports,
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    url: `redis://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    stop,
  };
}

/** Runs a redis-cli command against a port; returns stdout. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 });
  return stdout;
}

/** Polls `check` every 20 ms until true; throws after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out: ${what}`);
}
