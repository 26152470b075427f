import type { Projection } from '@albatross/cqrs';
import { ApiKeyDomainEventType, PlatformEventType } from '@albatross/platform-api';
import { bumpCacheVersion } from '../readmodel/tables.js';
import { entityIdOf } from '../tenants/projection.js';

/** Name of the users read model's projection (users and their API keys). */
export const USERS_PROJECTION = 'platform_users';

/**
 * Projects user events into `users` and `api_keys`. `users.password_hash`
 * is there for login only and never leaves the platform; `api_keys` holds
 * each key's SHA-256 for lookups, never the key.
 */
export const usersProjection: Projection = {
  name: USERS_PROJECTION,
  handles: [
    PlatformEventType.UserCreated,
    PlatformEventType.UserUpdated,
    PlatformEventType.UserPasswordChanged,
    PlatformEventType.UserDeactivated,
    PlatformEventType.UserReactivated,
    ApiKeyDomainEventType.Created,
    ApiKeyDomainEventType.Revoked,
  ],
  tables: {
    users: (table, name) => `
      CREATE TABLE ${table} (
        id text PRIMARY KEY,
        tenant_id text NOT NULL,
        email text NOT NULL,
        display_name text NOT NULL,
        roles jsonb NOT NULL,
        status text NOT NULL,
        must_change_password boolean NOT NULL,
        password_hash text NOT NULL,
        version integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE UNIQUE INDEX ${name('email')} ON ${table} (email);
      CREATE INDEX ${name('tenant')} ON ${table} (tenant_id, created_at, id);`,
    api_keys: (table, name) => `
      CREATE TABLE ${table} (
        id text PRIMARY KEY,
        user_id text NOT NULL,
        tenant_id text NOT NULL,
        name text NOT NULL,
        prefix text NOT NULL,
        sha256 text NOT NULL,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz
      );
      CREATE UNIQUE INDEX ${name('sha256')} ON ${table} (sha256);
      CREATE INDEX ${name('user')} ON ${table} (user_id, created_at, id);`,
  },
  async apply(event, { tx, table }) {
    const id = entityIdOf(event.streamId);
    const p = event.payload as Record<string, unknown>;
    const users = table('users');
    const keys = table('api_keys');
    const at = event.recordedAt;
    const v = event.streamVersion;
    switch (event.type) {
      case PlatformEventType.UserCreated:
        await tx.query(
          `INSERT INTO ${users} (id, tenant_id, email, display_name, roles, status, must_change_password, password_hash,
             version, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, 'active', $6, $7, $8, $9, $9) ON CONFLICT (id) DO NOTHING`,
          [
            id,
            p.tenant_id,
            p.email,
            p.display_name,
            JSON.stringify(p.roles),
            p.must_change_password === true,
            p.password_hash,
            v,
            at,
          ],
        );
        break;
      case PlatformEventType.UserUpdated:
        await tx.query(
          `UPDATE ${users} SET display_name = COALESCE($2, display_name), roles = COALESCE($3::jsonb, roles),
             version = $4, updated_at = $5 WHERE id = $1`,
          [id, p.display_name ?? null, p.roles === undefined ? null : JSON.stringify(p.roles), v, at],
        );
        break;
      case PlatformEventType.UserPasswordChanged:
        await tx.query(
          `UPDATE ${users} SET password_hash = $2, must_change_password = false, version = $3, updated_at = $4 WHERE id = $1`,
          [id, p.password_hash, v, at],
        );
        break;
      case PlatformEventType.UserDeactivated:
        await tx.query(`UPDATE ${users} SET status = 'deactivated', version = $2, updated_at = $3 WHERE id = $1`, [
          id,
          v,
          at,
        ]);
        await tx.query(`UPDATE ${keys} SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`, [id, at]);
        break;
      case PlatformEventType.UserReactivated:
        await tx.query(`UPDATE ${users} SET status = 'active', version = $2, updated_at = $3 WHERE id = $1`, [
          id,
          v,
          at,
        ]);
        break;
      case ApiKeyDomainEventType.Created:
        await tx.query(
          `INSERT INTO ${keys} (id, user_id, tenant_id, name, prefix, sha256, created_at)
           SELECT $1, $2, tenant_id, $3, $4, $5, $6 FROM ${users} WHERE id = $2 ON CONFLICT (id) DO NOTHING`,
          [p.key_id, id, p.name, p.prefix, p.sha256, at],
        );
        await tx.query(`UPDATE ${users} SET version = $2, updated_at = $3 WHERE id = $1`, [id, v, at]);
        break;
      case ApiKeyDomainEventType.Revoked:
        await tx.query(`UPDATE ${keys} SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, [p.key_id, at]);
        await tx.query(`UPDATE ${users} SET version = $2, updated_at = $3 WHERE id = $1`, [id, v, at]);
        break;
      default:
        return;
    }
    const [row] = await tx.query<{ tenant_id: string }>(`SELECT tenant_id FROM ${users} WHERE id = $1`, [id]);
    if (row) await bumpCacheVersion(tx, row.tenant_id);
  },
};
