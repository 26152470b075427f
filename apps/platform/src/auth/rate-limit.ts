import { AlbatrossError } from '@albatross/protocol';

/**
 * Counts failed logins per key (a source address, an email) in a fixed
 * window; past `max` failures the key is refused until the window ends.
 * Per node and in memory: a cluster multiplies the allowance by its node
 * count, which still bounds guessing. The map is bounded: the oldest
 * windows go first.
 */
export class FailureLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, { count: number; resetAt: number }>();

  constructor(options: { max: number; windowMs: number; maxKeys?: number; now?: () => number }) {
    this.#max = options.max;
    this.#windowMs = options.windowMs;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Throws `RATE_LIMITED` (with `retry_after_s`) when `key` is over its allowance. */
  check(key: string): void {
    const entry = this.#windows.get(key);
    const now = this.#now();
    if (!entry) return;
    if (entry.resetAt <= now) {
      this.#windows.delete(key);
      return;
    }
    if (entry.count >= this.#max) {
      throw new AlbatrossError('RATE_LIMITED', 'too many failed logins; try again later', {
        details: { retry_after_s: Math.ceil((entry.resetAt - now) / 1000) },
      });
    }
  }

  /** Counts one failure for `key`. */
  fail(key: string): void {
    const now = this.#now();
    const entry = this.#windows.get(key);
    if (entry && entry.resetAt > now) {
      entry.count += 1;
      return;
    }
    this.#windows.delete(key);
    this.#windows.set(key, { count: 1, resetAt: now + this.#windowMs });
    while (this.#windows.size > this.#maxKeys) {
      const oldest = this.#windows.keys().next().value;
      if (oldest === undefined) break;
      this.#windows.delete(oldest);
    }
  }

  /** Forgets `key` (a successful login clears its email's count). */
  reset(key: string): void {
    this.#windows.delete(key);
  }
}
