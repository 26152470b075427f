import { ErrorCode } from '@albatross/protocol';
import {
  createLocalJWKSet,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
  errors as joseErrors,
} from 'jose';
import { AlbatrossError } from '../errors.js';

/** Limits of a {@link RemoteJwks}; every default is also documented in docs/operations.md. */
export interface RemoteJwksOptions {
  /** Longest one fetch of the key set may take, ms (default 5 s). */
  timeoutMs?: number;
  /**
   * Least time between two fetches, ms (default 30 s), after a success and
   * after a failure alike: unknown `kid`s cannot make the gateway hammer the
   * identity provider, and during its outage they cost no fetch each.
   */
  cooldownMs?: number;
  /** Age after which the key set is fetched again on next use, ms (default 10 min). */
  maxAgeMs?: number;
  /** Largest key set body accepted, bytes (default 512 KiB). */
  maxBytes?: number;
}

type LocalKeys = ReturnType<typeof createLocalJWKSet>;

/** What callers are told when the key set cannot be had; the detail stays on `cause`. */
const UNAVAILABLE_MESSAGE = 'cannot fetch the JWT signing keys: retry later';

/**
 * A JWKS endpoint as a jose key resolver, with the failure semantics the
 * protocol promises: a key set that cannot be fetched or parsed (HTTP error,
 * HTML or broken JSON, network error, timeout) is `UNAVAILABLE` (an outage on
 * our side: the client retries with the same token), never a verdict on the
 * token. Only a good key set without a matching key is left to jose, which
 * makes it `UNAUTHORIZED`.
 *
 * - Concurrent verifications share one fetch.
 * - At most one fetch per `cooldownMs`, whatever its outcome; within the
 *   cooldown the last outcome stands (a remembered failure answers
 *   `UNAVAILABLE` without fetching).
 * - A stale key set (older than `maxAgeMs`) is refreshed on use; while that
 *   refresh fails the keys already held keep verifying, so an identity
 *   provider outage does not log out tokens of known keys.
 */
export class RemoteJwks {
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  private readonly maxBytes: number;
  private keys: LocalKeys | null = null;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private failure: AlbatrossError | null = null;
  private inflight: Promise<void> | null = null;

  constructor(url: string | URL, options: RemoteJwksOptions = {}) {
    this.url = new URL(url);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') {
      throw new Error(`JWKS URL must be http(s): ${this.url.protocol}`);
    }
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.maxBytes = options.maxBytes ?? 512 * 1024;
  }

  /** The resolver to hand to `jwtVerify`. */
  readonly getKey: JWTVerifyGetKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    if (this.keys === null || Date.now() - this.fetchedAt >= this.maxAgeMs) await this.refresh();
    const keys = this.keys;
    if (keys === null) throw this.unavailable();
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      // Perhaps a key rotated in since the last fetch: look again (cooled down).
      await this.refresh();
      // The endpoint fails: no verdict is possible on a key we never saw.
      if (this.failure !== null) throw this.unavailable();
      if (this.keys === keys) throw error;
      return (this.keys as LocalKeys)(header, token);
    }
  };

  private unavailable(): AlbatrossError {
    return this.failure ?? new AlbatrossError(ErrorCode.UNAVAILABLE, UNAVAILABLE_MESSAGE);
  }

  /** Fetches the key set unless a fetch ran within the cooldown; never throws. */
  private refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    if (Date.now() - this.attemptedAt < this.cooldownMs) return Promise.resolve();
    this.attemptedAt = Date.now();
    this.inflight = this.fetchKeys()
      .then((keys) => {
        this.keys = keys;
        this.fetchedAt = Date.now();
        this.failure = null;
      })
      .catch((error: unknown) => {
        this.failure = new AlbatrossError(ErrorCode.UNAVAILABLE, UNAVAILABLE_MESSAGE, { cause: error });
      })
      .finally(() => {
        this.attemptedAt = Date.now();
        this.inflight = null;
      });
    return this.inflight;
  }

  private async fetchKeys(): Promise<LocalKeys> {
    const response = await fetch(this.url, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`JWKS endpoint answered HTTP ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > this.maxBytes) {
      await response.body?.cancel();
      throw new Error(`JWKS body of ${declared} bytes is over ${this.maxBytes}`);
    }
    const text = await readBounded(response, this.maxBytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error('JWKS endpoint answered something that is not JSON');
    }
    const keys = (parsed as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new Error('JWKS body has no "keys" array');
    // Throws JWKSInvalid on a malformed set: still a failure to get the keys.
    return createLocalJWKSet(parsed as JSONWebKeySet);
  }
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`JWKS body is over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
