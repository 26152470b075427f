import type { Logger } from '../log/logger.js';
import { MemoryBroker } from './memory.js';
import type { Broker } from './types.js';

/** What the standalone server knows when it picks a broker. */
export interface BrokerConfig {
  /** `redis://…` selects the Redis broker; absent selects the in-memory one. */
  redisUrl?: string;
  historySize: number;
  historyTtlMs: number;
  logger: Logger;
}

/** Picks the broker the standalone server runs on. */
export async function createBroker(config: BrokerConfig): Promise<Broker> {
  if (config.redisUrl !== undefined) {
    throw new Error('--redis-url: the Redis broker is not available in this build');
  }
  return new MemoryBroker({ historySize: config.historySize, historyTtlMs: config.historyTtlMs });
}
