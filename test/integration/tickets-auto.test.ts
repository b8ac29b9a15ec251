/**
 * Automatic tickets from bus `device-state` / `site-alert`, with a ManualClock and a real SQLite file,
 * including simulated hub restarts (same file reopened): nothing duplicated, SLA monitor re-armed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceState, DeviceTransition } from '../../hub/types.ts';
import { makeTicketsHarness, type TicketsHarness } from '../helpers/tickets-harness.ts';

let h: TicketsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

// Saturday 18 Jan 2025, 03:00 Warsaw: night and weekend.
const START = '2025-01-18T02:00:00Z';
const X50 = '8L2X50-0001'; // covered by C-100
const X30 = '8L2X30-0002'; // no contract
const E70 = '8L2E70-0003'; // expired contract C-OLD
const MIN = 60_000;

const REASONS: Record<DeviceState, string> = {
  down: 'all-channels-failed',
  degraded: 'call-quality',
  up: 'recovered',
  unknown: 'agent-offline',
};

async function emit(
  harness: TicketsHarness,
  serial: string,
  from: DeviceState,
  to: DeviceState,
  extra: Partial<DeviceTransition> = {},
) {
  harness.bus.emit('device-state', {
    serial,
    site: 'waw-hq',
    customer: 'acme',
    agentId: 'agent-1',
    from,
    to,
    at: new Date(harness.clock.now()).toISOString(),
    reason: REASONS[to],
    evidence:
      to === 'down'
        ? ['rest: ECONNREFUSED 10.0.0.5:443', 'snmp: timeout after 3 tries', 'ping: 100% loss']
        : ['packet loss 12% for 60 s'],
    inMaintenance: false,
    problems: [],
    ...extra,
  });
  await harness.settle();
}

function count(harness: TicketsHarness, sql: string): number {
  return (harness.db.prepare(sql).get() as { n: number }).n;
}

const tickets = (harness: TicketsHarness) => harness.ctx.services.tickets!;

describe('automatic tickets', () => {
  it('a device going down at night opens one P1 at once, with evidence, contract and clocks', async () => {
    h = await makeTicketsHarness({ start: START });
    await emit(h, X50, 'up', 'down');
    const list = await tickets(h).list({ state: 'open' });
    expect(list).toHaveLength(1);
    const t = (await tickets(h).get(list[0]!.id))!;
    expect(t).toMatchObject({
      serial: X50,
      model: 'StudioX50',
      site: 'waw-hq',
      customer: 'acme',
      priority: 'P1',
      channel: 'auto',
      state: 'open',
      contract: 'C-100',
      coverage: 'active',
      title: `StudioX50 ${X50} down: no answer on REST and SNMP`,
      openedAt: '2025-01-18T02:00:00.000Z',
    });
    // SLA-6 P1 24x7: reaction due +1 h real time.
    expect(t.sla.reactionDue).toBe('2025-01-18T03:00:00.000Z');
    expect(t.summary).toContain('rest: ECONNREFUSED');
    expect(t.history[0]!.note).toContain('snmp: timeout after 3 tries');
    expect(h.tickets.map((e) => e.change)).toEqual(['opened']);
  });

  it('down again while open adds history, not a second ticket', async () => {
    h = await makeTicketsHarness({ start: START });
    await emit(h, X50, 'up', 'down');
    await h.advance(5 * MIN);
    await emit(h, X50, 'up', 'down');
    expect(count(h, 'SELECT COUNT(*) AS n FROM tickets')).toBe(1);
    const t = (await tickets(h).get('HZ-000001'))!;
    expect(t.history.map((e) => e.kind)).toEqual(['opened', 'device-state']);
    expect(h.tickets.map((e) => e.change)).toEqual(['opened', 'note']);
  });

  it('degraded opens a P2; dying later raises it to P1 with clocks from the escalation time', async () => {
    h = await makeTicketsHarness({ start: START });
    await emit(h, X50, 'up', 'degraded');
    let t = (await tickets(h).get('HZ-000001'))!;
    expect(t.priority).toBe('P2');
    // P2 on Saturday: clocks start Mon 20 Jan 08:00+01 = 07:00Z, due 08:00Z (SLA-5).
    expect(t.sla.clockStart).toBe('2025-01-20T07:00:00.000Z');
    expect(t.sla.reactionDue).toBe('2025-01-20T08:00:00.000Z');
    await h.advance(30 * MIN); // 02:30Z Saturday
    await emit(h, X50, 'degraded', 'down');
    expect(count(h, 'SELECT COUNT(*) AS n FROM tickets')).toBe(1);
    t = (await tickets(h).get('HZ-000001'))!;
    expect(t.priority).toBe('P1');
    expect(t.title).toBe(`StudioX50 ${X50} down: no answer on REST and SNMP`);
    expect(t.sla.clockStart).toBe('2025-01-18T02:30:00.000Z');
    expect(t.sla.reactionDue).toBe('2025-01-18T03:30:00.000Z');
    expect(t.history.map((e) => e.kind)).toEqual(['opened', 'escalated']);
    expect(h.tickets.map((e) => e.change)).toEqual(['opened', 'escalated']);
    // a degraded report after that does not lower it.
    await emit(h, X50, 'down', 'degraded');
    expect((await tickets(h).get('HZ-000001'))!.priority).toBe('P1');
  });

  it('recovery is recorded on the ticket, which stays open for an engineer', async () => {
    h = await makeTicketsHarness({ start: START });
    await emit(h, X50, 'up', 'down');
    await h.advance(10 * MIN);
    await emit(h, X50, 'down', 'up');
    const t = (await tickets(h).get('HZ-000001'))!;
    expect(t.state).toBe('open');
    expect(t.history.at(-1)).toMatchObject({ kind: 'recovered', from: 'open', to: 'open', actor: 'hezo-monitor' });
    expect(h.tickets.map((e) => e.change)).toEqual(['opened', 'recovered']);
    // still the device's open ticket: going down again adds to it.
    await emit(h, X50, 'up', 'down');
    expect(count(h, 'SELECT COUNT(*) AS n FROM tickets')).toBe(1);
  });

  it('after the engineer closes it, a new failure opens a new ticket', async () => {
    h = await makeTicketsHarness({ start: START });
    await emit(h, X50, 'up', 'down');
    const service = h.module.service;
    await service.transition('HZ-000001', 'acknowledged', 'jan.k', 'called');
    await service.transition('HZ-000001', 'closed', 'jan.k', 'recovered, customer confirms');
    await emit(h, X50, 'up', 'down');
    expect((await tickets(h).list({ state: 'open' })).map((t) => t.id)).toEqual(['HZ-000002']);
  });

  it('no active contract: coverage none and no clocks (SLA-2)', async () => {
    h = await makeTicketsHarness({ start: START });
    await emit(h, X30, 'up', 'down');
    await emit(h, E70, 'up', 'down');
    const [none, expired] = [(await tickets(h).get('HZ-000001'))!, (await tickets(h).get('HZ-000002'))!];
    for (const t of [none, expired]) {
      expect(t.coverage).toBe('none');
      expect(t.sla).toMatchObject({ clockStart: null, reactionDue: null, running: [], nextDue: null });
    }
    expect(none.contract).toBeNull();
    expect(expired.contract).toBe('C-OLD');
    expect(expired.history[0]!.note).toMatch(/C-OLD is not active/);
    await h.advance(3 * 24 * 60 * MIN);
    expect(h.sla).toEqual([]);
    expect(h.module.monitor.armedTickets).toBe(0);
  });

  it('maintenance and unknown (agent offline) open nothing', async () => {
    h = await makeTicketsHarness({ start: START });
    await emit(h, X50, 'up', 'down', { inMaintenance: true });
    await emit(h, X50, 'up', 'degraded', { inMaintenance: true });
    await emit(h, X70(), 'up', 'unknown');
    expect(count(h, 'SELECT COUNT(*) AS n FROM tickets')).toBe(0);
    expect(h.tickets).toEqual([]);
  });

  it('a site alert is recorded and listed, and opens no per-device tickets', async () => {
    h = await makeTicketsHarness({ start: START });
    h.bus.emit('site-alert', {
      site: 'krk-1',
      agentId: 'agent-krk',
      status: 'raised',
      at: '2025-01-18T02:00:00.000Z',
      reason: 'agent offline (last will)',
      serials: [E70, X70()],
    });
    await h.settle();
    expect(count(h, 'SELECT COUNT(*) AS n FROM tickets')).toBe(0);
    const res = await h.http.inject({ method: 'GET', url: '/api/site-alerts' });
    expect(res.json()).toEqual([
      expect.objectContaining({ site: 'krk-1', agentId: 'agent-krk', status: 'raised', serials: [E70, X70()] }),
    ]);
  });
});

function X70() {
  return '8L2X70-0004';
}

describe('hub restart', () => {
  it('reopening the store duplicates nothing and re-arms the SLA monitor without duplicate events', async () => {
    h = await makeTicketsHarness({ start: START });
    await emit(h, X50, 'up', 'down'); // P1 at 02:00Z, warning 02:45Z, breach 03:00Z
    await h.advance(30 * MIN);
    expect(h.sla).toEqual([]);

    h = await h.restart();
    expect(h.module.monitor.armedTickets).toBe(1);
    await emit(h, X50, 'up', 'down'); // still down after restart: a note, not a second ticket
    expect(count(h, 'SELECT COUNT(*) AS n FROM tickets')).toBe(1);
    await h.advance(15 * MIN); // 02:45Z
    expect(h.sla.map((e) => [e.clock, e.level, e.at])).toEqual([['reaction', 'warning', '2025-01-18T02:45:00.000Z']]);

    h = await h.restart();
    expect(h.sla).toEqual([]); // the warning is stored: not announced again
    await h.advance(15 * MIN); // 03:00Z
    expect(h.sla.map((e) => [e.clock, e.level])).toEqual([['reaction', 'breach']]);

    h = await h.restart();
    await h.advance(60 * MIN);
    expect(h.sla).toEqual([]);
    expect(count(h, 'SELECT COUNT(*) AS n FROM sla_events')).toBe(2);
    expect((await tickets(h).get('HZ-000001'))!.sla).toMatchObject({ breached: ['reaction'], warned: ['reaction'] });
  });

  it('an SLA deadline that passed while the hub was down is recorded once at start', async () => {
    h = await makeTicketsHarness({ start: START });
    await emit(h, X50, 'up', 'down');
    await h.module.stop?.(); // hub down
    await h.advance(2 * 60 * MIN);
    h = await h.restart();
    expect(h.sla.map((e) => [e.clock, e.level, e.at])).toEqual([['reaction', 'breach', '2025-01-18T04:00:00.000Z']]);
    h = await h.restart();
    expect(h.sla).toEqual([]);
    expect(count(h, 'SELECT COUNT(*) AS n FROM sla_events')).toBe(1);
  });
});
