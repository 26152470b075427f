import type { SqlExecutor } from '@albatross/cqrs';
import { knownRoles } from '../auth/principal.js';
import type { RealtimeDirectory } from './authorizers.js';

/**
 * The channel authorizers' view of the read model: a user with their roles,
 * active only while both they and their tenant are; a PIREP's owner.
 */
export function readModelDirectory(db: SqlExecutor): RealtimeDirectory {
  return {
    async user(id) {
      const [row] = await db.query<{
        id: string;
        tenant_id: string;
        roles: unknown;
        status: string;
        tenant_status: unknown;
      }>(
        `SELECT u.id, u.tenant_id, u.roles, u.status, t.status AS tenant_status
           FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1`,
        [id],
      );
      if (!row) return null;
      return {
        id: row.id,
        tenantId: row.tenant_id,
        roles: knownRoles(row.roles),
        active: row.status === 'active' && row.tenant_status === 'active',
      };
    },
    async pirepOwner(id) {
      const [row] = await db.query<{ tenant_id: string; pilot_id: string }>(
        'SELECT tenant_id, pilot_id FROM pireps WHERE id = $1',
        [id],
      );
      return row ? { tenantId: row.tenant_id, pilotId: row.pilot_id } : null;
    },
  };
}
