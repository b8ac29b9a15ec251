/**
 * Issue 16: outage state on a store shared by two hub nodes. Two detection slices (real ingest, detector, outage
 * module, site grouper) on one real PostgreSQL 15, each with its own LISTEN/NOTIFY change feed; only node A gets the
 * agent's records. A's transitions and its site-network-down alert reach B's device views (`device`) and B's live
 * stream (`site-alert-followed`) without B announcing anything (no `device-state`, no `site-alert`: no ticket or
 * incident on B), A's lastSeen reaches B once per flush, and B never calls A's devices stale however long it waits. When A dies while its site grouper holds
 * stored `down`s and B takes the partition over, B announces them once, as one site alert.
 */
import { pino } from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterService } from '../../hub/context.ts';
import { PgChangeFeed } from '../../hub/store/change-feed-pg.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import type { DeviceView, SiteAlert } from '../../hub/types.ts';
import { systemClock } from '../../protocols/clock.ts';
import { type DetectionSlice, startDetectionSlice } from '../helpers/detection-slice.ts';
import { makeHealthRecord, makeHeartbeat } from '../helpers/health-record.ts';
import { useSqlStores } from '../helpers/sql-stores.ts';
import { waitFor } from '../helpers/wait-for.ts';

const stores = useSqlStores();
const START = '2026-03-02T10:00:00.000Z';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A node's partition leases, as the cluster module would say: `held` is changed by the test (a takeover). */
function leases(held: boolean): ClusterService & { held: boolean } {
  const service = {
    held,
    health: () => ({ node: 'n', partitions: service.held ? [0] : [], liveNodes: 2 }),
    epochOf: (_partition: number) => (service.held ? 1 : undefined),
  };
  return service;
}

interface Node {
  slice: DetectionSlice;
  cluster: ClusterService & { held: boolean };
  /** What B showed of other nodes' work: `device` views and followed site alerts. */
  shown: DeviceView[];
  followedAlerts: SiteAlert[];
  /** The feed's connection is gone (the node died): nothing more reaches or leaves it through the feed. */
  kill(): Promise<void>;
}

async function startNode(url: string, name: string, holds: boolean): Promise<Node> {
  const sql = new PostgresStore(url, { max: 2 });
  const changeFeed = new PgChangeFeed({
    url,
    node: name,
    sql,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    metrics: new MetricsRegistry(),
  });
  const cluster = leases(holds);
  const slice = await startDetectionSlice({
    start: START,
    shared: { sql, changeFeed, databaseUrl: url, cluster, partitions: 1 },
  });
  let isDead = false;
  cleanups.push(async () => {
    if (!isDead) await slice.stop();
    else slice.ctx.db.close();
    await sql.close();
  });
  const shown: DeviceView[] = [];
  const followedAlerts: SiteAlert[] = [];
  slice.ctx.bus.on('device', (d) => shown.push(d));
  slice.ctx.bus.on('site-alert-followed', (a) => followedAlerts.push(a));
  return {
    slice,
    cluster,
    shown,
    followedAlerts,
    async kill() {
      isDead = true;
      await slice.settle();
      await changeFeed.close();
    },
  };
}

const SERIALS = ['SN-1', 'SN-2', 'SN-3', 'SN-4', 'SN-5'];
let seq = 0;

/** One poll of the agent on `node`: a heartbeat and a record per device (`dead` ones unreachable). */
async function poll(node: Node, dead: readonly string[], serials = SERIALS, agentId = 'agent-1'): Promise<void> {
  const { slice } = node;
  slice.sendHeartbeat(makeHeartbeat({ agentId, at: slice.clock.now() }));
  for (const serial of serials) {
    const reachable = !dead.includes(serial);
    slice.sendHealth(makeHealthRecord({ serial, agentId, seq: ++seq, at: slice.clock.now(), reachable }));
  }
  await slice.settle();
  slice.clock.advance(10_000);
  await slice.settle();
}

describe('outage state followed by another hub node (PostgreSQL + change feed)', () => {
  it("B shows A's transitions and site alert, announces none, and never calls A's devices stale", async () => {
    const url = await stores.postgresUrl();
    const a = await startNode(url, 'node-a', true);
    const b = await startNode(url, 'node-b', false);

    await poll(a, []);
    await waitFor(() => SERIALS.every((s) => b.slice.outage.get(s)?.state === 'up'), {
      what: 'B shows every device up',
    });
    expect(b.slice.outage.get('SN-1')).toMatchObject({ site: 'site-a', customer: 'acme', state: 'up' });
    // lastSeen follows too, once per flush of A (no transition needed)
    await poll(a, []);
    const seenOnA = a.slice.outage.get('SN-2')?.lastSeen;
    expect(seenOnA).toBe(new Date(a.slice.clock.now() - 10_000).toISOString());
    await waitFor(() => b.slice.outage.get('SN-2')?.lastSeen === seenOnA, { what: "B's lastSeen of SN-2" });

    // SN-1 dies alone: A detects it (after its hold), B shows it down.
    for (let i = 0; i < 3; i++) await poll(a, ['SN-1']);
    expect(a.slice.outage.get('SN-1')?.state).toBe('down');
    await waitFor(() => b.shown.some((d) => d.serial === 'SN-1' && d.state === 'down'), { what: "B's SN-1 down" });
    expect(b.slice.outage.get('SN-1')).toMatchObject({ state: 'down', reason: a.slice.outage.get('SN-1')?.reason });

    // The room's network goes: the four others die together -> one site-network-down alert on A, shown on B.
    for (let i = 0; i < 4; i++) await poll(a, SERIALS);
    expect(a.slice.alerts.filter((x) => x.reason === 'site-network-down')).toHaveLength(1);
    await waitFor(() => b.followedAlerts.some((x) => x.status === 'raised' && x.reason === 'site-network-down'), {
      what: "B's followed site alert",
    });
    await waitFor(() => SERIALS.every((s) => b.slice.outage.get(s)?.state === 'down'), { what: 'B: all down' });

    // B waits a long time with no record of A's devices: it is not B's partition, so nothing goes stale on B.
    for (let i = 0; i < 60; i++) b.slice.clock.advance(10_000);
    await b.slice.settle();
    expect(SERIALS.map((s) => b.slice.outage.get(s)?.state)).toEqual(SERIALS.map(() => 'down'));

    // Back: A clears the alert; B shows it cleared and every device up.
    for (let i = 0; i < 2; i++) await poll(a, []);
    await waitFor(() => b.followedAlerts.some((x) => x.status === 'cleared'), { what: "B's followed alert cleared" });
    await waitFor(() => SERIALS.every((s) => b.slice.outage.get(s)?.state === 'up'), { what: 'B: all up again' });

    // B announced nothing of A's as its own: no device-state, no site-alert (so no ticket, incident, notification).
    expect(b.slice.transitions).toEqual([]);
    expect(b.slice.alerts).toEqual([]);
    expect(
      a.slice.transitions
        .filter((t) => t.to === 'down')
        .map((t) => t.serial)
        .sort(),
    ).toEqual(SERIALS);
  });

  it('A dies while its grouper holds stored downs: B takes over and announces them once, as one site alert', async () => {
    const url = await stores.postgresUrl();
    const a = await startNode(url, 'node-a', true);
    const b = await startNode(url, 'node-b', false);
    const room = ['RM-1', 'RM-2', 'RM-3', 'RM-4', 'RM-5'];
    const dying = room.slice(0, 4);
    await poll(a, [], room, 'agent-2');
    await poll(a, dying, room, 'agent-2');
    await poll(a, dying, room, 'agent-2');
    // stored on A (B shows them down) but held by A's grouper: not announced anywhere yet
    await waitFor(() => dying.every((s) => b.slice.outage.get(s)?.state === 'down'), { what: 'B shows the downs' });
    expect(a.slice.transitions.filter((t) => t.to === 'down')).toEqual([]);
    await a.kill();

    // B holds the partition now and gets the agent's records (the broker kept them for the partition's session).
    b.cluster.held = true;
    b.slice.clock.advance(20_000); // records arrive within the freshness deadline: nothing goes stale meanwhile
    await b.slice.settle();
    expect(b.slice.transitions).toEqual([]);
    for (let i = 0; i < 3; i++) await poll(b, dying, room, 'agent-2');
    const downs = b.slice.transitions.filter((t) => t.to === 'down');
    expect(downs.map((t) => t.serial).sort()).toEqual(dying);
    expect(downs.every((t) => t.groupedInSiteAlert === true)).toBe(true);
    expect(b.slice.alerts.map((x) => `${x.status}:${x.reason}`)).toEqual(['raised:site-network-down']);

    // once announced, never again: more records change nothing
    await poll(b, dying, room, 'agent-2');
    expect(b.slice.transitions.filter((t) => t.to === 'down')).toHaveLength(dying.length);
  });

  it('after a takeover, a device whose records never come is called stale by the new holder, after a full deadline', async () => {
    const url = await stores.postgresUrl();
    const a = await startNode(url, 'node-a', true);
    const b = await startNode(url, 'node-b', false);
    await poll(a, [], ['LONE-1'], 'agent-3');
    await waitFor(() => b.slice.outage.get('LONE-1')?.state === 'up', { what: "B's LONE-1 up" });
    await a.kill();
    // B had no partition: A's device is not B's to call stale, however long
    for (let i = 0; i < 12; i++) b.slice.clock.advance(10_000);
    await b.slice.settle();
    expect(b.slice.transitions).toEqual([]);
    // B takes the partition: the device's records get the freshness deadline (3 polls of 10 s) from the takeover
    b.cluster.held = true;
    for (let i = 0; i < 5; i++) b.slice.clock.advance(5_000);
    await b.slice.settle();
    expect(b.slice.transitions).toEqual([]);
    for (let i = 0; i < 2; i++) b.slice.clock.advance(5_000);
    await b.slice.settle();
    expect(b.slice.transitions.map((t) => `${t.serial}:${t.to}:${t.reason}`)).toEqual(['LONE-1:unknown:stale']);
  });

  it("after a takeover, A's held downs whose records never come are announced by B once the deadline passed", async () => {
    const url = await stores.postgresUrl();
    const a = await startNode(url, 'node-a', true);
    const b = await startNode(url, 'node-b', false);
    const room = ['GONE-1', 'GONE-2', 'GONE-3', 'GONE-4', 'GONE-5'];
    const dying = room.slice(0, 4);
    await poll(a, [], room, 'agent-4');
    await poll(a, dying, room, 'agent-4');
    await poll(a, dying, room, 'agent-4');
    await waitFor(() => dying.every((s) => b.slice.outage.get(s)?.state === 'down'), { what: 'B shows the downs' });
    expect(a.slice.transitions.filter((t) => t.to === 'down')).toEqual([]);
    await a.kill(); // ...and the agent is gone with the room: no record will come

    b.cluster.held = true;
    for (let i = 0; i < 5; i++) b.slice.clock.advance(5_000); // within the deadline: nothing yet
    await b.slice.settle();
    expect(b.slice.transitions).toEqual([]);
    for (let i = 0; i < 8; i++) b.slice.clock.advance(5_000);
    await b.slice.settle();
    const downs = b.slice.transitions.filter((t) => t.to === 'down');
    expect(downs.map((t) => t.serial).sort()).toEqual(dying);
    expect(b.slice.alerts.filter((x) => x.reason === 'site-network-down')).toHaveLength(1);
  });
});
