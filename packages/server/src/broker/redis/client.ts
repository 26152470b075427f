import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';
import { AlbatrossError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';

/** Where Redis is and how every connection to it behaves. */
export interface RedisConnectionOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://…`. */
  url?: string;
  /** Seed nodes of a Redis Cluster; selects cluster mode (sharded pub/sub). */
  cluster?: readonly { host: string; port: number }[];
  /** Bound of every Redis command, ms (default 2000). */
  commandTimeoutMs?: number;
  /** Bound of one connection attempt, ms (default 3000). */
  connectTimeoutMs?: number;
}

export type CommandClient = Redis | Cluster;

/** Backoff between reconnection attempts: 50 ms doubling to 2 s, with jitter. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(2000, 50 * 2 ** Math.min(attempt, 6));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * Options shared by every connection: fail fast instead of queueing while
 * disconnected, bound every command, reconnect forever with backoff, and
 * never resubscribe behind our back (the broker resubscribes itself so it
 * knows when to check channels for missed publications).
 */
export function baseOptions(options: RedisConnectionOptions): RedisOptions {
  return {
    protocol: 2,
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    connectTimeout: options.connectTimeoutMs ?? 3000,
    retryStrategy: reconnectDelay,
  };
}

/** Credentials and TLS of a URL, for connections the broker opens to cluster nodes itself. */
export function credentialsOf(url: string | undefined): RedisOptions {
  if (url === undefined) return {};
  const parsed = new URL(url);
  const out: RedisOptions = {};
  if (parsed.username) out.username = decodeURIComponent(parsed.username);
  if (parsed.password) out.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') out.tls = {};
  return out;
}

export function createCommandClient(options: RedisConnectionOptions): CommandClient {
  const base = baseOptions(options);
  if (options.cluster) {
    const { lazyConnect: _lazy, enableOfflineQueue: _queue, ...nodeOptions } = base;
    return new Cluster(options.cluster as ClusterNode[], {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: true,
      scaleReads: 'master',
      maxRedirections: 8,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      slotsRefreshTimeout: options.connectTimeoutMs ?? 3000,
      clusterRetryStrategy: reconnectDelay,
      // ioredis auto-pipelining breaks callBuffer() (EVALSHA with Buffer replies): keep it off.
      enableAutoPipelining: false,
      redisOptions: { ...nodeOptions, ...credentialsOf(options.url) },
    });
  }
  if (options.url === undefined) throw new Error('Redis broker needs a url or cluster nodes');
  return new Redis(options.url, { ...base, enableAutoPipelining: false });
}

/** Resolves once `client` is ready; rejects after `timeoutMs`. */
export function whenReady(client: EventEmitter & { status: string }, timeoutMs: number, what: string): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      // The message may reach a client: the detail (and any node address in `what`) stays on `cause`.
      const detail = new Error(`Redis ${what} not connected within ${timeoutMs} ms`);
      reject(new AlbatrossError('UNAVAILABLE', BROKER_UNAVAILABLE_MESSAGE, { cause: detail }));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/**
 * What callers (WebSocket clients, HTTP callers) are told while Redis fails:
 * a stable text, never the driver's message or a node address (those go to
 * the log through {@link FailureLog}).
 */
export const BROKER_UNAVAILABLE_MESSAGE = 'broker unavailable: retry later';

/**
 * Logs Redis failures with the driver's detail, at most one line per
 * `everyMs` (during an outage every call fails; the count of the others is
 * reported with the next line).
 */
export class FailureLog {
  private last = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly everyMs = 5000,
  ) {}

  note(what: string, error: unknown, level: 'warn' | 'error' = 'warn'): void {
    const now = Date.now();
    if (level === 'warn' && now - this.last < this.everyMs) {
      this.suppressed += 1;
      return;
    }
    this.last = now;
    const detail = error instanceof Error ? error.message : String(error);
    this.logger[level]({ op: what, err: detail, suppressed: this.suppressed }, 'redis call failed');
    this.suppressed = 0;
  }
}

/**
 * Any Redis failure as the gateway's error: UNAVAILABLE (a script bug is
 * INTERNAL), with a stable message; `what` and the driver's text go to
 * `failures` (the log) and stay on `cause`. Errors that are already ours pass
 * unchanged (their messages are stable).
 */
export function redisError(error: unknown, what: string, failures?: FailureLog): AlbatrossError {
  if (error instanceof AlbatrossError) {
    if (error.code === 'UNAVAILABLE' && error.cause !== undefined) failures?.note(what, error.cause);
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/Error (running|compiling) script|user_script/i.test(message)) {
    failures?.note(what, error, 'error');
    return new AlbatrossError('INTERNAL', 'internal error', { cause: error });
  }
  failures?.note(what, error);
  return new AlbatrossError('UNAVAILABLE', BROKER_UNAVAILABLE_MESSAGE, { cause: error });
}

/** A Lua script run by EVALSHA, loaded again with EVAL when Redis forgot it (restart, SCRIPT FLUSH). */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: CommandClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }

  /** Like {@link run}, with bulk strings as Buffers (zero-copy frames). */
  async runBuffer(
    client: CommandClient,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await client.callBuffer('evalsha', [this.sha, keys.length, ...keys, ...args]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return client.callBuffer('eval', [this.source, keys.length, ...keys, ...args]);
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Parses `redis://h1:p1,h2:p2` into cluster seeds, or null for a single-host URL. */
export function clusterSeedsOf(url: string): { host: string; port: number }[] | null {
  const match = /^(rediss?:\/\/(?:[^@/]*@)?)([^/?#]*)(.*)$/.exec(url);
  if (!match?.[2]?.includes(',')) return null;
  return match[2].split(',').map((hostPort) => {
    const colon = hostPort.lastIndexOf(':');
    const host = colon < 0 ? hostPort : hostPort.slice(0, colon);
    const port = colon < 0 ? 6379 : Number(hostPort.slice(colon + 1));
    return { host: host.replace(/^\[|\]$/g, ''), port };
  });
}

/** Asks a single Redis whether it runs in cluster mode (`INFO cluster`). */
export async function isClusterEnabled(url: string, options: RedisConnectionOptions): Promise<boolean> {
  const probe = new Redis(url, { ...baseOptions(options), retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    const info = await probe.info('cluster');
    return /cluster_enabled:1/.test(info);
  } catch (error) {
    // At startup, to the operator: the detail is what they need.
    const detail = error instanceof Error ? error.message : String(error);
    throw new AlbatrossError('UNAVAILABLE', `Redis unavailable: cannot reach ${redactRedisUrl(url)} (${detail})`, {
      cause: error,
    });
  } finally {
    probe.disconnect();
  }
}

/** A Redis URL safe to log (password removed, from the authority and from `?password=`). */
export function redactRedisUrl(url: string): string {
  return url
    .replace(/^(rediss?:\/\/)([^@/]*)@/, (_all, scheme: string, auth: string) => {
      const colon = auth.indexOf(':');
      return `${scheme}${colon < 0 ? auth : `${auth.slice(0, colon)}:***`}@`;
    })
    .replace(/([?&]password=)[^&#]*/gi, '$1***');
}
