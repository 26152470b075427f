import type { Projection, SqlExecutor } from '@albatross/cqrs';
import { type Pirep, type PirepListQuery, PlatformEventType } from '@albatross/platform-api';
import { decodeCursor, iso, isoOrNull, toPage } from '../readmodel/pagination.js';
import { bumpCacheVersion } from '../readmodel/tables.js';
import { entityIdOf } from '../tenants/projection.js';
import {
  PIREP_EVENT_TYPES,
  type PirepAmendedPayload,
  type PirepReviewedPayload,
  type PirepSubmittedPayload,
} from './aggregate.js';

/** Name of the PIREP read-model projection (its checkpoint; commands wait for it). */
export const PIREPS_PROJECTION = 'platform_pireps';

/** A row of the `pireps` read model. */
export interface PirepRow extends Record<string, unknown> {
  id: string;
  tenant_id: string;
  pilot_id: string;
  flight_number: string;
  aircraft: string;
  departure: string;
  arrival: string;
  block_off: unknown;
  block_on: unknown;
  remarks: string | null;
  status: string;
  review_comment: string | null;
  reviewed_by: string | null;
  reviewed_at: unknown;
  version: number;
  created_at: unknown;
  updated_at: unknown;
}

/** Fields a pilot may amend, as columns: a fixed list, never the payload's keys. */
const AMENDABLE = [
  'flight_number',
  'aircraft',
  'departure',
  'arrival',
  'block_off',
  'block_on',
  'remarks',
] as const satisfies readonly (keyof PirepSubmittedPayload)[];

/** Projects PIREP events into the `pireps` read-model table and bumps the tenant's cache version. */
export const pirepsProjection: Projection = {
  name: PIREPS_PROJECTION,
  handles: PIREP_EVENT_TYPES,
  tables: {
    pireps: (table, name) => `
      CREATE TABLE ${table} (
        id text PRIMARY KEY,
        tenant_id text NOT NULL,
        pilot_id text NOT NULL,
        flight_number text NOT NULL,
        aircraft text NOT NULL,
        departure text NOT NULL,
        arrival text NOT NULL,
        block_off timestamptz NOT NULL,
        block_on timestamptz NOT NULL,
        remarks text,
        status text NOT NULL,
        review_comment text,
        reviewed_by text,
        reviewed_at timestamptz,
        version integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX ${name('tenant')} ON ${table} (tenant_id, created_at, id);
      CREATE INDEX ${name('pilot')} ON ${table} (pilot_id, created_at, id);
      CREATE INDEX ${name('created')} ON ${table} (created_at, id);`,
  },
  async apply(event, { tx, table }) {
    const pireps = table('pireps');
    const id = entityIdOf(event.streamId);
    const at = event.recordedAt;
    const v = event.streamVersion;
    let tenantId: string;
    switch (event.type) {
      case PlatformEventType.PirepSubmitted: {
        const p = event.payload as unknown as PirepSubmittedPayload;
        tenantId = p.tenant_id;
        await tx.query(
          `INSERT INTO ${pireps} (id, tenant_id, pilot_id, flight_number, aircraft, departure, arrival,
             block_off, block_on, remarks, status, version, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'submitted', $11, $12, $12)
           ON CONFLICT (id) DO NOTHING`,
          [
            id,
            p.tenant_id,
            p.pilot_id,
            p.flight_number,
            p.aircraft,
            p.departure,
            p.arrival,
            p.block_off,
            p.block_on,
            p.remarks,
            v,
            at,
          ],
        );
        break;
      }
      case PlatformEventType.PirepAmended: {
        const p = event.payload as unknown as PirepAmendedPayload;
        tenantId = p.tenant_id;
        const sets = ['version = $2', 'updated_at = $3'];
        const values: unknown[] = [id, v, at];
        for (const field of AMENDABLE) {
          if (!Object.hasOwn(p.changes, field)) continue;
          values.push(p.changes[field] ?? null);
          sets.push(`${field} = $${values.length}`);
        }
        await tx.query(`UPDATE ${pireps} SET ${sets.join(', ')} WHERE id = $1`, values);
        break;
      }
      case PlatformEventType.PirepApproved:
      case PlatformEventType.PirepRejected: {
        const p = event.payload as unknown as PirepReviewedPayload;
        tenantId = p.tenant_id;
        await tx.query(
          `UPDATE ${pireps} SET status = $2, review_comment = $3, reviewed_by = $4, reviewed_at = $5,
             version = $6, updated_at = $5 WHERE id = $1`,
          [id, p.status, p.comment, p.reviewer_id, at, v],
        );
        break;
      }
      default:
        return;
    }
    await bumpCacheVersion(tx, tenantId);
  },
};

/** The API view of a row. */
export function pirepView(row: PirepRow): Pirep {
  return {
    id: row.id,
    version: Number(row.version),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    tenant_id: row.tenant_id,
    pilot_id: row.pilot_id,
    flight_number: row.flight_number,
    aircraft: row.aircraft,
    departure: row.departure,
    arrival: row.arrival,
    block_off: iso(row.block_off),
    block_on: iso(row.block_on),
    remarks: row.remarks,
    status: row.status === 'approved' ? 'approved' : row.status === 'rejected' ? 'rejected' : 'submitted',
    review_comment: row.review_comment,
    reviewed_by: row.reviewed_by,
    reviewed_at: isoOrNull(row.reviewed_at),
  };
}

/** One PIREP of the read model, or null. */
export async function readPirep(db: SqlExecutor, id: string): Promise<Pirep | null> {
  const [row] = await db.query<PirepRow>('SELECT * FROM pireps WHERE id = $1', [id]);
  return row ? pirepView(row) : null;
}

/**
 * A page of PIREPs, oldest first; `scope` is what RBAC lets the caller see
 * (a tenant, or one pilot's), the query's filters narrow it further.
 */
export async function listPireps(
  db: SqlExecutor,
  query: PirepListQuery,
  scope: { tenantId?: string; pilotId?: string },
): Promise<{ items: Pirep[]; next_cursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (column: string, value: unknown) => {
    params.push(value);
    where.push(`${column} = $${params.length}`);
  };
  if (scope.tenantId !== undefined) add('tenant_id', scope.tenantId);
  if (scope.pilotId !== undefined) add('pilot_id', scope.pilotId);
  if (query.tenant_id !== undefined) add('tenant_id', query.tenant_id);
  if (query.pilot_id !== undefined) add('pilot_id', query.pilot_id);
  if (query.status !== undefined) add('status', query.status);
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor);
    params.push(cursor.createdAt, cursor.id);
    where.push(`(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(query.limit + 1);
  const rows = await db.query<PirepRow>(
    `SELECT * FROM pireps ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at, id LIMIT $${params.length}`,
    params,
  );
  return toPage(rows, query.limit, pirepView);
}
