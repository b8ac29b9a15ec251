/**
 * `GET /api/reports/sla` on a real hub (SQLite file, every module) with an injected clock: the counts of the
 * tickets raised in the month, CSV as a download, and clear errors for a bad month or customer (issue 15).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocols/clock.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const CONFIG = {
  customers: [
    { id: 'acme', name: 'ACME Sp. z o.o.' },
    { id: 'globex', name: 'Globex' },
  ],
  contracts: [
    { number: 'HZ-2025-0107', customer: 'acme', start: '2025-02-01', termYears: 3, serials: ['X50-0001', 'X30-0002'] },
    { number: 'HZ-2026-0240', customer: 'globex', start: '2026-09-01', termYears: 2, serials: ['X70-0003'] },
  ],
  devices: [
    { serial: 'X50-0001', model: 'StudioX50', site: 'site-a', customer: 'acme', name: 'Board room' },
    { serial: 'X30-0002', model: 'StudioX30', site: 'site-a', customer: 'acme', name: 'Huddle 2' },
    { serial: 'X70-0003', model: 'StudioX70', site: 'site-b', customer: 'globex', name: 'Exec suite' },
  ],
};

async function json(res: Response) {
  return { status: res.status, body: (await res.json()) as any };
}

function post(h: TestHub, path: string, body: unknown) {
  return h.api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('GET /api/reports/sla', () => {
  it('reports the month of one customer per contract, as JSON and as CSV', async () => {
    // Tue 10 Nov 2026 10:00 Warsaw (business hours).
    const clock = new ManualClock(Date.parse('2026-11-10T09:00:00Z'));
    hub = await startTestHub({ config: CONFIG, clock, modules: 'all' });
    const ticket = (serial: string, priority: string, contract = 'HZ-2025-0107') =>
      post(hub!, '/api/tickets', {
        channel: 'phone',
        serial,
        contract,
        priority,
        reporter: 'Anna Nowak',
        description: 'No picture',
      });
    const p2 = (await json(await ticket('X50-0001', 'P2'))).body;
    const p3 = (await json(await ticket('X30-0002', 'P3'))).body;
    await ticket('X70-0003', 'P1', 'HZ-2026-0240'); // another customer's
    clock.advance(30 * 60_000);
    expect((await post(hub, `/api/tickets/${p2.id}/contacts`, { actor: 'eng', note: 'called back' })).status).toBe(201);
    clock.advance(5 * 60 * 60_000); // 15:30 local: the P3 reaction (4 business hours) is now late

    const { status, body } = await json(await hub.api('/api/reports/sla?customer=acme&month=2026-11'));
    expect(status).toBe(200);
    expect(body).toMatchObject({ customer: 'acme', month: '2026-11', timeZone: 'Europe/Warsaw', complete: false });
    expect(body.contracts).toHaveLength(1);
    const contract = body.contracts[0];
    expect(contract.contract).toBe('HZ-2025-0107');
    const byPriority = Object.fromEntries(contract.priorities.map((p: any) => [p.priority, p]));
    expect(byPriority.P1.tickets).toBe(0);
    expect(byPriority.P2).toMatchObject({ tickets: 1, reactionMet: 1, reactionAvgMin: 30 });
    expect(byPriority.P3).toMatchObject({ tickets: 1, reactionMissed: 1 });
    expect(contract.tickets.map((t: any) => [t.id, t.room])).toEqual([
      [p2.id, 'Board room'],
      [p3.id, 'Huddle 2'],
    ]);
    expect(contract.rooms.map((r: any) => r.room)).toEqual(['Board room', 'Huddle 2']);

    const csv = await hub.api('/api/reports/sla?customer=acme&month=2026-11&format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="sla-acme-2026-11.csv"');
    const rows = (await csv.text()).trimEnd().split('\r\n').slice(1);
    expect(rows.filter((r) => r.startsWith('ticket,'))).toHaveLength(2);
    expect(rows.filter((r) => r.startsWith('priority,HZ-2025-0107,P2,'))[0]).toMatch(/^priority,HZ-2025-0107,P2,,,,1,/);
    expect(rows.join('\n')).not.toContain('X70-0003');

    // October had nothing.
    const october = (await json(await hub.api('/api/reports/sla?customer=acme&month=2026-10'))).body;
    expect(october.contracts[0].tickets).toEqual([]);
  });

  it('names the bad parameter, and asks for a token', async () => {
    hub = await startTestHub({ config: CONFIG, modules: 'all' });
    const bad = await json(await hub.api('/api/reports/sla?customer=acme&month=2026-13'));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/month/);
    const unknown = await json(await hub.api('/api/reports/sla?customer=nobody&month=2026-11'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/customer/);
    expect((await hub.api('/api/reports/sla?customer=acme&month=2026-11', { token: null })).status).toBe(401);
  });
});
