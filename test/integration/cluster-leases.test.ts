/**
 * Issue 16: partition leases in a real PostgreSQL 15 (started by the test). Lease managers share one database:
 * they split the partitions fairly, take over from a killed node, make room for a joining node, and fencing makes a
 * write with a stale epoch fail (and serialises with a takeover). The network cut through a proxy is in
 * cluster-cut.test.ts. Measured figures are printed as `cluster-figure` lines.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fenced, StaleEpochError, withFence } from '../../hub/cluster/fencing.ts';
import { migrateCluster } from '../../hub/cluster/lease-schema.ts';
import { LeaseStore } from '../../hub/cluster/lease-store.ts';
import { ClusterFixture, heldBy, isFairSplit, TEST_TIMING } from '../helpers/cluster-nodes.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait-for.ts';

const TIMING = TEST_TIMING;
const N = 16;

let postgres: Postgres;
let fixture: ClusterFixture;
beforeAll(async () => {
  postgres = await startPostgres();
  fixture = new ClusterFixture(postgres.url);
});
afterAll(async () => {
  await postgres?.close();
});
afterEach(() => fixture.cleanup());

const freshSchema = () => fixture.freshSchema();
const openStore = (url: string) => fixture.openStore(url);
const makeNode = (name: string, url: string, partitions?: number) => fixture.makeNode(name, url, partitions);
const dbHolders = (url: string) => fixture.dbHolders(url);

describe('partition leases on PostgreSQL', () => {
  it('two, then three managers split the partitions fairly; the database agrees with each node', async () => {
    const url = await freshSchema();
    const a = makeNode('hub-a', url);
    const b = makeNode('hub-b', url);
    await Promise.all([a.manager.start(), b.manager.start()]);
    await waitFor(() => isFairSplit([a, b]), { what: 'a 8/8 split', timeoutMs: 20_000 });
    expect(heldBy(a)).toHaveLength(8);
    const c = makeNode('hub-c', url);
    const joinedAt = Date.now();
    await c.manager.start();
    await waitFor(() => isFairSplit([a, b, c]), { what: 'a 6/5/5 split', timeoutMs: 20_000 });
    const counts = [a, b, c].map((n) => heldBy(n).length).sort();
    expect(counts).toEqual([5, 5, 6]);
    const holders = await dbHolders(url);
    for (const node of [a, b, c]) {
      for (const p of heldBy(node)) expect(holders.get(p)).toBe(node.manager.node);
    }
    // the partitions moved to hub-c were given up first (lost 'rebalance') and then acquired with a new epoch
    expect(c.acquired.every((x) => x.previous !== 'hub-c')).toBe(true);
    const moved = [...a.lost, ...b.lost].filter((l) => l.reason === 'rebalance' && l.at >= joinedAt);
    const movedPartitions = moved.map((l) => l.partition);
    expect(c.acquired.length).toBeGreaterThanOrEqual(5);
    for (const x of c.acquired) expect(movedPartitions).toContain(x.partition);
    const gaps = c.acquired.map((x) => x.at - (moved.find((l) => l.partition === x.partition)?.at ?? x.at));
    console.log(`cluster-figure join gap: max ${Math.max(...gaps)} ms (renewMs ${TIMING.renewMs})`);
  });

  it('a killed node (stops renewing, releases nothing) loses its partitions to the others after its lease', async () => {
    const url = await freshSchema();
    const a = makeNode('hub-a', url);
    const b = makeNode('hub-b', url);
    const c = makeNode('hub-c', url);
    await Promise.all([a.manager.start(), b.manager.start(), c.manager.start()]);
    await waitFor(() => isFairSplit([a, b, c]), { what: 'a fair split', timeoutMs: 20_000 });
    const victims = new Map(a.manager.heldLeases().map((l) => [l.partition, l.epoch]));
    const killedAt = Date.now();
    await a.manager.halt();
    // when hub-a's leases end by the database's clock (nothing renews them any more)
    const endsBefore = await fixture
      .openStore(url)
      .query<{ partition: number; ends: Date }>(
        "SELECT partition, expires_at AS ends FROM cluster_leases WHERE holder = 'hub-a' ORDER BY partition",
      );
    expect(endsBefore.map((r) => r.partition)).toEqual([...victims.keys()].sort((x, y) => x - y));
    await waitFor(() => isFairSplit([b, c]), { what: 'b and c to take hub-a partitions', timeoutMs: 20_000 });
    const taken = [...b.acquired, ...c.acquired].filter((x) => x.at >= killedAt && victims.has(x.partition));
    expect(taken.map((x) => x.partition).sort()).toEqual([...victims.keys()].sort());
    for (const x of taken) {
      expect(x.previous).toBe('hub-a');
      expect(x.epoch).toBe((victims.get(x.partition) ?? 0) + 1);
    }
    const takeoverMs = Math.max(...taken.map((x) => x.at)) - killedAt;
    console.log(`cluster-figure takeover after kill: ${takeoverMs} ms (leaseMs ${TIMING.leaseMs})`);
    // the dead node's partitions were never taken while its lease was running (both by the database's clock)
    const acquiredAt = await fixture
      .openStore(url)
      .query<{ partition: number; at: Date }>('SELECT partition, acquired_at AS at FROM cluster_leases');
    for (const end of endsBefore) {
      const at = acquiredAt.find((r) => r.partition === end.partition)?.at;
      expect(at?.getTime()).toBeGreaterThanOrEqual(end.ends.getTime());
    }
  });

  it('a node stopping cleanly hands its partitions over without waiting for the lease', async () => {
    const url = await freshSchema();
    const a = makeNode('hub-a', url);
    const b = makeNode('hub-b', url);
    await Promise.all([a.manager.start(), b.manager.start()]);
    await waitFor(() => isFairSplit([a, b]), { what: 'a fair split', timeoutMs: 20_000 });
    const mine = heldBy(a);
    await a.manager.stop();
    expect(a.lost.filter((l) => l.reason === 'stopping').map((l) => l.partition)).toEqual(mine);
    expect(a.manager.heldLeases()).toEqual([]);
    await waitFor(() => heldBy(b).length === N, { what: 'b to hold all', timeoutMs: 20_000 });
    expect(b.acquired.filter((x) => mine.includes(x.partition)).every((x) => x.previous === null)).toBe(true);
  });

  it('a second process with the same node id is refused while the first one is alive', async () => {
    const url = await freshSchema();
    const a = makeNode('hub-a', url);
    await a.manager.start();
    const twin = makeNode('hub-a', url);
    await twin.manager.start();
    expect(twin.failures.map((e) => e.message)).toEqual([
      'node id "hub-a" is in use by another running hub (cluster_nodes)',
    ]);
    expect(twin.manager.heldLeases()).toEqual([]);
  });

  it('a node configured with another partition count is refused, naming the field', async () => {
    const url = await freshSchema();
    await makeNode('hub-a', url).manager.start();
    await expect(makeNode('hub-b', url, 8).manager.start()).rejects.toThrow(
      /cluster.partitions: expected 16 \(the count the cluster's database was started with\), got 8/,
    );
  });
});

describe('fencing', () => {
  it('a fenced write and a takeover serialise on the lease row; the old epoch is refused afterwards', async () => {
    const url = await freshSchema();
    // this test holds a transaction and a waiting statement open on purpose: no timeouts
    const storeA = fixture.openStore(url, { max: 3 });
    const storeB = fixture.openStore(url, { max: 3 });
    await migrateCluster(storeA);
    const leases = new LeaseStore(storeA);
    await leases.prepare(4);
    await storeA.exec('CREATE TABLE probe (partition INTEGER, epoch BIGINT, what TEXT)');
    const first = await leases.acquire(0, 'hub-a', 1_000);
    expect(first).toEqual({ epoch: 1, previous: null });

    let releaseWrite: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      releaseWrite = resolve;
    });
    let isFenceChecked = false;
    let takeover: Promise<{ epoch: number; previous: string | null } | undefined> | undefined;
    const write = withFence(storeA, 0, 1, async (tx) => {
      isFenceChecked = true;
      await gate;
      await tx.run("INSERT INTO probe VALUES (0, 1, 'before takeover')");
    });
    try {
      await waitFor(() => isFenceChecked, { what: 'the fence check' });
      // the lease ends (database clock) while the write's transaction still holds the row
      const admin = openStore(postgres.url);
      await waitFor(
        async () =>
          (
            await storeB.query<{ ended: boolean }>(
              'SELECT expires_at <= clock_timestamp() AS ended FROM cluster_leases WHERE partition = 0',
            )
          )[0]?.ended,
        { what: 'the lease to end', timeoutMs: 10_000 },
      );
      takeover = new LeaseStore(storeB).acquire(0, 'hub-b', 5_000);
      await waitFor(
        async () =>
          (
            await admin.query<{ n: string }>(
              "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%cluster_leases%'",
            )
          )[0]?.n === '1',
        { what: 'the takeover to wait for the write' },
      );
    } finally {
      releaseWrite();
    }
    await write;
    expect(await takeover).toEqual({ epoch: 2, previous: 'hub-a' });

    const stale = withFence(storeA, 0, 1, (tx) => tx.run("INSERT INTO probe VALUES (0, 1, 'after takeover')"));
    await expect(stale).rejects.toBeInstanceOf(StaleEpochError);
    await expect(stale).rejects.toThrow('partition 0: write with fencing epoch 1 refused: the current epoch is 2');
    await withFence(storeB, 0, 2, (tx) => tx.run("INSERT INTO probe VALUES (0, 2, 'new holder')"));
    expect(await storeA.query('SELECT partition, epoch::int AS epoch, what FROM probe ORDER BY epoch')).toEqual([
      { partition: 0, epoch: 1, what: 'before takeover' },
      { partition: 0, epoch: 2, what: 'new holder' },
    ]);
  });

  it('a write under an ended lease, a released lease or an unknown partition is refused', async () => {
    const url = await freshSchema();
    const store = openStore(url);
    await migrateCluster(store);
    const leases = new LeaseStore(store);
    await leases.prepare(2);
    const got = await leases.acquire(1, 'hub-a', 60_000);
    expect(got?.epoch).toBe(1);
    await store.transaction((tx) => fenced(tx, 1, 1));
    expect(await leases.release('hub-a', { partition: 1, epoch: 1 })).toBe(true);
    await expect(store.transaction((tx) => fenced(tx, 1, 1))).rejects.toThrow(/the lease has ended/);
    await expect(store.transaction((tx) => fenced(tx, 7, 1))).rejects.toThrow(/partition 7: .* no such partition/);
  });
});
