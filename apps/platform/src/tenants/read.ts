import type { SqlExecutor } from '@albatross/cqrs';
import type { Tenant, TenantListQuery } from '@albatross/platform-api';
import { decodeCursor, iso, toPage } from '../readmodel/pagination.js';

interface TenantRow extends Record<string, unknown> {
  id: string;
  name: string;
  status: string;
  version: number;
  created_at: unknown;
  updated_at: unknown;
}

function view(row: TenantRow): Tenant {
  return {
    id: row.id,
    name: row.name,
    status: row.status === 'suspended' ? 'suspended' : 'active',
    version: Number(row.version),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** One tenant of the read model, or null. */
export async function readTenant(db: SqlExecutor, id: string): Promise<Tenant | null> {
  const [row] = await db.query<TenantRow>('SELECT * FROM tenants WHERE id = $1', [id]);
  return row ? view(row) : null;
}

/** A page of tenants; `onlyId` restricts the list to one tenant (callers who see only their own). */
export async function listTenants(
  db: SqlExecutor,
  query: TenantListQuery,
  onlyId: string | null,
): Promise<{ items: Tenant[]; next_cursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (onlyId !== null) {
    params.push(onlyId);
    where.push(`id = $${params.length}`);
  }
  if (query.status !== undefined) {
    params.push(query.status);
    where.push(`status = $${params.length}`);
  }
  if (query.q !== undefined) {
    params.push(`%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`name ILIKE $${params.length}`);
  }
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor);
    params.push(cursor.createdAt, cursor.id);
    where.push(`(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(query.limit + 1);
  const rows = await db.query<TenantRow>(
    `SELECT * FROM tenants ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at, id LIMIT $${params.length}`,
    params,
  );
  return toPage(rows, query.limit, view);
}
