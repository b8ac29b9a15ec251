/**
 * A sketch of the hub's store abstraction (issue 16): the same SQL, written once with PostgreSQL-style `$1..$n`
 * parameters, runs on the embedded SQLite file (better-sqlite3) or on a shared PostgreSQL (pg). Async, because
 * PostgreSQL is; SQLite answers at once. Only what migrations and repositories need: exec, query, run, transaction.
 */
export type SqlDialect = 'sqlite' | 'postgres';

/** Bytes (`Uint8Array`, e.g. a Buffer) are a BLOB on SQLite and bytea on PostgreSQL; both drivers return a Buffer. */
export type SqlValue = string | number | bigint | null | Uint8Array;

export interface SqlStore {
  readonly dialect: SqlDialect;
  /** Several statements, no parameters (DDL). */
  exec(sql: string): Promise<void>;
  query<T extends Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** `fn` runs in one transaction on one connection (`tx`); a rejection rolls it back. */
  transaction<T>(fn: (tx: SqlStore) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** `$1..$n` -> SQLite positional `?`, with the parameters reordered to match (a `$n` may repeat). */
export function toSqlitePositional(sql: string, params: readonly SqlValue[]): { sql: string; params: SqlValue[] } {
  const ordered: SqlValue[] = [];
  const text = sql.replace(/\$(\d+)/g, (_m, n: string) => {
    const index = Number(n) - 1;
    if (index < 0 || index >= params.length) throw new Error(`sql: parameter $${n} has no value`);
    ordered.push(params[index] as SqlValue);
    return '?';
  });
  return { sql: text, params: ordered };
}
