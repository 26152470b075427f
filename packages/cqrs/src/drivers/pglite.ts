import { PGlite } from '@electric-sql/pglite';
import type { Row, SqlDriver, SqlExecutor, SqlSession } from '../driver.js';

/** Options of {@link createPgliteDriver}. */
export interface PgliteDriverOptions {
  /** Data directory; omitted or `'memory://'` keeps everything in memory (tests). */
  dataDir?: string;
}

interface PgliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
}

function executor(db: PgliteLike): SqlExecutor {
  return {
    async query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
      const result = await db.query<T>(sql, params === undefined ? undefined : [...params]);
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await db.exec(sql);
    },
  };
}

/**
 * A driver over PGlite, embedded PostgreSQL (the default when no
 * `DATABASE_URL` is set). PGlite is one connection in this process: its
 * queries and transactions run one at a time, and a "session" is that same
 * connection, so advisory locks only exclude other processes' stores, not
 * callers in this one (the projection runner keeps its own in-process
 * ownership for that reason).
 */
export async function createPgliteDriver(options: PgliteDriverOptions = {}): Promise<SqlDriver> {
  const dataDir = options.dataDir === undefined || options.dataDir === 'memory://' ? undefined : options.dataDir;
  const db = await PGlite.create(dataDir === undefined ? {} : { dataDir });
  let closed = false;
  return {
    kind: 'pglite',
    ...executor(db),
    transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      return db.transaction((tx) => fn(executor(tx)));
    },
    async listen(channel, onNotify) {
      // PGlite quotes the channel itself.
      const unlisten = await db.listen(channel, onNotify);
      return async () => {
        if (!closed) await unlisten();
      };
    },
    async session(): Promise<SqlSession> {
      return {
        ...executor(db),
        lost: new Promise<Error | undefined>(() => undefined),
        async release() {
          // Session locks are released by the caller; the connection is shared.
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
