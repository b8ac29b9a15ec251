/**
 * Issue 16, leases and broker together: two nodes on one PostgreSQL and one Mosquitto, each holding the MQTT
 * sessions of its partitions. One node is cut from PostgreSQL (proxy): it drops its partitions and closes their
 * sessions; what agents publish meanwhile is queued by the broker and delivered to the node that takes them over.
 * Every message reaches a node that held its partition at that moment; none is lost.
 */
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { PartitionSessions } from '../../hub/cluster/partition-sessions.ts';
import { partitionOf } from '../../hub/cluster/partitions.ts';
import { systemClock } from '../../protocols/clock.ts';
import { topics } from '../../protocols/topics.ts';
import { ClusterFixture, heldBy, isFairSplit, type TestNode } from '../helpers/cluster-nodes.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { waitFor } from '../helpers/wait-for.ts';

const N = 16;
const SITES = Array.from({ length: 32 }, (_, i) => `site-${i}`);

let postgres: Postgres;
let broker: Mosquitto;
let fixture: ClusterFixture;
let proxy: TcpProxy | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  [postgres, broker] = await Promise.all([startPostgres(), startMosquitto()]);
  fixture = new ClusterFixture(postgres.url);
});
afterAll(async () => {
  await Promise.all([postgres?.close(), broker?.close()]);
});
afterEach(async () => {
  proxy?.heal();
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  await fixture.cleanup();
  await proxy?.close();
});

interface Delivery {
  node: string;
  partition: number;
  epoch: number;
  payload: string;
}

function withSessions(node: TestNode, deliveries: Delivery[]): PartitionSessions {
  const sessions = new PartitionSessions({
    manager: node.manager,
    partitions: N,
    sites: () => SITES,
    urls: [broker.url],
    clientIdPrefix: `fo-${process.pid}`,
    reconnectMs: 200,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    onMessage: (partition, epoch, _topic, payload) =>
      deliveries.push({ node: node.manager.node, partition, epoch, payload: payload.toString() }),
  });
  cleanups.push(() => sessions.stop());
  return sessions;
}

it('a node cut from PostgreSQL hands its partitions and their queued messages to the other node', async () => {
  const url = await fixture.freshSchema();
  const port = Number(new URL(postgres.url).port);
  proxy = await startTcpProxy({ host: '127.0.0.1', port });
  const a = fixture.makeNode('hub-a', url.replace(`127.0.0.1:${port}`, `127.0.0.1:${proxy.port}`));
  const b = fixture.makeNode('hub-b', url);
  const deliveries: Delivery[] = [];
  const sa = withSessions(a, deliveries);
  const sb = withSessions(b, deliveries);
  sa.start();
  sb.start();
  await Promise.all([a.manager.start(), b.manager.start()]);
  await waitFor(() => isFairSplit([a, b]), { what: 'an 8/8 split', timeoutMs: 20_000 });
  await waitFor(() => sa.connected().length === 8 && sb.connected().length === 8, {
    what: 'every partition session connected',
    timeoutMs: 20_000,
  });
  expect(sa.connected()).toEqual(heldBy(a));

  const publisher = await mqtt.connectAsync(broker.url, { clientId: 'fo-agent', protocolVersion: 4 });
  cleanups.push(() => publisher.endAsync());
  const publishAll = async (phase: string) => {
    for (const site of SITES)
      await publisher.publishAsync(topics.heartbeat(site, 'agent-1'), `${phase}/${site}`, { qos: 1 });
  };
  await publishAll('before');
  const aHeld = heldBy(a);
  proxy.cut();
  await waitFor(() => a.manager.heldLeases().length === 0, { what: 'hub-a to drop its partitions', timeoutMs: 20_000 });
  await waitFor(() => sa.connected().length === 0, { what: 'hub-a to close its sessions' });
  await publishAll('gap');
  await waitFor(() => heldBy(b).length === N && sb.connected().length === N, {
    what: 'hub-b to hold and connect every partition',
    timeoutMs: 20_000,
  });
  await publishAll('after');
  await waitFor(() => new Set(deliveries.map((d) => d.payload)).size === 3 * SITES.length, {
    what: () => `every message delivered (${new Set(deliveries.map((d) => d.payload)).size}/${3 * SITES.length})`,
    timeoutMs: 20_000,
  });
  for (const d of deliveries) {
    const site = d.payload.split('/')[1]!;
    expect(d.partition).toBe(partitionOf(site, N));
    if (d.payload.startsWith('gap/') || d.payload.startsWith('after/')) expect(d.node).toBe('hub-b');
  }
  // the gap messages of hub-a's partitions were queued by the broker for the partition's session
  const gapOfA = deliveries.filter((d) => d.payload.startsWith('gap/') && aHeld.includes(d.partition));
  expect(gapOfA.length).toBeGreaterThan(0);
  for (const d of gapOfA) expect(b.manager.heldLeases().find((l) => l.partition === d.partition)?.epoch).toBe(d.epoch);
});
