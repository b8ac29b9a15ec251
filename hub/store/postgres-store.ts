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

  constructor(connectionString: string, options: { max?: number } = {}) {
    const pool = new pg.Pool({ connectionString, max: options.max ?? 5 });
    super(pool);
    this.pool = pool;
    // an idle client losing its server must not crash the hub; the next query fails and says so
    pool.on('error', () => {});
  }

  async transaction<T>(fn: (tx: SqlStore) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(new PgTransaction(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
