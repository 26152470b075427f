import { randomBytes, randomUUID } from 'node:crypto';
import type { TokenResponse } from '@albatross/platform-api';
import { AlbatrossError, ErrorCode } from '@albatross/protocol';
import type { PlatformContext } from '../context.js';
import { readUserRow, type UserRow } from '../users/read.js';
import { sha256Hex } from './authenticate.js';
import { ACCESS_TOKEN_TTL_S } from './keys.js';
import { knownRoles } from './principal.js';

/** Lifetime of a refresh token (each refresh rotates it), seconds. */
export const REFRESH_TOKEN_TTL_S = 30 * 24 * 60 * 60;

/**
 * Access and refresh tokens. A refresh token is used once: refreshing
 * marks it used and issues the next one of its family. Presenting a used
 * (or revoked) token again means it leaked: the whole family is revoked,
 * so the thief's and the owner's sessions both end.
 */
export class TokenService {
  readonly #ctx: PlatformContext;

  constructor(ctx: PlatformContext) {
    this.#ctx = ctx;
  }

  /** Issues an access token and a refresh token of `familyId` (a new family when omitted). */
  async issue(user: UserRow, familyId: string = randomUUID()): Promise<TokenResponse> {
    const access = await this.#ctx.keys.sign({
      sub: user.id,
      tenant_id: user.tenant_id,
      roles: knownRoles(user.roles),
    });
    const refresh = `rt_${randomBytes(32).toString('base64url')}`;
    await this.#ctx.store.driver.query(
      `INSERT INTO platform_refresh_tokens (token_hash, family_id, user_id, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [sha256Hex(refresh), familyId, user.id, REFRESH_TOKEN_TTL_S],
    );
    return {
      access_token: access,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_TTL_S,
      refresh_token: refresh,
      must_change_password: user.must_change_password === true,
    };
  }

  /** Rotates a refresh token; 401 for an unknown, expired, used or revoked one (a reuse revokes its family). */
  async refresh(token: string): Promise<TokenResponse> {
    const refused = () => new AlbatrossError(ErrorCode.UNAUTHORIZED, 'invalid refresh token');
    const hash = sha256Hex(token);
    // Marking it used is the atomic step: of two concurrent refreshes with one token, one wins.
    const [used] = await this.#ctx.store.driver.query<{ family_id: string; user_id: string }>(
      `UPDATE platform_refresh_tokens SET used_at = now()
       WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
       RETURNING family_id, user_id`,
      [hash],
    );
    if (!used) {
      const [known] = await this.#ctx.store.driver.query<{ family_id: string }>(
        'SELECT family_id FROM platform_refresh_tokens WHERE token_hash = $1',
        [hash],
      );
      if (known) {
        await this.revokeFamily(known.family_id);
        this.#ctx.logger.warn({ family_id: known.family_id }, 'refresh token reused: family revoked');
      }
      throw refused();
    }
    const user = await readUserRow(this.#ctx.store.driver, used.user_id);
    if (user?.status !== 'active') throw refused();
    const [tenant] = await this.#ctx.store.driver.query<{ status: string }>(
      'SELECT status FROM tenants WHERE id = $1',
      [user.tenant_id],
    );
    if (tenant?.status !== 'active') throw refused();
    return this.issue(user, used.family_id);
  }

  /** Revokes every token of a family. */
  async revokeFamily(familyId: string): Promise<void> {
    await this.#ctx.store.driver.query(
      'UPDATE platform_refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
      [familyId],
    );
  }

  /** Revokes the family of `token` (logout); unknown tokens are ignored. */
  async revokeToken(token: string): Promise<void> {
    const [known] = await this.#ctx.store.driver.query<{ family_id: string }>(
      'SELECT family_id FROM platform_refresh_tokens WHERE token_hash = $1',
      [sha256Hex(token)],
    );
    if (known) await this.revokeFamily(known.family_id);
  }

  /** Revokes every refresh token of a user (deactivation, password change). */
  async revokeUser(userId: string): Promise<void> {
    await this.#ctx.store.driver.query(
      'UPDATE platform_refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL',
      [userId],
    );
  }
}
