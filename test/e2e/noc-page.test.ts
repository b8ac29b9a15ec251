/**
 * Issue 8: the NOC wall page in real headless Chromium, served by the ws + noc modules on a test fastify with a
 * HubBus fed by hand (no hub core): a device going down and a P1 ticket show within 2 s of the bus emit, countdowns
 * tick locally, breaches and site alerts are prominent, the detail panel loads history and attachments, a lost
 * stream shows the banner and the page recovers when the server comes back on the same port.
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubModule } from '../../hub/context.ts';
import { createPagesModule } from '../../hub/web/pages-module.ts';
import { createWsModule } from '../../hub/ws/module.ts';
import { createNocModule } from '../../hub/ws/noc-module.ts';
import { artifactPath, launchChromium } from '../helpers/chromium.ts';
import {
  type FakeHubContext,
  makeDevice,
  makeFakeHubContext,
  makeTicket,
  READ_TOKEN,
} from '../helpers/fake-hub-context.ts';

let browserHandle: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let server: { fake: FakeHubContext; modules: HubModule[]; port: number } | undefined;

const devicesFixture = [
  makeDevice({ serial: 'X50-0001', name: 'Board room', customer: 'acme', site: 'waw-hq' }),
  makeDevice({ serial: 'X30-0002', model: 'StudioX30', name: 'Huddle 2', customer: 'acme', site: 'waw-hq' }),
  makeDevice({ serial: 'E70-0003', model: 'StudioE70', name: 'Auditorium', customer: 'acme', site: 'krk-lab' }),
  makeDevice({
    serial: 'X70-0004',
    model: 'StudioX70',
    name: 'Exec suite',
    customer: 'globex',
    site: 'gdn-1',
    state: 'degraded',
    reason: 'call-quality',
  }),
  makeDevice({ serial: 'USB-0005', model: 'StudioUSB', customer: 'globex', site: 'gdn-1', state: 'unknown' }),
];

/** Start (or restart, same port) a fastify with the ws and noc modules and a stub ticket API. */
async function startServer(port = 0): Promise<NonNullable<typeof server>> {
  const http = Fastify({ logger: false });
  const fake = makeFakeHubContext({ http, config: { ws: { coalesceMs: 100, pingIntervalMs: 5000 } } });
  for (const d of devicesFixture) fake.devices.map.set(d.serial, d);
  const modules = [createWsModule(fake.ctx), createNocModule(fake.ctx), createPagesModule(fake.ctx)];
  http.get<{ Params: { id: string } }>('/api/tickets/:id', async (req, reply) => {
    if (req.headers.authorization !== `Bearer ${READ_TOKEN}`) return reply.code(401).send({ error: 'token' });
    const ticket = await fake.tickets.get(req.params.id);
    return ticket ?? reply.code(404).send({ error: 'no such ticket' });
  });
  http.get('/api/tickets/:id/attachments/:name', async (_req, reply) => reply.type('text/plain').send('log lines'));
  for (const m of modules) await m.start?.();
  await http.listen({ port, host: '127.0.0.1' });
  return { fake, modules, port: (http.server.address() as AddressInfo).port };
}

async function stopServer(): Promise<void> {
  if (server === undefined) return;
  for (const m of [...server.modules].reverse()) await m.stop?.();
  await server.fake.http.close();
  server = undefined;
}

beforeAll(async () => {
  server = await startServer();
  browserHandle = await launchChromium();
  page = await browserHandle.browser.newPage({ viewport: { width: 1920, height: 1080 } });
});

afterAll(async () => {
  await browserHandle?.close();
  await stopServer();
});

const streamIsLive = () => page.waitForSelector('body[data-stream="live"]', { timeout: 15_000 });

describe('NOC wall page', () => {
  it('shows a device going down and a P1 ticket with a live countdown within 2 s of the bus emit', async () => {
    const s = server!;
    await page.goto(`http://127.0.0.1:${s.port}/?token=${READ_TOKEN}`);
    expect(new URL(page.url()).pathname).toBe('/noc/'); // `/` with a wall token opens the NOC wall
    await streamIsLive();
    expect(new URL(page.url()).searchParams.get('token')).toBeNull(); // moved to sessionStorage
    expect(await page.locator('[data-testid="device"]').count()).toBe(devicesFixture.length);

    const now = Date.now();
    const down = makeDevice({
      serial: 'X50-0001',
      name: 'Board room',
      state: 'down',
      reason: 'all-channels-failed',
      since: new Date(now).toISOString(),
    });
    const ticket = makeTicket({
      id: 'T-42',
      serial: 'X50-0001',
      title: 'StudioX50 X50-0001 down: no answer on REST and SNMP',
      summary:
        '3 consecutive polls with every channel failed\nrest: timeout: connect (2 attempts)\nsnmp: timeout: no response (2 attempts)',
      openedAt: new Date(now).toISOString(),
      attachments: [{ name: 'device-log.txt', size: 9, sha256: 'ab', kind: 'log' }],
    });
    s.fake.devices.map.set(down.serial, down);
    s.fake.tickets.map.set(ticket.id, {
      ...ticket,
      history: [{ at: ticket.openedAt, from: null, to: 'open', actor: 'hub', note: 'opened automatically' }],
    });
    const emittedAt = performance.now();
    s.fake.bus.emit('device', down);
    s.fake.bus.emit('ticket', { ticket, change: 'opened' });
    await page.waitForSelector('[data-testid="device"][data-serial="X50-0001"][data-state="down"]', { timeout: 2000 });
    await page.waitForSelector('[data-ticket-id="T-42"] [data-clock="reaction"] [data-testid="countdown"]', {
      timeout: 2000,
    });
    const latencyMs = performance.now() - emittedAt;
    expect(latencyMs).toBeLessThan(2000);
    expect(await page.locator('[data-serial="X50-0001"]').textContent()).toContain('▲ DOWN');
    // Room name everywhere, serial second; the reason in words, not a code; the contract's coverage on the card.
    expect(await page.locator('[data-serial="X50-0001"] [data-testid="device-reason"]').textContent()).toMatch(
      /^no answer on REST and SNMP/,
    );
    const card = page.locator('[data-ticket-id="T-42"]');
    expect(await card.locator('[data-testid="ticket-room"]').textContent()).toBe('Board room');
    expect(await card.locator('[data-testid="ticket-title"]').textContent()).toContain('no answer on REST and SNMP');
    expect(await card.locator('[data-testid="ticket-coverage"]').textContent()).toMatch(/^✓ covered by /);

    // The countdown ticks locally with no new message.
    const countdown = page.locator('[data-ticket-id="T-42"] [data-clock="reaction"] [data-testid="countdown"]');
    const first = await countdown.textContent();
    expect(first).toMatch(/^(59:\d\d|1h 00m)$/);
    await page.waitForFunction(
      (before) =>
        document.querySelector('[data-ticket-id="T-42"] [data-clock="reaction"] [data-testid="countdown"]')
          ?.textContent !== before,
      first,
      { timeout: 2500 },
    );
  });

  it('puts breached tickets first in a red BREACHED block and shows site alerts', async () => {
    const s = server!;
    const openedAt = new Date(Date.now() - 72 * 60_000).toISOString();
    const late = makeTicket({
      id: 'T-7',
      priority: 'P2',
      serial: 'X70-0004',
      site: 'gdn-1',
      customer: 'globex',
      state: 'acknowledged',
      title: 'Exec suite: packet loss 9 % in calls',
      openedAt,
      sla: {
        clockStart: openedAt,
        reactionDue: new Date(Date.parse(openedAt) + 3_600_000).toISOString(),
        nextUpdateDue: new Date(Date.now() - 12 * 60_000 - 5000).toISOString(),
        deliveryDue: null,
        returnDue: null,
        breached: ['update'],
        warned: [],
      },
    });
    s.fake.tickets.map.set(late.id, { ...late, history: [] });
    s.fake.bus.emit('ticket', { ticket: late, change: 'transition' });
    s.fake.bus.emit('sla', {
      ticketId: 'T-7',
      serial: 'X70-0004',
      priority: 'P2',
      clock: 'update',
      level: 'breach',
      dueAt: late.sla.nextUpdateDue!,
      at: new Date().toISOString(),
    });
    s.fake.bus.emit('site-alert', {
      site: 'krk-lab',
      agentId: 'agent-krk',
      status: 'raised',
      at: new Date().toISOString(),
      reason: 'agent-offline',
      serials: ['E70-0003'],
    });
    const breached = page.locator('[data-ticket-id="T-7"] [data-clock="update"]');
    await breached.waitFor({ timeout: 2000 });
    expect(await breached.getAttribute('data-level')).toBe('breached');
    expect(await breached.textContent()).toContain('BREACHED +12m');
    await page.waitForSelector('[data-testid="site-alert"][data-site="krk-lab"]', { timeout: 2000 });
    const order = await page
      .locator('[data-testid="ticket"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-ticket-id')));
    expect(order).toEqual(['T-7', 'T-42']);
    await page.screenshot({ path: artifactPath('noc-wall.png') });
  });

  it('shows long tasks (outbox replay, evidence upload) in the activity strip until they finish', async () => {
    const s = server!;
    const heartbeat = (done: number) =>
      s.fake.bus.emit('ingest:heartbeat', {
        message: {
          v: 1,
          agentId: 'agent-krk',
          at: new Date().toISOString(),
          intervalMs: 5000,
          outboxDepth: 400 - done,
          outboxDropped: 0,
          progress: [{ task: 'outbox replay', done, total: 400 }],
        },
        site: 'krk-lab',
        agentId: 'agent-krk',
        clientId: 'agent-krk',
        receivedAtMs: Date.now(),
      });
    heartbeat(120);
    s.fake.bus.emit('attachment-progress', {
      ticketId: 'T-42',
      serial: 'X50-0001',
      transferId: 'tr-000123',
      name: 'device-logs.tar.gz',
      receivedBytes: 5 * 1_048_576,
      size: 50 * 1_048_576,
      percent: 10,
    });
    const replay = page.locator('[data-testid="activity-item"][data-key="agent-krk:outbox replay"]');
    await replay.waitFor({ timeout: 2000 });
    expect(await replay.textContent()).toContain('agent-krk · outbox replay · 120/400 (30 %)');
    const upload = page.locator('[data-testid="activity-item"][data-key="hub:tr-000123"]');
    expect(await upload.textContent()).toContain('5.0 MB/50.0 MB (10 %)');
    await page.screenshot({ path: artifactPath('noc-activity.png') });
    heartbeat(400);
    await replay.waitFor({ state: 'detached', timeout: 2000 });
  });

  it('says when a P2/P3 clock sent outside business hours starts, in the customer time zone', async () => {
    const s = server!;
    // Sent at night: the clock starts at the next opening (whatever the real time, a start in the future).
    const start = new Date(Date.now() + 3 * 86_400_000);
    const night = makeTicket({
      id: 'T-9',
      priority: 'P3',
      serial: 'E70-0003',
      site: 'krk-lab',
      title: 'StudioE70 E70-0003 degraded: camera disconnected',
      openedAt: new Date().toISOString(),
      sla: {
        clockStart: start.toISOString(),
        reactionDue: new Date(start.getTime() + 4 * 3_600_000).toISOString(),
        nextUpdateDue: null,
        deliveryDue: null,
        returnDue: null,
        breached: [],
        warned: [],
      },
    });
    s.fake.bus.emit('ticket', { ticket: night, change: 'opened' });
    const clock = page.locator('[data-ticket-id="T-9"] [data-clock="reaction"]');
    await clock.waitFor({ timeout: 2000 });
    const expected = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Warsaw',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .format(start)
      .replace(',', '');
    expect(await clock.locator('[data-testid="countdown"]').textContent()).toBe(`starts ${expected}`);
    expect(await clock.getAttribute('data-level')).toBe('paused');
    expect(await page.locator('[data-ticket-id="T-9"] [data-testid="ticket-room"]').textContent()).toBe('Auditorium');
    expect(await page.locator('[data-testid="wall-clock"]').getAttribute('data-time-zones')).toBe('Europe/Warsaw');
    s.fake.bus.emit('ticket', { ticket: { ...night, state: 'closed' }, change: 'transition' });
    await clock.waitFor({ state: 'detached', timeout: 2000 });
  });

  it('answers /favicon.ico without a token', async () => {
    const res = await fetch(`http://127.0.0.1:${server!.port}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
  });

  it('opens a ticket detail panel with history and attachments', async () => {
    await page.click('[data-ticket-id="T-42"]');
    await page.waitForSelector('[data-testid="ticket-history"] tr:nth-child(2)', { timeout: 3000 });
    expect(await page.locator('[data-testid="ticket-history"]').textContent()).toContain('opened automatically');
    expect(await page.locator('[data-testid="attachment"]').getAttribute('data-name')).toBe('device-log.txt');
    const download = page.waitForEvent('download', { timeout: 3000 });
    await page.click('[data-testid="attachment"]');
    expect((await download).suggestedFilename()).toBe('device-log.txt');
    await page.screenshot({ path: artifactPath('noc-detail.png') });
    await page.click('[data-testid="detail-close"]');
    expect(await page.locator('[data-testid="ticket-detail"]').isHidden()).toBe(true);
  });

  it('shows STREAM LOST when the server goes away and recovers (fresh snapshot) when it is back', async () => {
    const port = server!.port;
    await stopServer();
    await page.waitForSelector('[data-testid="stream-banner"]', { state: 'visible', timeout: 5000 });
    expect(await page.locator('[data-testid="stream-banner"]').textContent()).toContain('STREAM LOST - reconnecting');
    await page.screenshot({ path: artifactPath('noc-stream-lost.png') });

    server = await startServer(port);
    const recovered = makeDevice({ serial: 'X50-0001', name: 'Board room', state: 'up' });
    server.fake.devices.map.set(recovered.serial, recovered);
    await streamIsLive();
    await page.waitForSelector('[data-testid="stream-banner"]', { state: 'hidden', timeout: 5000 });
    await page.waitForSelector('[data-serial="X50-0001"][data-state="up"]', { timeout: 5000 });
    // The new server has no open tickets: the re-sync replaced the page's state.
    expect(await page.locator('[data-testid="ticket"]').count()).toBe(0);
  });
});
