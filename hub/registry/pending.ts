/**
 * Devices pending adoption: serials an agent reported that nobody registered. Stored (SQLite) so an admin can
 * adopt or reject them; bounded per agent; a rejected serial stays rejected (its messages keep being refused).
 */
import type { Db } from '../db.ts';
import { migrate } from '../db.ts';

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

const MIGRATIONS = [
  `CREATE TABLE pending_devices (
     serial TEXT PRIMARY KEY, site TEXT NOT NULL, agent_id TEXT NOT NULL, model TEXT NOT NULL,
     first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, messages INTEGER NOT NULL);
   CREATE INDEX pending_devices_agent ON pending_devices(agent_id);
   CREATE TABLE rejected_devices (serial TEXT PRIMARY KEY, site TEXT NOT NULL, rejected_at TEXT NOT NULL);`,
];

/** lastSeen/messages are kept in memory and written at most this often per serial (hot path). */
const TOUCH_WRITE_MS = 60_000;

export class PendingDevices {
  private readonly db: Db;
  private readonly now: () => number;
  private readonly maxPerAgent: number;
  private readonly pending = new Map<string, PendingDevice & { writtenAtMs: number }>();
  private readonly rejected = new Set<string>();
  private readonly perAgent = new Map<string, number>();

  constructor(db: Db, now: () => number, maxPerAgent: number) {
    this.db = db;
    this.now = now;
    this.maxPerAgent = maxPerAgent;
  }

  start(): void {
    migrate(this.db, 'adoption', MIGRATIONS);
    for (const row of this.db.prepare('SELECT * FROM pending_devices').all() as PendingRow[]) {
      this.pending.set(row.serial, { ...fromRow(row), writtenAtMs: Date.parse(row.last_seen) });
      this.perAgent.set(row.agent_id, (this.perAgent.get(row.agent_id) ?? 0) + 1);
    }
    for (const row of this.db.prepare('SELECT serial FROM rejected_devices').all() as Array<{ serial: string }>) {
      this.rejected.add(row.serial);
    }
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
        this.db
          .prepare('UPDATE pending_devices SET last_seen = ?, messages = ?, model = ? WHERE serial = ?')
          .run(at, known.messages, known.model, serial);
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
    this.db
      .prepare(
        `INSERT INTO pending_devices (serial, site, agent_id, model, first_seen, last_seen, messages)
         VALUES (@serial, @site, @agentId, @model, @firstSeen, @lastSeen, @messages)`,
      )
      .run(device);
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

  /** Adopted: no longer pending (the registry holds it now). */
  remove(serial: string): void {
    const found = this.pending.get(serial);
    if (found === undefined) return;
    this.db.prepare('DELETE FROM pending_devices WHERE serial = ?').run(serial);
    this.pending.delete(serial);
    this.perAgent.set(found.agentId, Math.max(0, (this.perAgent.get(found.agentId) ?? 1) - 1));
  }

  /** Rejected by an admin: removed from the list, and its messages are refused from now on. */
  reject(serial: string): void {
    const found = this.pending.get(serial);
    const at = new Date(this.now()).toISOString();
    this.db.transaction(() => {
      this.db
        .prepare('INSERT OR REPLACE INTO rejected_devices (serial, site, rejected_at) VALUES (?, ?, ?)')
        .run(serial, found?.site ?? '', at);
      this.remove(serial);
    })();
    this.rejected.add(serial);
  }

  /** A rejected serial registered later by an admin is no longer rejected. */
  unreject(serial: string): void {
    if (!this.rejected.delete(serial)) return;
    this.db.prepare('DELETE FROM rejected_devices WHERE serial = ?').run(serial);
  }
}

interface PendingRow {
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
