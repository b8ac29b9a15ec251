/**
 * Devices pending adoption: serials an agent reported that nobody registered. Stored so an admin can adopt or
 * reject them; bounded per agent; a rejected serial stays rejected (its messages keep being refused).
 *
 * On the SqlStore (issue 16): the same queries on the embedded SQLite file and on PostgreSQL, one migration list
 * (version 1 is the tables earlier hubs created through hub/db.ts). The ownership gate asks synchronously on the
 * ingest path, so the store answers from an in-memory view loaded at start and updated at once; the writes run in
 * call order through one queue (`idle()` waits for them; a failed write goes to `onWriteError`).
 * Several nodes: every write is announced on the change feed (store `adoption`, key = the serial; in the reject's
 * transaction); another node's change reloads that serial into the view, through the same queue (after this node's
 * own writes asked before it), and the whole view after the feed reconnects: a device adopted or rejected on node A
 * is no longer pending on node B.
 */

import { type ChangeFeed, followChanges, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { SqlStore } from '../store/sql-store.ts';

export interface PendingDevice {
  serial: string;
  site: string;
  agentId: string;
  model: string;
  firstSeen: string;
  lastSeen: string;
  messages: number;
}

/** What happened to an unknown serial's message. */
export type PendingOutcome = 'pending' | 'limit' | 'rejected';

export const PENDING_MIGRATIONS: readonly MigrationStep[] = [
  `CREATE TABLE pending_devices (
     serial TEXT PRIMARY KEY, site TEXT NOT NULL, agent_id TEXT NOT NULL, model TEXT NOT NULL,
     first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, messages INTEGER NOT NULL);
   CREATE INDEX pending_devices_agent ON pending_devices(agent_id);
   CREATE TABLE rejected_devices (serial TEXT PRIMARY KEY, site TEXT NOT NULL, rejected_at TEXT NOT NULL);`,
];

/** lastSeen/messages are kept in memory and written at most this often per serial (hot path). */
const TOUCH_WRITE_MS = 60_000;

export class PendingDevices {
  private readonly sql: SqlStore;
  private readonly now: () => number;
  private readonly maxPerAgent: number;
  private readonly writes: SerialQueue;
  private readonly pending = new Map<string, PendingDevice & { writtenAtMs: number }>();
  private readonly rejected = new Set<string>();
  private readonly perAgent = new Map<string, number>();
  private readonly feed: ChangeFeed;

  constructor(
    sql: SqlStore,
    now: () => number,
    maxPerAgent: number,
    onWriteError: (err: unknown) => void = () => {},
    feed: ChangeFeed = NO_CHANGE_FEED,
  ) {
    this.sql = sql;
    this.now = now;
    this.maxPerAgent = maxPerAgent;
    this.writes = new SerialQueue(onWriteError);
    this.feed = feed;
  }

  async start(): Promise<void> {
    await runMigrations(this.sql, 'adoption', PENDING_MIGRATIONS);
    followChanges(this.feed, 'adoption', this.writes, {
      one: (serial) => this.reload(serial),
      all: () => this.reloadAll(),
    });
    await this.reloadAll();
  }

  /** The whole view from the database (start, and after the change feed reconnected). */
  private async reloadAll(): Promise<void> {
    const rows = await this.sql.query<PendingRow>('SELECT * FROM pending_devices ORDER BY serial');
    const rejected = await this.sql.query<{ serial: string }>('SELECT serial FROM rejected_devices');
    const stored = new Set(rows.map((r) => r.serial));
    for (const serial of [...this.pending.keys()]) if (!stored.has(serial)) this.forget(serial);
    for (const row of rows) this.load(row);
    this.rejected.clear();
    for (const row of rejected) this.rejected.add(row.serial);
  }

  /** One serial from the database (another node changed it). */
  private async reload(serial: string): Promise<void> {
    const [row] = await this.sql.query<PendingRow>('SELECT * FROM pending_devices WHERE serial = $1', [serial]);
    const [rejected] = await this.sql.query<{ serial: string }>(
      'SELECT serial FROM rejected_devices WHERE serial = $1',
      [serial],
    );
    if (row === undefined) this.forget(serial);
    else this.load(row);
    if (rejected === undefined) this.rejected.delete(serial);
    else this.rejected.add(serial);
  }

  /** A stored row into the view; what this node counted since its last write (newer lastSeen) is kept. */
  private load(row: PendingRow): void {
    const known = this.pending.get(row.serial);
    if (known !== undefined && known.lastSeen > row.last_seen) return;
    this.forget(row.serial);
    this.pending.set(row.serial, { ...fromRow(row), writtenAtMs: Date.parse(row.last_seen) });
    this.perAgent.set(row.agent_id, (this.perAgent.get(row.agent_id) ?? 0) + 1);
  }

  /** Settles when every write asked so far has run. */
  idle(): Promise<void> {
    return this.writes.idle();
  }

  /** An unknown serial seen in a message of `agentId` (site `site`). */
  note(serial: string, site: string, agentId: string, model: string | undefined): PendingOutcome {
    if (this.rejected.has(serial)) return 'rejected';
    const nowMs = this.now();
    const at = new Date(nowMs).toISOString();
    const known = this.pending.get(serial);
    if (known !== undefined) {
      known.lastSeen = at;
      known.messages++;
      if (model !== undefined && known.model === 'unknown') known.model = model;
      if (nowMs - known.writtenAtMs >= TOUCH_WRITE_MS) {
        known.writtenAtMs = nowMs;
        const { messages, model: knownModel } = known;
        void this.writes.push(async () => {
          await this.sql.run('UPDATE pending_devices SET last_seen = $1, messages = $2, model = $3 WHERE serial = $4', [
            at,
            messages,
            knownModel,
            serial,
          ]);
          await this.feed.notify('adoption', serial);
        });
      }
      return 'pending';
    }
    const count = this.perAgent.get(agentId) ?? 0;
    if (count >= this.maxPerAgent) return 'limit';
    const device: PendingDevice = {
      serial,
      site,
      agentId,
      model: model ?? 'unknown',
      firstSeen: at,
      lastSeen: at,
      messages: 1,
    };
    void this.writes.push(async () => {
      await this.sql.run(
        `INSERT INTO pending_devices (serial, site, agent_id, model, first_seen, last_seen, messages)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (serial) DO NOTHING`,
        [device.serial, device.site, device.agentId, device.model, device.firstSeen, device.lastSeen, device.messages],
      );
      await this.feed.notify('adoption', serial);
    });
    this.pending.set(serial, { ...device, writtenAtMs: nowMs });
    this.perAgent.set(agentId, count + 1);
    return 'pending';
  }

  get(serial: string): PendingDevice | undefined {
    const found = this.pending.get(serial);
    if (found === undefined) return undefined;
    const { writtenAtMs: _w, ...device } = found;
    return device;
  }

  list(): PendingDevice[] {
    return [...this.pending.keys()]
      .sort()
      .map((s) => this.get(s))
      .filter((d): d is PendingDevice => d !== undefined);
  }

  isRejected(serial: string): boolean {
    return this.rejected.has(serial);
  }

  /** Adopted: no longer pending (the registry holds it now). Gone at once; settles when the row is deleted. */
  remove(serial: string): Promise<void> {
    if (!this.forget(serial)) return this.writes.run(async () => {});
    return this.writes.run(async () => {
      await this.sql.run('DELETE FROM pending_devices WHERE serial = $1', [serial]);
      await this.feed.notify('adoption', serial);
    });
  }

  /** Rejected by an admin: removed from the list, and its messages are refused from now on (both at once). */
  reject(serial: string): Promise<void> {
    const site = this.pending.get(serial)?.site ?? '';
    const at = new Date(this.now()).toISOString();
    this.forget(serial);
    this.rejected.add(serial);
    return this.writes.run(() =>
      this.sql.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO rejected_devices (serial, site, rejected_at) VALUES ($1, $2, $3)
           ON CONFLICT (serial) DO UPDATE SET site = excluded.site, rejected_at = excluded.rejected_at`,
          [serial, site, at],
        );
        await tx.run('DELETE FROM pending_devices WHERE serial = $1', [serial]);
        await this.feed.notify('adoption', serial, tx);
      }),
    );
  }

  /** A rejected serial registered later by an admin is no longer rejected. */
  unreject(serial: string): Promise<void> {
    if (!this.rejected.delete(serial)) return this.writes.run(async () => {});
    return this.writes.run(async () => {
      await this.sql.run('DELETE FROM rejected_devices WHERE serial = $1', [serial]);
      await this.feed.notify('adoption', serial);
    });
  }

  /** Drops `serial` from the in-memory view; false when it was not pending. */
  private forget(serial: string): boolean {
    const found = this.pending.get(serial);
    if (found === undefined) return false;
    this.pending.delete(serial);
    this.perAgent.set(found.agentId, Math.max(0, (this.perAgent.get(found.agentId) ?? 1) - 1));
    return true;
  }
}

interface PendingRow extends Record<string, unknown> {
  serial: string;
  site: string;
  agent_id: string;
  model: string;
  first_seen: string;
  last_seen: string;
  messages: number;
}

function fromRow(row: PendingRow): PendingDevice {
  return {
    serial: row.serial,
    site: row.site,
    agentId: row.agent_id,
    model: row.model,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    messages: row.messages,
  };
}
