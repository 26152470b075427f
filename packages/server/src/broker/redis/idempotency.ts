import { createHash, randomUUID } from 'node:crypto';
import { AlbatrossError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { IdempotencyStore } from '../types.js';
import { type CommandClient, FailureLog, LuaScript, redisError } from './client.js';
import type { RedisKeys } from './keys.js';
import { IDEMPOTENCY_RELEASE_LUA } from './scripts.js';

const RELEASE = new LuaScript('idempotency-release', IDEMPOTENCY_RELEASE_LUA);
const PENDING = 'p:';
const DONE = 'd:';

/** Options of {@link RedisIdempotencyStore}. */
export interface RedisIdempotencyOptions {
  /** How long a claim holds while its publish runs, ms; a crashed owner's claim frees after it (default 15 s). */
  claimMs?: number;
  /** How long a duplicate waits for the first call's result, ms (default 20 s). */
  waitMs?: number;
  /** Poll interval while waiting, ms (default 20). */
  pollMs?: number;
}

/**
 * Deployment-wide {@link IdempotencyStore} in Redis. The first caller of a
 * key claims it with `SET NX` (a short claim while it publishes), then stores
 * the result for `ttlMs`; every other caller, on any node, waits for and
 * returns that result. A failed publish releases the claim so the key can be
 * retried. Concurrent callers on one node share one promise.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly local = new Map<string, Promise<unknown>>();
  private readonly claimMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;
  private readonly failures: FailureLog;

  constructor(
    private readonly client: CommandClient,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
    options: RedisIdempotencyOptions = {},
  ) {
    this.claimMs = options.claimMs ?? 15_000;
    this.waitMs = options.waitMs ?? 20_000;
    this.pollMs = options.pollMs ?? 20;
    this.failures = new FailureLog(logger);
  }

  once<T>(key: string, ttlMs: number, publish: () => Promise<T>): Promise<T> {
    const inflight = this.local.get(key);
    if (inflight) return inflight as Promise<T>;
    const result = this.claimOrWait(key, ttlMs, publish).finally(() => {
      if (this.local.get(key) === result) this.local.delete(key);
    });
    this.local.set(key, result);
    return result;
  }

  private async claimOrWait<T>(key: string, ttlMs: number, publish: () => Promise<T>): Promise<T> {
    const record = this.keys.idempotency(createHash('sha256').update(key).digest('hex'));
    const token = `${PENDING}${randomUUID()}`;
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      let claimed: string | null;
      let value: string | null = null;
      try {
        claimed = await this.client.set(record, token, 'PX', Math.max(1, Math.min(this.claimMs, ttlMs)), 'NX');
        if (claimed !== 'OK') value = await this.client.get(record);
      } catch (error) {
        throw redisError(error, 'idempotency key', this.failures);
      }
      if (claimed === 'OK') return this.runClaimed(record, token, ttlMs, publish);
      if (value?.startsWith(DONE)) return JSON.parse(value.slice(DONE.length)) as T;
      if (Date.now() >= deadline) {
        throw new AlbatrossError('UNAVAILABLE', 'a publish with this idempotency key is still in progress; retry');
      }
      // Pending elsewhere (wait for it), or released/expired just now (claim again).
      if (value !== null) await sleep(this.pollMs);
    }
  }

  private async runClaimed<T>(record: string, token: string, ttlMs: number, publish: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await publish();
    } catch (error) {
      await RELEASE.run(this.client, [record], [token]).catch(() => {});
      throw error;
    }
    try {
      await this.client.set(record, `${DONE}${JSON.stringify(result)}`, 'PX', Math.max(1, ttlMs));
    } catch (error) {
      // Published, but the result could not be stored: a retry after the claim expires publishes again.
      this.logger.warn({ err: (error as Error).message }, 'idempotency result not stored');
    }
    return result;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
