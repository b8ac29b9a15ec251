/**
 * Identity alerts (a device's REST certificate or SSH host key changed), one per device and channel. On the SqlStore
 * (issue 16): the same queries on the embedded SQLite file and on PostgreSQL, one migration list (version 1 is the
 * table earlier hubs created through hub/db.ts).
 *
 * Reads are synchronous (the device view asks on every update): the store keeps an in-memory view, loaded at start
 * and updated at once on every write; the writes themselves run in call order through one queue (on PostgreSQL two
 * unawaited statements could take two pool connections and land in the other order), and `idle()` waits for them.
 * Several nodes: each write is announced on the change feed (store `identity`, key = the serial); another node's
 * change reloads that serial's alerts (all of them after the feed reconnects) and `onReloaded` is told which serials.
 */

import { type ChangeFeed, followChanges, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { SqlStore } from '../store/sql-store.ts';

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

export const IDENTITY_MIGRATIONS: readonly MigrationStep[] = [
  `CREATE TABLE identity_alerts (
     serial TEXT NOT NULL, channel TEXT NOT NULL, fingerprint TEXT, status TEXT NOT NULL, detail TEXT NOT NULL,
     at TEXT NOT NULL, agent_id TEXT NOT NULL, site TEXT NOT NULL, PRIMARY KEY (serial, channel));`,
];

export class IdentityAlertStore {
  private readonly sql: SqlStore;
  private readonly bySerial = new Map<string, IdentityAlert[]>();
  private readonly writes = new SerialQueue(() => {});
  private readonly feed: ChangeFeed;
  private readonly onReloaded: (serials: string[]) => void;

  constructor(sql: SqlStore, feed: ChangeFeed = NO_CHANGE_FEED, onReloaded: (serials: string[]) => void = () => {}) {
    this.sql = sql;
    this.feed = feed;
    this.onReloaded = onReloaded;
  }

  async start(): Promise<void> {
    await runMigrations(this.sql, 'identity', IDENTITY_MIGRATIONS);
    followChanges(this.feed, 'identity', this.writes, {
      one: async (serial) => {
        const rows = await this.sql.query<Row>('SELECT * FROM identity_alerts WHERE serial = $1 ORDER BY at, channel', [
          serial,
        ]);
        this.bySerial.delete(serial);
        for (const row of rows) this.remember(fromRow(row));
        this.onReloaded([serial]);
      },
      all: async () => {
        const before = [...this.bySerial.keys()];
        await this.loadAll();
        this.onReloaded([...new Set([...before, ...this.bySerial.keys()])]);
      },
    });
    await this.loadAll();
  }

  private async loadAll(): Promise<void> {
    const rows = await this.sql.query<Row>('SELECT * FROM identity_alerts ORDER BY at, serial, channel');
    this.bySerial.clear();
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

  /** Shown at once; the promise settles when the row is written (a rejection says it was not). */
  raise(alert: IdentityAlert): Promise<void> {
    this.remember(alert);
    return this.writes.run(async () => {
      await this.sql.run(
        `INSERT INTO identity_alerts (serial, channel, fingerprint, status, detail, at, agent_id, site)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (serial, channel) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
           detail = excluded.detail, at = excluded.at, agent_id = excluded.agent_id, site = excluded.site`,
        [
          alert.serial,
          alert.channel,
          alert.fingerprint,
          alert.status,
          alert.detail,
          alert.at,
          alert.agentId,
          alert.site,
        ],
      );
      await this.feed.notify('identity', alert.serial);
    });
  }

  /** Gone at once; the promise settles when the row is deleted. */
  clear(serial: string, channel: IdentityChannel): Promise<void> {
    const rest = this.forSerial(serial).filter((a) => a.channel !== channel);
    if (rest.length === 0) this.bySerial.delete(serial);
    else this.bySerial.set(serial, rest);
    return this.writes.run(async () => {
      await this.sql.run('DELETE FROM identity_alerts WHERE serial = $1 AND channel = $2', [serial, channel]);
      await this.feed.notify('identity', serial);
    });
  }

  /** Settles when every write asked so far has run. */
  idle(): Promise<void> {
    return this.writes.idle();
  }

  private remember(alert: IdentityAlert): void {
    const others = this.forSerial(alert.serial).filter((a) => a.channel !== alert.channel);
    this.bySerial.set(alert.serial, [...others, alert]);
  }
}

interface Row extends Record<string, unknown> {
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
