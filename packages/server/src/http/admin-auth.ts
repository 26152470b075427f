import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '@albatross/protocol';
import type { Rate } from '../config/rate.js';
import { AlbatrossError, RateLimitedError } from '../errors.js';
import { sourceKey } from '../limits/source-address.js';
import { TokenBucket } from '../limits/token-bucket.js';

/** Shortest admin key accepted, like the HS256 JWT secret. */
export const MIN_ADMIN_KEY_LENGTH = 16;

/** Default budget of failed admin authentications per source address: 10, refilled over a minute. */
export const DEFAULT_ADMIN_AUTH_RATE: Rate = { burst: 10, perMs: 60_000 };

/** Most source addresses whose failures are remembered at once (bounded memory under a spray). */
const MAX_TRACKED_SOURCES = 10_000;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Options of {@link createAdminCheck}. */
export interface AdminCheckOptions {
  /** Failed authentications allowed per source address; null disables the limit. */
  readonly failureRate?: Rate | null;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/**
 * Checks `Authorization: Bearer <admin key>` in constant time (both sides are
 * hashed first, so lengths leak nothing either). Throws `UNAUTHORIZED`.
 *
 * Failed attempts are counted per source address (a token bucket of
 * `failureRate`); once an address has spent its budget every request from it
 * is answered `RATE_LIMITED` with a retry delay *before* the key is looked
 * at, so guessing runs at the refill rate and a right guess is not told
 * apart from a wrong one while limited.
 *
 * @throws AlbatrossError `INVALID_MESSAGE` when the key is shorter than {@link MIN_ADMIN_KEY_LENGTH}.
 */
export function createAdminCheck(
  adminKey: string | undefined,
  options: AdminCheckOptions = {},
): (req: IncomingMessage) => void {
  if (adminKey !== undefined && adminKey.length < MIN_ADMIN_KEY_LENGTH) {
    throw new AlbatrossError(
      ErrorCode.INVALID_MESSAGE,
      `admin key must be at least ${MIN_ADMIN_KEY_LENGTH} characters`,
    );
  }
  const expected = adminKey === undefined ? null : digest(adminKey);
  const rate = options.failureRate === undefined ? DEFAULT_ADMIN_AUTH_RATE : options.failureRate;
  const now = options.now ?? Date.now;
  const failures = new Map<string, TokenBucket>();

  const forget = (): void => {
    // Full buckets carry no information: drop them first, then the oldest.
    for (const [key, bucket] of failures) if (bucket.isFull()) failures.delete(key);
    for (const key of failures.keys()) {
      if (failures.size < MAX_TRACKED_SOURCES) break;
      failures.delete(key);
    }
  };

  return (req) => {
    if (!expected) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'admin API disabled: no admin key configured');
    const source = sourceKey(req.socket.remoteAddress);
    const bucket = rate ? failures.get(source) : undefined;
    if (bucket && !bucket.hasToken()) {
      throw new RateLimitedError('too many failed admin authentications from this address', bucket.retryAfterMs());
    }
    const match = /^Bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (match?.[1] && timingSafeEqual(digest(match[1]), expected)) return;
    if (rate) {
      let spent = bucket;
      if (!spent) {
        if (failures.size >= MAX_TRACKED_SOURCES) forget();
        spent = new TokenBucket(rate, now);
        failures.set(source, spent);
      }
      spent.take();
    }
    throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'a valid admin key is required (Authorization: Bearer <key>)');
  };
}
