import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnCli } from '../../../../../tests/support/cli.js';

/** A gateway node started as its own process from the CLI sources (`albatross serve` via tsx). */
export interface NodeProcess {
  readonly port: number;
  readonly pid: number;
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly child: ChildProcess;
  /** Output lines kept for failure messages. */
  readonly output: string[];
  alive(): boolean;
  /** kill -9. */
  kill(): Promise<void>;
}

const PACKAGE_DIR = fileURLToPath(new URL('../../..', import.meta.url));

/** Starts `albatross serve --port 0 ...args` and resolves with the port from its "listening" log line. */
export async function startNodeProcess(args: readonly string[], timeoutMs = 20_000): Promise<NodeProcess> {
  const child = spawnCli(['serve', '--port', '0', ...args], { cwd: PACKAGE_DIR, env: { NODE_ENV: 'test' } });
  const output: string[] = [];
  const keep = (line: string) => {
    output.push(line);
    if (output.length > 200) output.shift();
  };
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', keep);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start within ${timeoutMs} ms:\n${output.join('\n')}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${output.join('\n')}`));
    });
    lines.on('line', (line) => {
      keep(line);
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
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    child,
    output,
    alive: () => child.exitCode === null && child.signalCode === null,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
