import { openEventStore } from '@albatross/cqrs';
import { DEFAULT_ADMIN_EMAIL } from '@albatross/platform-api';
import { createLogger, handleShutdownSignals, type Logger } from '@albatross/server';
import { startPlatform } from './app.js';
import { rotateSigningKey } from './auth/keys.js';
import { ensurePlatformTables } from './readmodel/tables.js';

/** Longest window over which a shutting-down node closes its clients (the gateway spreads closes at ~1000/s). */
const PLATFORM_DRAIN_MS = 5_000;

/** Options of `albatross platform` (flags, or their environment variables). */
export interface PlatformCommandOptions {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** false: `albatross worker` runs the projections. */
  projections?: boolean;
  adminKey?: string;
  /** Comma-separated proxy addresses/CIDRs whose `X-Forwarded-For` is trusted, or `true`. */
  trustProxy?: string;
}

/**
 * `albatross platform`: runs one platform node until SIGINT/SIGTERM. Prints
 * one JSON `listening` line (the contract deploy scripts wait for) and, on
 * the first start, the one-time admin password.
 */
export async function runPlatformCommand(
  options: PlatformCommandOptions,
  logger: Logger = createLogger(),
): Promise<void> {
  const adminEmail = process.env.ALBATROSS_ADMIN_EMAIL || DEFAULT_ADMIN_EMAIL;
  const platform = await startPlatform({
    host: options.host,
    port: options.port,
    dataDir: options.dataDir,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.adminKey ? { adminKey: options.adminKey } : {}),
    ...(options.trustProxy
      ? { trustProxy: options.trustProxy === 'true' ? true : options.trustProxy.split(',').map((s) => s.trim()) }
      : {}),
    runProjections: options.projections ?? true,
    adminEmail,
    logger,
  });
  if (platform.bootstrap) {
    // Written once, on the start that created the admin; never again (it is not stored anywhere).
    // Before the `listening` line, so whoever waits for that line has the password already.
    logger.warn(
      { email: platform.bootstrap.email, one_time_password: platform.bootstrap.password },
      'first start: admin created; log in with this one-time password and change it',
    );
  }
  logger.info(
    {
      port: platform.port,
      host: options.host,
      url: platform.url,
      store: platform.store.kind,
      broker: platform.gateway.broker.kind,
    },
    'listening',
  );
  if (platform.bootstrap) {
    process.stderr.write(
      [
        '',
        'Albatross platform',
        `  URL:       ${platform.url}`,
        `  Admin:     ${platform.bootstrap.email}`,
        `  Password:  ${platform.bootstrap.password}   (one-time: change it at first login; shown only now)`,
        '',
      ].join('\n'),
    );
  } else {
    process.stderr.write(`\nAlbatross platform: ${platform.url}\n\n`);
  }
  // Like `albatross serve`: a repeat within 1 s does not cut the drain short, a later one exits 1.
  handleShutdownSignals({
    logger,
    logFields: { drain_ms: PLATFORM_DRAIN_MS },
    shutdown: async () => {
      await platform.gateway.drain(PLATFORM_DRAIN_MS);
      await platform.close();
    },
  });
}

/** `albatross keys rotate`: adds a signing key; the old one stays published until its tokens expire. */
export async function rotateKeysCommand(options: { dataDir: string; databaseUrl?: string }): Promise<string> {
  const store = await openEventStore({ url: options.databaseUrl || options.dataDir });
  try {
    await ensurePlatformTables(store);
    return await rotateSigningKey(store);
  } finally {
    await store.close();
  }
}
