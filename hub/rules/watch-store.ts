/**
 * Device watches (trend rules): one active watch per device and rule, cleared when the rule goes quiet. On the
 * SqlStore (issue 16): the same queries on the embedded SQLite file and on PostgreSQL, one migration list (version 1
 * is the table earlier hubs created through hub/db.ts). The partial unique index keeps one active watch per device
 * and rule in the database itself; `raise` inserts against it, so two callers cannot both raise the same watch.
 */
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import type { SqlStore, SqlValue } from '../store/sql-store.ts';

export interface DeviceWatch {
  serial: string;
  rule: string;
  state: 'active' | 'cleared';
  since: string;
  clearedAt: string | null;
  detail: string;
  data: Record<string, unknown>;
  updatedAt: string;
}

const COLUMNS = `serial TEXT NOT NULL, rule TEXT NOT NULL, state TEXT NOT NULL,
     since TEXT NOT NULL, cleared_at TEXT, detail TEXT NOT NULL, data TEXT NOT NULL, updated_at TEXT NOT NULL`;
const ACTIVE_INDEX = `CREATE UNIQUE INDEX device_watches_active ON device_watches(serial, rule) WHERE state = 'active';`;

export const WATCH_MIGRATIONS: readonly MigrationStep[] = [
  {
    sqlite: `CREATE TABLE device_watches (
     id INTEGER PRIMARY KEY AUTOINCREMENT, ${COLUMNS});
   ${ACTIVE_INDEX}`,
    postgres: `CREATE TABLE device_watches (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ${COLUMNS});
   ${ACTIVE_INDEX}`,
  },
];

interface Row extends Record<string, unknown> {
  serial: string;
  rule: string;
  state: 'active' | 'cleared';
  since: string;
  cleared_at: string | null;
  detail: string;
  data: string;
  updated_at: string;
}

const view = (r: Row): DeviceWatch => ({
  serial: r.serial,
  rule: r.rule,
  state: r.state,
  since: r.since,
  clearedAt: r.cleared_at,
  detail: r.detail,
  data: JSON.parse(r.data) as Record<string, unknown>,
  updatedAt: r.updated_at,
});

export class WatchStore {
  private readonly sql: SqlStore;

  constructor(sql: SqlStore) {
    this.sql = sql;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.sql, 'watches', WATCH_MIGRATIONS);
  }

  async active(): Promise<DeviceWatch[]> {
    return (await this.sql.query<Row>("SELECT * FROM device_watches WHERE state = 'active' ORDER BY id")).map(view);
  }

  async list(filter: { state: 'active' | 'all'; serial?: string | undefined }, limit: number): Promise<DeviceWatch[]> {
    const where: string[] = [];
    const args: SqlValue[] = [];
    if (filter.state === 'active') where.push("state = 'active'");
    if (filter.serial) {
      args.push(filter.serial);
      where.push(`serial = $${args.length}`);
    }
    args.push(limit);
    const rows = await this.sql.query<Row>(
      `SELECT * FROM device_watches ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map(view);
  }

  /** Raise (or refresh the data of) the device's active watch for `rule`; true when newly raised. */
  async raise(
    serial: string,
    rule: string,
    detail: string,
    data: Record<string, unknown>,
    at: string,
  ): Promise<boolean> {
    const json = JSON.stringify(data);
    // the partial unique index refuses a second active watch: whoever inserts first raises it
    const inserted = await this.sql.run(
      `INSERT INTO device_watches (serial, rule, state, since, detail, data, updated_at)
       VALUES ($1, $2, 'active', $3, $4, $5, $3) ON CONFLICT DO NOTHING`,
      [serial, rule, at, detail, json],
    );
    if (inserted > 0) return true;
    await this.sql.run(
      "UPDATE device_watches SET detail = $1, data = $2, updated_at = $3 WHERE serial = $4 AND rule = $5 AND state = 'active'",
      [detail, json, at, serial, rule],
    );
    return false;
  }

  /** Clear the active watch; true when there was one. */
  async clear(serial: string, rule: string, detail: string, at: string): Promise<boolean> {
    const changed = await this.sql.run(
      "UPDATE device_watches SET state = 'cleared', cleared_at = $1, detail = $2, updated_at = $1 WHERE serial = $3 AND rule = $4 AND state = 'active'",
      [at, detail, serial, rule],
    );
    return changed > 0;
  }
}
