/**
 * The tiny driver interface the SQL event store runs on. One SQL dialect
 * (PostgreSQL) is spoken through it by two drivers: `pg` (a connection pool
 * to a PostgreSQL server) and PGlite (embedded PostgreSQL in WASM). Nothing
 * above this file knows which one it talks to.
 */

/** A row as the driver returns it (column name → value). */
export type Row = Record<string, unknown>;

/** Runs statements on one connection or transaction. */
export interface SqlExecutor {
  /** One statement with `$1…` parameters; returns its rows. */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Several statements without parameters (migrations, DDL). */
  exec(sql: string): Promise<void>;
}

/**
 * A connection held for as long as its owner wants it: session-level
 * advisory locks (projection ownership) live and die with it.
 */
export interface SqlSession extends SqlExecutor {
  /** Resolves when the connection is lost (the server went away, or it was released). */
  readonly lost: Promise<Error | undefined>;
  /** Gives the connection back; session locks held on it are released. */
  release(): Promise<void>;
}

/** What a driver offers the store. */
export interface SqlDriver extends SqlExecutor {
  /** `'pg'` or `'pglite'`: for logs and status, never for branching SQL. */
  readonly kind: 'pg' | 'pglite';
  /**
   * Runs `fn` in one transaction (`BEGIN … COMMIT`, `ROLLBACK` when it
   * throws). Notifications sent inside are delivered at commit.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Calls `onNotify` for each `NOTIFY channel` after its transaction commits; returns the unsubscribe. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** A dedicated connection (see {@link SqlSession}). */
  session(): Promise<SqlSession>;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** PostgreSQL's SQLSTATE of a failed statement, if the error carries one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Quotes an SQL identifier (table or column name). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
