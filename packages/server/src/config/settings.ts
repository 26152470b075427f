import { isValidChannel } from '@albatross/protocol';
import type { LogLevel } from '../log/logger.js';
import { parseRate, type Rate } from './rate.js';

/** How a setting's text is read. */
type Kind =
  | { type: 'string'; secret?: boolean; minLength?: number }
  | { type: 'int'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'list' }
  | { type: 'rate' }
  | { type: 'enum'; values: readonly string[] };

/** One configuration setting: flag `--name`, env `ALBATROSS_NAME`, config-file key `name`. */
export interface SettingSpec {
  readonly name: string;
  readonly kind: Kind;
  readonly default?: string;
  readonly description: string;
  /** Extra environment variable names accepted after `ALBATROSS_*` (e.g. `REDIS_URL`). */
  readonly aliases?: readonly string[];
}

const MAX_MS = 24 * 60 * 60_000;
const MAX_BYTES = 1024 * 1024 * 1024;

/**
 * Every setting of the standalone server. docs/operations.md is generated
 * from the same list (`npm run docs:settings`), so the two cannot drift.
 */
export const SETTINGS = [
  { name: 'host', kind: { type: 'string' }, default: '127.0.0.1', description: 'Address to listen on.' },
  {
    name: 'port',
    kind: { type: 'int', min: 0, max: 65535 },
    default: '8080',
    description: 'Port to listen on (0 picks a free one).',
  },
  {
    name: 'config',
    kind: { type: 'string' },
    description: 'JSON config file whose keys are setting names (flags and env override it).',
  },
  {
    name: 'jwt-secret',
    kind: { type: 'string', secret: true, minLength: 16 },
    description: 'HS256 shared secret for JWTs (at least 16 characters).',
  },
  { name: 'jwt-public-key-file', kind: { type: 'string' }, description: 'PEM public key for RS256 or ES256 JWTs.' },
  { name: 'jwks-url', kind: { type: 'string' }, description: 'JWKS URL for RS256/ES256 JWTs.' },
  { name: 'jwt-issuer', kind: { type: 'string' }, description: 'Expected `iss` claim, when set.' },
  { name: 'jwt-audience', kind: { type: 'string' }, description: 'Expected `aud` claim, when set.' },
  {
    name: 'api-keys-file',
    kind: { type: 'string' },
    description: 'JSON file `{"keys":[{"id","sha256","sub","tenant_id","roles"}]}` of accepted API keys.',
  },
  {
    name: 'admin-key',
    kind: { type: 'string', secret: true, minLength: 16 },
    description:
      'Bearer key of the admin HTTP API (publish, history, connections, disconnect); at least 16 characters.',
  },
  {
    name: 'admin-auth-failure-rate',
    kind: { type: 'rate' },
    default: '10/1m',
    description:
      'Failed admin-key authentications allowed per source address (IPv6: per /64): a burst of N refilled over the period; past it every admin request from that address answers 429 `RATE_LIMITED` with `Retry-After` (`off` disables).',
  },
  {
    name: 'redis-url',
    kind: { type: 'string' },
    aliases: ['REDIS_URL'],
    description: 'Redis URL; selects the Redis broker for several nodes. Unset: in-memory broker.',
  },
  {
    name: 'headers-timeout-ms',
    kind: { type: 'int', min: 100, max: 10 * 60_000 },
    default: '5000',
    description:
      'Time a client has to send a complete request head (WebSocket upgrades included); slower ones get 408 and are closed (slowloris).',
  },
  {
    name: 'request-timeout-ms',
    kind: { type: 'int', min: 100, max: MAX_MS },
    default: '30000',
    description: 'Time a client has to send a whole HTTP request, body included; at least --headers-timeout-ms.',
  },
  {
    name: 'redis-catchup-max-bytes',
    kind: { type: 'int', min: 64 * 1024, max: MAX_BYTES },
    default: String(64 * 1024 * 1024),
    description:
      'Redis broker: bytes of live publications a node holds queued while it fills missed ranges from Redis; past it the channel is let through as a `gap`.',
  },
  {
    name: 'auth-timeout-ms',
    kind: { type: 'int', min: 100, max: MAX_MS },
    default: '5000',
    description: 'Time a connection has to send its first `auth` frame.',
  },
  {
    name: 'heartbeat-ms',
    kind: { type: 'int', min: 100, max: MAX_MS },
    default: '30000',
    description: 'Interval of `heartbeat` frames.',
  },
  {
    name: 'history-size',
    kind: { type: 'int', min: 1, max: 1_000_000 },
    default: '1000',
    description: 'Publications kept (and recoverable) per channel.',
  },
  {
    name: 'history-ttl-ms',
    kind: { type: 'int', min: 1000, max: 7 * MAX_MS },
    default: '600000',
    description: 'Longest a publication stays recoverable.',
  },
  {
    name: 'max-publish-bytes',
    kind: { type: 'int', min: 64, max: MAX_BYTES },
    default: '1048576',
    description: 'Largest publish request body.',
  },
  {
    name: 'max-frame-bytes',
    kind: { type: 'int', min: 256, max: MAX_BYTES },
    default: '65536',
    description: 'Largest client frame (inflated size); bigger closes with 1009.',
  },
  {
    name: 'max-subscriptions',
    kind: { type: 'int', min: 1, max: 100_000 },
    default: '128',
    description: 'Subscriptions per connection, baseline included.',
  },
  {
    name: 'baseline-channels',
    kind: { type: 'list' },
    default: 'user:{sub}:updates,user:{sub}:apikeys,tenant:{tenant_id}:updates',
    description: 'Channels subscribed at connect; `{sub}` and `{tenant_id}` are substituted. Empty for none.',
  },
  {
    name: 'allow-platform-admin',
    kind: { type: 'bool' },
    default: 'false',
    description: "Let the `PlatformAdmin` role subscribe any tenant's channels.",
  },
  {
    name: 'idempotency-ttl-ms',
    kind: { type: 'int', min: 1000, max: MAX_MS },
    default: '300000',
    description: 'How long a publish idempotency key is remembered.',
  },
  {
    name: 'slow-consumer-bytes',
    kind: { type: 'int', min: 1024, max: MAX_BYTES },
    default: '1048576',
    description:
      'Outbound bytes a connection may hold before it is closed 4009: queued on the socket plus live events held back while a recovery replays.',
  },
  {
    name: 'max-replay-ms',
    kind: { type: 'int', min: 100, max: MAX_MS },
    default: '60000',
    description:
      'Longest the replays of one subscribe (or of the baseline) may take; a client still replaying then is closed 4009 and resumes from its last event.',
  },
  {
    name: 'rate-limit',
    kind: { type: 'rate' },
    default: '10/10s',
    description:
      'Client frames per connection: `N/<n>(ms|s|m|h)`, a burst of N refilled evenly over the period (`off` disables). Every frame counts.',
  },
  {
    name: 'max-connections',
    kind: { type: 'int', min: 1, max: 10_000_000 },
    description: 'Open WebSocket connections this node accepts (default unlimited).',
  },
  {
    name: 'max-unauthenticated-connections',
    kind: { type: 'int', min: 1, max: 10_000_000 },
    description:
      'Of --max-connections, how many may be upgraded without a credential and not yet authenticated by their `auth` frame (default 10 % of --max-connections, rounded up; unlimited without it). The rest stays free for upgrades that carry a credential.',
  },
  {
    name: 'max-unauthenticated-per-address',
    kind: { type: 'int', min: 1, max: 10_000_000 },
    description:
      'Unauthenticated connections per source address, IPv6 per /64 (default unlimited: clients behind one proxy or NAT share an address).',
  },
  {
    name: 'max-connections-per-tenant',
    kind: { type: 'int', min: 1, max: 10_000_000 },
    description: 'Connections per tenant (default unlimited).',
  },
  {
    name: 'max-connections-per-user',
    kind: { type: 'int', min: 1, max: 10_000_000 },
    description:
      'Connections per user, counted per (tenant, user): the same `sub` in two tenants is two users (default unlimited).',
  },
  {
    name: 'idle-timeout-ms',
    kind: { type: 'int', min: 1000, max: MAX_MS },
    default: '90000',
    description:
      'Silence (no frame, no pong) after which a half-open connection is dropped; pings start at a third of it.',
  },
  {
    name: 'drain-ms',
    kind: { type: 'int', min: 0, max: 10 * 60_000 },
    description:
      'Longest window over which SIGTERM/SIGINT closes clients (1001) before exiting; the window used is --drain-ms-per-connection × connections. Default 10000, 1000 with --dev.',
  },
  {
    name: 'drain-ms-per-connection',
    kind: { type: 'int', min: 0, max: 60_000 },
    default: '1',
    description:
      'Drain window per open connection (1: clients come back at about 1000/s, a handful at once), capped by --drain-ms.',
  },
  {
    name: 'allowed-origins',
    kind: { type: 'list' },
    default: '',
    description:
      'Comma-separated browser origins allowed to upgrade (`*` any). Empty: same-origin only when NODE_ENV=production, any otherwise.',
  },
  {
    name: 'per-message-deflate',
    kind: { type: 'bool' },
    default: 'false',
    description: 'Enable permessage-deflate; --max-frame-bytes then bounds the inflated size.',
  },
  {
    name: 'metrics-tenant-label',
    kind: { type: 'bool' },
    default: 'false',
    description: 'Add a per-tenant connections gauge to /metrics (tenant ids become label values).',
  },
  {
    name: 'workers',
    kind: { type: 'int', min: 1, max: 64 },
    default: '1',
    description: 'Gateway processes sharing the port (multi-core mode, node:cluster); more than 1 needs --redis-url.',
  },
  {
    name: 'coalesce-writes',
    kind: { type: 'bool' },
    default: 'true',
    description:
      "Coalesce each socket's frames into one write per event-loop turn (frames are built once per publication).",
  },
  {
    name: 'write-coalesce-ms',
    kind: { type: 'int', min: 0, max: 100 },
    default: '0',
    description:
      'Extra delay before a coalesced write (0: end of the current event-loop turn); trades latency for fewer writes.',
  },
  {
    name: 'coalesce-max-delay-ms',
    kind: { type: 'int', min: 0, max: 100 },
    default: '20',
    description:
      'Bound of the load-adaptive write hold: after a flush that wrote to many sockets (>= 256) or ran late (event loop >= 5 ms behind), the next flush waits half as long as that flush took (or as long as the loop lagged), at most this many ms, so publications share writes; at light load writes leave at the end of the turn. Bounds the added latency; 0 disables.',
  },
  {
    name: 'log-level',
    kind: { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    description: 'Log level.',
  },
  {
    name: 'dev',
    kind: { type: 'bool' },
    default: 'false',
    description:
      'Development mode: generate a JWT secret and admin key when unset, keep them in --dev-data-dir for the next start, print a demo token, drain in 1 s.',
  },
  {
    name: 'dev-data-dir',
    kind: { type: 'string' },
    default: '.albatross/dev',
    description:
      'Where --dev keeps its generated JWT secret and admin key (secrets.json, mode 0600; the directory ignores itself in git), relative to the working directory.',
  },
] as const satisfies readonly SettingSpec[];

export type SettingName = (typeof SETTINGS)[number]['name'];

/** Environment variable of a setting: `--foo-bar` → `ALBATROSS_FOO_BAR`. */
export function envName(name: string): string {
  return `ALBATROSS_${name.toUpperCase().replaceAll('-', '_')}`;
}

/** The standalone server's validated configuration. */
export interface ServerConfig {
  host: string;
  port: number;
  config?: string;
  jwtSecret?: string;
  jwtPublicKeyFile?: string;
  jwksUrl?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  apiKeysFile?: string;
  adminKey?: string;
  adminAuthFailureRate: Rate | null;
  redisUrl?: string;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  redisCatchupMaxBytes: number;
  authTimeoutMs: number;
  heartbeatMs: number;
  historySize: number;
  historyTtlMs: number;
  maxPublishBytes: number;
  maxFrameBytes: number;
  maxSubscriptions: number;
  baselineChannels: string[];
  allowPlatformAdmin: boolean;
  idempotencyTtlMs: number;
  slowConsumerBytes: number;
  maxReplayMs: number;
  rateLimit: Rate | null;
  maxConnections?: number;
  maxUnauthenticatedConnections?: number;
  maxUnauthenticatedPerAddress?: number;
  maxConnectionsPerTenant?: number;
  maxConnectionsPerUser?: number;
  idleTimeoutMs: number;
  /** Unset: {@link drainWindowCapMs} decides (10 s, 1 s with `--dev`). */
  drainMs?: number;
  drainMsPerConnection: number;
  allowedOrigins: string[];
  perMessageDeflate: boolean;
  metricsTenantLabel: boolean;
  workers: number;
  coalesceWrites: boolean;
  writeCoalesceMs: number;
  coalesceMaxDelayMs: number;
  logLevel: LogLevel;
  dev: boolean;
  devDataDir: string;
}

/** The drain window cap: `--drain-ms`, else 10 s, or 1 s in development (a restart should feel instant). */
export function drainWindowCapMs(config: Pick<ServerConfig, 'drainMs' | 'dev'>): number {
  return config.drainMs ?? (config.dev ? 1000 : 10_000);
}

/** A configuration error: names the setting and why, in one line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function convert(spec: SettingSpec, raw: string, source: string): unknown {
  const fail = (why: string): never => {
    throw new ConfigError(`invalid --${spec.name} (from ${source}): ${why}`);
  };
  const kind = spec.kind;
  switch (kind.type) {
    case 'string':
      if (raw === '') fail('must not be empty');
      // The value is never echoed: string settings may be secrets.
      if (kind.minLength !== undefined && raw.length < kind.minLength) {
        fail(`must be at least ${kind.minLength} characters`);
      }
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) fail(`"${raw}" is not an integer`);
      const value = Number(raw);
      if (!Number.isSafeInteger(value) || value < kind.min || value > kind.max) {
        fail(`${raw} is outside ${kind.min}..${kind.max}`);
      }
      return value;
    }
    case 'bool': {
      const lower = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on', ''].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      return fail(`"${raw}" is not a boolean (true/false)`);
    }
    case 'list':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    case 'rate': {
      if (raw.trim() === 'off') return null;
      const rate: Rate | null = parseRate(raw);
      if (!rate) fail(`"${raw}" is not a rate like 10/10s (N/<n>(ms|s|m|h))`);
      return rate;
    }
    case 'enum':
      if (!kind.values.includes(raw)) fail(`"${raw}" is not one of ${kind.values.join(', ')}`);
      return raw;
    default: {
      const unexpected: never = kind;
      throw new Error(`unknown setting kind ${JSON.stringify(unexpected)}`);
    }
  }
}

const specs: ReadonlyMap<string, SettingSpec> = new Map(SETTINGS.map((spec) => [spec.name, spec]));

/** Parses `--name value`, `--name=value` and bare boolean flags. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs.get(name);
    if (!spec) throw new ConfigError(`unknown flag --${name} (see --help)`);
    if (eq >= 0) {
      flags.set(name, arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (spec.kind.type === 'bool' && (next === undefined || next.startsWith('--'))) {
      flags.set(name, 'true');
      continue;
    }
    if (next === undefined) throw new ConfigError(`--${name} needs a value`);
    flags.set(name, next);
    i += 1;
  }
  return flags;
}

/**
 * Resolves every setting from flags, then environment, then the config file,
 * then the default; validates each and throws {@link ConfigError} naming the
 * first bad one.
 */
export function resolveConfig(
  flags: ReadonlyMap<string, string>,
  env: Readonly<Record<string, string | undefined>>,
  file: Readonly<Record<string, unknown>>,
): ServerConfig {
  for (const key of Object.keys(file)) {
    if (!specs.has(key)) throw new ConfigError(`unknown key "${key}" in config file`);
  }
  const out: Record<string, unknown> = {};
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    let raw: string | undefined;
    let source = 'default';
    if (flags.has(spec.name)) {
      raw = flags.get(spec.name);
      source = `flag --${spec.name}`;
    } else {
      for (const variable of [envName(spec.name), ...(spec.aliases ?? [])]) {
        if (env[variable] !== undefined && env[variable] !== '') {
          raw = env[variable];
          source = `env ${variable}`;
          break;
        }
      }
      if (raw === undefined && Object.hasOwn(file, spec.name)) {
        const value = file[spec.name];
        source = `config file key "${spec.name}"`;
        const scalar = (item: unknown) => ['string', 'number', 'boolean'].includes(typeof item);
        const ok = Array.isArray(value) ? spec.kind.type === 'list' && value.every(scalar) : scalar(value);
        if (!ok)
          throw new ConfigError(
            `invalid --${spec.name} (from ${source}): ${JSON.stringify(value)} is not a valid value`,
          );
        raw = Array.isArray(value) ? value.join(',') : String(value);
      }
      if (raw === undefined) raw = spec.default;
    }
    if (raw !== undefined) out[camel(spec.name)] = convert(spec, raw, source);
  }
  const config = out as unknown as ServerConfig;
  validateCombined(config);
  return config;
}

/** Checks that need more than one value's syntax: origins, Redis URL, baseline templates. */
function validateCombined(config: ServerConfig): void {
  for (const origin of config.allowedOrigins) {
    if (origin === '*') continue;
    let url: URL | null = null;
    try {
      url = new URL(origin);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError(`invalid --allowed-origins: "${origin}" is not an origin like https://app.example.com`);
    }
  }
  if (
    config.maxUnauthenticatedConnections !== undefined &&
    config.maxConnections !== undefined &&
    config.maxUnauthenticatedConnections > config.maxConnections
  ) {
    throw new ConfigError(
      `invalid --max-unauthenticated-connections: ${config.maxUnauthenticatedConnections} is more than --max-connections (${config.maxConnections})`,
    );
  }
  if (config.requestTimeoutMs < config.headersTimeoutMs) {
    throw new ConfigError(
      `invalid --request-timeout-ms: ${config.requestTimeoutMs} is less than --headers-timeout-ms (${config.headersTimeoutMs})`,
    );
  }
  if (config.redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(config.redisUrl)) {
    throw new ConfigError('invalid --redis-url: must start with redis:// or rediss://');
  }
  for (const template of config.baselineChannels) {
    const sample = template.replaceAll('{sub}', 'u').replaceAll('{tenant_id}', 't');
    if (!isValidChannel(sample)) {
      throw new ConfigError(
        `invalid --baseline-channels: "${template}" is not a channel name (placeholders: {sub}, {tenant_id})`,
      );
    }
  }
}
