/**
 * Remote reboots: who or what asked, why, through which channel, and how it ended. On the SqlStore (issue 16): the
 * same queries on the embedded SQLite file and on PostgreSQL, one migration list (version 1 is the table earlier hubs
 * created through hub/db.ts; `requested_ms` is epoch milliseconds, so BIGINT on PostgreSQL).
 */
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import type { SqlStore } from '../store/sql-store.ts';

export interface RebootRecord {
  id: number;
  serial: string;
  trigger: 'auto' | 'manual';
  actor: string;
  reason: string;
  ticketId: string | null;
  requestedAt: string;
  channel: string | null;
  result: 'requested' | 'sent' | 'failed' | 'recovered' | 'not-recovered';
  detail: string;
}

const INDEX = 'CREATE INDEX device_reboots_serial ON device_reboots(serial, requested_ms);';

export const REBOOT_MIGRATIONS: readonly MigrationStep[] = [
  {
    sqlite: `CREATE TABLE device_reboots (
     id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, trigger TEXT NOT NULL, actor TEXT NOT NULL,
     reason TEXT NOT NULL, ticket_id TEXT, requested_at TEXT NOT NULL, requested_ms INTEGER NOT NULL, channel TEXT,
     result TEXT NOT NULL, detail TEXT NOT NULL);
   ${INDEX}`,
    postgres: `CREATE TABLE device_reboots (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, serial TEXT NOT NULL, trigger TEXT NOT NULL,
     actor TEXT NOT NULL, reason TEXT NOT NULL, ticket_id TEXT, requested_at TEXT NOT NULL,
     requested_ms BIGINT NOT NULL, channel TEXT, result TEXT NOT NULL, detail TEXT NOT NULL);
   ${INDEX}`,
  },
];

interface Row extends Record<string, unknown> {
  /** PostgreSQL BIGINT comes back as a string. */
  id: number | string;
  serial: string;
  trigger: 'auto' | 'manual';
  actor: string;
  reason: string;
  ticket_id: string | null;
  requested_at: string;
  requested_ms: number | string;
  channel: string | null;
  result: RebootRecord['result'];
  detail: string;
}

const view = (r: Row): RebootRecord => ({
  id: Number(r.id),
  serial: r.serial,
  trigger: r.trigger,
  actor: r.actor,
  reason: r.reason,
  ticketId: r.ticket_id,
  requestedAt: r.requested_at,
  channel: r.channel,
  result: r.result,
  detail: r.detail,
});

export class RebootStore {
  private readonly sql: SqlStore;

  constructor(sql: SqlStore) {
    this.sql = sql;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.sql, 'reboots', REBOOT_MIGRATIONS);
  }

  async add(input: Omit<RebootRecord, 'id' | 'channel' | 'result' | 'detail'>, atMs: number): Promise<number> {
    const rows = await this.sql.query<{ id: number | string }>(
      `INSERT INTO device_reboots (serial, trigger, actor, reason, ticket_id, requested_at, requested_ms, result, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', '') RETURNING id`,
      [input.serial, input.trigger, input.actor, input.reason, input.ticketId, input.requestedAt, atMs],
    );
    return Number(rows[0]?.id);
  }

  async update(id: number, result: RebootRecord['result'], detail: string, channel?: string): Promise<void> {
    await this.sql.run(
      'UPDATE device_reboots SET result = $1, detail = $2, channel = COALESCE($3, channel) WHERE id = $4',
      [result, detail.slice(0, 2000), channel ?? null, id],
    );
  }

  async lastAutoMs(serial: string): Promise<number | undefined> {
    const rows = await this.sql.query<{ ms: number | string | null }>(
      "SELECT MAX(requested_ms) AS ms FROM device_reboots WHERE serial = $1 AND trigger = 'auto'",
      [serial],
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? undefined : Number(ms);
  }

  /** serial -> its last automatic reboot (ms): what the module's synchronous policy check reads, loaded at start. */
  async lastAutoBySerial(): Promise<Map<string, number>> {
    const rows = await this.sql.query<{ serial: string; ms: number | string }>(
      "SELECT serial, MAX(requested_ms) AS ms FROM device_reboots WHERE trigger = 'auto' GROUP BY serial",
    );
    return new Map(rows.map((r) => [r.serial, Number(r.ms)]));
  }

  async list(serial: string | undefined, limit: number): Promise<RebootRecord[]> {
    const rows =
      serial === undefined
        ? await this.sql.query<Row>('SELECT * FROM device_reboots ORDER BY id DESC LIMIT $1', [limit])
        : await this.sql.query<Row>('SELECT * FROM device_reboots WHERE serial = $1 ORDER BY id DESC LIMIT $2', [
            serial,
            limit,
          ]);
    return rows.map(view);
  }
}
