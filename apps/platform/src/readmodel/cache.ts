import type { Logger } from '@albatross/server';
import { Redis } from 'ioredis';

/**
 * The query cache: answers of list and detail queries, under keys that
 * carry a version per tenant. The read-model projections bump a tenant's
 * version in the same transaction as the read model itself, and every
 * lookup first reads the current version (one primary-key read), so a
 * cached answer can never outlive the write that changed it, on any node.
 */
export interface QueryCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/** An in-memory LRU with a bound on entries. */
export class MemoryLruCache implements QueryCache {
  readonly #max: number;
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();

  constructor(maxEntries = 5000) {
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= Date.now()) return undefined;
    this.#entries.set(key, entry); // most recently used goes last
    return entry.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}

/**
 * The cache in Redis, shared by every node. A Redis failure is a miss (the
 * query runs against the read model), never an error answer.
 */
export class RedisQueryCache implements QueryCache {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #logger: Logger;
  #lastWarning = 0;

  /** `prefix` should name the store (see `storeIdOf`): entries of another store must never match. */
  constructor(url: string, logger: Logger, prefix: string) {
    this.#redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.#redis.on('error', (error: unknown) => this.#warn(error));
    this.#prefix = prefix;
    this.#logger = logger;
  }

  #warn(error: unknown): void {
    const now = Date.now();
    if (now - this.#lastWarning < 10_000) return;
    this.#lastWarning = now;
    this.#logger.warn({ err: error }, 'query cache (Redis) unavailable: reading the read model directly');
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return (await this.#redis.get(this.#prefix + key)) ?? undefined;
    } catch (error) {
      this.#warn(error);
      return undefined;
    }
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    try {
      await this.#redis.set(this.#prefix + key, value, 'PX', ttlMs);
    } catch (error) {
      this.#warn(error);
    }
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}

/** How long a cached answer may live at most (versions make it exact; the TTL only bounds memory). */
const CACHE_TTL_MS = 60_000;

/**
 * Answers `load()` from the cache when the scope's version has not moved
 * since it was cached. `scope` is a tenant id, or `*` for queries across
 * tenants (bumped by every change).
 */
export async function cachedQuery<T>(
  executor: { query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]> },
  cache: QueryCache,
  scope: string,
  key: string,
  load: () => Promise<T>,
): Promise<T> {
  const [row] = await executor.query<{ version: unknown }>(
    'SELECT version FROM platform_cache_versions WHERE scope = $1',
    [scope],
  );
  const fullKey = `${scope}:${String(row?.version ?? 0)}:${key}`;
  const hit = await cache.get(fullKey);
  if (hit !== undefined) return JSON.parse(hit) as T;
  const value = await load();
  await cache.set(fullKey, JSON.stringify(value), CACHE_TTL_MS);
  return value;
}
