import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/settings.js';

/** What `--dev` runs with, and where it came from. */
export interface DevSecrets {
  jwtSecret: string;
  adminKey: string;
  /** Absolute path of the file that keeps them. */
  file: string;
  /** True when this start created the file (first start, or after it was deleted). */
  created: boolean;
}

const FILE = 'secrets.json';

/**
 * `--dev`'s JWT secret and admin key, kept in `<dir>/secrets.json` so a
 * restarted gateway still accepts the open tab's token and the printed curl
 * command keeps working. Values given explicitly (flag, env, config file) win
 * and are never written. The file is created with mode 0600 in a directory
 * holding a `.gitignore` of `*`, so it stays out of any repository.
 *
 * @throws ConfigError when the file exists but cannot be read or is not what
 *   this function writes (it is never overwritten silently: delete it to start over).
 */
export async function loadDevSecrets(
  dir: string,
  given: { jwtSecret?: string | undefined; adminKey?: string | undefined },
): Promise<DevSecrets> {
  const root = resolve(dir);
  const file = join(root, FILE);
  let stored: { jwt_secret: string; admin_key: string } | null = null;
  let text: string | null = null;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(`invalid --dev-data-dir: cannot read ${file} (${(error as Error).message})`);
  }
  if (text !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    const record = parsed as { jwt_secret?: unknown; admin_key?: unknown } | null;
    if (
      typeof record?.jwt_secret !== 'string' ||
      record.jwt_secret.length < 16 ||
      typeof record.admin_key !== 'string' ||
      record.admin_key.length < 16
    ) {
      throw new ConfigError(
        `invalid --dev-data-dir: ${file} is not a secrets file written by --dev (delete it to make new secrets)`,
      );
    }
    stored = { jwt_secret: record.jwt_secret, admin_key: record.admin_key };
  }
  let created = false;
  if (!stored) {
    stored = { jwt_secret: randomBytes(24).toString('base64url'), admin_key: randomBytes(18).toString('base64url') };
    try {
      await mkdir(root, { recursive: true, mode: 0o700 });
      await writeFile(join(root, '.gitignore'), '# written by albatross serve --dev: secrets, never commit\n*\n', {
        flag: 'w',
      });
      // Write then rename: a crash mid-write never leaves a half file that blocks the next start.
      const partial = `${file}.${process.pid}.tmp`;
      await writeFile(partial, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
      await rename(partial, file);
    } catch (error) {
      throw new ConfigError(`invalid --dev-data-dir: cannot write ${file} (${(error as Error).message})`);
    }
    created = true;
  }
  return {
    jwtSecret: given.jwtSecret ?? stored.jwt_secret,
    adminKey: given.adminKey ?? stored.admin_key,
    file,
    created,
  };
}
