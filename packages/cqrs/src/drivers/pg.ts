import pg from 'pg';
import type { Row, SqlDriver, SqlExecutor, SqlSession } from '../driver.js';

// int8 (positions) arrive as strings from `pg`; the store converts them with
// Number() itself, so no global type parser is installed here (it would
// change every other pg user in the process).

/** Options of {@link createPgDriver}. */
export interface PgDriverOptions {
  /** `postgres://…` connection string. */
  url: string;
  /** Pool size (default 10). */
  maxConnections?: number;
  /** Called with pool errors of idle connections (they are replaced). */
  onError?: (error: Error) => void;
}

function executor(client: pg.Pool | pg.PoolClient | pg.Client): SqlExecutor {
  return {
    async query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
      const result = await client.query<T>(sql, params === undefined ? undefined : [...params]);
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  };
}

/** A driver over a `pg` connection pool (PostgreSQL server; production). */
export function createPgDriver(options: PgDriverOptions): SqlDriver {
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
  pool.on('error', (error) => options.onError?.(error));
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let listenClient: Promise<pg.Client> | undefined;

  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;

  // One dedicated connection carries every LISTEN of this driver. When it is
  // lost it is reopened (every second until it works) and re-listens to every
  // channel; notifications sent meanwhile are lost, which the runner's
  // polling covers.
  function scheduleReconnect(): void {
    if (closed || reconnectTimer !== undefined || listeners.size === 0) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      listenConnection().catch(() => scheduleReconnect());
    }, 1000);
    reconnectTimer.unref();
  }

  async function listenConnection(): Promise<pg.Client> {
    if (listenClient) return listenClient;
    const opening = (async () => {
      const client = new pg.Client({ connectionString: options.url });
      const lost = (error?: Error) => {
        if (error) options.onError?.(error);
        if (listenClient === opening) {
          listenClient = undefined;
          scheduleReconnect();
        }
      };
      client.on('error', lost);
      client.on('end', () => lost());
      client.on('notification', (message) => {
        for (const fn of listeners.get(message.channel) ?? []) fn(message.payload ?? '');
      });
      await client.connect();
      for (const channel of listeners.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      return client;
    })();
    listenClient = opening;
    opening.catch(() => {
      if (listenClient === opening) listenClient = undefined;
    });
    return opening;
  }

  return {
    kind: 'pg',
    ...executor(pool),
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
          client.release();
        } catch (rollbackError) {
          // A connection that cannot roll back is broken: destroy it.
          client.release(rollbackError as Error);
        }
        throw error;
      }
    },
    async listen(channel, onNotify) {
      let set = listeners.get(channel);
      const first = set === undefined;
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
      }
      set.add(onNotify);
      if (first) {
        const pending = listenClient;
        const client = await listenConnection();
        // A connection opened just now listened to every channel already.
        if (pending !== undefined) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      }
      return async () => {
        set.delete(onNotify);
        if (set.size === 0) {
          listeners.delete(channel);
          const client = await listenClient?.catch(() => undefined);
          await client?.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => undefined);
        }
      };
    },
    async session(): Promise<SqlSession> {
      const client = new pg.Client({ connectionString: options.url });
      let markLost: (error: Error | undefined) => void = () => undefined;
      const lost = new Promise<Error | undefined>((resolve) => {
        markLost = resolve;
      });
      client.on('error', (error) => markLost(error));
      client.on('end', () => markLost(undefined));
      await client.connect();
      return {
        ...executor(client),
        lost,
        async release() {
          await client.end().catch(() => undefined);
        },
      };
    },
    async close() {
      closed = true;
      clearTimeout(reconnectTimer);
      const client = await listenClient?.catch(() => undefined);
      listenClient = undefined;
      await client?.end().catch(() => undefined);
      await pool.end();
    },
  };
}
