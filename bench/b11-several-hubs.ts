/**
 * B11 several hubs (issue 16): hub nodes in their own processes (bench/load/b11-hub-proc.ts) on one PostgreSQL 15 and
 * one Mosquitto (`mqtt.mode: external`, cluster on, 16 partitions); simulated agents (child, bench/load/mqtt-load.ts)
 * publish health JSON at QoS 1 to Mosquitto; each node takes in the records of the partitions it holds through their
 * persistent sessions.
 * 1. Ingest knee of two nodes vs one on the same fleet and broker: rate steps, knee = highest rate where >= 97 % of
 *    what the broker acknowledged went through a node's ingest + detector within the step and a short drain.
 * 2. Failover: with both nodes at a nominal load, `kill -9` of one node (alternately); time until the survivor holds
 *    every partition of the dead one, and until records of every site of those partitions reach its detector again.
 *    A fresh node then joins (rebalance) before the next round.
 * 3. Cost of a ticket open on PostgreSQL (fenced by the partition's epoch, as a holder writes) vs SQLite, p99: one
 *    transaction inserting a ticket row and its history row, through hub/store (the tickets store itself is still
 *    on SQLite in this build).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { withFence } from '../hub/cluster/fencing.ts';
import { migrateCluster } from '../hub/cluster/lease-schema.ts';
import { LeaseStore } from '../hub/cluster/lease-store.ts';
import { partitionOf } from '../hub/cluster/partitions.ts';
import { openDb } from '../hub/db.ts';
import { PostgresStore } from '../hub/store/postgres-store.ts';
import type { SqlStore } from '../hub/store/sql-store.ts';
import { SqliteStore } from '../hub/store/sqlite-store.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import type { Figure, Profile, Scenario } from './harness.ts';
import { round, summarise } from './harness.ts';
import {
  BENCH_DIR,
  type BenchAgent,
  benchAgents,
  benchHubConfig,
  Child,
  CORES,
  pinNote,
  sleep,
  tempDir,
  watchProcess,
} from './load/common.ts';
import { LoadGenerator } from './load/driver.ts';

const PARTITIONS = 16;
const LEASE = { leaseMs: 2000, renewMs: 400 };
const PROFILES = {
  tiny: { agents: 4, devices: 5, rates: [200, 400], stepMs: 800, rounds: 1, nominal: 100, opens: 50 },
  quick: {
    agents: 50,
    devices: 40,
    rates: [2500, 5000, 7500, 10_000, 12_500, 15_000, 20_000],
    stepMs: 2000,
    rounds: 5,
    nominal: 1000,
    opens: 2000,
  },
  full: {
    agents: 100,
    devices: 100,
    rates: [2500, 5000, 7500, 10_000, 12_500, 15_000, 17_500, 20_000, 25_000, 30_000],
    stepMs: 10_000,
    rounds: 20,
    nominal: 2000,
    opens: 20_000,
  },
} as const;
type P = (typeof PROFILES)[Profile];

interface Stats {
  health: number;
  partitions: number[];
  firstHealthAfter: Record<string, number>;
}

class Node {
  readonly name: string;
  readonly child: Child;
  private constructor(name: string, child: Child) {
    this.name = name;
    this.child = child;
  }

  static async start(
    name: string,
    core: number | undefined,
    env: { dir: string; db: string; broker: string; agents: readonly BenchAgent[] },
  ) {
    const dataDir = join(env.dir, name);
    mkdirSync(dataDir, { recursive: true });
    const config = {
      // the agents are registered: a node subscribes to the sites it knows (agents', devices', customers')
      ...benchHubConfig({ dataDir, agents: env.agents }),
      node: name,
      mqtt: { mode: 'external', urls: [env.broker], maxMessagesPerSecond: 100_000, reconnectMinMs: 50 },
      database: { url: env.db },
      cluster: { partitions: PARTITIONS, ...LEASE },
    };
    const child = Child.start(`${BENCH_DIR}/load/b11-hub-proc.ts`, core === undefined ? {} : { core });
    const reply = await Promise.race([
      child.request<{ ev: string }>({ cmd: 'start', config, dbFile: join(dataDir, 'hub.sqlite') }, 'started', 60_000),
      child.request<{ ev: string; error: string }>(undefined, 'failed', 60_000).then((r) => {
        throw new Error(`${name}: ${r.error}`);
      }),
    ]);
    void reply;
    return new Node(name, child);
  }

  stats(): Promise<Stats> {
    return this.child.request<Stats>({ cmd: 'stats' }, 'stats', 10_000);
  }

  since(at: number): Promise<unknown> {
    return this.child.request({ cmd: 'since', at }, 'since', 10_000);
  }

  stop(): Promise<void> {
    return this.child.stop('SIGTERM');
  }

  kill(): Promise<void> {
    return this.child.stop('SIGKILL');
  }
}

async function freshDatabase(baseUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return baseUrl.replace(/\/hezo$/, `/${name}`);
}

async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
  return Date.now() - t0;
}

/** Every partition held by exactly one of `nodes`, each within [floor, ceil] of the fair share. */
async function isFairSplit(nodes: readonly Node[]): Promise<boolean> {
  const held = await Promise.all(nodes.map(async (n) => (await n.stats()).partitions));
  const all = held.flat();
  const lo = Math.floor(PARTITIONS / nodes.length);
  return all.length === PARTITIONS && new Set(all).size === PARTITIONS && held.every((h) => h.length >= lo);
}

const totalHealth = async (nodes: readonly Node[]) =>
  (await Promise.all(nodes.map((n) => n.stats()))).reduce((s, x) => s + x.health, 0);

/** One knee ramp with `count` nodes. */
async function knee(count: 1 | 2, p: P, env: { dir: string; baseDb: string; broker: string }, notes: string[]) {
  const db = await freshDatabase(env.baseDb, `b11_knee_${count}`);
  const nodes: Node[] = [];
  const load = LoadGenerator.start(1);
  try {
    const agents = benchAgents(p.agents, 'b11');
    for (let i = 0; i < count; i++) {
      nodes.push(await Node.start(`b11-k${count}-${i}`, i % CORES, { dir: env.dir, db, broker: env.broker, agents }));
    }
    await waitUntil('a fair split', () => isFairSplit(nodes));
    await load.connect({ url: env.broker, agents, devicesPerAgent: p.devices });
    // warm-up (not judged): devices registered, sessions connected, JIT settled
    await step(nodes, load, p.rates[0]!, Math.min(2000, p.stepMs));
    let best = 0;
    let bound = 'ramp ended';
    let cpuPerMsgUs = Number.NaN;
    for (const rate of p.rates) {
      const s = await step(nodes, load, rate, p.stepMs);
      notes.push(
        `${count} node(s) step ${rate}/s: offered ${Math.round(s.offeredPerS)}/s, through ${Math.round(s.achievedPerS)}/s, ` +
          `hub CPU ${s.cpuPct.map((c) => `${round(c, 0)} %`).join(' + ')}, not through ${s.sent - s.processed}`,
      );
      if (s.processed < 0.97 * s.sent) {
        bound = `backlog at ${rate}/s`;
        break;
      }
      best = Math.max(best, s.achievedPerS);
      cpuPerMsgUs = (s.cpuPct.reduce((a, b) => a + b, 0) * 10_000) / Math.max(1, s.achievedPerS);
      if (s.offeredPerS < 0.9 * rate) {
        bound = `load generator tops out at ${Math.round(s.offeredPerS)}/s`;
        break;
      }
    }
    notes.push(`${count} node(s): knee ${Math.round(best)} msg/s, limited by ${bound}`);
    return { knee: best, cpuPerMsgUs };
  } finally {
    await load.close();
    for (const n of nodes) await n.stop();
  }
}

async function step(nodes: readonly Node[], load: LoadGenerator, rate: number, durationMs: number) {
  const before = await totalHealth(nodes);
  const watches = nodes.map((n) => watchProcess(n.child.pid));
  const t0 = performance.now();
  const run = await load.run(rate, durationMs);
  let processed = (await totalHealth(nodes)) - before;
  const drainUntil = performance.now() + 2000;
  while (processed < run.sent && performance.now() < drainUntil) {
    await sleep(50);
    processed = (await totalHealth(nodes)) - before;
  }
  const wallMs = performance.now() - t0;
  const cpu = watches.map((w) => w.stop().cpuPct);
  return {
    sent: run.sent,
    processed,
    achievedPerS: (processed / Math.max(1, wallMs)) * 1000,
    offeredPerS: (run.sent / Math.max(1, run.publishMs)) * 1000,
    cpuPct: cpu,
  };
}

/** Rounds of kill -9: the survivor's takeover (held) and records flowing again, in ms after the kill. */
async function failover(p: P, env: { dir: string; baseDb: string; broker: string }, notes: string[]) {
  const db = await freshDatabase(env.baseDb, 'b11_failover');
  const agents = benchAgents(p.agents, 'b11f');
  const sitesOf = (partitions: readonly number[]) =>
    [...new Set(agents.map((a: BenchAgent) => a.site))].filter((s) => partitions.includes(partitionOf(s, PARTITIONS)));
  const load = LoadGenerator.start(1);
  let serial = 0;
  const nodes: Node[] = [];
  const held: number[] = [];
  const flowing: number[] = [];
  try {
    const startNode = async () =>
      Node.start(`b11-f-${serial++}`, undefined, { dir: env.dir, db, broker: env.broker, agents });
    nodes.push(await startNode(), await startNode());
    await waitUntil('a fair split', () => isFairSplit(nodes));
    await load.connect({ url: env.broker, agents, devicesPerAgent: p.devices });
    // warm-up: every node takes in records of its sites before the first kill
    const warm = await step(nodes, load, p.nominal, 1000);
    notes.push(`failover warm-up: ${warm.processed} of ${warm.sent} records through`);
    for (let round_ = 0; round_ < p.rounds; round_++) {
      const [victim, survivor] = round_ % 2 === 0 ? [nodes[0]!, nodes[1]!] : [nodes[1]!, nodes[0]!];
      const lost = (await victim.stats()).partitions;
      const sites = sitesOf(lost);
      const running = load.run(p.nominal, LEASE.leaseMs * 3 + 3000, 10_000);
      await sleep(500);
      const killAt = Date.now();
      await survivor.since(killAt);
      await victim.kill();
      const heldMs = await waitUntil('the takeover', async () => {
        const mine = (await survivor.stats()).partitions;
        return lost.every((k) => mine.includes(k));
      });
      await waitUntil('records of every taken site', async () => {
        const first = (await survivor.stats()).firstHealthAfter;
        return sites.every((s) => first[s] !== undefined);
      });
      const first = (await survivor.stats()).firstHealthAfter;
      const flowMs = Math.max(...sites.map((s) => (first[s] as number) - killAt));
      held.push(heldMs);
      flowing.push(flowMs);
      notes.push(
        `failover round ${round_ + 1}: ${lost.length} partitions (${sites.length} sites) held by the survivor after ` +
          `${heldMs} ms, records of all of them after ${flowMs} ms`,
      );
      await running;
      // a fresh node joins in the victim's place; the partitions are shared again
      const joined = await startNode();
      nodes.splice(nodes.indexOf(victim), 1, joined);
      await waitUntil('the rebalance', () => isFairSplit(nodes));
    }
  } finally {
    await load.close();
    for (const n of nodes) await n.stop();
  }
  return { held: summarise(held), flowing: summarise(flowing) };
}

const TICKET_DDL = `CREATE TABLE b11_tickets (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, serial TEXT NOT NULL,
  site TEXT NOT NULL, priority TEXT NOT NULL, opened_at TEXT NOT NULL, epoch INTEGER);
CREATE TABLE b11_history (ticket_seq INTEGER NOT NULL, at TEXT NOT NULL, note TEXT NOT NULL);`;

/** ms per ticket open (one transaction: the ticket row and its history row), `n` in a row. */
async function ticketOpens(store: SqlStore, n: number, fence?: { partition: number; epoch: number }) {
  await store.exec(TICKET_DDL);
  const samples: number[] = [];
  for (let i = 1; i <= n; i++) {
    const at = new Date().toISOString();
    const write = async (tx: SqlStore) => {
      await tx.run(
        'INSERT INTO b11_tickets (seq, id, serial, site, priority, opened_at, epoch) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [i, `HZ-${i}`, `SN-${i % 500}`, 'site-00', 'P1', at, fence?.epoch ?? null],
      );
      await tx.run('INSERT INTO b11_history (ticket_seq, at, note) VALUES ($1, $2, $3)', [i, at, 'opened: down']);
    };
    const t0 = performance.now();
    if (fence === undefined) await store.transaction(write);
    else await withFence(store, fence.partition, fence.epoch, write);
    samples.push(performance.now() - t0);
  }
  return summarise(samples);
}

async function ticketCost(p: P, env: { dir: string; baseDb: string }) {
  const db = openDb(join(env.dir, 'tickets.sqlite'));
  const sqlite = await ticketOpens(new SqliteStore(db), p.opens);
  db.close();
  const pgStore = new PostgresStore(await freshDatabase(env.baseDb, 'b11_tickets'), { max: 2 });
  try {
    await migrateCluster(pgStore);
    const leases = new LeaseStore(pgStore);
    await leases.prepare(PARTITIONS);
    const got = await leases.acquire(0, 'b11-bench', 600_000);
    if (got === undefined) throw new Error('partition 0 not acquired');
    const postgres = await ticketOpens(pgStore, p.opens, { partition: 0, epoch: got.epoch });
    return { sqlite, postgres };
  } finally {
    await pgStore.close();
  }
}

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const notes: string[] = [];
  const tmp = tempDir('b11');
  const [postgres, broker] = await Promise.all([
    startPostgres(),
    // persistent sessions may queue without limit while no node holds a partition (Mosquitto's default is 1000)
    startMosquitto(['allow_anonymous true', 'max_queued_messages 0']),
  ]);
  const env = { dir: tmp.dir, baseDb: postgres.url, broker: broker.url };
  try {
    const one = await knee(1, p, env, notes);
    const two = await knee(2, p, env, notes);
    const fo = await failover(p, env, notes);
    const cost = await ticketCost(p, env);
    notes.unshift(
      `${pinNote('1 node: hub on core 0; 2 nodes: hub 1 on core 0, hub 2 on core 1; load generator on core 1')}; ` +
        `Mosquitto and PostgreSQL unpinned; ${p.agents} agents x ${p.devices} devices on ${Math.min(50, p.agents)} sites, QoS 1, ~800 B health JSON, ` +
        `${PARTITIONS} partitions, lease ${LEASE.leaseMs} ms / renew ${LEASE.renewMs} ms`,
      `on ${CORES} cores the second node has no core of its own: it shares one with the load generator, and Mosquitto ` +
        'and PostgreSQL take CPU from both; the ratio is what this machine allows, not what two machines give',
      `ticket open: SQLite (WAL, synchronous NORMAL) vs PostgreSQL 15 (fsync off, as the test helper starts it), ` +
        `${p.opens} opens in a row, each one transaction (ticket + history row; PostgreSQL fenced by the partition epoch)`,
    );
    const judged = profile !== 'tiny';
    const ratio = one.knee > 0 ? two.knee / one.knee : 0;
    const figures: Figure[] = [
      {
        name: 'ingest knee, 2 nodes (>= 97 % through)',
        value: round(two.knee, 0),
        unit: 'msg/s',
        baseline: round(one.knee, 0),
        baselineName: '1 node',
        target: '>= 1.7 x 1 node',
        ...(judged ? { met: ratio >= 1.7 } : {}),
      },
      { name: 'hub CPU per message, 1 node (last good step)', value: round(one.cpuPerMsgUs, 1), unit: 'us' },
      { name: 'hub CPU per message, 2 nodes (last good step)', value: round(two.cpuPerMsgUs, 1), unit: 'us' },
      { name: 'failover: partitions held by the survivor, p50', value: fo.held.p50, unit: 'ms' },
      { name: 'failover: partitions held by the survivor, max', value: fo.held.max, unit: 'ms' },
      {
        name: 'failover: records flow again, p50',
        value: fo.flowing.p50,
        unit: 'ms',
      },
      {
        name: 'failover: records flow again, max',
        value: fo.flowing.max,
        unit: 'ms',
        target: '<= 20000 (fault -> P1 during failover)',
        ...(judged ? { met: fo.flowing.max <= 20_000 } : {}),
      },
      {
        name: 'ticket open p99, PostgreSQL (fenced)',
        value: round(cost.postgres.p99, 2),
        unit: 'ms',
        baseline: round(cost.sqlite.p99, 2),
        baselineName: 'SQLite',
      },
      {
        name: 'ticket open p50, PostgreSQL (fenced)',
        value: round(cost.postgres.p50, 2),
        unit: 'ms',
        baseline: round(cost.sqlite.p50, 2),
        baselineName: 'SQLite',
      },
    ];
    return { figures, notes };
  } finally {
    await broker.close();
    await postgres.close();
    tmp.remove();
  }
}

export const scenario: Scenario = {
  id: 'B11',
  title: 'several hubs: ingest knee 2 vs 1 node, failover, ticket store',
  run,
};
