/**
 * SqlStore over better-sqlite3 (the embedded default): synchronous underneath, one connection shared by every
 * caller. A transaction is open across awaits, so a statement of another async flow could land inside it (and be
 * rolled back with it): while a transaction is open, the statements and transactions of other flows wait for it to
 * end; the transaction's own flow (tracked with AsyncLocalStorage, also through nested calls) runs at once.
 * Code that uses the better-sqlite3 handle directly (`ctx.db`) is not covered: keep its writes synchronous.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import { type SqlStore, type SqlValue, toSqlitePositional } from './sql-store.ts';

interface OpenTransaction {
  readonly owner: object;
  readonly ended: Promise<void>;
}

export class SqliteStore implements SqlStore {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly flow = new AsyncLocalStorage<object>();
  private open: OpenTransaction | undefined;

  constructor(db: Database.Database) {
    this.db = db;
  }

  private isOwnTransaction(): boolean {
    return this.open !== undefined && this.flow.getStore() === this.open.owner;
  }

  /** Another flow's transaction is open: wait for `ended`, then look again (the check and the statement after it must
   * run in the same tick, so every caller loops inline: `while (this.mustWait()) await this.open?.ended;`). */
  private mustWait(): boolean {
    return this.open !== undefined && !this.isOwnTransaction();
  }

  // async: an SQLite error is a rejected promise, as on PostgreSQL, never a synchronous throw
  async exec(sql: string): Promise<void> {
    while (this.mustWait()) await this.open?.ended;
    this.db.exec(sql);
  }

  async query<T extends Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    while (this.mustWait()) await this.open?.ended;
    const p = toSqlitePositional(sql, params);
    return this.db.prepare(p.sql).all(...p.params) as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    while (this.mustWait()) await this.open?.ended;
    const p = toSqlitePositional(sql, params);
    return this.db.prepare(p.sql).run(...p.params).changes;
  }

  /**
   * BEGIN IMMEDIATE takes the write lock at once (another process on the same file waits, busy_timeout). A
   * transaction started inside `fn` joins this one; other flows wait until it commits or rolls back.
   */
  async transaction<T>(fn: (tx: SqlStore) => Promise<T>): Promise<T> {
    if (this.isOwnTransaction()) return fn(this);
    while (this.mustWait()) await this.open?.ended;
    const owner = {};
    let end!: () => void;
    this.open = { owner, ended: new Promise<void>((resolve) => (end = resolve)) };
    try {
      this.db.exec('BEGIN IMMEDIATE');
      const result = await this.flow.run(owner, () => fn(this));
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.open = undefined;
      end();
    }
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
