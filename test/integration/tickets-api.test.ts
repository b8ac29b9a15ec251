/** Manual tickets and the lifecycle through the HTTP routes (fastify inject), on a real SQLite file. */
import { afterEach, describe, expect, it } from 'vitest';
import type { TicketState } from '../../hub/types.ts';
import { makeTicketsHarness, type TicketsHarness } from '../helpers/tickets-harness.ts';

let h: TicketsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

// Mon 13 Jan 2025 10:00 Warsaw (business hours).
const START = '2025-01-13T09:00:00Z';

const manual = {
  channel: 'phone',
  serial: '8L2X50-0001',
  contract: 'C-100',
  priority: 'P2',
  reporter: 'Anna Nowak',
  description: 'Camera image freezes during Teams calls',
};

async function post(harness: TicketsHarness, url: string, payload: unknown) {
  const res = await harness.http.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

async function get(harness: TicketsHarness, url: string) {
  const res = await harness.http.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.json() as any };
}

function dbSnapshot(harness: TicketsHarness, id: string) {
  const row = harness.db.prepare('SELECT * FROM tickets WHERE id = ?').get(id);
  const history = harness.db.prepare('SELECT COUNT(*) AS n FROM ticket_history').get();
  return { row, history };
}

describe('manual tickets', () => {
  it('opens a phone ticket: 201, HZ id, clocks, first history row, bus event', async () => {
    h = await makeTicketsHarness({ start: START });
    const { status, body } = await post(h, '/api/tickets', manual);
    expect(status).toBe(201);
    expect(body.id).toBe('HZ-000001');
    expect(body).toMatchObject({
      serial: '8L2X50-0001',
      model: 'StudioX50',
      site: 'waw-hq',
      customer: 'acme',
      priority: 'P2',
      channel: 'phone',
      state: 'open',
      contract: 'C-100',
      coverage: 'active',
      openedAt: '2025-01-13T09:00:00.000Z',
      reporter: 'Anna Nowak',
    });
    // P2 at 10:00 local: reaction due 11:00 local = 10:00Z (SLA-6).
    expect(body.sla.reactionDue).toBe('2025-01-13T10:00:00.000Z');
    expect(body.history).toEqual([
      expect.objectContaining({ at: '2025-01-13T09:00:00.000Z', from: null, to: 'open', actor: 'Anna Nowak' }),
    ]);
    expect(h.tickets).toEqual([expect.objectContaining({ change: 'opened' })]);
    const again = await get(h, '/api/tickets/HZ-000001');
    expect(again.body.history).toHaveLength(1);
  });

  it('refuses a malformed body with 400 naming the field (priority is required, SLA-4)', async () => {
    h = await makeTicketsHarness({ start: START });
    const { priority: _p, ...noPriority } = manual;
    const res = await post(h, '/api/tickets', noPriority);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^priority: /);
    const bad = await post(h, '/api/tickets', { ...manual, channel: 'auto' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/channel/);
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM tickets').get()).toEqual({ n: 0 });
  });

  it('refuses an unknown serial with 422 naming serial (SLA-15)', async () => {
    h = await makeTicketsHarness({ start: START });
    const res = await post(h, '/api/tickets', { ...manual, serial: 'NOPE-999' });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/^serial: unknown device serial "NOPE-999"/);
    expect(res.body.code).toBe('UNKNOWN_SERIAL');
  });

  it('refuses a contract that does not cover the serial, does not exist or expired with 422 naming contract', async () => {
    h = await makeTicketsHarness({ start: START });
    const notCovering = await post(h, '/api/tickets', { ...manual, serial: '8L2X30-0002' });
    expect(notCovering.status).toBe(422);
    expect(notCovering.body.error).toBe('contract: contract "C-100" does not cover serial "8L2X30-0002"');
    expect(notCovering.body.code).toBe('CONTRACT_NOT_COVERING');
    const unknown = await post(h, '/api/tickets', { ...manual, contract: 'C-404' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatch(/^contract: unknown contract number "C-404"/);
    const expired = await post(h, '/api/tickets', { ...manual, serial: '8L2E70-0003', contract: 'C-OLD' });
    expect(expired.status).toBe(422);
    expect(expired.body.error).toMatch(/^contract: contract "C-OLD" is not active on 2025-01-13/);
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM tickets').get()).toEqual({ n: 0 });
  });

  it('lists open tickets sorted by time to next due, and closed ones apart', async () => {
    h = await makeTicketsHarness({ start: START });
    const p3 = await post(h, '/api/tickets', { ...manual, priority: 'P3' }); // due 14:00 local
    const p2 = await post(h, '/api/tickets', { ...manual, priority: 'P2' }); // due 11:00 local
    const p1 = await post(h, '/api/tickets', { ...manual, priority: 'P1', serial: '8L2X70-0004' }); // due 11:00 local too
    const open = await get(h, '/api/tickets?state=open');
    expect(open.body.map((t: any) => t.id)).toEqual([p2.body.id, p1.body.id, p3.body.id]);
    expect(open.body[0].sla.nextDue).toBe('2025-01-13T10:00:00.000Z');
    expect((await get(h, '/api/tickets?state=closed')).body).toEqual([]);
    expect((await get(h, '/api/tickets?state=all')).body).toHaveLength(3);
    expect((await get(h, '/api/tickets?state=bogus')).status).toBe(400);
    expect((await get(h, '/api/tickets/HZ-999999')).status).toBe(404);
  });
});

describe('lifecycle over HTTP', () => {
  it('walks every allowed transition of the replacement path and records time, actor and note', async () => {
    h = await makeTicketsHarness({ start: START });
    const { body: t } = await post(h, '/api/tickets', { ...manual, priority: 'P1' });
    const path: TicketState[] = [
      'acknowledged',
      'verifying',
      'accepted',
      'replacement_shipped',
      'replacement_delivered',
      'faulty_returned',
      'closed',
    ];
    for (const to of path) {
      await h.advance(10 * 60_000);
      const res = await post(h, `/api/tickets/${t.id}/transitions`, { to, actor: 'jan.k', note: `to ${to}` });
      expect(res.status, to).toBe(200);
      expect(res.body.state).toBe(to);
    }
    const final = await get(h, `/api/tickets/${t.id}`);
    expect(final.body.history.map((e: any) => [e.from, e.to])).toEqual([
      [null, 'open'],
      ['open', 'acknowledged'],
      ['acknowledged', 'verifying'],
      ['verifying', 'accepted'],
      ['accepted', 'replacement_shipped'],
      ['replacement_shipped', 'replacement_delivered'],
      ['replacement_delivered', 'faulty_returned'],
      ['faulty_returned', 'closed'],
    ]);
    expect(final.body.history[1]).toMatchObject({
      at: '2025-01-13T09:10:00.000Z',
      actor: 'jan.k',
      note: 'to acknowledged',
    });
    // accepted Mon 13 Jan 09:30Z -> delivery due Tue 14 Jan 16:00+01 = 15:00Z (SLA-12);
    // delivered (5th step) at 09:50Z -> return due 20 Jan 09:50Z (SLA-14).
    expect(final.body.sla.deliveryDue).toBe('2025-01-14T15:00:00.000Z');
    expect(final.body.sla.returnDue).toBe('2025-01-20T09:50:00.000Z');
    expect(final.body.sla.running).toEqual([]);
    expect((await get(h, '/api/tickets?state=closed')).body.map((x: any) => x.id)).toEqual([t.id]);
    expect((await get(h, '/api/tickets?state=open')).body).toEqual([]);
  });

  it.each([
    ['acknowledged', 'closed'],
    ['verifying', 'closed'],
    ['verifying', 'rejected'],
  ] as const)('allows the short path ... -> %s -> %s', async (via, to) => {
    h = await makeTicketsHarness({ start: START });
    const { body: t } = await post(h, '/api/tickets', manual);
    const steps: TicketState[] = via === 'acknowledged' ? ['acknowledged', to] : ['acknowledged', 'verifying', to];
    for (const step of steps) {
      expect((await post(h, `/api/tickets/${t.id}/transitions`, { to: step, actor: 'jan.k' })).status).toBe(200);
    }
    expect((await get(h, `/api/tickets/${t.id}`)).body.state).toBe(to);
  });

  it.each([
    ['open', 'closed'],
    ['open', 'accepted'],
    ['open', 'verifying'],
    ['acknowledged', 'accepted'],
    ['acknowledged', 'open'],
    ['verifying', 'replacement_shipped'],
  ] as const)('refuses %s -> %s with 409 and changes nothing', async (from, to) => {
    h = await makeTicketsHarness({ start: START });
    const { body: t } = await post(h, '/api/tickets', manual);
    const setup: TicketState[] =
      from === 'open' ? [] : from === 'acknowledged' ? ['acknowledged'] : ['acknowledged', 'verifying'];
    for (const step of setup) await post(h, `/api/tickets/${t.id}/transitions`, { to: step, actor: 'jan.k' });
    const before = dbSnapshot(h, t.id);
    const events = h.tickets.length;
    await h.advance(60_000);
    const res = await post(h, `/api/tickets/${t.id}/transitions`, { to, actor: 'jan.k', note: 'try' });
    expect(res.status).toBe(409);
    expect(res.body.error).toContain(`${from} -> ${to}`);
    expect(res.body.code).toBe('TRANSITION_NOT_ALLOWED');
    expect(dbSnapshot(h, t.id)).toEqual(before);
    expect(h.tickets.length).toBe(events);
  });

  it('a contact acknowledges an open ticket and restarts the update clock (SLA-7)', async () => {
    h = await makeTicketsHarness({ start: START });
    const { body: t } = await post(h, '/api/tickets', manual); // P2, Mon 10:00 local
    await h.advance(20 * 60_000); // 10:20 local
    const first = await post(h, `/api/tickets/${t.id}/contacts`, { actor: 'jan.k', note: 'called Anna' });
    expect(first.status).toBe(201);
    expect(first.body.state).toBe('acknowledged');
    // P2 update = +2 business h: 12:20 local = 11:20Z.
    expect(first.body.sla.nextUpdateDue).toBe('2025-01-13T11:20:00.000Z');
    await h.advance(60 * 60_000); // 11:20 local
    const second = await post(h, `/api/tickets/${t.id}/contacts`, { actor: 'jan.k', note: 'sent firmware link' });
    expect(second.body.sla.nextUpdateDue).toBe('2025-01-13T12:20:00.000Z');
    expect(second.body.history.map((e: any) => e.kind)).toEqual(['opened', 'transition', 'contact']);
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM ticket_contacts').get()).toEqual({ n: 2 });
    expect((await post(h, `/api/tickets/${t.id}/contacts`, { actor: 'jan.k' })).status).toBe(400);
  });

  it('a delivery date agreed with the customer replaces the delivery due', async () => {
    h = await makeTicketsHarness({ start: START });
    const { body: t } = await post(h, '/api/tickets', manual);
    for (const to of ['acknowledged', 'verifying', 'accepted']) {
      await post(h, `/api/tickets/${t.id}/transitions`, { to, actor: 'jan.k' });
    }
    const early = await post(h, `/api/tickets/${t.id}/delivery-agreement`, {
      dueAt: '2025-01-14T10:00:00Z',
      actor: 'jan.k',
    });
    expect(early.status).toBe(400);
    expect(early.body.error).toMatch(/^dueAt: /);
    const res = await post(h, `/api/tickets/${t.id}/delivery-agreement`, {
      dueAt: '2025-01-17T12:00:00+01:00',
      actor: 'jan.k',
      note: 'customer is away until Friday',
    });
    expect(res.status).toBe(200);
    expect(res.body.sla.deliveryDue).toBe('2025-01-17T11:00:00.000Z');
    expect(res.body.history.at(-1)).toMatchObject({ kind: 'delivery-agreement', actor: 'jan.k' });
  });

  it('adds attachments, notes and a summary through the internal service', async () => {
    h = await makeTicketsHarness({ start: START });
    const { body: t } = await post(h, '/api/tickets', manual);
    const service = h.ctx.services.ticketService!;
    await service.addAttachment(t.id, {
      name: 'device-logs.tgz',
      size: 1234,
      sha256: 'a'.repeat(64),
      kind: 'logs',
      capturedAt: '2025-01-13T08:59:00Z',
      storedPath: '/data/attachments/HZ-000001/device-logs.tgz',
    });
    await expect(
      service.addAttachment(t.id, {
        name: 'device-logs.tgz',
        size: 1,
        sha256: 'b'.repeat(64),
        kind: 'logs',
        storedPath: '/x',
      }),
    ).rejects.toThrow(/already has an attachment/);
    // not awaited, as the evidence module calls them: stored and announced in call order
    void service.addNote(t.id, 'evidence', 'service tests passed except camera');
    await service.setSummary(t.id, 'camera USB link resets');
    const got = (await get(h, `/api/tickets/${t.id}`)).body;
    expect(got.attachments).toEqual([
      { name: 'device-logs.tgz', size: 1234, sha256: 'a'.repeat(64), kind: 'logs', capturedAt: '2025-01-13T08:59:00Z' },
    ]);
    expect(got.summary).toBe('camera USB link resets');
    expect((await service.attachment(t.id, 'device-logs.tgz'))?.storedPath).toBe(
      '/data/attachments/HZ-000001/device-logs.tgz',
    );
    const listed = (await get(h, '/api/tickets')).body;
    expect(listed[0].attachments).toHaveLength(1);
    expect(h.tickets.map((e) => e.change)).toEqual(['opened', 'attachment', 'note', 'note']);
  });

  it('lists contracts expiring within N days', async () => {
    h = await makeTicketsHarness({
      start: START,
      config: {
        contracts: [
          { number: 'C-SOON', customer: 'acme', start: '2022-02-01', termYears: 3 }, // ends 2025-01-31
          { number: 'C-LATER', customer: 'acme', start: '2024-01-01', termYears: 3, extensionYears: 2 },
        ],
      },
    });
    const res = await get(h, '/api/contracts/expiring?days=60');
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      { number: 'C-SOON', customer: 'acme', start: '2022-02-01', end: '2025-01-31', daysLeft: 18, serials: [] },
    ]);
    expect((await get(h, '/api/contracts/expiring?days=10')).body).toEqual([]);
  });
});
