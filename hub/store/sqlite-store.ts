/**
 * SqlStore over better-sqlite3 (the embedded default): synchronous underneath, one connection shared by every
 * caller. A transaction is open across awaits, so a statement of another async flow could land inside it (and be
 * rolled back with it): while a transaction is open, the statements and transactions of other flows wait for it to
 * end; the transaction's own flow (tracked with AsyncLocalStorage, also through nested calls) runs at once.
 * Code that uses the better-sqlite3 handle directly (`ctx.db`) is not covered: keep its writes synchronous.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { SqlStore, SqlValue } from './sql-store.ts';

/** A statement prepared once per SQL text, with where each positional `?` takes its `$n` parameter from. */
interface Prepared {
  statement: Database.Statement;
  order: number[];
}

/** Prepared statements kept per store (the hub's SQL texts are a bounded set; a full cache starts over). */
const MAX_PREPARED = 1000;

interface OpenTransaction {
  readonly owner: object;
  readonly ended: Promise<void>;
}

export class SqliteStore implements SqlStore {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly flow = new AsyncLocalStorage<object>();
  private open: OpenTransaction | undefined;
  /** `prepare` per call was a quarter of the hub's CPU with every store on this class (issue 17's B2 profile). */
  private readonly prepared = new Map<string, Prepared>();
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;

  constructor(db: Database.Database) {
    this.db = db;
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  /** The statement for `sql` (`$1..$n`) and its parameters in positional order. */
  private bind(sql: string, params: readonly SqlValue[]): { statement: Database.Statement; values: SqlValue[] } {
    let p = this.prepared.get(sql);
    if (p === undefined) {
      const order: number[] = [];
      const text = sql.replace(/\$(\d+)/g, (_m, n: string) => {
        order.push(Number(n) - 1);
        return '?';
      });
      if (this.prepared.size >= MAX_PREPARED) this.prepared.clear();
      p = { statement: this.db.prepare(text), order };
      this.prepared.set(sql, p);
    }
    const values = p.order.map((index) => {
      if (index < 0 || index >= params.length) throw new Error(`sql: parameter $${index + 1} has no value`);
      return params[index] as SqlValue;
    });
    return { statement: p.statement, values };
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
    const { statement, values } = this.bind(sql, params);
    return statement.all(...values) as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    while (this.mustWait()) await this.open?.ended;
    const { statement, values } = this.bind(sql, params);
    return statement.run(...values).changes;
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
      this.begin.run();
      const result = await this.flow.run(owner, () => fn(this));
      this.commit.run();
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
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
