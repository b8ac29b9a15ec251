/**
 * Issue 19: the outage start is kept. The hub was away for minutes while a device died: the agent replays its
 * buffered records (replayed: true), then live ones. The P1 opens with the first failed poll's time as evidence
 * (ticket note, device view `faultAt`, stored transition) while its SLA clock starts when the ticket is sent
 * (SLA-6: README "Outage start"). A fault that began and cleared while the hub was away opens nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceView, StoredTransition, TicketHistoryEntry, TicketView } from '../../hub/types.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('outage start after a hub outage', () => {
  it('the P1 carries the first failed poll time; a fault cleared while the hub was away opens nothing', async () => {
    const t = await startTestHub({
      modules: 'all',
      config: {
        customers: [{ id: 'acme', name: 'Acme' }],
        contracts: [{ number: 'C-1', customer: 'acme', start: '2026-01-01', termYears: 3, serials: ['SN-1', 'SN-2'] }],
        devices: ['SN-1', 'SN-2'].map((serial) => ({ serial, site: 'site-a', customer: 'acme' })),
      },
    });
    cleanups.push(() => t.close());
    const agent = await connectAgent(t.urls.mqttUrl, {
      agentId: 'agent-1',
      site: 'site-a',
      password: 'agent-1-secret',
    });
    cleanups.push(() => agent.close());
    const now = Date.now();
    const awayMs = 180_000;
    const diedAt = now - 150_000;
    let seq = 0;
    const downs: string[] = [];
    t.hub.ctx.bus.on('device-state', (tr) => {
      if (tr.to === 'down') downs.push(tr.serial);
    });
    // Replayed: SN-1 dies 150 s ago and stays dead; SN-2 fails from 120 s to 60 s ago, then answers again.
    for (let at = now - awayMs; at < now; at += 10_000) {
      const sn1 = { serial: 'SN-1', seq: ++seq, at, replayed: true, reachable: at < diedAt };
      await agent.send('health', makeHealthRecord(sn1));
      const sn2Failed = at >= now - 120_000 && at < now - 60_000;
      await agent.send(
        'health',
        makeHealthRecord({ serial: 'SN-2', seq: ++seq, at, replayed: true, reachable: !sn2Failed }),
      );
    }
    const opened = nextBusEvent(t.hub.ctx.bus, 'ticket', (e) => e.change === 'opened', 10_000);
    // Live again: SN-1 still dead (two polls), SN-2 fine.
    for (let i = 0; i < 2; i++) {
      await agent.send('health', makeHealthRecord({ serial: 'SN-2', seq: ++seq, at: Date.now() }));
      await agent.send('health', makeHealthRecord({ serial: 'SN-1', seq: ++seq, at: Date.now(), reachable: false }));
    }
    const { ticket } = await opened;
    expect(ticket).toMatchObject({ serial: 'SN-1', priority: 'P1' });
    const faultIso = new Date(diedAt).toISOString();
    const detail = (await (await t.api(`/api/tickets/${ticket.id}`)).json()) as TicketView & {
      history: TicketHistoryEntry[];
    };
    expect(detail.history.map((h) => h.note).join('\n')).toContain(`first failed poll at ${faultIso}`);
    // SLA-6: the clock starts when the monitoring system sends the ticket, not at the fault.
    expect(detail.sla.clockStart).toBe(detail.openedAt);
    expect(Date.parse(detail.openedAt)).toBeGreaterThan(diedAt + 100_000);
    const device = (await (await t.api('/api/devices/SN-1')).json()) as DeviceView & { history: StoredTransition[] };
    expect(device).toMatchObject({ state: 'down', faultAt: faultIso });
    expect(device.history[0]).toMatchObject({ to: 'down', faultAt: faultIso });
    expect(Date.parse(device.since)).toBeGreaterThan(diedAt);
    expect(downs).toEqual(['SN-1']);
    const tickets = (await (await t.api('/api/tickets?state=all')).json()) as TicketView[];
    expect(tickets.map((x) => x.serial)).toEqual(['SN-1']);
  });
});
