import { createPublicKey, createSecretKey, type KeyObject as NodeKeyObject } from 'node:crypto';
import { ErrorCode } from '@albatross/protocol';
import {
  createLocalJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
  type KeyObject,
} from 'jose';
import { AlbatrossError } from '../errors.js';
import { Hs256FastPath } from './hs256.js';
import type { Identity } from './identity.js';
import { RemoteJwks } from './jwks.js';

/** Seconds of clock skew tolerated on `exp` and `nbf`. */
export const JWT_LEEWAY_SECONDS = 30;

/** Where JWT signing keys come from; any combination may be configured. */
export interface JwtOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** PEM (SPKI) public key for RS256 or ES256; the algorithm follows the key type. */
  publicKey?: string;
  /**
   * JWKS endpoint for RS256/ES256 keys, fetched and cached (see
   * {@link RemoteJwks}): a key set that cannot be fetched or parsed makes
   * verification `UNAVAILABLE`, never `UNAUTHORIZED`.
   */
  jwksUrl?: string;
  /** Longest one JWKS fetch may take, ms (default 5 s). */
  jwksTimeoutMs?: number;
  /** Least time between two JWKS fetches, successful or failed, ms (default 30 s). */
  jwksCooldownMs?: number;
  /** Age after which the JWKS is fetched again on next use, ms (default 10 min). */
  jwksMaxAgeMs?: number;
  /** An in-memory JWKS (tests, or keys the app already holds). */
  jwks?: JSONWebKeySet;
  /** Expected `iss`, when set. */
  issuer?: string;
  /** Expected `aud`, when set. */
  audience?: string;
}

/** Verifies a compact JWT and returns the identity it carries. */
export type JwtVerifier = (token: string) => Promise<Identity>;

interface KeySource {
  algorithms: string[];
  key: KeyObject | Uint8Array | JWTVerifyGetKey;
}

function keySources(options: JwtOptions): KeySource[] {
  const sources: KeySource[] = [];
  if (options.secret !== undefined) {
    if (options.secret.length < 16) throw new Error('JWT secret must be at least 16 characters');
    // A KeyObject, not raw bytes: jose converts it to a CryptoKey once and
    // caches it, where raw bytes are imported into WebCrypto on every verify.
    sources.push({ algorithms: ['HS256'], key: createSecretKey(Buffer.from(options.secret, 'utf8')) });
  }
  if (options.publicKey !== undefined) {
    const key = createPublicKey(options.publicKey);
    const type = key.asymmetricKeyType;
    if (type === 'rsa') sources.push({ algorithms: ['RS256'], key });
    else if (type === 'ec') sources.push({ algorithms: ['ES256'], key });
    else throw new Error(`unsupported public key type ${String(type)} (RS256 needs RSA, ES256 needs EC P-256)`);
  }
  if (options.jwksUrl !== undefined) {
    const remote = new RemoteJwks(options.jwksUrl, {
      ...(options.jwksTimeoutMs === undefined ? {} : { timeoutMs: options.jwksTimeoutMs }),
      ...(options.jwksCooldownMs === undefined ? {} : { cooldownMs: options.jwksCooldownMs }),
      ...(options.jwksMaxAgeMs === undefined ? {} : { maxAgeMs: options.jwksMaxAgeMs }),
    });
    sources.push({ algorithms: ['RS256', 'ES256'], key: remote.getKey });
  }
  if (options.jwks !== undefined) {
    sources.push({ algorithms: ['RS256', 'ES256'], key: createLocalJWKSet(options.jwks) });
  }
  return sources;
}

// Shared by every identity without roles or channels: one array, not one per connection.
const NONE: readonly string[] = Object.freeze([]);
// Shared by every JWT identity, likewise.
const JWT_CREDENTIAL: Identity['credential'] = Object.freeze({ kind: 'jwt' });

function stringArrayClaim(payload: JWTPayload, name: string): readonly string[] {
  const value = payload[name];
  if (value === undefined) return NONE;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new AlbatrossError(ErrorCode.UNAUTHORIZED, `claim "${name}" must be an array of strings`);
  }
  return value as string[];
}

function identityOf(payload: JWTPayload): Identity {
  const { sub, exp } = payload;
  const tenantId = payload.tenant_id;
  if (typeof sub !== 'string' || sub.length === 0) {
    throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'claim "sub" is required');
  }
  if (typeof tenantId !== 'string' || tenantId.length === 0) {
    throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'claim "tenant_id" is required');
  }
  if (typeof exp !== 'number') throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'claim "exp" is required');
  return {
    userId: sub,
    tenantId,
    roles: stringArrayClaim(payload, 'roles'),
    channels: stringArrayClaim(payload, 'channels'),
    exp,
    credential: JWT_CREDENTIAL,
  };
}

/**
 * Builds a JWT verifier over the configured key sources. Only the algorithms
 * implied by the configured keys are accepted (never `none`); `exp` and `nbf`
 * get {@link JWT_LEEWAY_SECONDS} of leeway.
 *
 * @example
 * const verify = createJwtVerifier({ secret: process.env.ALBATROSS_JWT_SECRET });
 * const identity = await verify(token);
 */
export function createJwtVerifier(options: JwtOptions): JwtVerifier {
  const sources = keySources(options);
  if (sources.length === 0) throw new Error('no JWT key configured (secret, public key, JWKS URL or JWKS)');
  const hs256 = sources.find((source) => source.algorithms.includes('HS256'));
  const fast =
    hs256 && typeof hs256.key !== 'function' && !(hs256.key instanceof Uint8Array)
      ? new Hs256FastPath(hs256.key as NodeKeyObject, JWT_LEEWAY_SECONDS, {
          ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
          ...(options.audience === undefined ? {} : { audience: options.audience }),
        })
      : null;
  return async (token) => {
    // HS256 tokens that are plainly valid skip jose's WebCrypto path; every
    // other token (and every rejection) gets jose's verdict below.
    const payload = fast?.verify(token);
    if (payload) return identityOf(payload);
    let lastError: unknown;
    let unreachable: unknown;
    for (const source of sources) {
      try {
        const verifyOptions = {
          algorithms: source.algorithms,
          clockTolerance: JWT_LEEWAY_SECONDS,
          ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
          ...(options.audience === undefined ? {} : { audience: options.audience }),
        };
        const { payload } =
          typeof source.key === 'function'
            ? await jwtVerify(token, source.key, verifyOptions)
            : await jwtVerify(token, source.key, verifyOptions);
        return identityOf(payload);
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) {
          throw new AlbatrossError(ErrorCode.TOKEN_EXPIRED, 'token expired', { cause: error });
        }
        // The key set could not be had: an outage on our side, not a bad credential.
        // Another source may still verify the token; if none does, the answer is UNAVAILABLE.
        if (error instanceof AlbatrossError && error.code === ErrorCode.UNAVAILABLE) {
          unreachable = error;
          continue;
        }
        if (error instanceof AlbatrossError) throw error;
        // Anything not from jose's verdicts (a failing resolver, a bug) is not a verdict on the token either.
        if (!(error instanceof joseErrors.JOSEError) || error instanceof joseErrors.JWKSTimeout) unreachable = error;
        lastError = error;
      }
    }
    if (unreachable instanceof AlbatrossError) throw unreachable;
    if (unreachable !== undefined) {
      throw new AlbatrossError(ErrorCode.UNAVAILABLE, 'cannot fetch the JWT signing keys: retry later', {
        cause: unreachable,
      });
    }
    const reason = lastError instanceof Error ? lastError.message : 'invalid token';
    throw new AlbatrossError(ErrorCode.UNAUTHORIZED, `invalid token: ${reason}`, { cause: lastError });
  };
}
