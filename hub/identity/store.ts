/** Identity alerts (a device's REST certificate or SSH host key changed), one per device and channel, in SQLite. */
import { type Db, migrate } from '../db.ts';

export type IdentityChannel = 'rest' | 'ssh';

export interface IdentityAlert {
  serial: string;
  channel: IdentityChannel;
  /** The new fingerprint as the agent reported it (`now ...` in the event), or null when it did not say. */
  fingerprint: string | null;
  /** `refused`: the agent does not use the channel until an admin accepts; `accepted-after-reboot`: the agent
   * took the new identity after a seen reboot (for review). */
  status: 'refused' | 'accepted-after-reboot';
  detail: string;
  at: string;
  agentId: string;
  site: string;
}

const MIGRATIONS = [
  `CREATE TABLE identity_alerts (
     serial TEXT NOT NULL, channel TEXT NOT NULL, fingerprint TEXT, status TEXT NOT NULL, detail TEXT NOT NULL,
     at TEXT NOT NULL, agent_id TEXT NOT NULL, site TEXT NOT NULL, PRIMARY KEY (serial, channel));`,
];

export class IdentityAlertStore {
  private readonly db: Db;
  private readonly bySerial = new Map<string, IdentityAlert[]>();

  constructor(db: Db) {
    this.db = db;
  }

  start(): void {
    migrate(this.db, 'identity', MIGRATIONS);
    const rows = this.db.prepare('SELECT * FROM identity_alerts ORDER BY at').all() as Row[];
    for (const row of rows) this.remember(fromRow(row));
  }

  forSerial(serial: string): IdentityAlert[] {
    return this.bySerial.get(serial) ?? [];
  }

  get(serial: string, channel: IdentityChannel): IdentityAlert | undefined {
    return this.forSerial(serial).find((a) => a.channel === channel);
  }

  list(): IdentityAlert[] {
    return [...this.bySerial.values()].flat();
  }

  raise(alert: IdentityAlert): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO identity_alerts (serial, channel, fingerprint, status, detail, at, agent_id, site)
         VALUES (@serial, @channel, @fingerprint, @status, @detail, @at, @agentId, @site)`,
      )
      .run(alert);
    this.remember(alert);
  }

  clear(serial: string, channel: IdentityChannel): void {
    this.db.prepare('DELETE FROM identity_alerts WHERE serial = ? AND channel = ?').run(serial, channel);
    const rest = this.forSerial(serial).filter((a) => a.channel !== channel);
    if (rest.length === 0) this.bySerial.delete(serial);
    else this.bySerial.set(serial, rest);
  }

  private remember(alert: IdentityAlert): void {
    const others = this.forSerial(alert.serial).filter((a) => a.channel !== alert.channel);
    this.bySerial.set(alert.serial, [...others, alert]);
  }
}

interface Row {
  serial: string;
  channel: string;
  fingerprint: string | null;
  status: string;
  detail: string;
  at: string;
  agent_id: string;
  site: string;
}

function fromRow(row: Row): IdentityAlert {
  return {
    serial: row.serial,
    channel: row.channel as IdentityChannel,
    fingerprint: row.fingerprint,
    status: row.status as IdentityAlert['status'],
    detail: row.detail,
    at: row.at,
    agentId: row.agent_id,
    site: row.site,
  };
}
