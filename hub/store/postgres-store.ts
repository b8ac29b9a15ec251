/** SqlStore over a PostgreSQL pool (`database.url` / HEZO_DATABASE_URL in the full design). */
import pg from 'pg';
import type { SqlStore, SqlValue } from './sql-store.ts';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

class PgQueries {
  readonly dialect = 'postgres' as const;
  protected readonly target: Queryable;

  constructor(target: Queryable) {
    this.target = target;
  }

  async exec(sql: string): Promise<void> {
    await this.target.query(sql);
  }

  async query<T extends Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const result = await this.target.query(sql, params as SqlValue[]);
    return result.rows as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const result = await this.target.query(sql, params as SqlValue[]);
    return result.rowCount ?? 0;
  }
}

/** One transaction's connection: nested transactions join it. */
class PgTransaction extends PgQueries implements SqlStore {
  transaction<T>(fn: (tx: SqlStore) => Promise<T>): Promise<T> {
    return fn(this);
  }

  close(): Promise<void> {
    return Promise.reject(new Error('close the store, not a transaction'));
  }
}

export class PostgresStore extends PgQueries implements SqlStore {
  private readonly pool: pg.Pool;

  /**
   * `queryTimeoutMs` / `connectTimeoutMs`: give up on a query or a connection attempt after this long (client side:
   * a network cut otherwise leaves a query waiting for ever); the connection is then discarded.
   * `idleInTransactionTimeoutMs`: the SERVER ends a session that sits inside a transaction this long (a client cut
   * off mid-transaction otherwise keeps its row locks, e.g. a fenced write blocking a lease takeover, until TCP
   * gives up, which can take hours).
   */
  constructor(
    connectionString: string,
    options: {
      max?: number;
      queryTimeoutMs?: number;
      connectTimeoutMs?: number;
      idleInTransactionTimeoutMs?: number;
    } = {},
  ) {
    const pool = new pg.Pool({
      connectionString,
      max: options.max ?? 5,
      ...(options.queryTimeoutMs !== undefined ? { query_timeout: options.queryTimeoutMs } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
      ...(options.idleInTransactionTimeoutMs !== undefined
        ? { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs }
        : {}),
    });
    super(pool);
    this.pool = pool;
    // an idle client losing its server must not crash the hub; the next query fails and says so
    pool.on('error', () => {});
  }

  async transaction<T>(fn: (tx: SqlStore) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let isBroken = false;
    // a checked-out client whose server ends the session (idle-in-transaction timeout, restart) emits 'error':
    // without a listener that would crash the process; the running query rejects anyway
    const onError = (): void => {
      isBroken = true;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(new PgTransaction(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // a connection that cannot even roll back (timed out, cut) is discarded, not given to the next caller
      const isRolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      isBroken ||= !isRolledBack;
      throw err;
    } finally {
      client.off('error', onError);
      client.release(isBroken);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
