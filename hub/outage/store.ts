/**
 * The stored side of detection, on the SqlStore (issue 16: the embedded SQLite file or a shared PostgreSQL, the same
 * queries, ONE migration list whose versions 1..6 are what earlier hubs created through hub/db.ts). Every
 * transition (one statement: they are rare), and a batched write of lastSeen/agent/firmware plus a per-device ring
 * of recent health records: one transaction per chunk, one upsert per table with the chunk's rows in one JSON
 * parameter (never one write per record). Transitions, flapping state and open site alerts tell the other hub nodes
 * through the change feed (OUTAGE_FEED: key = serial; SITE_ALERT_FEED: key = agent id), inside their transaction; a
 * timed flush once per tick (LIVE_FEED).
 */

import type { HealthRecord } from '../../protocols/health.ts';
import { type ChangeFeed, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import type { SqlStore, SqlValue } from '../store/sql-store.ts';
import type { DeviceState, DeviceTransition, StoredTransition } from '../types.ts';
import type { RestoredDevice } from './detector.ts';

/** Change feed store names: a device's transitions and flapping state (key: serial); open site alerts (agent id). */
export const OUTAGE_FEED = 'outage';
export const SITE_ALERT_FEED = 'outage-site-alerts';
/** lastSeen rows written (key: the oldest lastSeen of the flush: read the rows seen since then). */
export const LIVE_FEED = 'outage-live';

const TRANSITION_COLUMNS = `serial TEXT NOT NULL, site TEXT NOT NULL, customer TEXT NOT NULL,
     agent_id TEXT, from_state TEXT NOT NULL, to_state TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL,
     evidence TEXT NOT NULL, problems TEXT NOT NULL, in_maintenance INTEGER NOT NULL`;
const LIVE_TABLE =
  'CREATE TABLE device_live (serial TEXT PRIMARY KEY, last_seen TEXT NOT NULL, agent_id TEXT, firmware TEXT)';
const HISTORY_COLUMNS = `serial TEXT NOT NULL, slot INTEGER NOT NULL, observed_at TEXT NOT NULL, replayed INTEGER NOT NULL,
     record TEXT NOT NULL, PRIMARY KEY (serial, slot)`;

export const OUTAGE_MIGRATIONS: readonly MigrationStep[] = [
  {
    sqlite: `CREATE TABLE device_transitions (id INTEGER PRIMARY KEY AUTOINCREMENT, ${TRANSITION_COLUMNS});
   CREATE INDEX device_transitions_serial ON device_transitions(serial, id);
   ${LIVE_TABLE};
   CREATE TABLE health_history (${HISTORY_COLUMNS}) WITHOUT ROWID;`,
    postgres: `CREATE TABLE device_transitions (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ${TRANSITION_COLUMNS});
   CREATE INDEX device_transitions_serial ON device_transitions(serial, id);
   ${LIVE_TABLE};
   CREATE TABLE health_history (${HISTORY_COLUMNS});`,
  },
  // The ring is rewritten at the rate of health records: a rowid table updated in place (upsert) costs about a
  // quarter of INSERT OR REPLACE into a WITHOUT ROWID table with ~1 KB rows (delete + insert, page splits).
  // PostgreSQL got the final table at version 1: nothing to do.
  {
    sqlite: `CREATE TABLE health_history_v2 (${HISTORY_COLUMNS});
   INSERT INTO health_history_v2 SELECT serial, slot, observed_at, replayed, record FROM health_history;
   DROP TABLE health_history;
   ALTER TABLE health_history_v2 RENAME TO health_history;`,
    postgres: 'SELECT 1',
  },
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

export interface FlapState {
  flapEvents: number[];
  isFlapping: boolean;
}

export interface OpenSiteAlert {
  agentId: string;
  site: string;
  serials: string[];
  at: string;
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

interface TransitionRow extends Record<string, unknown> {
  /** PostgreSQL BIGINT comes back as a string. */
  id: number | string;
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
  announced: number;
}

const LAST_PER_DEVICE = `SELECT t.* FROM device_transitions t
  JOIN (SELECT serial, MAX(id) AS id FROM device_transitions GROUP BY serial) last ON last.id = t.id`;

/**
 * The rows of a batch as ONE parameter, a JSON array of arrays, unpacked by the engine: one short statement per table
 * whatever the batch size (no statement of hundreds of placeholders to compile per chunk: about a third less CPU per
 * flush on SQLite than multi-row VALUES), the same on both dialects but for this table function.
 */
function jsonRows(dialect: SqlStore['dialect']): string {
  return dialect === 'postgres' ? 'json_array_elements(CAST($1 AS json)) AS j(value)' : 'json_each($1)';
}

export class OutageStore {
  private readonly sql: SqlStore;
  private readonly feed: ChangeFeed;
  private readonly ringSize: number;
  private readonly nextSlot = new Map<string, number>();

  constructor(sql: SqlStore, ringSize: number, feed: ChangeFeed = NO_CHANGE_FEED) {
    this.sql = sql;
    this.ringSize = ringSize;
    this.feed = feed;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.sql, 'outage', OUTAGE_MIGRATIONS);
  }

  /** Stored not yet announced (announced = 0); returns its id. The other nodes hear of it on commit. */
  insertTransition(t: DeviceTransition): Promise<number> {
    return this.sql.transaction(async (tx) => {
      const rows = await tx.query<{ id: number | string }>(
        `INSERT INTO device_transitions
           (serial, site, customer, agent_id, from_state, to_state, at, reason, evidence, problems, in_maintenance,
            fault_at, announced)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0) RETURNING id`,
        [
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
        ],
      );
      await this.feed.notify(OUTAGE_FEED, t.serial, tx);
      return Number(rows[0]?.id);
    });
  }

  /** The transition was announced (left the site grouper): a restart or another node must not announce it again. */
  markAnnounced(id: number, serial: string): Promise<void> {
    return this.sql.transaction(async (tx) => {
      await tx.run('UPDATE device_transitions SET announced = 1 WHERE id = $1', [id]);
      await this.feed.notify(OUTAGE_FEED, serial, tx);
    });
  }

  /** Each device's LAST transition when it was stored but never announced (the hub died during a hold). */
  async unannounced(serial?: string): Promise<StoredTransition[]> {
    const rows =
      serial === undefined
        ? await this.sql.query<TransitionRow>(`${LAST_PER_DEVICE} WHERE t.announced = 0 ORDER BY t.id`)
        : await this.sql.query<TransitionRow>(
            'SELECT * FROM device_transitions WHERE serial = $1 ORDER BY id DESC LIMIT 1',
            [serial],
          );
    return rows.filter((r) => Number(r.announced) === 0).map(toTransition);
  }

  saveFlapState(serial: string, events: readonly number[], isFlapping: boolean): Promise<void> {
    return this.sql.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO device_flaps (serial, events, is_flapping) VALUES ($1, $2, $3)
         ON CONFLICT (serial) DO UPDATE SET events = excluded.events, is_flapping = excluded.is_flapping`,
        [serial, JSON.stringify(events), isFlapping ? 1 : 0],
      );
      await this.feed.notify(OUTAGE_FEED, serial, tx);
    });
  }

  /** Every device's flapping state, or one device's (`serial`). */
  async flapStates(serial?: string): Promise<Map<string, FlapState>> {
    const rows = await this.sql.query<{ serial: string; events: string; is_flapping: number }>(
      serial === undefined ? 'SELECT * FROM device_flaps' : 'SELECT * FROM device_flaps WHERE serial = $1',
      serial === undefined ? [] : [serial],
    );
    return new Map(
      rows.map((r) => [
        r.serial,
        { flapEvents: JSON.parse(r.events) as number[], isFlapping: Number(r.is_flapping) === 1 },
      ]),
    );
  }

  saveOpenSiteAlert(agentId: string, site: string, serials: readonly string[], at: string): Promise<void> {
    return this.sql.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO open_site_alerts (agent_id, site, serials, at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (agent_id) DO UPDATE SET site = excluded.site, serials = excluded.serials, at = excluded.at`,
        [agentId, site, JSON.stringify(serials), at],
      );
      await this.feed.notify(SITE_ALERT_FEED, agentId, tx);
    });
  }

  deleteOpenSiteAlert(agentId: string): Promise<void> {
    return this.sql.transaction(async (tx) => {
      await tx.run('DELETE FROM open_site_alerts WHERE agent_id = $1', [agentId]);
      await this.feed.notify(SITE_ALERT_FEED, agentId, tx);
    });
  }

  /** Every open site alert, or one agent's (`agentId`). */
  async openSiteAlerts(agentId?: string): Promise<OpenSiteAlert[]> {
    const rows = await this.sql.query<{ agent_id: string; site: string; serials: string; at: string }>(
      agentId === undefined ? 'SELECT * FROM open_site_alerts' : 'SELECT * FROM open_site_alerts WHERE agent_id = $1',
      agentId === undefined ? [] : [agentId],
    );
    return rows.map((r) => ({
      agentId: r.agent_id,
      site: r.site,
      serials: JSON.parse(r.serials) as string[],
      at: r.at,
    }));
  }

  async transitions(serial: string, limit: number): Promise<StoredTransition[]> {
    const rows = await this.sql.query<TransitionRow>(
      'SELECT * FROM device_transitions WHERE serial = $1 ORDER BY id DESC LIMIT $2',
      [serial, limit],
    );
    return rows.map(toTransition);
  }

  /** The last transition of every device (or of `serial`), to restore the detector after a restart. */
  async lastStates(serial?: string): Promise<RestoredDevice[]> {
    const rows =
      serial === undefined
        ? await this.sql.query<TransitionRow>(LAST_PER_DEVICE)
        : await this.sql.query<TransitionRow>(
            'SELECT * FROM device_transitions WHERE serial = $1 ORDER BY id DESC LIMIT 1',
            [serial],
          );
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

  /** lastSeen/agent/firmware of every device, or of those seen at or after `since` (ISO, as stored). */
  async liveInfo(since?: string): Promise<Map<string, LiveInfo>> {
    const rows = await this.sql.query<{
      serial: string;
      last_seen: string;
      agent_id: string | null;
      firmware: string | null;
    }>(
      since === undefined ? 'SELECT * FROM device_live' : 'SELECT * FROM device_live WHERE last_seen >= $1',
      since === undefined ? [] : [since],
    );
    return new Map(rows.map((r) => [r.serial, { lastSeen: r.last_seen, agentId: r.agent_id, firmware: r.firmware }]));
  }

  /** Tell the other nodes that lastSeen rows seen since `since` were written (after the commit; a failure is logged). */
  notifyLive(since: string): Promise<void> {
    return this.feed.notify(LIVE_FEED, since);
  }

  async recentRecords(serial: string): Promise<HealthRecord[]> {
    const rows = await this.sql.query<{ record: string }>(
      'SELECT record FROM health_history WHERE serial = $1 ORDER BY observed_at DESC',
      [serial],
    );
    return rows.map((r) => JSON.parse(r.record) as HealthRecord);
  }

  /**
   * One transaction for a whole batch, one upsert per table with the rows as one JSON parameter (a device twice in
   * the batch: its last values win; PostgreSQL refuses one statement that updates a row twice).
   */
  async flush(live: Iterable<[string, LiveInfo]>, records: Iterable<RecordToStore>): Promise<void> {
    const liveRows = new Map<string, LiveInfo>();
    for (const [serial, info] of live) liveRows.set(serial, info);
    const slots = new Map<string, number>();
    const history = new Map<string, SqlValue[]>();
    for (const r of records) {
      const { serial, observedAt, replayed, json } = textOf(r);
      const slot = slots.get(serial) ?? this.nextSlot.get(serial) ?? 0;
      slots.set(serial, (slot + 1) % this.ringSize);
      history.set(`${serial}\u0000${slot}`, [serial, slot, observedAt, replayed ? 1 : 0, json]);
    }
    // at once (not on commit): an overlapping flush takes the next slots; a failed one only skips some
    for (const [serial, slot] of slots) this.nextSlot.set(serial, slot);
    if (liveRows.size === 0 && history.size === 0) return;
    const liveParams: SqlValue[][] = [];
    for (const [serial, info] of liveRows) liveParams.push([serial, info.lastSeen, info.agentId, info.firmware]);
    const rows = jsonRows(this.sql.dialect);
    await this.sql.transaction(async (tx) => {
      if (liveParams.length > 0) {
        await tx.run(
          `INSERT INTO device_live (serial, last_seen, agent_id, firmware)
           SELECT value->>0, value->>1, value->>2, value->>3 FROM ${rows} WHERE true
           ON CONFLICT (serial) DO UPDATE SET last_seen = excluded.last_seen, agent_id = excluded.agent_id,
             firmware = excluded.firmware`,
          [JSON.stringify(liveParams)],
        );
      }
      if (history.size > 0) {
        await tx.run(
          `INSERT INTO health_history (serial, slot, observed_at, replayed, record)
           SELECT value->>0, CAST(value->>1 AS INTEGER), value->>2, CAST(value->>3 AS INTEGER), value->>4
           FROM ${rows} WHERE true
           ON CONFLICT (serial, slot) DO UPDATE SET observed_at = excluded.observed_at, replayed = excluded.replayed,
             record = excluded.record`,
          [JSON.stringify([...history.values()])],
        );
      }
    });
  }
}

function toTransition(r: TransitionRow): StoredTransition {
  return {
    id: Number(r.id),
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
    inMaintenance: Number(r.in_maintenance) === 1,
    ...(r.fault_at !== null ? { faultAt: r.fault_at } : {}),
  };
}
