import type { Projection } from '@albatross/cqrs';
import { PlatformEventType } from '@albatross/platform-api';
import { bumpCacheVersion } from '../readmodel/tables.js';

/** Name of the tenants read model's projection. */
export const TENANTS_PROJECTION = 'platform_tenants';

/** Entity id of a `tenant-{id}` stream. */
export function entityIdOf(streamId: string): string {
  return streamId.slice(streamId.indexOf('-') + 1);
}

/** Projects tenant events into the `tenants` read-model table. */
export const tenantsProjection: Projection = {
  name: TENANTS_PROJECTION,
  handles: [
    PlatformEventType.TenantCreated,
    PlatformEventType.TenantRenamed,
    PlatformEventType.TenantSuspended,
    PlatformEventType.TenantReactivated,
  ],
  tables: {
    tenants: (table, name) => `
      CREATE TABLE ${table} (
        id text PRIMARY KEY,
        name text NOT NULL,
        status text NOT NULL,
        version integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX ${name('created')} ON ${table} (created_at, id);`,
  },
  async apply(event, { tx, table }) {
    const id = entityIdOf(event.streamId);
    const payload = event.payload as Record<string, unknown>;
    const t = table('tenants');
    switch (event.type) {
      case PlatformEventType.TenantCreated:
        await tx.query(
          `INSERT INTO ${t} (id, name, status, version, created_at, updated_at) VALUES ($1, $2, 'active', $3, $4, $4)
           ON CONFLICT (id) DO NOTHING`,
          [id, payload.name, event.streamVersion, event.recordedAt],
        );
        break;
      case PlatformEventType.TenantRenamed:
        await tx.query(`UPDATE ${t} SET name = $2, version = $3, updated_at = $4 WHERE id = $1`, [
          id,
          payload.name,
          event.streamVersion,
          event.recordedAt,
        ]);
        break;
      case PlatformEventType.TenantSuspended:
      case PlatformEventType.TenantReactivated:
        await tx.query(`UPDATE ${t} SET status = $2, version = $3, updated_at = $4 WHERE id = $1`, [
          id,
          event.type === PlatformEventType.TenantSuspended ? 'suspended' : 'active',
          event.streamVersion,
          event.recordedAt,
        ]);
        break;
      default:
        return;
    }
    await bumpCacheVersion(tx, id);
  },
};
