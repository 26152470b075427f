import type { Rate } from '../config/rate.js';

/**
 * A token bucket: `burst` tokens, refilled continuously at `burst / perMs`.
 * `take()` spends one token when there is one.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly refillPerMs: number;

  constructor(
    private readonly rate: Rate,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = rate.burst;
    this.updatedAt = now();
    this.refillPerMs = rate.burst / rate.perMs;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = now - this.updatedAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.rate.burst, this.tokens + elapsed * this.refillPerMs);
      this.updatedAt = now;
    }
  }

  /** Spends one token; false when the bucket is empty. */
  take(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** True when a token is available (spends nothing). */
  hasToken(): boolean {
    this.refill();
    return this.tokens >= 1;
  }

  /** True when the bucket has refilled completely: it remembers nothing and may be dropped. */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.rate.burst;
  }

  /** Milliseconds until one token is back (0 when one is available). */
  retryAfterMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.refillPerMs);
  }
}
