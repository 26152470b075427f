import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A gateway started as its own process from the built CLI. */
export interface GatewayProcess {
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

const CLI = fileURLToPath(new URL('../../packages/server/dist/cli/main.js', import.meta.url));

/**
 * Starts `albatross serve --port 0` and resolves with the port from its JSON
 * "listening" log line. `taskset` pins it to one core when `cpu` is given.
 */
export async function startGatewayProcess(args: readonly string[], cpu?: number): Promise<GatewayProcess> {
  const command = cpu === undefined ? process.execPath : 'taskset';
  const argv =
    cpu === undefined ? [CLI, 'serve', ...args] : ['-c', String(cpu), process.execPath, CLI, 'serve', ...args];
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway did not start within 15 s')), 15_000);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
    lines.on('line', (line) => {
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
  });
  return {
    port,
    pid: child.pid ?? 0,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
