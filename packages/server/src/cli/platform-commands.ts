import { Command, Option } from 'commander';
import { ConfigError } from '../config/settings.js';
import { createLogger } from '../log/logger.js';

// `albatross platform` and `albatross keys rotate` run the platform app
// (`@albatross/platform`). The platform depends on this package, so this
// package cannot depend on it: the module is imported by name, only when
// one of these commands runs, and `albatross serve` never loads it. An
// install without the platform answers with a clear error.

/** What the platform module offers the CLI (see apps/platform/src/cli.ts). */
interface PlatformModule {
  runPlatformCommand(options: {
    host: string;
    port: number;
    dataDir: string;
    databaseUrl?: string;
    redisUrl?: string;
    projections?: boolean;
    adminKey?: string;
  }): Promise<void>;
  rotateKeysCommand(options: { dataDir: string; databaseUrl?: string }): Promise<string>;
}

// A `string`, not a literal: the compiler must not resolve (and depend on) the module.
const PLATFORM_MODULE: string = ['@albatross', 'platform'].join('/');

async function loadPlatform(): Promise<PlatformModule> {
  try {
    return (await import(PLATFORM_MODULE)) as PlatformModule;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(PLATFORM_MODULE)) {
      throw new ConfigError(`this command needs the ${PLATFORM_MODULE} package (npm install ${PLATFORM_MODULE})`);
    }
    throw error;
  }
}

function port(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n > 65535) {
    throw new ConfigError(`invalid --port: "${value}" is not a port (0-65535)`);
  }
  return n;
}

function checkDatabaseUrl(url: string | undefined): string | undefined {
  if (url === undefined || url === '') return undefined;
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError('invalid --database-url: must be a postgres:// or postgresql:// URL (DATABASE_URL)');
  }
  return url;
}

function checkRedisUrl(url: string | undefined): string | undefined {
  if (url === undefined || url === '') return undefined;
  if (!/^rediss?:\/\//.test(url))
    throw new ConfigError('invalid --redis-url: must be a redis:// or rediss:// URL (REDIS_URL)');
  return url;
}

const dataDirOption = () =>
  new Option('--data-dir <dir>', 'directory of the embedded store (PGlite), used without --database-url')
    .env('ALBATROSS_DATA_DIR')
    .default('./data');
const databaseUrlOption = () =>
  new Option('--database-url <url>', 'PostgreSQL URL (postgres://…) instead of the embedded store').env('DATABASE_URL');

/** Adds `platform` and `keys rotate` to the `albatross` program. */
export function addPlatformCommands(program: Command): void {
  program.addCommand(
    new Command('platform')
      .description('run the platform: HTTP API, gateway and projections in one process')
      .addOption(new Option('--host <host>', 'address to listen on').env('HOST').default('127.0.0.1'))
      .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').env('PORT').default('8080'))
      .addOption(dataDirOption())
      .addOption(databaseUrlOption())
      .addOption(new Option('--redis-url <url>', 'Redis URL: the broker that several nodes share').env('REDIS_URL'))
      .addOption(
        new Option('--admin-key <key>', 'bearer key of the gateway admin API (/api/publish, /api/disconnect)').env(
          'ALBATROSS_ADMIN_KEY',
        ),
      )
      .option('--no-projections', 'do not run the read-model projections here (`albatross worker` runs them)')
      .action(async (options: Record<string, string | boolean | undefined>) => {
        const databaseUrl = checkDatabaseUrl(options.databaseUrl as string | undefined);
        const redisUrl = checkRedisUrl(options.redisUrl as string | undefined);
        const adminKey = options.adminKey as string | undefined;
        if (adminKey !== undefined && adminKey.length < 16) {
          throw new ConfigError('invalid --admin-key: at least 16 characters');
        }
        const platform = await loadPlatform();
        await platform.runPlatformCommand({
          host: String(options.host),
          port: port(String(options.port)),
          dataDir: String(options.dataDir),
          ...(databaseUrl ? { databaseUrl } : {}),
          ...(redisUrl ? { redisUrl } : {}),
          ...(adminKey ? { adminKey } : {}),
          projections: options.projections !== false,
        });
      }),
  );
  const keys = new Command('keys').description('signing keys of the platform’s access tokens');
  keys.addCommand(
    new Command('rotate')
      .description('add a signing key; the old one stays published until the tokens it signed expire')
      .addOption(dataDirOption())
      .addOption(databaseUrlOption())
      .action(async (options: { dataDir: string; databaseUrl?: string }) => {
        const databaseUrl = checkDatabaseUrl(options.databaseUrl);
        const platform = await loadPlatform();
        const kid = await platform.rotateKeysCommand({
          dataDir: options.dataDir,
          ...(databaseUrl ? { databaseUrl } : {}),
        });
        createLogger().info({ kid }, 'signing key rotated');
      }),
  );
  program.addCommand(keys);
}
