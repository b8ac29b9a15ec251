/**
 * Fresh, empty SqlStores of each dialect for tests that run the same queries on both (issue 16): SQLite files in a
 * temp dir, and a schema of its own per store on one real PostgreSQL 15 (test/helpers/postgres.ts). Call
 * `startSqlStores()` in beforeAll and `close()` in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import type { SqlDialect, SqlStore } from '../../hub/store/sql-store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { type Postgres, startPostgres } from './postgres.ts';

export interface SqlStores {
  postgres: Postgres;
  sqliteDir: string;
  /** A fresh empty store (SQLite: also its better-sqlite3 handle, for tests that prepare an old file). */
  make(dialect: SqlDialect): Promise<SqlStore>;
  sqliteFile(): string;
  /** A new empty schema on the PostgreSQL; the URL that opens it (for several stores on one database). */
  postgresUrl(): Promise<string>;
  close(): Promise<void>;
}

export async function startSqlStores(): Promise<SqlStores> {
  const postgres = await startPostgres();
  const sqliteDir = mkdtempSync(join(tmpdir(), 'hezo-sql-stores-'));
  let counter = 0;
  const opened: SqlStore[] = [];
  const stores: SqlStores = {
    postgres,
    sqliteDir,
    sqliteFile: () => join(sqliteDir, `s${++counter}.sqlite`),
    async make(dialect) {
      if (dialect === 'sqlite') {
        const db = new Database(stores.sqliteFile());
        db.pragma('foreign_keys = ON');
        const store = new SqliteStore(db);
        opened.push(store);
        return store;
      }
      const store = new PostgresStore(await stores.postgresUrl());
      opened.push(store);
      return store;
    },
    async postgresUrl() {
      const schema = `t${++counter}`;
      const setup = new PostgresStore(postgres.url, { max: 1 });
      await setup.exec(`CREATE SCHEMA ${schema}`);
      await setup.close();
      return `${postgres.url}?options=-c%20search_path%3D${schema}`;
    },
    async close() {
      await Promise.allSettled(opened.map((s) => s.close()));
      await postgres.close();
      rmSync(sqliteDir, { recursive: true, force: true });
    },
  };
  return stores;
}
