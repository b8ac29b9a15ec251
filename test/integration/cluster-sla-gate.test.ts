/**
 * Issue 16: the SLA monitor runs at the holder of the ticket's site. Two nodes' ticket modules over ONE ticket store
 * (a shared SQLite file standing in for the shared database) with their duties from real partition leases on
 * PostgreSQL 15; SLA time is a ManualClock. While A holds the site, only A records (and so announces and notifies)
 * the warning and the breach of a ticket that B's monitor has armed too; after A's node stops, B takes the partition,
 * arms what A ran, records the next breach, and does not repeat the one A recorded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { leaseDuties } from '../../hub/cluster/partition-duties.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { ClusterFixture, isFairSplit, type TestNode } from '../helpers/cluster-nodes.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { advanceSettled } from '../helpers/settle-clock.ts';
import { makeTicketsHarness, type TicketsHarness } from '../helpers/tickets-harness.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PARTITIONS = 2;
const MIN = 60_000;
const SITE = 'waw-hq'; // the site of 8L2X50-0001 in the harness's registry

let postgres: Postgres;
let fixture: ClusterFixture;
const harnesses: TicketsHarness[] = [];
let dir: string | undefined;

beforeAll(async () => {
  postgres = await startPostgres();
  fixture = new ClusterFixture(postgres.url);
});
afterAll(async () => {
  await postgres?.close();
});
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close().catch(() => undefined);
  await fixture.cleanup();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const events = (h: TicketsHarness) => h.sla.map((e) => `${e.ticketId}:${e.clock}:${e.level}`);

it("B's SLA monitor does not record or announce A's tickets' warnings and breaches while A holds the site", async () => {
  const url = await fixture.freshSchema();
  const nodes = [fixture.makeNode('node-1', url, PARTITIONS), fixture.makeNode('node-2', url, PARTITIONS)];
  await Promise.all(nodes.map((n) => n.manager.start()));
  await waitFor(() => isFairSplit(nodes, PARTITIONS), { what: 'a 1/1 split', timeoutMs: 20_000 });
  const holderOf = () => nodes.find((n) => leaseDuties(n.manager, PARTITIONS).holds(SITE));
  const [nodeA, nodeB] = holderOf() === nodes[0] ? (nodes as [TestNode, TestNode]) : [nodes[1]!, nodes[0]!];

  dir = mkdtempSync(join(tmpdir(), 'hezo-sla-gate-'));
  const clock = new ManualClock('2025-01-18T10:00:00Z'); // a Saturday: P1 runs 24x7
  const a = await makeTicketsHarness({
    start: '',
    clock,
    dir,
    duties: leaseDuties(nodeA.manager, PARTITIONS),
  });
  harnesses.push(a);
  const b = await makeTicketsHarness({
    start: '',
    clock,
    dir,
    duties: leaseDuties(nodeB.manager, PARTITIONS),
  });
  harnesses.push(b);
  const open = () =>
    a.module.service.createManual({
      channel: 'portal',
      serial: '8L2X50-0001',
      contract: 'C-100',
      priority: 'P1',
      reporter: 'Anna Nowak',
      description: 'no picture',
    });

  // one clock for both nodes: each fired timer's async work settles on both before the next
  const advance = (ms: number) =>
    advanceSettled(clock, ms, async () => {
      await a.settle();
      await b.settle();
    });
  const t1 = await open(); // reaction: warning at 10:45, breach at 11:00
  await advance(50 * MIN);
  const t2 = await open(); // opened 10:50: warning at 11:35, breach at 11:50
  await b.module.monitor.start(); // as a node starting now would: B arms both tickets
  expect(b.module.monitor.armedTickets).toBe(2);
  await advance(10 * MIN); // 11:00
  expect(events(a)).toEqual([`${t1.id}:reaction:warning`, `${t1.id}:reaction:breach`]);
  expect(events(b)).toEqual([]);

  // A's node stops: B takes the partition and arms what A ran
  await nodeA.manager.stop();
  await waitFor(() => holderOf() === nodeB, { what: 'B to hold the site', timeoutMs: 20_000 });
  await advance(50 * MIN); // 11:50
  expect(events(b)).toEqual([`${t2.id}:reaction:warning`, `${t2.id}:reaction:breach`]);
  expect(events(a)).toEqual([`${t1.id}:reaction:warning`, `${t1.id}:reaction:breach`]);
  // one breach per ticket in the shared store, each recorded by the node that held the site at the time
  expect((await a.module.service.get(t1.id))!.sla.breached).toEqual(['reaction']);
  expect((await b.module.service.get(t2.id))!.sla.breached).toEqual(['reaction']);
});
