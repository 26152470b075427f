import type { SqlExecutor } from '@albatross/cqrs';
import type { ApiKey, User, UserListQuery } from '@albatross/platform-api';
import { knownRoles } from '../auth/principal.js';
import { decodeCursor, iso, isoOrNull, toPage } from '../readmodel/pagination.js';

/** A row of the `users` read model. */
export interface UserRow extends Record<string, unknown> {
  id: string;
  tenant_id: string;
  email: string;
  display_name: string;
  roles: unknown;
  status: string;
  must_change_password: boolean;
  password_hash: string;
  version: number;
  created_at: unknown;
  updated_at: unknown;
}

/** The API view of a user (never the password hash). */
export function userView(row: UserRow): User {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    email: row.email,
    display_name: row.display_name,
    roles: knownRoles(row.roles),
    status: row.status === 'deactivated' ? 'deactivated' : 'active',
    must_change_password: row.must_change_password === true,
    version: Number(row.version),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export async function readUserRow(db: SqlExecutor, id: string): Promise<UserRow | null> {
  const [row] = await db.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
  return row ?? null;
}

export async function readUserByEmail(db: SqlExecutor, email: string): Promise<UserRow | null> {
  const [row] = await db.query<UserRow>('SELECT * FROM users WHERE email = $1', [email]);
  return row ?? null;
}

/** A page of users; `scope` restricts it to one tenant, or to one user (a Pilot sees only themself). */
export async function listUsers(
  db: SqlExecutor,
  query: UserListQuery,
  scope: { tenantId?: string; userId?: string },
): Promise<{ items: User[]; next_cursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, ...values: unknown[]) => {
    for (const v of values) params.push(v);
    where.push(sql(`$${params.length}`));
  };
  if (scope.tenantId !== undefined) add((n) => `tenant_id = ${n}`, scope.tenantId);
  if (scope.userId !== undefined) add((n) => `id = ${n}`, scope.userId);
  if (query.tenant_id !== undefined) add((n) => `tenant_id = ${n}`, query.tenant_id);
  if (query.role !== undefined) add((n) => `roles @> ${n}::jsonb`, JSON.stringify([query.role]));
  if (query.status !== undefined) add((n) => `status = ${n}`, query.status);
  if (query.q !== undefined) {
    const like = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    add((n) => `(lower(email) LIKE ${n} OR lower(display_name) LIKE ${n})`, like);
  }
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor);
    params.push(cursor.createdAt, cursor.id);
    where.push(`(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(query.limit + 1);
  const rows = await db.query<UserRow>(
    `SELECT * FROM users ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at, id LIMIT $${params.length}`,
    params,
  );
  return toPage(rows, query.limit, userView);
}

interface ApiKeyRow extends Record<string, unknown> {
  id: string;
  user_id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  created_at: unknown;
  revoked_at: unknown;
  last_used_at: unknown;
}

function apiKeyView(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    user_id: row.user_id,
    tenant_id: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    created_at: iso(row.created_at),
    last_used_at: isoOrNull(row.last_used_at),
    revoked_at: isoOrNull(row.revoked_at),
  };
}

/** A page of a user's API keys (revoked ones included), oldest first. */
export async function listApiKeys(
  db: SqlExecutor,
  userId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: ApiKey[]; next_cursor: string | null }> {
  const params: unknown[] = [userId];
  let after = '';
  if (page.cursor !== undefined) {
    const cursor = decodeCursor(page.cursor);
    params.push(cursor.createdAt, cursor.id);
    after = 'AND (k.created_at, k.id) > ($2::timestamptz, $3)';
  }
  params.push(page.limit + 1);
  const rows = await db.query<ApiKeyRow>(
    `SELECT k.*, u.last_used_at FROM api_keys k LEFT JOIN platform_apikey_usage u ON u.key_id = k.id
     WHERE k.user_id = $1 ${after} ORDER BY k.created_at, k.id LIMIT $${params.length}`,
    params,
  );
  return toPage(rows, page.limit, apiKeyView);
}

/** The live key with this SHA-256, with its user and tenant state. */
export async function findApiKeyBySha256(
  db: SqlExecutor,
  sha256: string,
): Promise<{ keyId: string; user: UserRow; tenantStatus: string | null } | null> {
  const [row] = await db.query<UserRow & { key_id: string; tenant_status: string | null }>(
    `SELECT u.*, k.id AS key_id, t.status AS tenant_status FROM api_keys k
     JOIN users u ON u.id = k.user_id LEFT JOIN tenants t ON t.id = u.tenant_id
     WHERE k.sha256 = $1 AND k.revoked_at IS NULL`,
    [sha256],
  );
  return row ? { keyId: row.key_id, user: row, tenantStatus: row.tenant_status } : null;
}
