/**
 * Issue 16, duties at the partition's holder: two real hubs in one process on one PostgreSQL 15 and one broker
 * (`mqtt.mode: external`, cluster on): a Mosquitto, and a three-node NATS cluster with MQTT (each hub lists the nodes
 * in another order, the agents use a third). Each hub's record intake is the persistent MQTT sessions of the partitions
 * it holds (not a hub-wide subscription): a site's records reach only its holder, so a fault in a site held by A
 * opens exactly one P1, at A. When A stops, B takes the partition; what the agent published meanwhile is handed over
 * by the broker (the partition's session), and the next fault is B's ticket. A node cut from PostgreSQL (a proxy the
 * test controls) stops its duties and closes its partition session before the other node takes the partition.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { partitionOf } from '../../hub/cluster/partitions.ts';
import { HubConfig } from '../../hub/config.ts';
import type { HubModuleFactory } from '../../hub/context.ts';
import { createHub, type Hub } from '../../hub/hub.ts';
import { createTicketsModule } from '../../hub/tickets/module.ts';
import type { TicketView } from '../../hub/types.ts';
import { buildConfig } from '../../protocols/config-common.ts';
import { makeHealthRecord, makePresence } from '../helpers/health-record.ts';
import { TEST_ADMIN_TOKEN } from '../helpers/hub-fixture.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { connectAgent, type FakeAgent } from '../helpers/mqtt-agent.ts';
import { startNatsCluster } from '../helpers/nats-cluster.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PARTITIONS = 2;
/** Two sites in different partitions: with two nodes, each node holds one of them. */
const CANDIDATES = Array.from({ length: 50 }, (_, i) => `room-${i}`);
const SITE_1 = CANDIDATES[0] as string;
const SITE_2 = CANDIDATES.find((s) => partitionOf(s, PARTITIONS) !== partitionOf(SITE_1, PARTITIONS)) as string;
const AGENTS = [
  { id: 'agent-r1', site: SITE_1, password: 'agent-r1-secret' },
  { id: 'agent-r2', site: SITE_2, password: 'agent-r2-secret' },
];

let postgres: Postgres;
let databaseCount = 0;
const cleanups: (() => Promise<unknown>)[] = [];

/** The broker of one run: the URLs hub i connects to, and the one the agents use. */
interface Broker {
  hubUrls(i: number): string[];
  agentUrl: string;
}
let broker: Broker;

beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.close();
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
});

async function freshDatabase(): Promise<string> {
  const name = `duties_${++databaseCount}`;
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return postgres.url.replace(/\/hezo$/, `/${name}`);
}

interface Node {
  name: string;
  hub: Hub;
  /** Health records that reached this node's ingest, by site. */
  records: Map<string, number>;
  tickets: TicketView[];
  /** Partitions gained and lost (ctx.duties), with the wall time. */
  changes: { partition: number; isHeld: boolean; at: number }[];
  api(path: string): Promise<Response>;
}

async function startNode(name: string, i: number, databaseUrl: string): Promise<Node> {
  const dataDir = mkdtempSync(join(tmpdir(), `hezo-duties-${name}-`));
  cleanups.push(() => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
  const config = buildConfig(HubConfig, {
    version: 1,
    node: name,
    dataDir,
    logLevel: 'silent',
    http: { host: '127.0.0.1', port: 0 },
    api: { token: TEST_ADMIN_TOKEN },
    mqtt: { mode: 'external', urls: broker.hubUrls(i), reconnectMinMs: 50 },
    agents: AGENTS,
    adoption: { unknownDevices: 'register' },
    database: { url: databaseUrl },
    cluster: { partitions: PARTITIONS, leaseMs: 2_000, renewMs: 400 },
  }) as HubConfig;
  const records = new Map<string, number>();
  const tickets: TicketView[] = [];
  const watch: HubModuleFactory = (ctx) => {
    ctx.bus.on('ingest:health', (m) => records.set(m.site, (records.get(m.site) ?? 0) + 1));
    ctx.bus.on('ticket', ({ ticket, change }) => {
      if (change === 'opened') tickets.push(ticket);
    });
    return { name: 'watch' };
  };
  const hub = createHub(config, {
    logger: pino({ level: process.env.HEZO_TEST_LOG ?? 'silent' }),
    modules: [createTicketsModule, watch],
  });
  cleanups.push(() => hub.stop());
  const changes: Node['changes'] = [];
  hub.ctx.duties?.onChange((c) => changes.push({ ...c, at: Date.now() }));
  const { httpUrl } = await hub.start();
  return {
    name,
    hub,
    records,
    tickets,
    changes,
    api: (path) => fetch(`${httpUrl}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } }),
  };
}

async function agentOf(site: string): Promise<FakeAgent> {
  const a = AGENTS.find((x) => x.site === site)!;
  const agent = await connectAgent(broker.agentUrl, { agentId: a.id, site });
  cleanups.push(() => agent.close());
  return agent;
}

let seq = 0;
/** `polls` health records of `serial` (reachable or every channel failing), each acked by the broker. */
async function poll(agent: FakeAgent, serial: string, reachable: boolean, polls = 1): Promise<void> {
  for (let i = 0; i < polls; i++) {
    await agent.send(
      'health',
      makeHealthRecord({ agentId: agent.agentId, site: agent.site, serial, seq: ++seq, at: Date.now(), reachable }),
    );
  }
}

const openP1 = (node: Node, serial: string) => node.tickets.filter((t) => t.serial === serial && t.priority === 'P1');
async function deviceState(node: Node, serial: string): Promise<string | undefined> {
  const res = await node.api(`/api/devices/${serial}`);
  return res.ok ? ((await res.json()) as { state: string }).state : undefined;
}
const holds = (node: Node, site: string) => node.hub.ctx.duties?.holds(site) === true;

async function metric(node: Node, name: string): Promise<number> {
  const text = await (await node.api('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

const BROKERS: [string, () => Promise<Broker>][] = [
  [
    'Mosquitto',
    async () => {
      const mosquitto = await startMosquitto(['allow_anonymous true', 'max_queued_messages 0']);
      cleanups.push(() => mosquitto.close());
      return { hubUrls: () => [mosquitto.url], agentUrl: mosquitto.url };
    },
  ],
  [
    'a three-node NATS cluster',
    async () => {
      const nats = await startNatsCluster();
      cleanups.push(() => nats.close());
      const urls = nats.mqttUrls;
      return { hubUrls: (i) => [...urls.slice(i), ...urls.slice(0, i)], agentUrl: urls[2] as string };
    },
  ],
];

it.each(BROKERS)(
  '%s: a fault in a site held by A is handled only by A; after A stops, B takes over and handles the next',
  async (_name, start) => {
    broker = await start();
    const url = await freshDatabase();
    const [n1, n2] = await Promise.all([startNode('hub-1', 0, url), startNode('hub-2', 1, url)]);
    await waitFor(() => (holds(n1, SITE_1) !== holds(n2, SITE_1) && holds(n1, SITE_2) !== holds(n2, SITE_2) ? 1 : 0), {
      what: 'each site held by exactly one node',
      timeoutMs: 20_000,
    });
    await waitFor(async () => (await metric(n1, 'hezo_cluster_partition_sessions_connected')) === 1, {
      what: 'hub-1 connected to its partition session',
      timeoutMs: 10_000,
    });
    await waitFor(async () => (await metric(n2, 'hezo_cluster_partition_sessions_connected')) === 1, {
      what: 'hub-2 connected to its partition session',
      timeoutMs: 10_000,
    });
    const [a, b] = holds(n1, SITE_1) ? [n1, n2] : [n2, n1];
    expect(holds(b, SITE_1)).toBe(false);

    const agent1 = await agentOf(SITE_1);
    const agent2 = await agentOf(SITE_2);
    await agent1.send('presence', makePresence('online', { agentId: agent1.agentId, site: SITE_1 }), { retain: true });
    await agent2.send('presence', makePresence('online', { agentId: agent2.agentId, site: SITE_2 }), { retain: true });
    await poll(agent1, 'SN-R1-1', true, 2);
    await poll(agent2, 'SN-R2-1', true, 2);
    await waitFor(() => a.records.get(SITE_1) === 2 && b.records.get(SITE_2) === 2, {
      what: "each site's records at its holder",
      timeoutMs: 10_000,
    });

    // a fault in SITE_1 (held by a): two failed polls -> down -> one P1, at a only
    await poll(agent1, 'SN-R1-1', false, 2);
    await waitFor(() => openP1(a, 'SN-R1-1').length === 1, { what: 'the P1 at the holder', timeoutMs: 10_000 });
    // and a fault in SITE_2 (held by b) is b's
    await poll(agent2, 'SN-R2-1', false, 2);
    await waitFor(() => openP1(b, 'SN-R2-1').length === 1, { what: "b's P1 for its own site", timeoutMs: 10_000 });
    // a's intake never saw SITE_2, b's never SITE_1 (one subscription per partition, not hub-wide)
    expect(a.records.get(SITE_2)).toBeUndefined();
    expect(b.records.get(SITE_1)).toBeUndefined();
    expect(openP1(b, 'SN-R1-1')).toHaveLength(0);
    expect(openP1(a, 'SN-R2-1')).toHaveLength(0);

    // SN-R1-1 answers again (its ticket stays a's): with the outage state shared, b knows SITE_1's devices too, and
    // two of two down there would be a room network down (one site alert), not a device fault
    await poll(agent1, 'SN-R1-1', true, 1);
    await waitFor(async () => (await deviceState(a, 'SN-R1-1')) === 'up', {
      what: 'SN-R1-1 up again',
      timeoutMs: 10_000,
    });
    // a stops: its session closes, the broker keeps SITE_1's messages for the partition's next holder
    const takeoverStarted = Date.now();
    await a.hub.stop();
    await poll(agent1, 'SN-R1-2', true, 1); // acked by the broker, whoever holds the partition now
    await waitFor(() => holds(b, SITE_1), { what: 'b to take SITE_1', timeoutMs: 20_000 });
    await waitFor(() => b.records.get(SITE_1) === 1, {
      what: 'the record published meanwhile, at b',
      timeoutMs: 10_000,
    });
    console.log(`cluster-figure partition handed over after a clean stop: ${Date.now() - takeoverStarted} ms`);
    await poll(agent1, 'SN-R1-2', false, 2);
    await poll(agent1, 'SN-R1-1', true, 1); // the rest of the poll round: one device down, not the room network
    await waitFor(() => openP1(b, 'SN-R1-2').length === 1, { what: "b's P1 for the next fault", timeoutMs: 10_000 });
    expect(openP1(b, 'SN-R1-1')).toHaveLength(0); // a's fault stays a's ticket
    expect(await metric(b, 'hezo_cluster_partition_sessions_connected')).toBe(2);
  },
);

it('Mosquitto: a node cut from PostgreSQL stops its duties before its lease can end; the other takes over and handles the next fault', async () => {
  broker = await (BROKERS[0] as [string, () => Promise<Broker>])[1]();
  const url = await freshDatabase();
  const port = Number(new URL(url).port);
  const proxy = await startTcpProxy({ host: '127.0.0.1', port });
  cleanups.push(() => proxy.close()); // last: after the hubs stopped
  const viaProxy = url.replace(`127.0.0.1:${port}`, `127.0.0.1:${proxy.port}`);
  const [a, b] = await Promise.all([startNode('hub-a', 0, viaProxy), startNode('hub-b', 0, url)]);
  cleanups.push(() => Promise.resolve(proxy.heal())); // first: the cut hub stops cleanly
  await waitFor(() => (holds(a, SITE_1) !== holds(b, SITE_1) && holds(a, SITE_2) !== holds(b, SITE_2) ? 1 : 0), {
    what: 'each site held by exactly one node',
    timeoutMs: 20_000,
  });
  for (const n of [a, b]) {
    await waitFor(async () => (await metric(n, 'hezo_cluster_partition_sessions_connected')) === 1, {
      what: `${n.name} connected to its partition session`,
      timeoutMs: 10_000,
    });
  }
  const site = holds(a, SITE_1) ? SITE_1 : SITE_2;
  const k = partitionOf(site, PARTITIONS);
  const agent = await agentOf(site);
  await agent.send('presence', makePresence('online', { agentId: agent.agentId, site }), { retain: true });
  await poll(agent, 'SN-C-1', true, 2);
  await waitFor(() => (a.records.get(site) ?? 0) >= 2, { what: "the site's records at A", timeoutMs: 10_000 });

  const cutAt = Date.now();
  proxy.cut();
  await waitFor(() => holds(b, site), { what: "B to take the cut node's partition", timeoutMs: 20_000 });
  const lostAt = a.changes.find((c) => c.partition === k && !c.isHeld && c.at >= cutAt)?.at;
  const takenAt = b.changes.find((c) => c.partition === k && c.isHeld && c.at >= cutAt)?.at;
  expect(lostAt).toBeDefined();
  expect(takenAt).toBeDefined();
  expect(lostAt!).toBeLessThan(takenAt!); // A had stopped acting before B could act
  expect(holds(a, site)).toBe(false);
  console.log(
    `cluster-figure cut from PostgreSQL: duties stopped after ${lostAt! - cutAt} ms, taken over after ${takenAt! - cutAt} ms (lease 2000 ms)`,
  );

  const recordsAtA = a.records.get(site);
  await poll(agent, 'SN-C-1', false, 2);
  await waitFor(() => openP1(b, 'SN-C-1').length === 1, {
    what: "B's P1 for the fault after the cut",
    timeoutMs: 10_000,
  });
  expect(openP1(a, 'SN-C-1')).toHaveLength(0);
  expect(a.records.get(site)).toBe(recordsAtA); // A's session for the partition is closed: nothing more reached it
});
