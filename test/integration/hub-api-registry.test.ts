/**
 * The registry side of the HTTP API: `PUT /api/devices/:serial`, `POST`/`GET /api/contracts`,
 * `POST /api/maintenance`. Bad bodies answer 400 naming the field; a read-only token may not write (403);
 * a maintenance window added through the API keeps a device that dies inside it from opening a ticket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceView, TicketView } from '../../hub/types.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub, TEST_READ_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function hub(modules?: 'all'): Promise<TestHub> {
  // Devices and contracts must name a known customer (issue 14).
  const config = { customers: [{ id: 'acme', name: 'Acme' }] };
  const t = await startTestHub(modules === undefined ? { config } : { modules, config });
  cleanups.push(() => t.close());
  return t;
}

function send(t: TestHub, method: string, path: string, body: unknown, token?: string): Promise<Response> {
  return t.api(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(token !== undefined ? { token } : {}),
  });
}

/** 400 with `{error}` as `<where>: <field>: <problem>` (e.g. `body: termYears: Too big ...`). */
async function expect400(res: Response, path: string): Promise<string> {
  expect(res.status).toBe(400);
  const { error } = (await res.json()) as { error: string };
  const dot = path.indexOf('.');
  const where = dot === -1 ? path : path.slice(0, dot);
  expect(error.startsWith(`${where}: `)).toBe(true);
  if (dot !== -1) expect(error).toContain(`${path.slice(dot + 1)}`);
  return error;
}

const CONTRACT = { number: 'HZ-2025-001', customer: 'acme', start: '2025-01-01', termYears: 3, serials: ['SN-1'] };

describe('PUT /api/devices/:serial', () => {
  it('registers and edits a device; the view reflects it', async () => {
    const t = await hub();
    const created = await send(t, 'PUT', '/api/devices/SN-1', {
      model: 'StudioX50',
      site: 'site-a',
      customer: 'acme',
      name: 'Board room',
    });
    expect(created.status).toBe(200);
    expect(await created.json()).toMatchObject({
      serial: 'SN-1',
      model: 'StudioX50',
      site: 'site-a',
      customer: 'acme',
      name: 'Board room',
      state: 'unknown',
      contract: null,
      coverage: 'none',
    });
    const moved = await send(t, 'PUT', '/api/devices/SN-1', { model: 'StudioX50', site: 'site-b', customer: 'acme' });
    expect(moved.status).toBe(200);
    const list = (await (await t.api('/api/devices')).json()) as DeviceView[];
    expect(list).toEqual([expect.objectContaining({ serial: 'SN-1', site: 'site-b' })]);
  });

  it('answers 400 naming the field for a bad body or serial, 403 for a read-only token', async () => {
    const t = await hub();
    await expect400(await send(t, 'PUT', '/api/devices/SN-1', { site: 'site/a', customer: 'acme' }), 'body.site');
    await expect400(await send(t, 'PUT', '/api/devices/SN-1', { site: 'site-a' }), 'body.customer');
    await expect400(
      await send(t, 'PUT', '/api/devices/SN-1', { site: 'site-a', customer: 'acme', model: 'Trio' }),
      'body.model',
    );
    await expect400(
      await send(t, 'PUT', '/api/devices/SN-1', { site: 'site-a', customer: 'acme', colour: 'red' }),
      'body.colour: unknown field',
    );
    await expect400(
      await send(t, 'PUT', `/api/devices/${encodeURIComponent('bad serial!')}`, { site: 'site-a', customer: 'acme' }),
      'params.serial',
    );
    const readOnly = await send(t, 'PUT', '/api/devices/SN-1', { site: 'site-a', customer: 'acme' }, TEST_READ_TOKEN);
    expect(readOnly.status).toBe(403);
    // Nothing was registered by any of these.
    expect(await (await t.api('/api/devices')).json()).toEqual([]);
  });
});

describe('POST /api/contracts and GET /api/contracts', () => {
  it('adds a contract (201), lists it, and links it to its devices', async () => {
    const t = await hub();
    await send(t, 'PUT', '/api/devices/SN-1', { model: 'StudioX50', site: 'site-a', customer: 'acme' });
    const res = await send(t, 'POST', '/api/contracts', CONTRACT);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      number: 'HZ-2025-001',
      customer: 'acme',
      start: '2025-01-01',
      end: '2027-12-31',
      serials: ['SN-1'],
    });
    const listed = (await (await t.api('/api/contracts', { token: TEST_READ_TOKEN })).json()) as unknown[];
    expect(listed).toEqual([
      expect.objectContaining({ number: 'HZ-2025-001', end: '2027-12-31', serials: ['SN-1'], termYears: 3 }),
    ]);
    const device = (await (await t.api('/api/devices/SN-1')).json()) as DeviceView;
    expect(device.contract).toBe('HZ-2025-001');

    // Re-posting the same number is a conflict, never a silent replace (issue 14); PUT edits it (year 5).
    const again = await send(t, 'POST', '/api/contracts', { ...CONTRACT, serials: [] });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'DUPLICATE_KEY' });
    expect((await (await t.api('/api/devices/SN-1')).json()).contract).toBe('HZ-2025-001');
    const { number: _n, ...edit } = CONTRACT;
    const extended = await send(t, 'PUT', '/api/contracts/HZ-2025-001', { ...edit, extensionYears: 2 });
    expect(extended.status).toBe(200);
    expect(await extended.json()).toMatchObject({ number: 'HZ-2025-001', end: '2029-12-31' });
    expect(await (await t.api('/api/contracts')).json()).toHaveLength(1);
  });

  it('answers 400 naming the field for a bad body, 403 for a read-only token', async () => {
    const t = await hub();
    await expect400(await send(t, 'POST', '/api/contracts', { ...CONTRACT, termYears: 7 }), 'body.termYears');
    await expect400(await send(t, 'POST', '/api/contracts', { ...CONTRACT, start: '2025-13-01' }), 'body.start');
    await expect400(await send(t, 'POST', '/api/contracts', { ...CONTRACT, extensionYears: 3 }), 'body.extensionYears');
    await expect400(
      await send(t, 'POST', '/api/contracts', { ...CONTRACT, serials: ['ok', 'no way'] }),
      'body.serials[1]',
    );
    const { number: _, ...noNumber } = CONTRACT;
    await expect400(await send(t, 'POST', '/api/contracts', noNumber), 'body.number');
    await expect400(await send(t, 'POST', '/api/contracts', { ...CONTRACT, price: 10 }), 'body.price: unknown field');
    const readOnly = await send(t, 'POST', '/api/contracts', CONTRACT, TEST_READ_TOKEN);
    expect(readOnly.status).toBe(403);
    expect(await (await t.api('/api/contracts')).json()).toEqual([]);
  });
});

describe('POST /api/maintenance', () => {
  const inOneHour = () => new Date(Date.now() + 3_600_000).toISOString();
  const aMinuteAgo = () => new Date(Date.now() - 60_000).toISOString();

  it('answers 400 naming the field for a bad body, 403 for a read-only token', async () => {
    const t = await hub();
    const window = { site: 'site-a', from: aMinuteAgo(), to: inOneHour(), reason: 'firmware rollout' };
    await expect400(await send(t, 'POST', '/api/maintenance', { ...window, from: 'yesterday' }), 'body.from');
    await expect400(await send(t, 'POST', '/api/maintenance', { ...window, to: window.from }), 'body.to');
    await expect400(await send(t, 'POST', '/api/maintenance', { ...window, site: 'a/b' }), 'body.site');
    const { site: _, ...noTarget } = window;
    const error = await expect400(await send(t, 'POST', '/api/maintenance', noTarget), 'body');
    expect(error).toMatch(/site|serial/);
    await expect400(await send(t, 'POST', '/api/maintenance', { ...window, until: 'x' }), 'body.until: unknown field');
    const readOnly = await send(t, 'POST', '/api/maintenance', window, TEST_READ_TOKEN);
    expect(readOnly.status).toBe(403);
    expect(await (await t.api('/api/maintenance')).json()).toEqual([]);

    const ok = await send(t, 'POST', '/api/maintenance', window);
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ site: 'site-a', serial: null, reason: 'firmware rollout', source: 'api' });
  });

  it('a device going down inside a window added through the API opens no ticket; outside it, a P1', async () => {
    const t = await hub('all');
    const agent = await connectAgent(t.urls.mqttUrl, {
      agentId: 'agent-1',
      site: 'site-a',
      password: 'agent-1-secret',
    });
    cleanups.push(() => agent.close());
    for (const serial of ['SN-MAINT', 'SN-OTHER']) {
      await send(t, 'PUT', `/api/devices/${serial}`, { model: 'StudioX50', site: 'site-a', customer: 'acme' });
    }
    const added = await send(t, 'POST', '/api/maintenance', {
      serial: 'SN-MAINT',
      from: aMinuteAgo(),
      to: inOneHour(),
    });
    expect(added.status).toBe(201);
    expect(((await (await t.api('/api/devices/SN-MAINT')).json()) as DeviceView).maintenance).toBe(true);

    const tickets: TicketView[] = [];
    cleanups.push(t.hub.ctx.bus.on('ticket', ({ ticket, change }) => change === 'opened' && tickets.push(ticket)));

    const quietDown = nextBusEvent(t.hub.ctx.bus, 'device-state', (tr) => tr.serial === 'SN-MAINT' && tr.to === 'down');
    for (const [seq, reachable] of [
      [1, true],
      [2, false],
      [3, false],
    ] as const) {
      await agent.send('health', makeHealthRecord({ serial: 'SN-MAINT', seq, reachable }));
    }
    expect(await quietDown).toMatchObject({ to: 'down', inMaintenance: true });

    // Control: the same fault on a device outside the window opens a P1 (so the tickets module is listening).
    // Its sibling SN-MAINT answers after it, so the site grouper releases the down at once (not a site outage).
    const opened = nextBusEvent(t.hub.ctx.bus, 'ticket', ({ change }) => change === 'opened');
    for (const [seq, reachable] of [
      [1, true],
      [2, false],
      [3, false],
    ] as const) {
      await agent.send('health', makeHealthRecord({ serial: 'SN-OTHER', seq, reachable }));
    }
    await agent.send('health', makeHealthRecord({ serial: 'SN-MAINT', seq: 4, reachable: true }));
    expect((await opened).ticket).toMatchObject({ serial: 'SN-OTHER', priority: 'P1' });
    expect(tickets.map((tk) => tk.serial)).toEqual(['SN-OTHER']);
    const all = (await (await t.api('/api/tickets?state=all')).json()) as TicketView[];
    expect(all.map((tk) => tk.serial)).toEqual(['SN-OTHER']);
  });
});
