import { AlbatrossError } from '@albatross/protocol';

/**
 * Keyset pagination over `(created_at, id)`: the cursor is the last row's
 * key, opaque to clients (base64url JSON). Stable under inserts, unlike offsets.
 */
export interface CursorKey {
  createdAt: string;
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.createdAt, key.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor; `INVALID_MESSAGE` when it is not one of ours. */
export function decodeCursor(cursor: string): CursorKey {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      Number.isFinite(Date.parse(value[0]))
    ) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // fall through
  }
  throw new AlbatrossError('INVALID_MESSAGE', 'invalid cursor');
}

/** ISO 8601 of a timestamp column (drivers return Date or string). */
export function iso(value: unknown): string {
  return (value instanceof Date ? value : new Date(String(value))).toISOString();
}

/** ISO 8601 or null. */
export function isoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : iso(value);
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only says
 * there is a next page.
 */
export function toPage<R extends { created_at: unknown; id: string }, T>(
  rows: readonly R[],
  limit: number,
  map: (row: R) => T,
): { items: T[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(map),
    next_cursor: more && last ? encodeCursor({ createdAt: iso(last.created_at), id: last.id }) : null,
  };
}
