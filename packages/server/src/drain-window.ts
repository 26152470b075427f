/**
 * Drain window per connection, ms, by default: clients come back at about
 * 1000 per second, so a few reconnect at once and ten thousand are spread
 * over 10 s. A gateway restart costs about that many handshakes (and token
 * checks) per second.
 */
export const DRAIN_MS_PER_CONNECTION = 1;

/**
 * The window a drain actually spreads `connections` closes (and the clients'
 * `reconnect_after_ms`) over: `msPerConnection` per connection, never longer
 * than `maxWindowMs` (`--drain-ms`). One client gets 1 ms, not the whole
 * window: a clean stop must not reconnect slower than a crash.
 */
export function drainWindowMs(
  connections: number,
  maxWindowMs: number,
  msPerConnection: number = DRAIN_MS_PER_CONNECTION,
): number {
  if (connections <= 0 || maxWindowMs <= 0 || msPerConnection <= 0) return 0;
  return Math.min(maxWindowMs, Math.ceil(connections * msPerConnection));
}
