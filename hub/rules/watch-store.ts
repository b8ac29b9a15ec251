/** Device watches (trend rules) in SQLite: one active watch per device and rule, cleared when the rule goes quiet. */
import { type Db, migrate } from '../db.ts';

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

const MIGRATIONS = [
  `CREATE TABLE device_watches (
     id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, rule TEXT NOT NULL, state TEXT NOT NULL,
     since TEXT NOT NULL, cleared_at TEXT, detail TEXT NOT NULL, data TEXT NOT NULL, updated_at TEXT NOT NULL);
   CREATE UNIQUE INDEX device_watches_active ON device_watches(serial, rule) WHERE state = 'active';`,
];

interface Row {
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
  constructor(private readonly db: Db) {
    migrate(db, 'watches', MIGRATIONS);
  }

  active(): DeviceWatch[] {
    return (this.db.prepare("SELECT * FROM device_watches WHERE state = 'active' ORDER BY id").all() as Row[]).map(
      view,
    );
  }

  list(filter: { state: 'active' | 'all'; serial?: string | undefined }, limit: number): DeviceWatch[] {
    const where = [
      filter.state === 'active' ? "state = 'active'" : '1 = 1',
      filter.serial ? 'serial = @serial' : '1 = 1',
    ];
    const rows = this.db
      .prepare(`SELECT * FROM device_watches WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`)
      .all({ serial: filter.serial ?? null, limit }) as Row[];
    return rows.map(view);
  }

  /** Raise (or refresh the data of) the device's active watch for `rule`; true when newly raised. */
  raise(serial: string, rule: string, detail: string, data: Record<string, unknown>, at: string): boolean {
    const updated = this.db
      .prepare(
        "UPDATE device_watches SET detail = ?, data = ?, updated_at = ? WHERE serial = ? AND rule = ? AND state = 'active'",
      )
      .run(detail, JSON.stringify(data), at, serial, rule);
    if (updated.changes > 0) return false;
    this.db
      .prepare(
        `INSERT INTO device_watches (serial, rule, state, since, detail, data, updated_at)
         VALUES (?, ?, 'active', ?, ?, ?, ?)`,
      )
      .run(serial, rule, at, detail, JSON.stringify(data), at);
    return true;
  }

  /** Clear the active watch; true when there was one. */
  clear(serial: string, rule: string, detail: string, at: string): boolean {
    return (
      this.db
        .prepare(
          "UPDATE device_watches SET state = 'cleared', cleared_at = ?, detail = ?, updated_at = ? WHERE serial = ? AND rule = ? AND state = 'active'",
        )
        .run(at, detail, at, serial, rule).changes > 0
    );
  }
}
