/**
 * Issue 16: a ticket's `ticket.opened` page is not lost when its node dies. The notification log (shared table)
 * says what was claimed and delivered; what a killed node left owed is delivered by the site's holder at its next
 * start, or by any holder once the row is older than the longest delivery. Claimed once: two nodes never both
 * send it. A real webhook receiver on loopback; the states a kill -9 leaves are made in the store directly.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NotificationLog } from '../../hub/notify/notification-log.ts';
import { makeTicketsHarness, type TicketsHarness } from '../helpers/tickets-harness.ts';
import { waitFor } from '../helpers/wait-for.ts';

// Mon 13 Jan 2025 10:00 Warsaw.
const START = '2025-01-13T09:00:00Z';
const SECRET = 'owed-webhook-secret-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Webhook receiver: `<event> <ticket id>` of every POST, in arrival order. */
async function startReceiver() {
  const got: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { ticket: { id: string } };
      got.push(`${String(req.headers['x-hezo-event'])} ${body.ticket.id}`);
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

async function harnessWithHook(url: string): Promise<{ h: TicketsHarness; open: () => Promise<string> }> {
  const h = await makeTicketsHarness({
    start: START,
    config: { notifications: { webhooks: [{ url, secret: SECRET }] } },
  });
  const open = async () => {
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
    await h.settle();
    const ticket = h.tickets.find((t) => t.change === 'opened')?.ticket;
    if (ticket === undefined) throw new Error('no ticket opened');
    return ticket.id;
  };
  return { h, open };
}

const rowOf = async (h: TicketsHarness, id: string) =>
  (
    await h.ctx.sql.query<{ node: string; state: string }>(
      "SELECT node, state FROM notification_log WHERE ticket_id = $1 AND event = 'ticket.opened'",
      [id],
    )
  )[0];

const delivered = (h: TicketsHarness, id: string, what: string) =>
  waitFor(async () => (await rowOf(h, id))?.state === 'delivered', { what });

/** A hub with a webhook receiver, one automatic ticket opened and its page delivered. */
async function deliveredTicket() {
  const hook = await startReceiver();
  const { h, open } = await harnessWithHook(hook.url);
  const hub = { current: h };
  cleanups.push(() => hub.current.close());
  const id = await open();
  await delivered(h, id, 'the page delivered');
  return { hook, hub, id };
}

describe('ticket notifications owed after a node died', () => {
  it('never claimed (killed between the commit and the claim): sent at the next start, once', async () => {
    const { hook, hub, id } = await deliveredTicket();
    expect(hook.got).toEqual([`ticket.opened ${id}`]);
    await hub.current.ctx.sql.run('DELETE FROM notification_log WHERE ticket_id = $1', [id]);
    hub.current = await hub.current.restart();
    await delivered(hub.current, id, 'the owed page delivered');
    expect(hook.got).toEqual([`ticket.opened ${id}`, `ticket.opened ${id}`]);
    hub.current = await hub.current.restart();
    await hub.current.settle();
    expect(hook.got).toHaveLength(2);
  });

  it("left scheduled by this node (killed while delivering): delivered at its next start; another node's after the longest delivery", async () => {
    const { hook, hub, id } = await deliveredTicket();
    const node = (await rowOf(hub.current, id))!.node;
    await hub.current.ctx.sql.run(
      "UPDATE notification_log SET state = 'scheduled', done_at = NULL WHERE ticket_id = $1",
      [id],
    );
    hub.current = await hub.current.restart();
    await delivered(hub.current, id, 'redelivered');
    expect(hook.got).toHaveLength(2);

    // another node's row, still scheduled: not touched while its delivery could still be running ...
    await hub.current.ctx.sql.run(
      "UPDATE notification_log SET state = 'scheduled', node = 'hub-gone', boot = 'b1', scheduled_at = $2 WHERE ticket_id = $1",
      [id, new Date(hub.current.clock.now()).toISOString()],
    );
    await hub.current.advance(60_000);
    expect((await rowOf(hub.current, id))?.node).toBe('hub-gone');
    // ... taken over once it is older than the longest delivery (every retry): a node gone for good
    await hub.current.advance(10 * 60_000);
    await delivered(hub.current, id, 'taken over');
    expect((await rowOf(hub.current, id))?.node).toBe(node);
    expect(hook.got).toEqual(Array(3).fill(`ticket.opened ${id}`));
  });

  it('two nodes claim one notification: one wins; two take over one row: one wins', async () => {
    const { h } = await harnessWithHook('http://127.0.0.1:9/unused');
    cleanups.push(() => h.close());
    const a = new NotificationLog(h.ctx.sql, 'hub-a');
    const b = new NotificationLog(h.ctx.sql, 'hub-b');
    const at = new Date(h.clock.now()).toISOString();
    expect(await Promise.all([a.claim('HZ-9', 'ticket.opened', at), b.claim('HZ-9', 'ticket.opened', at)])).toEqual([
      true,
      false,
    ]);
    const boot = (
      await h.ctx.sql.query<{ boot: string }>("SELECT boot FROM notification_log WHERE ticket_id = 'HZ-9'")
    )[0]!.boot;
    const owed = { ticketId: 'HZ-9', event: 'ticket.opened' as const, row: { node: 'hub-a', boot, scheduledAt: at } };
    const later = new Date(h.clock.now() + 1).toISOString();
    expect(await Promise.all([b.takeOver(owed, later), a.takeOver(owed, later)])).toEqual([true, false]);
  });
});
