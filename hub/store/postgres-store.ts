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
   */
  constructor(
    connectionString: string,
    options: { max?: number; queryTimeoutMs?: number; connectTimeoutMs?: number } = {},
  ) {
    const pool = new pg.Pool({
      connectionString,
      max: options.max ?? 5,
      ...(options.queryTimeoutMs !== undefined ? { query_timeout: options.queryTimeoutMs } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
    });
    super(pool);
    this.pool = pool;
    // an idle client losing its server must not crash the hub; the next query fails and says so
    pool.on('error', () => {});
  }

  async transaction<T>(fn: (tx: SqlStore) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let isBroken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(new PgTransaction(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // a connection that cannot even roll back (timed out, cut) is discarded, not given to the next caller
      isBroken = await client.query('ROLLBACK').then(
        () => false,
        () => true,
      );
      throw err;
    } finally {
      client.release(isBroken);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
