/**
 * Issue 16 "Done when": a network cut of one hub node from PostgreSQL (through a TCP proxy the test controls) makes
 * it drop its partitions BEFORE its leases end in the database; the other node takes them; after the cut heals, a
 * write the cut node attempts with its old epochs is refused (fencing) and nothing of it is written.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { StaleEpochError, withFence } from '../../hub/cluster/fencing.ts';
import { migrateCluster } from '../../hub/cluster/lease-schema.ts';
import { LeaseStore } from '../../hub/cluster/lease-store.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import { ClusterFixture, heldBy, isFairSplit, TEST_TIMING } from '../helpers/cluster-nodes.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { waitFor } from '../helpers/wait-for.ts';

let postgres: Postgres;
let fixture: ClusterFixture;
let proxy: TcpProxy | undefined;
beforeAll(async () => {
  postgres = await startPostgres();
  fixture = new ClusterFixture(postgres.url);
});
afterAll(async () => {
  await postgres?.close();
});
afterEach(async () => {
  proxy?.heal();
  await fixture.cleanup();
  await proxy?.close();
  proxy = undefined;
});

it('a node cut from PostgreSQL stops before its leases end; the other takes over; its stale writes are refused', async () => {
  const url = await fixture.freshSchema();
  const port = Number(new URL(postgres.url).port);
  proxy = await startTcpProxy({ host: '127.0.0.1', port });
  const viaProxy = url.replace(`127.0.0.1:${port}`, `127.0.0.1:${proxy.port}`);
  const a = fixture.makeNode('hub-a', viaProxy);
  const b = fixture.makeNode('hub-b', url);
  await Promise.all([a.manager.start(), b.manager.start()]);
  await waitFor(() => isFairSplit([a, b]), { what: 'an 8/8 split', timeoutMs: 20_000 });
  expect(proxy.connections()).toBeGreaterThan(0);
  const admin = fixture.openStore(url);
  await admin.exec('CREATE TABLE probe (partition INTEGER NOT NULL, epoch BIGINT NOT NULL, node TEXT NOT NULL)');
  const before = a.manager.heldLeases();

  // what the database says about a partition at the moment (just after) hub-a gave it up
  const atLost: Promise<{ partition: number; holder: string; epoch: string; live: boolean; remaining_ms: number }>[] =
    [];
  const onLost = (partition: number): void => {
    atLost.push(
      admin
        .query<{ partition: number; holder: string; epoch: string; live: boolean; remaining_ms: number }>(
          `SELECT partition, holder, epoch, expires_at > clock_timestamp() AS live,
             (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::float8 AS remaining_ms
           FROM cluster_leases WHERE partition = $1`,
          [partition],
        )
        .then((rows) => rows[0]!),
    );
  };
  a.manager.on('lost', onLost);
  const cutAt = Date.now();
  proxy.cut();
  await waitFor(() => a.lost.length === before.length, { what: 'hub-a to drop its partitions', timeoutMs: 20_000 });
  expect(a.lost.every((l) => l.reason === 'renew-deadline')).toBe(true);
  expect(a.manager.heldLeases()).toEqual([]);
  a.manager.off('lost', onLost);
  const seen = await Promise.all(atLost);
  for (const row of seen) {
    const held = before.find((l) => l.partition === row.partition);
    // still hub-a's, at the same epoch, and not ended: hub-a stopped acting before the database let anyone in
    expect({ holder: row.holder, epoch: Number(row.epoch), live: row.live }).toEqual({
      holder: 'hub-a',
      epoch: held?.epoch,
      live: true,
    });
  }
  expect(a.failures.length).toBeGreaterThan(0);

  await waitFor(() => heldBy(b).length === 16, { what: 'hub-b to take every partition', timeoutMs: 20_000 });
  const taken = b.acquired.filter((x) => x.at >= cutAt && before.some((l) => l.partition === x.partition));
  expect(taken).toHaveLength(before.length);
  for (const x of taken) expect(x.previous).toBe('hub-a');
  console.log(
    `cluster-figure cut: hub-a dropped its partitions ${Math.max(...a.lost.map((l) => l.at)) - cutAt} ms after the cut, ` +
      `at least ${Math.round(Math.min(...seen.map((r) => r.remaining_ms)))} ms before the database leases ended; ` +
      `hub-b held them ${Math.max(...taken.map((x) => x.at)) - cutAt} ms after the cut (leaseMs ${TEST_TIMING.leaseMs})`,
  );

  // heal: hub-a reaches PostgreSQL again and tries to write with the epochs it had
  proxy.heal();
  const refused: unknown[] = [];
  for (const lease of before) {
    await withFence(a.store, lease.partition, lease.epoch, (tx) =>
      tx.run('INSERT INTO probe (partition, epoch, node) VALUES ($1, $2, $3)', [lease.partition, lease.epoch, 'hub-a']),
    ).catch((err: unknown) => refused.push(err));
  }
  expect(refused).toHaveLength(before.length);
  for (const err of refused) expect(err).toBeInstanceOf(StaleEpochError);
  // the same write by the new holder, with its epoch, goes through: the probe can see writes
  const now = b.manager.heldLeases().find((l) => l.partition === before[0]!.partition)!;
  await withFence(b.store, now.partition, now.epoch, (tx) =>
    tx.run('INSERT INTO probe (partition, epoch, node) VALUES ($1, $2, $3)', [now.partition, now.epoch, 'hub-b']),
  );
  expect(await admin.query('SELECT partition, node FROM probe')).toEqual([{ partition: now.partition, node: 'hub-b' }]);

  // and hub-a, back, gets its fair share again through the normal rebalance (new epochs)
  await waitFor(() => isFairSplit([a, b]), { what: 'an 8/8 split after the heal', timeoutMs: 20_000 });
  for (const l of a.manager.heldLeases()) {
    expect(l.epoch).toBeGreaterThan(before.find((x) => x.partition === l.partition)?.epoch ?? 0);
  }
});

it('a node cut off in the middle of a fenced write blocks a takeover unless the server ends idle transactions', async () => {
  const url = await fixture.freshSchema();
  const port = Number(new URL(postgres.url).port);
  proxy = await startTcpProxy({ host: '127.0.0.1', port });
  const viaProxy = url.replace(`127.0.0.1:${port}`, `127.0.0.1:${proxy.port}`);
  const storeB = fixture.openStore(url);
  await migrateCluster(storeB);
  const leases = new LeaseStore(storeB);
  await leases.prepare(2);
  await storeB.exec('CREATE TABLE probe (partition INTEGER NOT NULL, epoch BIGINT NOT NULL)');
  const cutProxy = proxy;
  const isLeaseEnded = async (partition: number) =>
    (
      await storeB.query<{ ended: boolean }>(
        'SELECT expires_at <= clock_timestamp() AS ended FROM cluster_leases WHERE partition = $1',
        [partition],
      )
    )[0]?.ended;

  /** hub-a holds `partition`, opens a fenced write, and is cut off before it finishes. */
  async function cutMidWrite(store: SqlStore, partition: number) {
    const lease = await leases.acquire(partition, 'hub-a', 1_000);
    expect(lease?.epoch).toBe(1);
    let finish: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let isInside = false;
    const write = withFence(store, partition, 1, async (tx) => {
      isInside = true;
      await gate;
      await tx.run('INSERT INTO probe (partition, epoch) VALUES ($1, 1)', [partition]);
    }).then(
      () => 'committed',
      (err: unknown) => (err as Error).message,
    );
    await waitFor(() => isInside, { what: 'the fenced write to start' });
    cutProxy.cut();
    await waitFor(() => isLeaseEnded(partition), { what: 'the lease to end', timeoutMs: 10_000 });
    return { write, finish };
  }

  // 1. no server-side limit: the cut node's row lock keeps the lease row; the takeover waits until it times out
  const plain = new PostgresStore(viaProxy, { max: 1, queryTimeoutMs: 400 });
  const first = await cutMidWrite(plain, 0);
  await expect(leases.acquire(0, 'hub-b', 5_000)).rejects.toThrow(/timeout/i);
  first.finish();
  cutProxy.heal();
  await first.write;
  await plain.close().catch(() => undefined);

  // 2. idle_in_transaction_session_timeout: the server ends the cut node's session, its lock goes, hub-b takes over
  const guarded = new PostgresStore(viaProxy, { max: 1, queryTimeoutMs: 400, idleInTransactionTimeoutMs: 500 });
  const second = await cutMidWrite(guarded, 1);
  const taken = await waitFor(() => leases.acquire(1, 'hub-b', 5_000).catch(() => undefined), {
    what: 'hub-b to take partition 1',
    timeoutMs: 10_000,
  });
  expect(taken).toEqual({ epoch: 2, previous: 'hub-a' });
  second.finish();
  cutProxy.heal();
  expect(await second.write).not.toBe('committed');
  await guarded.close().catch(() => undefined);
  expect(await storeB.query('SELECT partition FROM probe WHERE partition = 1')).toEqual([]);
});
