/**
 * Notifications against real peers on loopback: an SMTP server (smtp-server) and node:http webhook receivers
 * that verify the HMAC signature; retries with backoff on a ManualClock; failures never block a ticket.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { NotificationsConfig } from '../../hub/config.ts';
import { type AttemptResult, Notifier } from '../../hub/notify/notifier.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { makeTicketsHarness, type TicketsHarness } from '../helpers/tickets-harness.ts';

const SECRET = 'webhook-secret-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Received {
  event: string;
  signatureOk: boolean;
  body: any;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A webhook receiver that verifies `X-Hezo-Signature`; answers 500 for the first `failures` requests. */
async function startWebhook(failures = 0) {
  const received: Received[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    readBody(req).then(
      (raw) => {
        calls++;
        const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`);
        const got = Buffer.from(String(req.headers['x-hezo-signature'] ?? ''));
        const signatureOk = got.length === expected.length && timingSafeEqual(got, expected);
        received.push({ event: String(req.headers['x-hezo-event']), signatureOk, body: JSON.parse(raw) });
        res.statusCode = calls <= failures ? 500 : signatureOk ? 204 : 401;
        res.end();
      },
      () => res.destroy(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url, received, calls: () => calls };
}

async function startSmtp() {
  const messages: string[] = [];
  const waiters: ((m: string) => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        messages.push(text);
        waiters.shift()?.(text);
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as AddressInfo).port;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const next = () =>
    new Promise<string>((resolve) => {
      waiters.push(resolve);
    });
  return { port, messages, next };
}

function nextAttempt(notifier: Notifier): Promise<AttemptResult> {
  return once(notifier.events, 'attempt').then(([a]) => a as AttemptResult);
}

// Mon 13 Jan 2025 10:00 Warsaw.
const START = '2025-01-13T09:00:00Z';

async function harness(notifications: Record<string, unknown>): Promise<TicketsHarness> {
  const h = await makeTicketsHarness({ start: START, config: { notifications } });
  cleanups.push(() => h.close());
  return h;
}

describe('notifications', () => {
  it('a new ticket is e-mailed over SMTP and posted to a signed webhook', async () => {
    const smtp = await startSmtp();
    const hook = await startWebhook();
    const h = await harness({
      smtp: { host: '127.0.0.1', port: smtp.port, from: 'hezo@example.com', to: ['desk@example.com'] },
      webhooks: [{ url: hook.url, secret: SECRET }],
    });
    const mail = smtp.next();
    const attempts = [nextAttempt(h.module.notifier)];
    h.bus.emit('device-state', {
      serial: '8L2X50-0001',
      site: 'waw-hq',
      customer: 'acme',
      agentId: 'agent-1',
      from: 'up',
      to: 'down',
      at: START,
      reason: 'all-channels-failed',
      evidence: ['rest: ECONNREFUSED'],
      inMaintenance: false,
      problems: [],
    });
    const text = await mail;
    expect(text).toMatch(/Subject: \[HEZO\+ P1\] HZ-000001 opened: StudioX50 8L2X50-0001 down/);
    expect(text).toContain('desk@example.com');
    await attempts[0];
    while (hook.received.length === 0) await nextAttempt(h.module.notifier);
    expect(hook.received[0]).toMatchObject({ event: 'ticket.opened', signatureOk: true });
    expect(hook.received[0]!.body).toMatchObject({
      event: 'ticket.opened',
      ticket: { id: 'HZ-000001', priority: 'P1' },
    });
    // the P1 reaction clock: warning at 45 min, breach at 60 min -> two more webhooks (and mails).
    await h.advance(60 * 60_000);
    while (hook.received.length < 3) await nextAttempt(h.module.notifier);
    // (the two SLA posts run concurrently: compare without order)
    expect(hook.received.map((r) => `${r.event}:${r.signatureOk}`).sort()).toEqual([
      'sla.breach:true',
      'sla.warning:true',
      'ticket.opened:true',
    ]);
    expect(hook.received.find((r) => r.event === 'sla.breach')!.body.sla).toMatchObject({
      clock: 'reaction',
      level: 'breach',
      ticketId: 'HZ-000001',
    });
  });

  it('retries a failing webhook with exponential backoff on the injected clock', async () => {
    const hook = await startWebhook(2);
    const clock = new ManualClock(START);
    const notifier = new Notifier(
      NotificationsConfig.parse({ webhooks: [{ url: hook.url, secret: SECRET }], maxAttempts: 5, retryBaseMs: 1000 }),
      { clock, logger: pino({ level: 'silent' }), metrics: new Registry() },
    );
    cleanups.push(() => notifier.stop());
    const ticket = { id: 'HZ-000042', priority: 'P2', title: 't' } as never;
    let attempt = nextAttempt(notifier);
    notifier.notify({ event: 'sla.breach', at: START, ticket });
    expect(await attempt).toMatchObject({ attempt: 1, isOk: false, retryInMs: 1000 });
    attempt = nextAttempt(notifier);
    clock.advance(999);
    expect(hook.calls()).toBe(1);
    clock.advance(1);
    expect(await attempt).toMatchObject({ attempt: 2, isOk: false, retryInMs: 2000 });
    attempt = nextAttempt(notifier);
    clock.advance(2000);
    expect(await attempt).toMatchObject({ attempt: 3, isOk: true, retryInMs: null });
    expect(hook.received.map((r) => [r.event, r.signatureOk])).toEqual([
      ['sla.breach', true],
      ['sla.breach', true],
      ['sla.breach', true],
    ]);
  });

  it('gives up after maxAttempts and never blocks or fails ticket creation', async () => {
    const hook = await startWebhook(100);
    // An SMTP port nobody listens on: take a free port and close it.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const h = await harness({
      smtp: { host: '127.0.0.1', port: deadPort, from: 'hezo@example.com', to: ['desk@example.com'] },
      webhooks: [{ url: hook.url, secret: SECRET }],
      maxAttempts: 2,
      retryBaseMs: 10,
    });
    const results: AttemptResult[] = [];
    h.module.notifier.events.on('attempt', (a: AttemptResult) => results.push(a));
    const res = await h.http.inject({
      method: 'POST',
      url: '/api/tickets',
      payload: {
        channel: 'email',
        serial: '8L2X50-0001',
        contract: 'C-100',
        priority: 'P3',
        reporter: 'Anna',
        description: 'how do I pair the remote?',
      },
    });
    expect(res.statusCode).toBe(201);
    while (results.length < 2) await nextAttempt(h.module.notifier);
    await h.advance(10);
    while (results.length < 4) await nextAttempt(h.module.notifier);
    expect(results.every((r) => !r.isOk)).toBe(true);
    expect(results.filter((r) => r.retryInMs === null)).toHaveLength(2);
    const metrics = await h.ctx.metrics.metrics();
    expect(metrics).toContain('hezo_notifications_total{channel="webhook",result="failed"} 1');
    expect(metrics).toContain('hezo_notifications_total{channel="email",result="failed"} 1');
  });
});
