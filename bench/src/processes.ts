import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** A server process started by the bench (gateway, peer or Redis). */
export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  readonly child: ChildProcess;
  /** SIGTERM (lets the gateway write a --cpu-prof file), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

// Every child the bench starts, until it exits: a bench that ends in any way
// kills them instead of leaving the systems under test running.
const children = new Set<ChildProcess>();

/** Remembers `child` until it exits (see {@link killChildren}). */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGKILLs every child still running (on the bench's exit, however it ends). */
export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** `taskset -c <cpu> <command> ...` when cpu is given. */
function pinned(cpu: number | undefined, command: string, args: readonly string[]): [string, string[]] {
  return cpu === undefined ? [command, [...args]] : ['taskset', ['-c', String(cpu), command, ...args]];
}

function stopper(child: ChildProcess): (graceMs?: number) => Promise<void> {
  return (graceMs = 0) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    });
}

/**
 * Starts a Node script that logs a JSON line with `"msg":"listening"` and
 * `"port":N` (the gateway CLI and the peers do) and resolves with that port.
 */
export async function startNodeServer(
  script: string,
  args: readonly string[],
  options: { cpu?: number; nodeFlags?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<ServerProcess> {
  const [command, argv] = pinned(options.cpu, process.execPath, [...(options.nodeFlags ?? []), script, ...args]);
  const child = track(spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: options.env ?? process.env }));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 15 s`)), 15_000);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
    lines.on('line', (line) => {
      if (!line.includes('"listening"')) return;
      try {
        const record = JSON.parse(line) as { msg?: string; port?: number };
        if (record.msg === 'listening' && typeof record.port === 'number') {
          clearTimeout(timer);
          resolve(record.port);
        }
      } catch {
        // not a JSON line
      }
    });
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  // Keep draining stdout so a chatty child never blocks on a full pipe.
  lines.on('line', () => undefined);
  return { pid: child.pid ?? 0, port, child, stop: stopper(child) };
}

/** A free TCP port on 127.0.0.1 (bound and released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a throw-away `redis-server` on loopback (no persistence); null when it is not installed. */
export async function startRedis(cpu: number | undefined): Promise<ServerProcess | null> {
  const port = await freePort();
  const [command, argv] = pinned(cpu, 'redis-server', [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
    '--loglevel',
    'warning',
  ]);
  const child = track(spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const ok = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('exit', () => resolve(false));
    const deadline = Date.now() + 5000;
    const probe = (): void => {
      const c = connect({ host: '127.0.0.1', port });
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => {
        c.destroy();
        if (Date.now() > deadline) resolve(false);
        else setTimeout(probe, 50);
      });
    };
    probe();
  });
  if (!ok) {
    child.kill('SIGKILL');
    return null;
  }
  child.stdout?.resume();
  child.stderr?.resume();
  return { pid: child.pid ?? 0, port, child, stop: stopper(child) };
}
