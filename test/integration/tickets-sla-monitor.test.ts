/** SLA warnings at 75 % and breaches at 100 % of each clock's budget, driven by a ManualClock; metrics. */
import { afterEach, describe, expect, it } from 'vitest';
import { makeTicketsHarness, type TicketsHarness } from '../helpers/tickets-harness.ts';

let h: TicketsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const MIN = 60_000;
const SEC = 1000;

function open(harness: TicketsHarness, priority: 'P1' | 'P2' | 'P3') {
  return harness.module.service.createManual({
    channel: 'portal',
    serial: '8L2X50-0001',
    contract: 'C-100',
    priority,
    reporter: 'Anna Nowak',
    description: 'no picture',
  });
}

const events = (harness: TicketsHarness) => harness.sla.map((e) => `${e.clock}:${e.level}@${e.at}`);

describe('SLA monitor', () => {
  it('P1 (elapsed time): warning at 45 min, breach at 60 min, counted in /metrics', async () => {
    // Saturday 18 Jan 2025 11:00 Warsaw: P1 runs 24x7.
    h = await makeTicketsHarness({ start: '2025-01-18T10:00:00Z' });
    const t = await open(h, 'P1');
    await h.advance(45 * MIN - SEC);
    expect(h.sla).toEqual([]);
    await h.advance(SEC);
    expect(events(h)).toEqual(['reaction:warning@2025-01-18T10:45:00.000Z']);
    await h.advance(15 * MIN - SEC);
    expect(h.sla).toHaveLength(1);
    await h.advance(SEC);
    expect(events(h)).toEqual([
      'reaction:warning@2025-01-18T10:45:00.000Z',
      'reaction:breach@2025-01-18T11:00:00.000Z',
    ]);
    expect(h.sla[1]).toMatchObject({
      ticketId: t.id,
      serial: '8L2X50-0001',
      priority: 'P1',
      dueAt: '2025-01-18T11:00:00.000Z',
    });
    expect((await h.module.service.get(t.id))!.sla.breached).toEqual(['reaction']);
    const metrics = await h.ctx.metrics.metrics();
    expect(metrics).toContain('hezo_sla_breaches_total{priority="P1",clock="reaction"} 1');
    expect(metrics).toContain('hezo_sla_warnings_total{priority="P1",clock="reaction"} 1');
    expect(metrics).toContain('hezo_tickets_open{priority="P1"} 1');
    expect(metrics).toContain('hezo_tickets_open{priority="P2"} 0');
  });

  it('P2 (business time) over a weekend: sent Fri 15:30, warning Mon 08:15, breach Mon 08:30', async () => {
    // Fri 17 Jan 2025 15:30+01 = 14:30Z. Budget 1 business h: 30 min Friday + 30 min Monday -> due Mon 08:30+01.
    // 75 % = 45 business min: 30 min Friday + 15 min Monday -> Mon 08:15+01 = 07:15Z.
    h = await makeTicketsHarness({ start: '2025-01-17T14:30:00Z' });
    const t = await open(h, 'P2');
    expect(t.sla.reactionDue).toBe('2025-01-20T07:30:00.000Z');
    await h.advance(Date.parse('2025-01-20T07:14:59Z') - h.clock.now());
    expect(h.sla).toEqual([]);
    await h.advance(Date.parse('2025-01-20T07:15:00Z') - h.clock.now());
    expect(events(h)).toEqual(['reaction:warning@2025-01-20T07:15:00.000Z']);
    await h.advance(Date.parse('2025-01-20T07:30:00Z') - h.clock.now());
    expect(events(h)).toEqual([
      'reaction:warning@2025-01-20T07:15:00.000Z',
      'reaction:breach@2025-01-20T07:30:00.000Z',
    ]);
    expect(await h.ctx.metrics.metrics()).toContain('hezo_sla_breaches_total{priority="P2",clock="reaction"} 1');
  });

  it('acknowledging stops the reaction clock; the update clock then warns and breaches', async () => {
    h = await makeTicketsHarness({ start: '2025-01-18T10:00:00Z' });
    const t = await open(h, 'P1');
    await h.advance(30 * MIN);
    await h.module.service.transition(t.id, 'acknowledged', 'jan.k', 'called the reporter');
    // update due 11:30Z (P1 +1 h): warning 11:15Z, breach 11:30Z; the reaction clock never fires.
    await h.advance(20 * MIN); // 10:50Z
    await h.module.service.addContact(t.id, 'jan.k', 'still investigating'); // update due 11:50Z
    await h.advance(2 * 60 * MIN);
    expect(events(h)).toEqual(['update:warning@2025-01-18T11:35:00.000Z', 'update:breach@2025-01-18T11:50:00.000Z']);
  });

  it('closing a ticket disarms it', async () => {
    h = await makeTicketsHarness({ start: '2025-01-18T10:00:00Z' });
    const t = await open(h, 'P1');
    await h.module.service.transition(t.id, 'acknowledged', 'jan.k', '');
    await h.module.service.transition(t.id, 'closed', 'jan.k', 'solved remotely');
    expect(h.module.monitor.armedTickets).toBe(0);
    await h.advance(24 * 60 * MIN);
    expect(h.sla).toEqual([]);
    expect(await h.ctx.metrics.metrics()).toContain('hezo_tickets_open{priority="P1"} 0');
  });

  it('delivery (business measure) and return (elapsed) clocks warn and breach too', async () => {
    // Mon 13 Jan 2025 10:00+01.
    h = await makeTicketsHarness({ start: '2025-01-13T09:00:00Z' });
    const t = await open(h, 'P2');
    for (const to of ['acknowledged', 'verifying', 'accepted'] as const)
      await h.module.service.transition(t.id, to, 'jan.k', '');
    // accepted Mon 10:00 local: due Tue 16:00 local (15:00Z); budget = 6 h Mon + 8 h Tue = 14 business h;
    // 75 % = 10.5 h -> 6 h Monday + 4.5 h Tuesday -> Tue 12:30 local = 11:30Z.
    await h.advance(Date.parse('2025-01-14T15:00:00Z') - h.clock.now());
    expect(events(h)).toEqual([
      'delivery:warning@2025-01-14T11:30:00.000Z',
      'delivery:breach@2025-01-14T15:00:00.000Z',
    ]);
    await h.module.service.transition(t.id, 'replacement_shipped', 'jan.k', '');
    await h.module.service.transition(t.id, 'replacement_delivered', 'jan.k', ''); // Tue 15:00Z -> return due 21 Jan 15:00Z
    await h.advance(Date.parse('2025-01-22T00:00:00Z') - h.clock.now());
    // 75 % of 7 days = 5.25 days after Tue 15:00Z = Sun 19 Jan 21:00Z.
    expect(events(h).slice(2)).toEqual([
      'return:warning@2025-01-19T21:00:00.000Z',
      'return:breach@2025-01-21T15:00:00.000Z',
    ]);
  });
});
