/**
 * Issue 16: the outage store on the SqlStore. The same queries and ONE migration list on the embedded SQLite file and
 * on a real PostgreSQL 15: transitions (ids, JSON columns, the announced flag, each device's last one), the batched
 * flush (lastSeen upserts, the health-history ring, 1,200 rows in one batch, a device twice in a batch),
 * flapping state and open site alerts; the other nodes hear of transitions and site alerts through the change feed,
 * only once the write committed; and a SQLite file written by an earlier hub (hub/db.ts, all six steps) is accepted
 * as is.
 */
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { HubConfig } from '../../hub/config.ts';
import { migrate } from '../../hub/db.ts';
import { OUTAGE_FEED, OUTAGE_MIGRATIONS, OutageStore, SITE_ALERT_FEED } from '../../hub/outage/store.ts';
import { type ChangeFeed, NO_CHANGE_FEED } from '../../hub/store/change-feed.ts';
import { stepSql } from '../../hub/store/migrations.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import type { DeviceTransition } from '../../hub/types.ts';
import { sharedRaisedSiteAlerts } from '../../hub/ws/shared-site-alerts.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { useSqlStores } from '../helpers/sql-stores.ts';

const stores = useSqlStores();

const transition = (serial: string, to: DeviceTransition['to'], at: string): DeviceTransition => ({
  serial,
  site: 'site-a',
  customer: 'acme',
  agentId: 'agent-1',
  from: 'up',
  to,
  at,
  reason: to === 'down' ? 'all-channels-failed' : 'recovered',
  evidence: ['rest: timeout', 'snmp: timeout'],
  problems: to === 'down' ? ['unreachable'] : [],
  inMaintenance: false,
  ...(to === 'down' ? { faultAt: '2026-03-02T09:59:40.000Z' } : {}),
});

/** A feed that records what was notified, and whether the writing transaction had committed by then. */
function recordingFeed(): ChangeFeed & { sent: string[] } {
  const sent: string[] = [];
  return {
    ...NO_CHANGE_FEED,
    sent,
    async notify(store, key, tx) {
      // inside the writer's transaction, as the PostgreSQL feed does (NOTIFY is delivered on commit)
      expect(tx).toBeDefined();
      sent.push(`${store}:${key}`);
    },
  };
}

describe.each(['sqlite', 'postgres'] as const)('outage store on %s', (dialect) => {
  it('stores transitions, the flush, flapping state and site alerts the same way on both dialects', async () => {
    const sql = await stores.make(dialect);
    const feed = recordingFeed();
    const store = new OutageStore(sql, 3, feed);
    await store.migrate();
    await store.migrate(); // a second start applies nothing

    const id1 = await store.insertTransition(transition('SN-1', 'down', '2026-03-02T10:00:00.000Z'));
    const id2 = await store.insertTransition(transition('SN-1', 'up', '2026-03-02T10:05:00.000Z'));
    const id3 = await store.insertTransition(transition('SN-2', 'down', '2026-03-02T10:06:00.000Z'));
    expect([id1, id2, id3].every((id) => typeof id === 'number')).toBe(true);
    expect(id2).toBeGreaterThan(id1);
    expect(feed.sent).toEqual([`${OUTAGE_FEED}:SN-1`, `${OUTAGE_FEED}:SN-1`, `${OUTAGE_FEED}:SN-2`]);

    // every device's LAST transition, when not announced
    expect((await store.unannounced()).map((t) => [t.serial, t.to])).toEqual([
      ['SN-1', 'up'],
      ['SN-2', 'down'],
    ]);
    await store.markAnnounced(id2, 'SN-1');
    expect((await store.unannounced()).map((t) => t.id)).toEqual([id3]);
    expect(await store.unannounced('SN-1')).toEqual([]);
    expect((await store.unannounced('SN-2'))[0]).toMatchObject({ id: id3, faultAt: '2026-03-02T09:59:40.000Z' });

    const history = await store.transitions('SN-1', 10);
    expect(history.map((t) => t.to)).toEqual(['up', 'down']);
    expect(history[1]).toEqual({ id: id1, ...transition('SN-1', 'down', '2026-03-02T10:00:00.000Z') });
    expect((await store.transitions('SN-1', 1)).map((t) => t.id)).toEqual([id2]);

    const last = await store.lastStates();
    expect(last.map((d) => [d.serial, d.state]).sort()).toEqual([
      ['SN-1', 'up'],
      ['SN-2', 'down'],
    ]);
    expect(last.find((d) => d.serial === 'SN-2')).toMatchObject({
      faultAt: '2026-03-02T09:59:40.000Z',
      problems: ['unreachable'],
      sinceMs: Date.parse('2026-03-02T10:06:00.000Z'),
    });
    expect((await store.lastStates('SN-1')).map((d) => d.state)).toEqual(['up']);

    // The flush: 1,200 devices' lastSeen in one batch, a device twice (last wins)
    const live = Array.from(
      { length: 1200 },
      (_, i): [string, { lastSeen: string; agentId: string; firmware: null }] => [
        `D-${i}`,
        { lastSeen: '2026-03-02T10:00:00.000Z', agentId: 'agent-1', firmware: null },
      ],
    );
    live.push(['D-0', { lastSeen: '2026-03-02T10:00:05.000Z', agentId: 'agent-2', firmware: null }]);
    // ...and five records of one device into a ring of three: the three newest stay, newest first
    const records = [1, 2, 3, 4, 5].map((n) =>
      makeHealthRecord({ serial: 'SN-1', seq: n, at: `2026-03-02T10:00:0${n}.000Z` }),
    );
    await store.flush(
      live,
      records.map((record) => ({ record, json: JSON.stringify(record) })),
    );
    const seen = await store.liveInfo();
    expect(seen.size).toBe(1200);
    expect(seen.get('D-0')).toEqual({ lastSeen: '2026-03-02T10:00:05.000Z', agentId: 'agent-2', firmware: null });
    expect([...(await store.liveInfo('2026-03-02T10:00:00.001Z')).keys()]).toEqual(['D-0']);
    expect((await store.liveInfo('2026-03-02T10:00:05.000Z')).size).toBe(1); // at or after
    expect(await store.recentRecords('SN-1')).toEqual([records[4], records[3], records[2]]);
    // a later flush goes on round the ring
    const sixth = makeHealthRecord({ serial: 'SN-1', seq: 6, at: '2026-03-02T10:00:06.000Z' });
    await store.flush(
      [],
      [{ serial: 'SN-1', observedAt: sixth.observedAt, replayed: true, json: JSON.stringify(sixth) }],
    );
    expect((await store.recentRecords('SN-1')).map((r) => r.seq)).toEqual([6, 5, 4]);
    await store.flush([], []); // nothing to write: no statement

    feed.sent.length = 0;
    await store.saveFlapState('SN-1', [1000, 2000], true);
    await store.saveFlapState('SN-1', [1000, 2000, 3000], true);
    await store.saveFlapState('SN-2', [], false);
    expect(await store.flapStates()).toEqual(
      new Map([
        ['SN-1', { flapEvents: [1000, 2000, 3000], isFlapping: true }],
        ['SN-2', { flapEvents: [], isFlapping: false }],
      ]),
    );
    expect([...(await store.flapStates('SN-2')).keys()]).toEqual(['SN-2']);

    await store.saveOpenSiteAlert('agent-1', 'site-a', ['SN-1', 'SN-2'], '2026-03-02T10:07:00.000Z');
    await store.saveOpenSiteAlert('agent-1', 'site-a', ['SN-1', 'SN-2', 'SN-3'], '2026-03-02T10:08:00.000Z');
    await store.saveOpenSiteAlert('agent-9', 'site-z', ['SN-9'], '2026-03-02T10:09:00.000Z');
    expect(await store.openSiteAlerts('agent-1')).toEqual([
      { agentId: 'agent-1', site: 'site-a', serials: ['SN-1', 'SN-2', 'SN-3'], at: '2026-03-02T10:08:00.000Z' },
    ]);
    await store.deleteOpenSiteAlert('agent-1');
    expect((await store.openSiteAlerts()).map((a) => a.agentId)).toEqual(['agent-9']);
    expect(feed.sent).toEqual([
      `${OUTAGE_FEED}:SN-1`,
      `${OUTAGE_FEED}:SN-1`,
      `${OUTAGE_FEED}:SN-2`,
      `${SITE_ALERT_FEED}:agent-1`,
      `${SITE_ALERT_FEED}:agent-1`,
      `${SITE_ALERT_FEED}:agent-9`,
      `${SITE_ALERT_FEED}:agent-1`,
    ]);
  });

  it('a failed notification rolls the transition back (nothing stored that the other nodes would not hear of)', async () => {
    const sql: SqlStore = await stores.make(dialect);
    const failing: ChangeFeed = {
      ...NO_CHANGE_FEED,
      notify: () => Promise.reject(new Error('feed down')),
    };
    const store = new OutageStore(sql, 3, failing);
    await store.migrate();
    await expect(store.insertTransition(transition('SN-1', 'down', '2026-03-02T10:00:00.000Z'))).rejects.toThrow(
      'feed down',
    );
    expect(await store.transitions('SN-1', 10)).toEqual([]);
  });
});

describe('outage store: a SQLite file of an earlier hub', () => {
  it('is accepted as is: its six migrations (hub/db.ts) count, its rows are read', async () => {
    const file = stores.sqliteFile();
    const db = new Database(file);
    db.exec(
      'CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (module, version))',
    );
    migrate(
      db,
      'outage',
      OUTAGE_MIGRATIONS.map((step) => stepSql(step, 'sqlite')),
    );
    db.prepare(
      `INSERT INTO device_transitions (serial, site, customer, agent_id, from_state, to_state, at, reason, evidence,
         problems, in_maintenance, fault_at, announced)
       VALUES ('OLD-1', 'site-a', 'acme', 'agent-1', 'up', 'down', '2026-01-01T00:00:00.000Z', 'all-channels-failed',
         '[]', '["unreachable"]', 0, NULL, 1)`,
    ).run();
    const store = new OutageStore(new SqliteStore(db), 3);
    await store.migrate();
    expect(db.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE module = 'outage'").get()).toEqual({ n: 6 });
    expect((await store.lastStates()).map((d) => [d.serial, d.state])).toEqual([['OLD-1', 'down']]);
    expect(await store.unannounced()).toEqual([]);
    db.close();
  });
});

describe('live stream snapshot on a shared store', () => {
  it("starts with every node's raised site-network-down alerts (none read on a single node)", async () => {
    const url = await stores.postgresUrl();
    const sql = await stores.make('postgres');
    const written = new OutageStore(sql, 3);
    await written.migrate();
    await written.saveOpenSiteAlert('agent-a', 'site-a', ['SN-1', 'SN-2'], '2026-03-02T10:07:00.000Z');
    const base = { version: 1, api: { token: 'admin-token-0123456789abcdef' } };
    const logger = pino({ level: 'silent' });
    const shared = HubConfig.parse({ ...base, database: { url } });
    expect(await sharedRaisedSiteAlerts({ config: shared, sql, logger })).toEqual([
      {
        site: 'site-a',
        agentId: 'agent-a',
        status: 'raised',
        at: '2026-03-02T10:07:00.000Z',
        reason: 'site-network-down',
        serials: ['SN-1', 'SN-2'],
      },
    ]);
    expect(await sharedRaisedSiteAlerts({ config: HubConfig.parse(base), sql, logger })).toEqual([]);
  });
});
