/**
 * Issue 16: the per-partition MQTT session on a real Mosquitto. The holder of partition k connects with the
 * partition's persistent-session client id (clean: false, QoS 1) subscribed to the sites of k only; what agents
 * publish while nobody holds k is delivered to the next holder; a second holder takes the session over from a
 * stale one.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { AgentPacer } from '../../hub/broker/agent-pacer.ts';
import { PartitionSession, partitionClientId } from '../../hub/cluster/partition-session.ts';
import { partitionOf } from '../../hub/cluster/partitions.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { topics } from '../../protocols/topics.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait-for.ts';

const N = 16;
const K = 5;
/** Two sites of partition K, one of another partition. */
const SITES = Array.from({ length: 200 }, (_, i) => `site-${i}`);
const inK = SITES.filter((s) => partitionOf(s, N) === K).slice(0, 2);
const elsewhere = SITES.find((s) => partitionOf(s, N) !== K)!;

let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker?.close();
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
});

interface Holder {
  session: PartitionSession;
  received: { topic: string; payload: string }[];
  closed: number;
  /** Refuse messages (the lease was lost while one was arriving). */
  isRefusing: boolean;
}

function holder(clientId: string): Holder {
  const h: Holder = { session: undefined as unknown as PartitionSession, received: [], closed: 0, isRefusing: false };
  h.session = new PartitionSession({
    partition: K,
    sites: inK,
    urls: [broker.url],
    clientId,
    logger: pino({ level: 'silent' }),
    onMessage: (topic, payload) => {
      if (h.isRefusing) return false;
      h.received.push({ topic, payload: payload.toString() });
      return true;
    },
  });
  h.session.on('closed', () => h.closed++);
  cleanups.push(() => h.session.stop());
  return h;
}

async function agent(): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, { clientId: `agent-${Math.random()}`, protocolVersion: 4 });
  cleanups.push(() => client.endAsync());
  return client;
}

it('what agents publish while no node holds the partition reaches the next holder, and only its sites', async () => {
  expect(inK).toHaveLength(2);
  const clientId = partitionClientId(K, `t1-${process.pid}`);
  const first = holder(clientId);
  expect((await first.session.start()).isSessionPresent).toBe(false);
  const publisher = await agent();
  await publisher.publishAsync(topics.heartbeat(inK[0]!, 'agent-1'), 'while held', { qos: 1 });
  await waitFor(() => first.received.length === 1, { what: 'the first holder to receive' });
  // the lease is lost: the holder disconnects; the broker keeps the session
  await first.session.stop();
  expect(first.closed).toBe(0);
  for (let i = 0; i < 5; i++) {
    await publisher.publishAsync(topics.health(inK[i % 2]!, 'agent-1', `SN${i}`), `gap ${i}`, { qos: 1 });
  }
  await publisher.publishAsync(topics.health(elsewhere, 'agent-2', 'SN9'), 'other partition', { qos: 1 });
  const next = holder(clientId);
  expect((await next.session.start()).isSessionPresent).toBe(true);
  await waitFor(() => next.received.length === 5, { what: 'the queued messages at the next holder' });
  expect(next.received.map((m) => m.payload)).toEqual(['gap 0', 'gap 1', 'gap 2', 'gap 3', 'gap 4']);
  expect(next.received.map((m) => m.topic.split('/')[2])).toEqual([inK[0], inK[1], inK[0], inK[1], inK[0]]);
  // the subscription came with the session: a new message arrives too, the other partition's never does
  await publisher.publishAsync(topics.presence(inK[1]!, 'agent-1'), 'after', { qos: 1 });
  await waitFor(() => next.received.length === 6, { what: 'a live message' });
  expect(next.received.some((m) => m.payload === 'other partition')).toBe(false);
});

it('a second holder with the same client id takes the session over from a stale one', async () => {
  const clientId = partitionClientId(K, `t2-${process.pid}`);
  const stale = holder(clientId);
  await stale.session.start();
  const publisher = await agent();
  await publisher.publishAsync(topics.heartbeat(inK[0]!, 'agent-1'), 'to stale', { qos: 1 });
  await waitFor(() => stale.received.length === 1, { what: 'the stale holder to receive' });

  const fresh = holder(clientId);
  expect((await fresh.session.start()).isSessionPresent).toBe(true);
  await waitFor(() => stale.closed === 1, { what: 'the broker to close the stale holder' });
  expect(stale.session.isConnected).toBe(false);
  await publisher.publishAsync(topics.heartbeat(inK[0]!, 'agent-1'), 'to fresh', { qos: 1 });
  await waitFor(() => fresh.received.length === 1, { what: 'the new holder to receive' });
  expect(fresh.received[0]?.payload).toBe('to fresh');
  expect(stale.received.map((m) => m.payload)).toEqual(['to stale']);
  expect(broker.log()).toMatch(new RegExp(`Client ${clientId} already connected, closing old connection`));
});

it('a message refused by a node that just lost the partition is not acknowledged: the next holder gets it', async () => {
  const clientId = partitionClientId(K, `t3-${process.pid}`);
  const losing = holder(clientId);
  await losing.session.start();
  losing.isRefusing = true;
  const publisher = await agent();
  await publisher.publishAsync(topics.heartbeat(inK[0]!, 'agent-1'), 'arrives during the loss', { qos: 1 });
  await waitFor(() => !losing.session.isConnected, { what: 'the losing holder to close' });
  expect(losing.received).toEqual([]);
  expect(losing.closed).toBe(0); // refused on purpose: no reconnect wanted
  const next = holder(clientId);
  await next.session.start();
  await waitFor(() => next.received.length === 1, { what: 'the redelivery to the next holder' });
  expect(next.received[0]?.payload).toBe('arrives during the loss');
});

it('sites added to or removed from the partition are followed at once', async () => {
  const received: string[] = [];
  const h = new PartitionSession({
    partition: K,
    sites: [inK[0]!],
    urls: [broker.url],
    clientId: partitionClientId(K, `t4-${process.pid}`),
    logger: pino({ level: 'silent' }),
    onMessage: (_topic, payload) => {
      received.push(payload.toString());
      return true;
    },
  });
  cleanups.push(() => h.stop());
  await h.start();
  const publisher = await agent();
  await publisher.publishAsync(topics.heartbeat(inK[1]!, 'agent-1'), 'new site, not yet', { qos: 1 });
  await publisher.publishAsync(topics.heartbeat(inK[0]!, 'agent-1'), 'marker 1', { qos: 1 });
  await waitFor(() => received.includes('marker 1'), { what: 'marker 1' });
  await h.setSites([inK[0]!, inK[1]!]);
  await publisher.publishAsync(topics.heartbeat(inK[1]!, 'agent-1'), 'new site', { qos: 1 });
  await waitFor(() => received.includes('new site'), { what: 'the added site' });
  await h.setSites([inK[1]!]);
  await publisher.publishAsync(topics.heartbeat(inK[0]!, 'agent-1'), 'removed site', { qos: 1 });
  await publisher.publishAsync(topics.heartbeat(inK[1]!, 'agent-1'), 'marker 2', { qos: 1 });
  await waitFor(() => received.includes('marker 2'), { what: 'marker 2' });
  expect(received).toEqual(['marker 1', 'new site', 'marker 2']);
});

it('a broker that cannot be reached is a clear error naming the URL', async () => {
  const h = new PartitionSession({
    partition: K,
    sites: inK,
    urls: ['mqtt://127.0.0.1:1'],
    logger: pino({ level: 'silent' }),
    onMessage: () => undefined,
  });
  await expect(h.start()).rejects.toThrow(/partition 5: no broker reachable \(mqtt:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
});

it('an agent over the rate cap is paced, not dropped: its messages wait (and their PUBACKs), all arrive in order', async () => {
  const clock = new ManualClock('2026-03-02T10:00:00.000Z');
  const received: string[] = [];
  let paced = 0;
  const h = new PartitionSession({
    partition: K,
    sites: [inK[0]!],
    urls: [broker.url],
    clientId: partitionClientId(K, `t5-${process.pid}`),
    logger: pino({ level: 'silent' }),
    pacing: { pacer: new AgentPacer(10, clock), clock, onPaced: () => paced++ },
    onMessage: (_topic, payload) => {
      received.push(payload.toString());
      return true;
    },
  });
  cleanups.push(() => h.stop());
  await h.start();
  const publisher = await agent();
  const sent = Array.from({ length: 25 }, (_, i) => `m${i}`);
  for (const m of sent) await publisher.publishAsync(topics.heartbeat(inK[0]!, 'agent-1'), m, { qos: 1 });
  await waitFor(() => received.length === 10 && paced === 1, { what: 'the first window, then one held back' });
  clock.advance(1000);
  await waitFor(() => received.length === 20 && paced === 2, { what: 'the second window' });
  clock.advance(1000);
  await waitFor(() => received.length === 25, { what: 'the rest' });
  expect(received).toEqual(sent);
});
