import type { Projection, SqlExecutor } from '@albatross/cqrs';
import { type Pirep, PlatformEventType } from '@albatross/platform-api';
import {
  PIREP_EVENT_TYPES,
  type PirepAmendedPayload,
  type PirepReviewedPayload,
  type PirepSubmittedPayload,
} from './aggregate.js';

/** Name of the PIREP read-model projection (its checkpoint and what commands wait for). */
export const PIREP_PROJECTION = 'pirep_read';

/** A row of the `pireps` read-model table. */
type PirepRow = {
  id: string;
  tenant_id: string;
  pilot_id: string;
  flight_number: string;
  aircraft: string;
  departure: string;
  arrival: string;
  block_off: string;
  block_on: string;
  remarks: string | null;
  status: Pirep['status'];
  review_comment: string | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
  version: number;
  created_at: string;
  updated_at: string;
};

/** The entity id of a `pirep-{id}` stream. */
export function pirepIdOf(streamId: string): string {
  return streamId.slice('pirep-'.length);
}

/**
 * The `pireps` read model: one row per PIREP, updated in the projection's
 * transaction. Timestamps are ISO 8601 text (UTC, `Z`), so they sort as
 * they read and come back exactly as the API shows them.
 */
export const pirepProjection: Projection = {
  name: PIREP_PROJECTION,
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
        block_off text NOT NULL,
        block_on text NOT NULL,
        remarks text,
        status text NOT NULL,
        review_comment text,
        reviewed_by text,
        reviewed_at text,
        version integer NOT NULL,
        created_at text NOT NULL,
        updated_at text NOT NULL
      );
      CREATE INDEX ${name('tenant')} ON ${table} (tenant_id, created_at, id);
      CREATE INDEX ${name('pilot')} ON ${table} (pilot_id, created_at, id);`,
  },
  async apply(event, { tx, table }) {
    const pireps = table('pireps');
    const id = pirepIdOf(event.streamId);
    switch (event.type) {
      case PlatformEventType.PirepSubmitted: {
        const p = event.payload as unknown as PirepSubmittedPayload;
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
            event.streamVersion,
            event.recordedAt,
          ],
        );
        return;
      }
      case PlatformEventType.PirepAmended: {
        const p = event.payload as unknown as PirepAmendedPayload;
        // Column names come from a fixed list, never from the payload's keys.
        const sets: string[] = [];
        const values: unknown[] = [id, event.streamVersion, event.recordedAt];
        for (const field of AMENDABLE) {
          if (!Object.hasOwn(p.changes, field)) continue;
          values.push(p.changes[field] ?? null);
          sets.push(`${field} = $${values.length}`);
        }
        await tx.query(
          `UPDATE ${pireps} SET ${[...sets, 'version = $2', 'updated_at = $3'].join(', ')} WHERE id = $1`,
          values,
        );
        return;
      }
      case PlatformEventType.PirepApproved:
      case PlatformEventType.PirepRejected: {
        const p = event.payload as unknown as PirepReviewedPayload;
        await tx.query(
          `UPDATE ${pireps} SET status = $2, review_comment = $3, reviewed_by = $4, reviewed_at = $5,
             version = $6, updated_at = $5 WHERE id = $1`,
          [id, p.status, p.comment, p.reviewer_id, event.recordedAt, event.streamVersion],
        );
        return;
      }
      default:
        return;
    }
  },
};

const AMENDABLE = [
  'flight_number',
  'aircraft',
  'departure',
  'arrival',
  'block_off',
  'block_on',
  'remarks',
] as const satisfies readonly (keyof PirepSubmittedPayload)[];

/** The API's view of a row. */
export function pirepFromRow(row: PirepRow): Pirep {
  return {
    id: row.id,
    version: Number(row.version),
    created_at: row.created_at,
    updated_at: row.updated_at,
    tenant_id: row.tenant_id,
    pilot_id: row.pilot_id,
    flight_number: row.flight_number,
    aircraft: row.aircraft,
    departure: row.departure,
    arrival: row.arrival,
    block_off: row.block_off,
    block_on: row.block_on,
    remarks: row.remarks,
    status: row.status,
    review_comment: row.review_comment,
    reviewed_by: row.reviewed_by,
    reviewed_at: row.reviewed_at,
  };
}

/** Filters of a PIREP list, already narrowed by RBAC (a pilot sees only their own). */
export interface PirepFilter {
  tenantId?: string;
  pilotId?: string;
  status?: Pirep['status'];
}

/** Cursor of a PIREP list: the last row's `(created_at, id)`. */
export interface PirepCursor {
  created_at: string;
  id: string;
}

/** Reads PIREPs from the read model. */
export class PirepReadModel {
  constructor(private readonly db: SqlExecutor) {}

  async get(id: string): Promise<Pirep | null> {
    const rows = await this.db.query<PirepRow>('SELECT * FROM pireps WHERE id = $1', [id]);
    return rows[0] ? pirepFromRow(rows[0]) : null;
  }

  /**
   * One page, oldest first, keyset-paginated on `(created_at, id)`; `cursor`
   * is the opaque `next_cursor` of the previous page (already decoded).
   */
  async list(
    filter: PirepFilter,
    limit: number,
    after: PirepCursor | null,
  ): Promise<{ items: Pirep[]; last: PirepCursor | null }> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      where.push(sql.replace('?', `$${values.length}`));
    };
    if (filter.tenantId !== undefined) add('tenant_id = ?', filter.tenantId);
    if (filter.pilotId !== undefined) add('pilot_id = ?', filter.pilotId);
    if (filter.status !== undefined) add('status = ?', filter.status);
    if (after) {
      values.push(after.created_at, after.id);
      where.push(`(created_at, id) > ($${values.length - 1}, $${values.length})`);
    }
    values.push(limit + 1);
    const rows = await this.db.query<PirepRow>(
      `SELECT * FROM pireps ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at, id LIMIT $${values.length}`,
      values,
    );
    const items = rows.slice(0, limit).map(pirepFromRow);
    const lastItem = items.at(-1);
    return {
      items,
      last: rows.length > limit && lastItem ? { created_at: lastItem.created_at, id: lastItem.id } : null,
    };
  }
}
