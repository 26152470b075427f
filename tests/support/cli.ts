import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `albatross` CLI's TypeScript entry point: tests run it from its sources, no build needed. */
export const CLI_MAIN = fileURLToPath(new URL('../../packages/server/src/cli/main.ts', import.meta.url));

// Settings a child CLI must not inherit from the shell running the tests:
// only what a test passes applies.
const INHERITED = new Set(['DATABASE_URL', 'REDIS_URL', 'PORT', 'HOST', 'NODE_OPTIONS']);

/** The parent's environment without any Albatross setting (`ALBATROSS_*`, `DATABASE_URL`, `REDIS_URL`, `PORT`, `HOST`, `NODE_OPTIONS`, `TEST_*`), plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('ALBATROSS_') || key.startsWith('TEST_') || INHERITED.has(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * Spawns `albatross <args>` from the CLI's sources (tsx, workspace packages
 * resolved to their sources) with a clean environment plus `env`.
 *
 * @example
 * const child = spawnCli(['serve', '--port', '0'], { cwd: PACKAGE_DIR, env: { ALBATROSS_JWT_SECRET: secret } });
 */
export function spawnCli(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; stdio?: StdioOptions },
): ChildProcess {
  return spawn(process.execPath, ['--conditions=@albatross/source', '--import', 'tsx', CLI_MAIN, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
}

/** A CLI process with its output collected. */
export interface CliRun {
  child: ChildProcess;
  /** Resolves with the exit code once the process has exited and its output is closed. */
  exited: Promise<number | null>;
  out(): string;
  err(): string;
}

/** {@link spawnCli}, collecting stdout and stderr as text. */
export function runCli(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): CliRun {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}
