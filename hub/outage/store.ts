/**
 * SQLite side of detection: every transition (written synchronously: they are rare), and a batched, throttled
 * write of lastSeen/agent/firmware plus a per-device ring of recent health records (never one write per record).
 */

import type { Statement } from 'better-sqlite3';
import type { HealthRecord } from '../../protocols/health.ts';
import { type Db, migrate } from '../db.ts';
import type { DeviceState, DeviceTransition, StoredTransition } from '../types.ts';
import type { RestoredDevice } from './detector.ts';

const MIGRATIONS = [
  `CREATE TABLE device_transitions (
     id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, site TEXT NOT NULL, customer TEXT NOT NULL,
     agent_id TEXT, from_state TEXT NOT NULL, to_state TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL,
     evidence TEXT NOT NULL, problems TEXT NOT NULL, in_maintenance INTEGER NOT NULL);
   CREATE INDEX device_transitions_serial ON device_transitions(serial, id);
   CREATE TABLE device_live (
     serial TEXT PRIMARY KEY, last_seen TEXT NOT NULL, agent_id TEXT, firmware TEXT);
   CREATE TABLE health_history (
     serial TEXT NOT NULL, slot INTEGER NOT NULL, observed_at TEXT NOT NULL, replayed INTEGER NOT NULL,
     record TEXT NOT NULL, PRIMARY KEY (serial, slot)) WITHOUT ROWID;`,
  // The ring is rewritten at the rate of health records: a rowid table updated in place (upsert) costs about a
  // quarter of INSERT OR REPLACE into a WITHOUT ROWID table with ~1 KB rows (delete + insert, page splits).
  `CREATE TABLE health_history_v2 (
     serial TEXT NOT NULL, slot INTEGER NOT NULL, observed_at TEXT NOT NULL, replayed INTEGER NOT NULL,
     record TEXT NOT NULL, PRIMARY KEY (serial, slot));
   INSERT INTO health_history_v2 SELECT serial, slot, observed_at, replayed, record FROM health_history;
   DROP TABLE health_history;
   ALTER TABLE health_history_v2 RENAME TO health_history;`,
  // Issue 19: the first failed poll's time of a `down` (from the records), next to the detection time `at`.
  'ALTER TABLE device_transitions ADD COLUMN fault_at TEXT',
  // Issue 19: 0 while a stored transition waits in the site grouper (held, not yet announced): a crash then
  // must not lose it. Rows from before this column are announced.
  'ALTER TABLE device_transitions ADD COLUMN announced INTEGER NOT NULL DEFAULT 1',
  // Issue 19: raised site-network-down alerts survive a restart, so they are cleared when resolved.
  `CREATE TABLE open_site_alerts (
     agent_id TEXT PRIMARY KEY, site TEXT NOT NULL, serials TEXT NOT NULL, at TEXT NOT NULL)`,
  // Issue 19: flapping state survives a restart (epoch ms of recent down/up cycles or reboots).
  'CREATE TABLE device_flaps (serial TEXT PRIMARY KEY, events TEXT NOT NULL, is_flapping INTEGER NOT NULL)',
];

export interface LiveInfo {
  lastSeen: string;
  agentId: string | null;
  firmware: string | null;
}

/**
 * A health record to keep: the record with its JSON text when the caller already has it (the validated
 * payload), or only the columns and the text (the hot path: no parsed record kept alive until the flush).
 */
export type RecordToStore = { record: HealthRecord; json?: string | undefined } | RecordText;

/** What the history row needs of a record: its key, time, replay flag and validated JSON text. */
export interface RecordText {
  serial: string;
  observedAt: string;
  replayed: boolean;
  json: string;
}

function textOf(r: RecordToStore): RecordText {
  if (!('record' in r)) return r;
  const { record, json } = r;
  return {
    serial: record.identity.serial,
    observedAt: record.observedAt,
    replayed: record.replayed === true,
    json: json ?? JSON.stringify(record),
  };
}

interface TransitionRow {
  id: number;
  serial: string;
  site: string;
  customer: string;
  agent_id: string | null;
  from_state: string;
  to_state: string;
  at: string;
  reason: string;
  evidence: string;
  problems: string;
  in_maintenance: number;
  fault_at: string | null;
}

export class OutageStore {
  private readonly db: Db;
  private readonly ringSize: number;
  private readonly nextSlot = new Map<string, number>();
  /** Statements of the hot path, prepared once (after migrate). */
  private insertStmt: Statement | undefined;
  private upsertLiveStmt: Statement | undefined;
  private putRecordStmt: Statement | undefined;

  constructor(db: Db, ringSize: number) {
    this.db = db;
    this.ringSize = ringSize;
  }

  migrate(): void {
    migrate(this.db, 'outage', MIGRATIONS);
  }

  insertTransition(t: DeviceTransition): number {
    this.insertStmt ??= this.db.prepare(
      `INSERT INTO device_transitions
         (serial, site, customer, agent_id, from_state, to_state, at, reason, evidence, problems, in_maintenance,
          fault_at, announced)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
    );
    const result = this.insertStmt.run(
      t.serial,
      t.site,
      t.customer,
      t.agentId,
      t.from,
      t.to,
      t.at,
      t.reason,
      JSON.stringify(t.evidence),
      JSON.stringify(t.problems),
      t.inMaintenance ? 1 : 0,
      t.faultAt ?? null,
    );
    return Number(result.lastInsertRowid);
  }

  /** The transition was announced (left the site grouper): a restart must not announce it again. */
  markAnnounced(id: number): void {
    this.db.prepare('UPDATE device_transitions SET announced = 1 WHERE id = ?').run(id);
  }

  /** Each device's LAST transition when it was stored but never announced (the hub died during a hold). */
  unannounced(): StoredTransition[] {
    const rows = this.db
      .prepare(
        `SELECT t.* FROM device_transitions t
         JOIN (SELECT serial, MAX(id) AS id FROM device_transitions GROUP BY serial) last ON last.id = t.id
         WHERE t.announced = 0 ORDER BY t.id`,
      )
      .all() as TransitionRow[];
    return rows.map(toTransition);
  }

  saveFlapState(serial: string, events: readonly number[], isFlapping: boolean): void {
    this.db
      .prepare(
        `INSERT INTO device_flaps (serial, events, is_flapping) VALUES (?, ?, ?)
         ON CONFLICT(serial) DO UPDATE SET events = excluded.events, is_flapping = excluded.is_flapping`,
      )
      .run(serial, JSON.stringify(events), isFlapping ? 1 : 0);
  }

  flapStates(): Map<string, { flapEvents: number[]; isFlapping: boolean }> {
    const rows = this.db.prepare('SELECT * FROM device_flaps').all() as Array<{
      serial: string;
      events: string;
      is_flapping: number;
    }>;
    return new Map(
      rows.map((r) => [r.serial, { flapEvents: JSON.parse(r.events) as number[], isFlapping: r.is_flapping === 1 }]),
    );
  }

  saveOpenSiteAlert(agentId: string, site: string, serials: readonly string[], at: string): void {
    this.db
      .prepare(
        `INSERT INTO open_site_alerts (agent_id, site, serials, at) VALUES (?, ?, ?, ?)
         ON CONFLICT(agent_id) DO UPDATE SET site = excluded.site, serials = excluded.serials, at = excluded.at`,
      )
      .run(agentId, site, JSON.stringify(serials), at);
  }

  deleteOpenSiteAlert(agentId: string): void {
    this.db.prepare('DELETE FROM open_site_alerts WHERE agent_id = ?').run(agentId);
  }

  openSiteAlerts(): Array<{ agentId: string; site: string; serials: string[]; at: string }> {
    const rows = this.db.prepare('SELECT * FROM open_site_alerts').all() as Array<{
      agent_id: string;
      site: string;
      serials: string;
      at: string;
    }>;
    return rows.map((r) => ({
      agentId: r.agent_id,
      site: r.site,
      serials: JSON.parse(r.serials) as string[],
      at: r.at,
    }));
  }

  transitions(serial: string, limit: number): StoredTransition[] {
    const rows = this.db
      .prepare('SELECT * FROM device_transitions WHERE serial = ? ORDER BY id DESC LIMIT ?')
      .all(serial, limit) as TransitionRow[];
    return rows.map(toTransition);
  }

  /** The last transition of every device, to restore the detector after a restart. */
  lastStates(): RestoredDevice[] {
    const rows = this.db
      .prepare(
        `SELECT t.* FROM device_transitions t
         JOIN (SELECT serial, MAX(id) AS id FROM device_transitions GROUP BY serial) last ON last.id = t.id`,
      )
      .all() as TransitionRow[];
    return rows.map((r) => ({
      serial: r.serial,
      site: r.site,
      customer: r.customer,
      agentId: r.agent_id,
      state: r.to_state as DeviceState,
      sinceMs: Date.parse(r.at),
      reason: r.reason,
      problems: JSON.parse(r.problems) as string[],
      ...(r.to_state === 'down' && r.fault_at !== null ? { faultAt: r.fault_at } : {}),
    }));
  }

  liveInfo(): Map<string, LiveInfo> {
    const rows = this.db.prepare('SELECT * FROM device_live').all() as Array<{
      serial: string;
      last_seen: string;
      agent_id: string | null;
      firmware: string | null;
    }>;
    return new Map(rows.map((r) => [r.serial, { lastSeen: r.last_seen, agentId: r.agent_id, firmware: r.firmware }]));
  }

  recentRecords(serial: string): HealthRecord[] {
    const rows = this.db
      .prepare('SELECT record FROM health_history WHERE serial = ? ORDER BY observed_at DESC')
      .all(serial) as Array<{ record: string }>;
    return rows.map((r) => JSON.parse(r.record) as HealthRecord);
  }

  /** One transaction for a whole batch. */
  flush(live: Iterable<[string, LiveInfo]>, records: Iterable<RecordToStore>): void {
    this.upsertLiveStmt ??= this.db.prepare(
      `INSERT INTO device_live (serial, last_seen, agent_id, firmware) VALUES (?, ?, ?, ?)
       ON CONFLICT(serial) DO UPDATE SET last_seen = excluded.last_seen, agent_id = excluded.agent_id,
         firmware = excluded.firmware`,
    );
    this.putRecordStmt ??= this.db.prepare(
      `INSERT INTO health_history (serial, slot, observed_at, replayed, record) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(serial, slot) DO UPDATE SET observed_at = excluded.observed_at, replayed = excluded.replayed,
         record = excluded.record`,
    );
    const upsertLive = this.upsertLiveStmt;
    const putRecord = this.putRecordStmt;
    this.db.transaction(() => {
      for (const [serial, info] of live) upsertLive.run(serial, info.lastSeen, info.agentId, info.firmware);
      for (const r of records) {
        const { serial, observedAt, replayed, json } = textOf(r);
        const slot = this.nextSlot.get(serial) ?? 0;
        this.nextSlot.set(serial, (slot + 1) % this.ringSize);
        putRecord.run(serial, slot, observedAt, replayed ? 1 : 0, json);
      }
    })();
  }
}

function toTransition(r: TransitionRow): StoredTransition {
  return {
    id: r.id,
    serial: r.serial,
    site: r.site,
    customer: r.customer,
    agentId: r.agent_id,
    from: r.from_state as DeviceState,
    to: r.to_state as DeviceState,
    at: r.at,
    reason: r.reason,
    evidence: JSON.parse(r.evidence) as string[],
    problems: JSON.parse(r.problems) as string[],
    inMaintenance: r.in_maintenance === 1,
    ...(r.fault_at !== null ? { faultAt: r.fault_at } : {}),
  };
}
