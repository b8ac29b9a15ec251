/** Remote reboots in SQLite: who or what asked, why, through which channel, and how it ended. */
import { type Db, migrate } from '../db.ts';

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

const MIGRATIONS = [
  `CREATE TABLE device_reboots (
     id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, trigger TEXT NOT NULL, actor TEXT NOT NULL,
     reason TEXT NOT NULL, ticket_id TEXT, requested_at TEXT NOT NULL, requested_ms INTEGER NOT NULL, channel TEXT,
     result TEXT NOT NULL, detail TEXT NOT NULL);
   CREATE INDEX device_reboots_serial ON device_reboots(serial, requested_ms);`,
];

interface Row {
  id: number;
  serial: string;
  trigger: 'auto' | 'manual';
  actor: string;
  reason: string;
  ticket_id: string | null;
  requested_at: string;
  channel: string | null;
  result: RebootRecord['result'];
  detail: string;
}

const view = (r: Row): RebootRecord => ({
  id: r.id,
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
  constructor(private readonly db: Db) {
    migrate(db, 'reboots', MIGRATIONS);
  }

  add(input: Omit<RebootRecord, 'id' | 'channel' | 'result' | 'detail'>, atMs: number): number {
    return Number(
      this.db
        .prepare(
          `INSERT INTO device_reboots (serial, trigger, actor, reason, ticket_id, requested_at, requested_ms, result, detail)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'requested', '')`,
        )
        .run(input.serial, input.trigger, input.actor, input.reason, input.ticketId, input.requestedAt, atMs)
        .lastInsertRowid,
    );
  }

  update(id: number, result: RebootRecord['result'], detail: string, channel?: string): void {
    this.db
      .prepare('UPDATE device_reboots SET result = ?, detail = ?, channel = COALESCE(?, channel) WHERE id = ?')
      .run(result, detail.slice(0, 2000), channel ?? null, id);
  }

  lastAutoMs(serial: string): number | undefined {
    const row = this.db
      .prepare("SELECT MAX(requested_ms) AS ms FROM device_reboots WHERE serial = ? AND trigger = 'auto'")
      .get(serial) as { ms: number | null };
    return row.ms ?? undefined;
  }

  list(serial: string | undefined, limit: number): RebootRecord[] {
    const rows = (
      serial === undefined
        ? this.db.prepare('SELECT * FROM device_reboots ORDER BY id DESC LIMIT ?').all(limit)
        : this.db.prepare('SELECT * FROM device_reboots WHERE serial = ? ORDER BY id DESC LIMIT ?').all(serial, limit)
    ) as Row[];
    return rows.map(view);
  }
}
