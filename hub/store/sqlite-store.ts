/** SqlStore over better-sqlite3 (the embedded default): synchronous underneath, one connection. */
import type Database from 'better-sqlite3';
import { type SqlStore, type SqlValue, toSqlitePositional } from './sql-store.ts';

export class SqliteStore implements SqlStore {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private depth = 0;

  constructor(db: Database.Database) {
    this.db = db;
  }

  // async: an SQLite error is a rejected promise, as on PostgreSQL, never a synchronous throw
  async exec(sql: string): Promise<void> {
    this.db.exec(sql);
  }

  async query<T extends Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const p = toSqlitePositional(sql, params);
    return this.db.prepare(p.sql).all(...p.params) as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const p = toSqlitePositional(sql, params);
    return this.db.prepare(p.sql).run(...p.params).changes;
  }

  /**
   * BEGIN IMMEDIATE takes the write lock at once (another process on the same file waits, busy_timeout). Nested
   * calls join the outer transaction. Keep `fn` free of other I/O: nothing else may use the connection meanwhile.
   */
  async transaction<T>(fn: (tx: SqlStore) => Promise<T>): Promise<T> {
    if (this.depth > 0) return fn(this);
    this.db.exec('BEGIN IMMEDIATE');
    this.depth++;
    try {
      const result = await fn(this);
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.depth--;
    }
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
