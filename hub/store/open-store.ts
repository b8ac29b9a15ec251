/**
 * The hub's SqlStore: PostgreSQL when `database.url` (HEZO_DATABASE_URL) is set, else the embedded SQLite file
 * behind the same interface. Issue 16 moves the stores onto it one by one: those listed in STORES_ON_SQL live in
 * PostgreSQL with `database.url`; the others still use the local SQLite file (`ctx.db`) and say so at start.
 */
import type Database from 'better-sqlite3';
import type { HubConfig } from '../config.ts';
import { PostgresStore } from './postgres-store.ts';
import type { SqlStore } from './sql-store.ts';
import { SqliteStore } from './sqlite-store.ts';

/** Stores whose tables live in `ctx.sql` (PostgreSQL with `database.url`). */
export const STORES_ON_SQL = [
  'people',
  'audit',
  'evidence',
  'incidents',
  'watches',
  'reboots',
  'identity',
  'peripherals',
  'adoption',
  'agents',
  'registry',
  'customers',
  'outage',
  'tickets',
  'reports',
] as const;
/** Stores still in the local SQLite file whatever `database.url` says: none since issue 16 moved the last ones. */
export const STORES_ON_LOCAL_SQLITE: readonly string[] = [];

export function openSqlStore(config: Pick<HubConfig, 'database'>, db: Database.Database): SqlStore {
  const database = config.database;
  if (database === undefined) return new SqliteStore(db);
  return new PostgresStore(database.url, {
    max: 8,
    queryTimeoutMs: database.queryTimeoutMs,
    connectTimeoutMs: database.connectTimeoutMs,
    idleInTransactionTimeoutMs: database.idleInTransactionTimeoutMs,
  });
}
