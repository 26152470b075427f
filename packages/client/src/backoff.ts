/**
 * Capped exponential backoff with full jitter: a uniformly random delay in
 * `[0, min(maxMs, minMs × 2^attempt))`. Full jitter spreads a crowd of
 * clients that lost the same server, so they do not all come back at once.
 *
 * @example
 * backoffDelay(0, 1000, 32_000); // 0 … 1 s
 * backoffDelay(5, 1000, 32_000); // 0 … 32 s, and never more
 */
export function backoffDelay(
  attempt: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * cap);
}
