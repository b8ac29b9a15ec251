/**
 * Issue 14: a customer's websocket (token or session cookie) gets a snapshot and deltas of its own customer only;
 * staff see everything on the same hub at the same time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceView } from '../../hub/types.ts';
import { PEOPLE_PASSWORD, type PeopleHub, startPeopleHub } from '../helpers/people-fixture.ts';
import { connectStream, type StreamTestClient, upgradeStatus } from '../helpers/ws-stream-client.ts';

let h: PeopleHub | undefined;
const clients: StreamTestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await h?.close();
  h = undefined;
});

function device(serial: string, customer: string, state: DeviceView['state']): DeviceView {
  return {
    serial,
    model: 'StudioX50',
    site: customer === 'acme' ? 'site-a' : 'site-b',
    customer,
    state,
    since: new Date().toISOString(),
    lastSeen: null,
    agentId: null,
    firmware: null,
    contract: null,
  };
}

describe('scoped stream', () => {
  it('a customer never receives another customer`s frame; an admin receives both', async () => {
    h = await startPeopleHub();
    const wsUrl = `${h.urls.httpUrl.replace('http', 'ws')}/ws`;
    const open = (body: Record<string, string>) =>
      h!.json('/api/tickets', {
        method: 'POST',
        body: { channel: 'phone', contract: 'x', priority: 'P3', reporter: 'R', description: 'd', ...body },
      });
    expect((await open({ serial: 'GLOBEX-0001', contract: 'C-GLOBEX' })).status).toBe(201);

    const admin = await connectStream(`${wsUrl}?token=${h.tokens.admin}`);
    const customer = await connectStream(`${wsUrl}?token=${h.tokens.customer}`);
    // The portal's browser uses its session cookie.
    const signIn = await h.json('/api/session', {
      method: 'POST',
      token: null,
      body: { user: 'acme-rep', password: PEOPLE_PASSWORD },
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const portal = await connectStream(wsUrl, { headers: { cookie } });
    clients.push(admin, customer, portal);

    const adminSnap = await admin.next((m) => m.type === 'snapshot');
    expect(adminSnap.node).toBeTypeOf('string');
    expect(adminSnap.tickets.map((t: { customer: string }) => t.customer)).toEqual(['globex']);
    for (const client of [customer, portal]) {
      const snap = await client.next((m) => m.type === 'snapshot');
      expect(snap.tickets).toEqual([]);
      expect(JSON.stringify(snap)).not.toMatch(/globex/i);
      // a scoped snapshot names the hub node too (issue 16: a wall shows which node it streams from)
      expect(snap.node).toBe(adminSnap.node);
    }

    // Another customer's changes first, then our own: whatever a client gets is in seq order, so once the acme
    // frames arrived, any globex frame sent to it would have arrived before them.
    h.hub.ctx.bus.emit('device', device('GLOBEX-0001', 'globex', 'down'));
    expect((await open({ serial: 'GLOBEX-0001', contract: 'C-GLOBEX' })).status).toBe(201);
    await admin.next((m) => m.type === 'ticket' && m.data.customer === 'globex');
    h.hub.ctx.bus.emit('device', device('ACME-0001', 'acme', 'down'));
    expect((await open({ serial: 'ACME-0001', contract: 'C-ACME' })).status).toBe(201);
    for (const client of [customer, portal, admin]) {
      await client.next((m) => m.type === 'ticket' && m.data.customer === 'acme');
      expect(
        client.messages.some((m) => m.type === 'device' && m.data.serial === 'ACME-0001' && m.data.state === 'down'),
      ).toBe(true);
    }
    expect(admin.messages.some((m) => m.type === 'device' && m.data.serial === 'GLOBEX-0001')).toBe(true);
    for (const client of [customer, portal]) {
      expect(JSON.stringify(client.messages)).not.toMatch(/globex/i);
      // A resync snapshot is scoped too.
      client.ws.send(JSON.stringify({ type: 'resync' }));
      const again = await client.next((m) => m.type === 'snapshot');
      expect(again.tickets.map((t: { customer: string }) => t.customer)).toEqual(['acme']);
      expect(JSON.stringify(again)).not.toMatch(/globex/i);
    }
    expect(JSON.stringify(admin.messages)).toMatch(/globex/);
  });

  it('refuses a websocket without credentials or with a revoked token', async () => {
    h = await startPeopleHub();
    const wsUrl = `${h.urls.httpUrl.replace('http', 'ws')}/ws`;
    expect(await upgradeStatus(wsUrl)).toBe(401);
    const id = (await h.people.store.tokens('acme-rep'))[0]!.id;
    await h.people.store.revokeToken(id);
    expect(await upgradeStatus(`${wsUrl}?token=${h.tokens.customer}`)).toBe(401);
    expect(await upgradeStatus(`${wsUrl}?token=${h.tokens.wall}`)).toBe(101);
  });
});
