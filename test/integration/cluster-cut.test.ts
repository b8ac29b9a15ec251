/**
 * Issue 16 "Done when": a network cut of one hub node from PostgreSQL (through a TCP proxy the test controls) makes
 * it drop its partitions BEFORE its leases end in the database; the other node takes them; after the cut heals, a
 * write the cut node attempts with its old epochs is refused (fencing) and nothing of it is written.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { StaleEpochError, withFence } from '../../hub/cluster/fencing.ts';
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
