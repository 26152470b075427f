import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';
import { AlbatrossError } from '../../errors.js';

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
      reject(new AlbatrossError('UNAVAILABLE', `Redis unavailable: ${what} not connected within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/** Any Redis failure as the gateway's error: UNAVAILABLE (a script bug is INTERNAL). */
export function redisError(error: unknown, what: string): AlbatrossError {
  if (error instanceof AlbatrossError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/Error (running|compiling) script|user_script/i.test(message)) {
    return new AlbatrossError('INTERNAL', `Redis script failed: ${what}`, { cause: error });
  }
  return new AlbatrossError('UNAVAILABLE', `Redis unavailable: ${what} (${message})`, { cause: error });
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
    throw redisError(error, `cannot reach ${redactRedisUrl(url)}`);
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
