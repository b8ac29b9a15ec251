/**
 * Issue 16: two hub nodes' tickets modules on ONE PostgreSQL 15, each with its own change feed (LISTEN/NOTIFY), as
 * two hubs run them. The same fault reported to both at once opens ONE ticket (the other node adds its note); a
 * ticket written by one node reaches the other's list pages (its cache dropped), its websocket stream (bus
 * `ticket-elsewhere`, never `ticket`: no second notification) and its scope checks; both nodes' SLA monitors arm the
 * same timers from the store, also a node started later, and a breach is stored and announced once.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PgChangeFeed } from '../../hub/store/change-feed-pg.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import type { DeviceState, DeviceTransition } from '../../hub/types.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { useSqlStores } from '../helpers/sql-stores.ts';
import { makeTicketsHarness, type TicketsHarness } from '../helpers/tickets-harness.ts';
import { nextBusEvent, waitFor } from '../helpers/wait-for.ts';

const stores = useSqlStores();
const open: TicketsHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

// Monday 13 Jan 2025, 10:00 Warsaw: business hours.
const START = '2025-01-13T09:00:00Z';
const MIN = 60_000;

/** A hub node's tickets module on the shared schema `url`, with its own change feed and clock. */
async function node(name: string, url: string): Promise<TicketsHarness> {
  const clock = new ManualClock(START);
  const h = await makeTicketsHarness({
    start: START,
    clock,
    sql: () => new PostgresStore(url, { max: 4 }),
    changeFeed: (sql, metrics) =>
      new PgChangeFeed({ url, node: name, sql, clock, logger: pino({ level: 'silent' }), metrics, minBackoffMs: 50 }),
  });
  open.push(h);
  return h;
}

function transition(serial: string, from: DeviceState, to: DeviceState, at: string): DeviceTransition {
  return {
    serial,
    site: 'waw-hq',
    customer: 'acme',
    agentId: 'agent-1',
    from,
    to,
    at,
    reason: to === 'down' ? 'all-channels-failed' : 'call-quality',
    evidence: ['rest: ECONNREFUSED 10.0.0.5:443'],
    inMaintenance: false,
    problems: [],
  };
}

async function json(h: TicketsHarness, method: 'GET' | 'POST', url: string, payload?: unknown) {
  const res =
    payload === undefined
      ? await h.http.inject({ method, url })
      : await h.http.inject({ method, url, payload: payload as Record<string, unknown> });
  return { status: res.statusCode, body: res.json() as any };
}

const armed = (h: TicketsHarness) => [...h.module.monitor.armed()].sort((x, y) => x[0] - y[0]);

describe('tickets on two hub nodes sharing one PostgreSQL', () => {
  it('the same fault reported to both nodes at once opens ONE ticket; the other node adds its note', async () => {
    const url = await stores.postgresUrl();
    const [a, b] = [await node('hub-a', url), await node('hub-b', url)];
    const serials = ['8L2X50-0001', '8L2X70-0004'];
    for (const serial of serials) {
      a.bus.emit('device-state', transition(serial, 'up', 'down', START));
      b.bus.emit('device-state', transition(serial, 'up', 'down', START));
    }
    await Promise.all([a.settle(), b.settle()]);
    const tickets = await a.module.store.listOpen(10);
    expect(tickets.map((t) => t.serial).sort()).toEqual([...serials].sort());
    expect(tickets.every((t) => t.priority === 'P1')).toBe(true);
    // one 'opened' per fault over both nodes (one notification), the other node's report is a note on it
    const changes = [...a.tickets, ...b.tickets].map((e) => `${e.ticket.serial}:${e.change}`).sort();
    expect(changes).toEqual(serials.flatMap((s) => [`${s}:note`, `${s}:opened`]).sort());
    for (const t of tickets) {
      expect((await a.module.store.history(t.seq)).map((x) => x.kind)).toEqual(['opened', 'device-state']);
    }
  });

  it("one node's ticket changes reach the other's list pages, stream and scope checks", async () => {
    const url = await stores.postgresUrl();
    const [a, b] = [await node('hub-a', url), await node('hub-b', url)];
    expect((await json(b, 'GET', '/api/tickets')).body).toEqual([]); // B's empty page is cached now

    const seenOnB = nextBusEvent(b.bus, 'ticket-elsewhere', ({ ticket }) => ticket.serial === '8L2X50-0001');
    a.bus.emit('device-state', transition('8L2X50-0001', 'up', 'down', START));
    await a.settle();
    const opened = (await seenOnB).ticket;
    expect(opened).toMatchObject({ id: 'HZ-000001', priority: 'P1', state: 'open' });
    await b.settle();
    expect((await json(b, 'GET', '/api/tickets')).body.map((t: { id: string }) => t.id)).toEqual(['HZ-000001']);
    expect(b.module.service.ownerOf('HZ-000001')).toBe('acme');
    expect(b.tickets).toEqual([]); // never B's own `ticket` event: B's duties (notifications) stay quiet

    const ackedOnB = nextBusEvent(b.bus, 'ticket-elsewhere', ({ ticket }) => ticket.state === 'acknowledged');
    const moved = await json(a, 'POST', '/api/tickets/HZ-000001/transitions', { to: 'acknowledged', note: 'called' });
    expect(moved.status).toBe(200);
    await ackedOnB;
    await b.settle();
    expect((await json(b, 'GET', '/api/tickets')).body.map((t: { state: string }) => t.state)).toEqual([
      'acknowledged',
    ]);
    // and the other way round: B's manual ticket shows on A
    const seenOnA = nextBusEvent(a.bus, 'ticket-elsewhere', ({ ticket }) => ticket.channel === 'phone');
    const manual = await json(b, 'POST', '/api/tickets', {
      channel: 'phone',
      serial: '8L2X70-0004',
      contract: 'C-100',
      priority: 'P2',
      reporter: 'Anna Nowak',
      description: 'no picture',
    });
    expect(manual.status).toBe(201);
    expect((await seenOnA).ticket.id).toBe(manual.body.id);
  });

  it('both nodes (and one started later) arm the same SLA timers; a breach is stored and announced once', async () => {
    const url = await stores.postgresUrl();
    const [a, b] = [await node('hub-a', url), await node('hub-b', url)];
    const fromB = nextBusEvent(b.bus, 'ticket-elsewhere', ({ ticket }) => ticket.serial === '8L2X70-0004');
    a.bus.emit('device-state', transition('8L2X50-0001', 'up', 'down', START)); // P1: 24x7 clocks
    a.bus.emit('device-state', transition('8L2X70-0004', 'up', 'degraded', START)); // P2: business-time clocks
    await a.settle();
    await fromB;
    await b.settle();
    expect(armed(a)).toHaveLength(2);
    expect(armed(b)).toEqual(armed(a));

    // a change on A (acknowledged: the reaction clock stops, the update clock runs) re-arms B from the stored row
    await a.advance(10 * MIN);
    const acked = nextBusEvent(b.bus, 'ticket-elsewhere', ({ ticket }) => ticket.state === 'acknowledged');
    expect((await json(a, 'POST', '/api/tickets/HZ-000001/transitions', { to: 'acknowledged' })).status).toBe(200);
    await acked;
    await b.settle();
    expect(armed(b)).toEqual(armed(a));
    const late = await node('hub-c', url); // a node that starts now loads the same timers
    expect(armed(late)).toEqual(armed(a));

    // every node's clock passes the P1 update warning and breach (+45 / +60 min after the acknowledgement)
    for (const h of [a, b, late]) await h.advance(70 * MIN);
    const events = [...a.sla, ...b.sla, ...late.sla].filter((e) => e.ticketId === 'HZ-000001');
    expect(events.map((e) => `${e.clock}:${e.level}`).sort()).toEqual(['update:breach', 'update:warning']);
    const rows = await a.module.store.slaEvents(1);
    expect(rows.map((e) => `${e.clock}:${e.level}`)).toEqual(['update:warning', 'update:breach']);
    const onB = async () =>
      (await json(b, 'GET', '/api/tickets')).body.find((t: { id: string }) => t.id === 'HZ-000001');
    await waitFor(async () => (await onB())?.sla.breached.includes('update'), { what: "B's list shows the breach" });
  });
});
