import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnCli } from '../../../../tests/support/cli.js';

// `albatross platform` from the CLI's sources, as `npm start` runs it built.
const CWD = fileURLToPath(new URL('../..', import.meta.url));

/** A platform node running as its own process. */
export interface PlatformProcess {
  readonly url: string;
  readonly wsUrl: string;
  /** JSON log lines (stdout) so far. */
  readonly lines: Array<Record<string, unknown>>;
  /** Every output line, for failure messages. */
  readonly output: string[];
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts `albatross platform --port 0` with `env` and resolves once it logs its `listening` line. */
export async function startPlatformProcess(env: Record<string, string>, timeoutMs = 120_000): Promise<PlatformProcess> {
  const child = spawnCli(['platform', '--port', '0', '--host', '127.0.0.1'], {
    cwd: CWD,
    env: { NODE_ENV: 'test', ...env },
  });
  const output: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const keep = (line: string) => {
    output.push(line);
    if (output.length > 500) output.shift();
  };
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', keep);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`platform did not start within ${timeoutMs} ms:\n${output.join('\n')}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`platform exited with ${code}:\n${output.join('\n')}`));
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      keep(line);
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        lines.push(record);
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
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    lines,
    output,
    stop: () => stopChild(child),
  };
}
