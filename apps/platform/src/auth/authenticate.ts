import { createHash } from 'node:crypto';
import { AlbatrossError, ErrorCode } from '@albatross/protocol';
import type { ApiKeyVerifier, Identity } from '@albatross/server';
import type { PlatformContext } from '../context.js';
import { findApiKeyBySha256, readUserRow, type UserRow } from '../users/read.js';
import { knownRoles, type Principal } from './principal.js';

/** Lower-case hex SHA-256 of an API key: all the store ever holds of it. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

const isJwt = (token: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);

/** Records when a key was last used, at most once a minute per key and node. */
const USAGE_RESOLUTION_MS = 60_000;

/**
 * Turns credentials into principals: platform access tokens (ES256 JWTs)
 * and API keys. Each call reads the user and tenant from the read model,
 * so a deactivated user or a suspended tenant is refused at once, whatever
 * their token's expiry.
 */
export class Authenticator {
  readonly #ctx: PlatformContext;
  readonly #lastRecorded = new Map<string, number>();

  constructor(ctx: PlatformContext) {
    this.#ctx = ctx;
  }

  /** The principal of a bearer credential; `UNAUTHORIZED` (or `TOKEN_EXPIRED`) otherwise. */
  async authenticate(token: string): Promise<Principal> {
    if (token.length > 4096) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'invalid credential');
    if (isJwt(token)) return this.#fromJwt(token);
    const found = await this.#apiKey(token);
    if (!found) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'invalid credential');
    return found;
  }

  async #fromJwt(token: string): Promise<Principal> {
    let sub: unknown;
    try {
      sub = (await this.#ctx.keys.verify(token)).sub;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_JWT_EXPIRED') throw new AlbatrossError(ErrorCode.TOKEN_EXPIRED, 'access token expired');
      throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'invalid credential');
    }
    if (typeof sub !== 'string') throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'invalid credential');
    const row = await readUserRow(this.#ctx.store.driver, sub);
    if (!row) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'invalid credential');
    await this.#checkActive(row);
    return principalOf(row, { kind: 'jwt' });
  }

  async #apiKey(key: string): Promise<Principal | null> {
    const found = await findApiKeyBySha256(this.#ctx.store.driver, sha256Hex(key));
    if (!found) return null;
    if (found.user.status !== 'active' || found.tenantStatus !== 'active') return null;
    this.#recordUse(found.keyId);
    return principalOf(found.user, { kind: 'api_key', keyId: found.keyId });
  }

  async #checkActive(row: UserRow): Promise<void> {
    if (row.status !== 'active') throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'user is deactivated');
    const [tenant] = await this.#ctx.store.driver.query<{ status: string }>(
      'SELECT status FROM tenants WHERE id = $1',
      [row.tenant_id],
    );
    if (tenant?.status !== 'active') throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'tenant is suspended');
  }

  #recordUse(keyId: string): void {
    const now = Date.now();
    if (now - (this.#lastRecorded.get(keyId) ?? 0) < USAGE_RESOLUTION_MS) return;
    this.#lastRecorded.set(keyId, now);
    if (this.#lastRecorded.size > 10_000) this.#lastRecorded.clear();
    this.#ctx.store.driver
      .query(
        `INSERT INTO platform_apikey_usage (key_id, last_used_at) VALUES ($1, now())
         ON CONFLICT (key_id) DO UPDATE SET last_used_at = now()`,
        [keyId],
      )
      .catch((error: unknown) => this.#ctx.logger.warn({ err: error }, 'could not record API key use'));
  }

  /**
   * The verifier the gateway uses for API keys on WebSocket connections. A
   * revoked key's live connections are closed by the revocation itself
   * (`PlatformContext.revoke`), on every node.
   */
  apiKeyVerifier(): ApiKeyVerifier {
    return {
      verify: async (key: string): Promise<Identity | null> => {
        const principal = await this.#apiKey(key);
        if (principal?.credential.kind !== 'api_key') return null;
        return {
          userId: principal.userId,
          tenantId: principal.tenantId,
          roles: principal.roles,
          channels: [],
          credential: { kind: 'api_key', keyId: principal.credential.keyId },
        };
      },
    };
  }
}

/** The principal of a read-model user row. */
export function principalOf(row: UserRow, credential: Principal['credential']): Principal {
  return {
    userId: row.id,
    tenantId: row.tenant_id,
    roles: knownRoles(row.roles),
    mustChangePassword: row.must_change_password === true,
    credential,
  };
}
