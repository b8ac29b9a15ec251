/**
 * Peripheral links (which host device each peripheral with its own serial is plugged into). On the SqlStore
 * (issue 16): the same queries on the embedded SQLite file and on PostgreSQL, one migration list (version 1 is the
 * table earlier hubs created through hub/db.ts).
 */
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import type { SqlStore, SqlValue } from '../store/sql-store.ts';

export interface PeripheralLink {
  serial: string;
  model: string;
  hostSerial: string;
  since: string;
  lastSeen: string;
}

export const PERIPHERAL_MIGRATIONS: readonly MigrationStep[] = [
  `CREATE TABLE peripheral_links (
     serial TEXT PRIMARY KEY, model TEXT NOT NULL, host_serial TEXT NOT NULL, since TEXT NOT NULL, last_seen TEXT NOT NULL)`,
];

// quoted aliases: PostgreSQL folds unquoted names to lower case
const SELECT = `SELECT serial, model, host_serial AS "hostSerial", since, last_seen AS "lastSeen" FROM peripheral_links`;

export class PeripheralStore {
  private readonly sql: SqlStore;

  constructor(sql: SqlStore) {
    this.sql = sql;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.sql, 'peripherals', PERIPHERAL_MIGRATIONS);
  }

  async list(filter: { host?: string | undefined } = {}): Promise<PeripheralLink[]> {
    const args: SqlValue[] = [];
    const where = filter.host === undefined ? '' : 'WHERE host_serial = $1';
    if (filter.host !== undefined) args.push(filter.host);
    return this.sql.query<PeripheralLink & Record<string, unknown>>(`${SELECT} ${where} ORDER BY serial`, args);
  }

  async get(serial: string): Promise<PeripheralLink | undefined> {
    const rows = await this.sql.query<PeripheralLink & Record<string, unknown>>(`${SELECT} WHERE serial = $1`, [
      serial,
    ]);
    return rows[0];
  }

  /** Linked to `host` since `at` (a new peripheral, or one moved to another host). */
  async link(serial: string, model: string, host: string, at: string): Promise<void> {
    await this.sql.run(
      `INSERT INTO peripheral_links (serial, model, host_serial, since, last_seen) VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (serial) DO UPDATE SET model = excluded.model, host_serial = excluded.host_serial,
         since = excluded.since, last_seen = excluded.last_seen`,
      [serial, model, host, at],
    );
  }

  async touch(serial: string, at: string): Promise<void> {
    await this.sql.run('UPDATE peripheral_links SET last_seen = $1 WHERE serial = $2', [at, serial]);
  }
}
