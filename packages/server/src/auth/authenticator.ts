import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '@albatross/protocol';
import { AlbatrossError } from '../errors.js';
import type { ApiKeyVerifier } from './api-keys.js';
import type { Identity } from './identity.js';
import { createJwtVerifier, type JwtOptions, type JwtVerifier } from './jwt.js';

/** A credential found on an upgrade request. */
export type RequestCredential =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'invalid'; reason: string };

/**
 * Finds the credential of an upgrade request: `Authorization: Bearer` wins
 * over `?access_token=` and `?api_key=`; an `Authorization` header that is not
 * `Bearer <token>` is invalid (401), never ignored.
 */
export function credentialOf(req: IncomingMessage): RequestCredential {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer +(\S+)\s*$/i.exec(header);
    if (!match?.[1]) return { kind: 'invalid', reason: 'Authorization header must be "Bearer <token>"' };
    return { kind: 'token', token: match[1] };
  }
  // No query string, no query credential: most upgrades, spared a URL parse.
  if (req.url === undefined || !req.url.includes('?')) return { kind: 'none' };
  const url = new URL(req.url, 'http://localhost');
  const token = url.searchParams.get('access_token') ?? url.searchParams.get('api_key');
  if (token !== null) {
    return token === '' ? { kind: 'invalid', reason: 'empty credential in query' } : { kind: 'token', token };
  }
  return { kind: 'none' };
}

/** True when a credential looks like a compact JWT (exactly two dots). */
export function isJwt(token: string): boolean {
  const first = token.indexOf('.');
  if (first < 0) return false;
  const second = token.indexOf('.', first + 1);
  return second > 0 && token.indexOf('.', second + 1) < 0;
}

export interface AuthenticatorOptions {
  jwt?: JwtOptions;
  apiKeys?: ApiKeyVerifier;
  /** How long a revoked API key id is remembered, ms (default 10 min). */
  revokedKeyMemoryMs?: number;
  /**
   * Last word on a verified identity, asked on every authentication (upgrade,
   * first-frame `auth`, token refresh): false refuses it `UNAUTHORIZED`. For
   * apps whose users or tenants can be disabled before their tokens expire
   * (ask your database whether the user and tenant are still active). A
   * throw is `UNAVAILABLE`, never a silent admission.
   */
  accept?(identity: Identity): boolean | Promise<boolean>;
}

/** Default of {@link AuthenticatorOptions.revokedKeyMemoryMs}. */
export const REVOKED_KEY_MEMORY_MS = 10 * 60_000;

/**
 * Turns any credential (JWT or API key) into an {@link Identity}, or throws an
 * {@link AlbatrossError} with `UNAUTHORIZED` or `TOKEN_EXPIRED`.
 */
export class Authenticator {
  private readonly verifyJwt: JwtVerifier | null;
  private readonly apiKeys: ApiKeyVerifier | null;
  /** API key ids revoked lately, with the time until which they are remembered. */
  private readonly revokedKeys = new Map<string, number>();
  private readonly revokedKeyMemoryMs: number;
  private readonly stopListening: (() => void) | undefined;
  private readonly accept: AuthenticatorOptions['accept'];

  constructor(options: AuthenticatorOptions) {
    this.accept = options.accept;
    this.verifyJwt = options.jwt ? createJwtVerifier(options.jwt) : null;
    this.apiKeys = options.apiKeys ?? null;
    this.revokedKeyMemoryMs = options.revokedKeyMemoryMs ?? REVOKED_KEY_MEMORY_MS;
    // Registered before anyone else can listen (the gateway closes connections
    // on revoke), so every listener already sees the key as revoked.
    this.stopListening = this.apiKeys?.onRevoke?.((keyId) => {
      this.revokedKeys.set(keyId, Date.now() + this.revokedKeyMemoryMs);
    });
  }

  /**
   * True when the identity's API key was revoked lately: a verification that
   * was in flight when the key was revoked (a connect, a first-frame auth or
   * a token refresh) must not be honoured afterwards.
   */
  isRevoked(identity: Identity): boolean {
    if (identity.credential.kind !== 'api_key') return false;
    const keyId = identity.credential.keyId;
    const until = this.revokedKeys.get(keyId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.revokedKeys.delete(keyId);
    return false;
  }

  /** Stops listening for revocations. */
  close(): void {
    this.stopListening?.();
    this.revokedKeys.clear();
  }

  async authenticate(token: string): Promise<Identity> {
    const identity = await this.verify(token);
    // `user:{sub}:{topic}` and `tenant:{tenant_id}:{topic}` are only unambiguous when the ids are
    // single segments: user "u1" may subscribe user:u1:x:updates, the channel of a user "u1:x".
    if (identity.userId.includes(':') || identity.tenantId.includes(':')) {
      throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'user and tenant ids must not contain ":"');
    }
    if (this.accept) {
      let accepted: boolean;
      try {
        accepted = (await this.accept(identity)) === true;
      } catch (error) {
        throw new AlbatrossError(ErrorCode.UNAVAILABLE, 'credential check failed', { cause: error });
      }
      if (!accepted) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'credential no longer accepted');
    }
    return identity;
  }

  private async verify(token: string): Promise<Identity> {
    if (isJwt(token)) {
      if (!this.verifyJwt) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'JWT authentication is not configured');
      return this.verifyJwt(token);
    }
    if (!this.apiKeys) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'API key authentication is not configured');
    let identity: Identity | null;
    try {
      identity = await this.apiKeys.verify(token);
    } catch (error) {
      throw new AlbatrossError(ErrorCode.UNAVAILABLE, 'API key verification failed', { cause: error });
    }
    if (!identity) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'unknown API key');
    return identity;
  }
}
