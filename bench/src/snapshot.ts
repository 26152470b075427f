import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface GatewaySnapshot {
  /** The CLI entry of the copied build. */
  cli: string;
  /** Commit and whether the gateway's sources differed from it when the copy was made. */
  commit: string;
  dirty: boolean;
  remove(): void;
}

/**
 * Copies the built gateway (server and protocol `dist/`) to a temporary
 * directory whose `node_modules` links to the repository's, so every round of
 * a run measures the same code even while someone rebuilds the work tree.
 */
export function snapshotGateway(): GatewaySnapshot {
  const dir = mkdtempSync(join(tmpdir(), 'albatross-bench-gateway-'));
  const modules = join(REPO, 'node_modules');
  for (const pkg of ['server', 'protocol']) {
    const from = join(REPO, 'packages', pkg);
    const to = join(dir, 'packages', pkg);
    cpSync(join(from, 'dist'), join(to, 'dist'), { recursive: true });
    cpSync(join(from, 'package.json'), join(to, 'package.json'));
    if (existsSync(join(from, 'node_modules'))) symlinkSync(join(from, 'node_modules'), join(to, 'node_modules'));
  }
  mkdirSync(join(dir, 'node_modules', '@albatross'), { recursive: true });
  for (const entry of readdirSync(modules))
    if (entry !== '@albatross' && entry !== '.bin') symlinkSync(join(modules, entry), join(dir, 'node_modules', entry));
  for (const pkg of ['server', 'protocol'])
    symlinkSync(join(dir, 'packages', pkg), join(dir, 'node_modules', '@albatross', pkg));
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  return {
    cli: join(dir, 'packages', 'server', 'dist', 'cli', 'main.js'),
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    dirty: git('status', '--porcelain', '--', 'packages/server/src', 'packages/protocol/src') !== '',
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
