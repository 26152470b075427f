import type { Logger } from '../log/logger.js';
import { MemoryBroker } from './memory.js';
import { RedisBroker } from './redis/broker.js';
import { clusterSeedsOf, isClusterEnabled, redactRedisUrl } from './redis/client.js';
import type { Broker } from './types.js';

/** What the standalone server knows when it picks a broker. */
export interface BrokerConfig {
  /**
   * `redis://…` selects the Redis broker; absent selects the in-memory one.
   * A cluster is detected from the node (`INFO cluster`), or given as several
   * seeds: `redis://host1:7000,host2:7001`.
   */
  redisUrl?: string;
  historySize: number;
  historyTtlMs: number;
  /** Redis broker: bytes queued behind catch-ups before a gap is let through (default 64 MiB). */
  redisCatchupMaxBytes?: number;
  logger: Logger;
}

/** Picks the broker the standalone server runs on. */
export async function createBroker(config: BrokerConfig): Promise<Broker> {
  if (config.redisUrl === undefined) {
    return new MemoryBroker({ historySize: config.historySize, historyTtlMs: config.historyTtlMs });
  }
  const url = config.redisUrl;
  const seeds = clusterSeedsOf(url);
  const common = {
    historySize: config.historySize,
    historyTtlMs: config.historyTtlMs,
    ...(config.redisCatchupMaxBytes === undefined ? {} : { maxPendingBytes: config.redisCatchupMaxBytes }),
    logger: config.logger,
  };
  if (seeds) {
    const first = seeds[0];
    const credentialsUrl = url.replace(/^(rediss?:\/\/(?:[^@/]*@)?)[^/?#]*/, `$1${first?.host}:${first?.port}`);
    config.logger.info({ redis: redactRedisUrl(url), mode: 'cluster' }, 'redis broker');
    return new RedisBroker({ ...common, url: credentialsUrl, cluster: seeds });
  }
  const cluster = await isClusterEnabled(url, {});
  config.logger.info({ redis: redactRedisUrl(url), mode: cluster ? 'cluster' : 'standalone' }, 'redis broker');
  if (!cluster) return new RedisBroker({ ...common, url });
  const parsed = new URL(url);
  return new RedisBroker({
    ...common,
    url,
    cluster: [{ host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) }],
  });
}
