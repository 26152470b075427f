import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command, CommanderError, Option } from 'commander';
import { SignJWT } from 'jose';
import { type ApiKeyVerifier, StaticApiKeyVerifier } from '../auth/api-keys.js';
import { createJwtVerifier, type JwtOptions } from '../auth/jwt.js';
import { createBroker } from '../broker/factory.js';
import {
  ConfigError,
  drainWindowCapMs,
  envName,
  resolveConfig,
  SETTINGS,
  type ServerConfig,
} from '../config/settings.js';
import { createGateway, type Gateway } from '../gateway.js';
import { httpServerOptions } from '../http/server-timeouts.js';
import { handleShutdownSignals } from '../lifecycle/signals.js';
import { createLogger, type Logger } from '../log/logger.js';
import { addCqrsCommands } from './cqrs-commands.js';
import { type DevSecrets, loadDevSecrets } from './dev-secrets.js';
import { addPlatformCommands } from './platform-commands.js';
import { runPrimary, type WorkerMessage } from './primary.js';

async function loadConfig(flags: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv): Promise<ServerConfig> {
  const configPath = flags.get('config') ?? env[envName('config')];
  let file: Record<string, unknown> = {};
  if (configPath !== undefined && configPath !== '') {
    let text: string;
    try {
      text = await readFile(configPath, 'utf8');
    } catch (error) {
      throw new ConfigError(`invalid --config: cannot read ${configPath} (${(error as Error).message})`);
    }
    try {
      file = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ConfigError(`invalid --config: ${configPath} is not valid JSON`);
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file)) {
      throw new ConfigError(`invalid --config: ${configPath} must hold a JSON object`);
    }
  }
  return resolveConfig(flags, env, file);
}

async function readSetting(name: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`invalid --${name}: cannot read ${path} (${(error as Error).message})`);
  }
}

/** Builds the auth options from the configuration, validating key material up front. */
async function authOptions(config: ServerConfig): Promise<{ jwt?: JwtOptions; apiKeys?: ApiKeyVerifier }> {
  const jwt: JwtOptions = {};
  // Its length is checked with the other settings (resolveConfig).
  if (config.jwtSecret !== undefined) jwt.secret = config.jwtSecret;
  if (config.jwtPublicKeyFile !== undefined) {
    jwt.publicKey = await readSetting('jwt-public-key-file', config.jwtPublicKeyFile);
    try {
      createJwtVerifier({ publicKey: jwt.publicKey });
    } catch (error) {
      throw new ConfigError(
        `invalid --jwt-public-key-file: ${config.jwtPublicKeyFile} is not a PEM RSA or EC public key (${(error as Error).message})`,
      );
    }
  }
  if (config.jwksUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(config.jwksUrl);
    } catch {
      throw new ConfigError(`invalid --jwks-url: "${config.jwksUrl}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new ConfigError('invalid --jwks-url: must be http(s)');
    jwt.jwksUrl = config.jwksUrl;
  }
  if (config.jwtIssuer !== undefined) jwt.issuer = config.jwtIssuer;
  if (config.jwtAudience !== undefined) jwt.audience = config.jwtAudience;
  const hasJwt = jwt.secret !== undefined || jwt.publicKey !== undefined || jwt.jwksUrl !== undefined;
  let apiKeys: ApiKeyVerifier | undefined;
  if (config.apiKeysFile !== undefined) {
    try {
      apiKeys = await StaticApiKeyVerifier.fromFile(config.apiKeysFile);
    } catch (error) {
      throw new ConfigError(`invalid --api-keys-file: ${(error as Error).message}`);
    }
  }
  if (!hasJwt && !apiKeys) {
    throw new ConfigError(
      'no credentials configured: set --jwt-secret, --jwt-public-key-file, --jwks-url or --api-keys-file (or use --dev)',
    );
  }
  return { ...(hasJwt ? { jwt } : {}), ...(apiKeys ? { apiKeys } : {}) };
}

async function printDemo(config: ServerConfig, port: number, secrets: DevSecrets | undefined): Promise<void> {
  if (config.jwtSecret === undefined) return;
  const token = await new SignJWT({ tenant_id: 'demo-tenant', roles: ['Member'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('demo-user')
    .setIssuedAt()
    .setExpirationTime('24h')
    .sign(new TextEncoder().encode(config.jwtSecret));
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  process.stderr.write(
    [
      '',
      'Albatross gateway (development mode)',
      `  WebSocket:   ${base.replace('http', 'ws')}/ws  (send {"type":"auth","token":"<token>"} first)`,
      `  Demo token:  ${token}`,
      '               (user demo-user, tenant demo-tenant, valid 24 h)',
      ...(secrets === undefined
        ? []
        : [
            `  Secrets:     ${secrets.created ? 'created' : 'reused'} ${secrets.file}`,
            '               (JWT secret and admin key are kept there: tokens and the curl below stay valid',
            '               across restarts; delete the file to make new ones)',
          ]),
      '  Publish to the demo tenant:',
      `    curl -s -X POST ${base}/api/publish -H 'Authorization: Bearer ${config.adminKey ?? ''}' \\`,
      `      -H 'Content-Type: application/json' \\`,
      `      -d '{"channel":"tenant:demo-tenant:updates","event_type":"hello","payload":{"text":"hi"}}'`,
      '',
    ].join('\n'),
  );
}

async function serve(flags: ReadonlyMap<string, string>): Promise<void> {
  const config = await loadConfig(flags, process.env);
  let devSecrets: DevSecrets | undefined;
  if (config.dev && (config.jwtSecret === undefined || config.adminKey === undefined)) {
    // Kept on disk, so a restart does not invalidate the open tab's token or the printed curl command.
    devSecrets = await loadDevSecrets(config.devDataDir, config);
    config.jwtSecret = devSecrets.jwtSecret;
    config.adminKey = devSecrets.adminKey;
  }
  const drainMs = drainWindowCapMs(config);
  const auth = await authOptions(config);
  const logger: Logger = createLogger({ level: config.logLevel });
  // The listening line is a contract (deploy scripts wait for it): written whatever the log level.
  const listeningLogger = ['fatal', 'error', 'warn', 'silent'].includes(config.logLevel) ? createLogger() : logger;
  if (config.workers > 1 && config.redisUrl === undefined) {
    throw new ConfigError(
      'invalid --workers: more than 1 worker needs --redis-url (workers share state through Redis)',
    );
  }
  if (config.workers > 1 && cluster.isPrimary) {
    runPrimary({
      workers: config.workers,
      logger,
      listeningLogger,
      host: config.host,
      // Workers must share a development secret, so they get the one made here.
      env: {
        ...(config.jwtSecret === undefined ? {} : { ALBATROSS_JWT_SECRET: config.jwtSecret }),
        ...(config.adminKey === undefined ? {} : { ALBATROSS_ADMIN_KEY: config.adminKey }),
      },
      onListening: (port) => (config.dev ? printDemo(config, port, devSecrets) : undefined),
    });
    return;
  }
  const broker = await createBroker({
    ...(config.redisUrl === undefined ? {} : { redisUrl: config.redisUrl }),
    historySize: config.historySize,
    historyTtlMs: config.historyTtlMs,
    redisCatchupMaxBytes: config.redisCatchupMaxBytes,
    logger,
  });
  // Bounded request heads and bodies: a half-sent upgrade cannot hold a socket (slowloris).
  const server = http.createServer(
    httpServerOptions({ headersTimeoutMs: config.headersTimeoutMs, requestTimeoutMs: config.requestTimeoutMs }),
  );
  const gateway: Gateway = await createGateway({
    server,
    auth,
    ...(config.adminKey === undefined ? {} : { adminKey: config.adminKey }),
    adminAuthFailureRate: config.adminAuthFailureRate,
    broker,
    baseline: config.baselineChannels,
    allowPlatformAdmin: config.allowPlatformAdmin,
    heartbeatMs: config.heartbeatMs,
    authTimeoutMs: config.authTimeoutMs,
    maxPublishBytes: config.maxPublishBytes,
    maxFrameBytes: config.maxFrameBytes,
    maxSubscriptions: config.maxSubscriptions,
    slowConsumerBytes: config.slowConsumerBytes,
    maxReplayMs: config.maxReplayMs,
    idempotencyTtlMs: config.idempotencyTtlMs,
    rateLimit: config.rateLimit,
    ...(config.maxConnections === undefined ? {} : { maxConnections: config.maxConnections }),
    ...(config.maxUnauthenticatedConnections === undefined
      ? {}
      : { maxUnauthenticatedConnections: config.maxUnauthenticatedConnections }),
    ...(config.maxUnauthenticatedPerAddress === undefined
      ? {}
      : { maxUnauthenticatedPerAddress: config.maxUnauthenticatedPerAddress }),
    ...(config.maxConnectionsPerTenant === undefined
      ? {}
      : { maxConnectionsPerTenant: config.maxConnectionsPerTenant }),
    ...(config.maxConnectionsPerUser === undefined ? {} : { maxConnectionsPerUser: config.maxConnectionsPerUser }),
    idleTimeoutMs: config.idleTimeoutMs,
    drainMs,
    drainMsPerConnection: config.drainMsPerConnection,
    allowedOrigins: config.allowedOrigins,
    perMessageDeflate: config.perMessageDeflate,
    metricsTenantLabel: config.metricsTenantLabel,
    coalesceWrites: config.coalesceWrites,
    writeCoalesceMs: config.writeCoalesceMs,
    coalesceMaxDelayMs: config.coalesceMaxDelayMs,
    serveHttp: true,
    logger,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  if (cluster.isWorker) {
    process.send?.({ type: 'listening', port } satisfies WorkerMessage);
  } else {
    listeningLogger.info({ port, host: config.host, broker: broker.kind }, 'listening');
    if (config.dev) await printDemo(config, port, devSecrets);
  }

  handleShutdownSignals({
    logger,
    logFields: { drain_ms: drainMs },
    shutdown: async () => {
      await gateway.drain(drainMs);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/**
 * The `serve` command: one option per setting, generated from the settings
 * table. Commander only parses; the values it saw on the command line go to
 * {@link resolveConfig} as before, which applies env, config file and
 * defaults and validates everything (commander sets no defaults of its own).
 */
function serveCommand(): Command {
  const command = new Command('serve').description('run the realtime gateway').addHelpText(
    'after',
    `
Every flag --foo-bar can also be given as env ALBATROSS_FOO_BAR or as key "foo-bar"
in the JSON file named by --config; flags override env, env overrides the file.`,
  );
  for (const spec of SETTINGS) {
    const flag = spec.kind.type === 'bool' ? `--${spec.name} [value]` : `--${spec.name} <value>`;
    const fallback = 'default' in spec ? ` (default: ${spec.default || '""'})` : '';
    command.addOption(new Option(flag, `${spec.description}${fallback}; env ${envName(spec.name)}`));
  }
  return command.action(async (_options: unknown, cmd: Command) => {
    const flags = new Map<string, string>();
    for (const option of cmd.options) {
      const key = option.attributeName();
      if (cmd.getOptionValueSource(key) !== 'cli') continue;
      const value: unknown = cmd.getOptionValue(key);
      flags.set(option.long?.slice(2) ?? key, value === true ? 'true' : String(value));
    }
    await serve(flags);
  });
}

/** Commander's parse errors, worded as the hand-written parser worded them. */
function usageError(error: CommanderError, argv: readonly string[]): ConfigError {
  switch (error.code) {
    case 'commander.unknownOption': {
      const name = /'(--?[^']+)'/.exec(error.message)?.[1] ?? '';
      return new ConfigError(`unknown flag ${name} (see --help)`);
    }
    case 'commander.optionMissingArgument': {
      const name = /'--([a-z0-9-]+)/.exec(error.message)?.[1] ?? '';
      return new ConfigError(`--${name} needs a value`);
    }
    case 'commander.excessArguments': {
      const extra = argv.find((arg, i) => i > 0 && !arg.startsWith('-') && !argv[i - 1]?.startsWith('--'));
      return new ConfigError(extra === undefined ? 'unexpected argument' : `unexpected argument "${extra}"`);
    }
    default:
      return new ConfigError(error.message.replace(/^error: /, ''));
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('albatross')
    .description('Albatross: realtime gateway, platform, event store workers and projections')
    .usage('<command> [options]')
    .argument('[command]')
    .helpCommand(true)
    .showHelpAfterError(false)
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined })
    .exitOverride()
    .action((command: string | undefined) => {
      if (command !== undefined && command !== 'help')
        throw new ConfigError(`unknown command "${command}" (try: albatross serve --help)`);
      program.outputHelp();
    });
  program.addCommand(serveCommand());
  addCqrsCommands(program);
  addPlatformCommands(program);
  for (const command of program.commands) {
    command.exitOverride().configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.exitCode === 0) return;
    throw usageError(error, argv);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`albatross: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`albatross: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
