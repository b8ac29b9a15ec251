/**
 * Issue 8: the `/ws` live stream on a bare fastify + HubBus (no hub core): auth, snapshot then ordered deltas,
 * coalescing, resync, slow clients (paused socket) and dead clients (no pong).
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hubNodeId } from '../../hub/node-id.ts';
import { createWsModule, type WsModule } from '../../hub/ws/module.ts';
import { ManualClock } from '../../protocols/clock.ts';
import {
  ADMIN_TOKEN,
  type FakeHubContext,
  makeDevice,
  makeFakeHubContext,
  makeTicket,
  READ_TOKEN,
} from '../helpers/fake-hub-context.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { connectStream, type StreamTestClient, upgradeStatus } from '../helpers/ws-stream-client.ts';

const START = '2026-11-25T10:00:00.000Z';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** `seed`: what the hub holds before the stream starts (its open tickets are loaded at start, then follow the bus). */
async function startStream(
  ws: Record<string, unknown> = {},
  clock = new ManualClock(START),
  seed: (fake: FakeHubContext) => void = () => {},
) {
  const fake: FakeHubContext = makeFakeHubContext({ clock, config: { ws: { pingIntervalMs: 600_000, ...ws } } });
  seed(fake);
  const module: WsModule = createWsModule(fake.ctx);
  await module.start?.();
  await fake.http.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(async () => {
    await module.stop?.();
    await fake.http.close();
  });
  const { port } = fake.http.server.address() as AddressInfo;
  const base = `ws://127.0.0.1:${port}/ws`;
  const connect = async (opts: Parameters<typeof connectStream>[1] = {}, token = READ_TOKEN) => {
    const client = await connectStream(`${base}?token=${token}`, opts);
    cleanups.push(() => client.close());
    return client;
  };
  return { ...fake, module, clock, base, port, connect };
}

/** Let socket I/O run (the stream is driven by the ManualClock, sockets by the real loop). */
const ioTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('ws stream: auth', () => {
  it('refuses a missing or wrong token with 401, accepts read-only (query) and admin (header) tokens', async () => {
    const s = await startStream();
    expect(await upgradeStatus(s.base)).toBe(401);
    expect(await upgradeStatus(`${s.base}?token=wrong-token-0123456789`)).toBe(401);
    expect(await upgradeStatus(s.base, { Authorization: `Bearer ${ADMIN_TOKEN}` })).toBe(101);
    expect(await upgradeStatus(`${s.base}?token=${READ_TOKEN}`)).toBe(101);
    expect(await upgradeStatus(`ws://127.0.0.1:${s.port}/elsewhere?token=${READ_TOKEN}`)).toBe(404);
    const metrics = await s.ctx.metrics.getSingleMetricAsString('hezo_ws_auth_failures_total');
    expect(metrics).toMatch(/hezo_ws_auth_failures_total 2/);
    const plain = await fetch(`http://127.0.0.1:${s.port}/ws`);
    expect(plain.status).toBe(426);
  });
});

describe('ws stream: snapshot and deltas', () => {
  it('sends a snapshot (devices, open tickets, raised site alerts), then ordered deltas with contiguous seq', async () => {
    const s = await startStream({}, undefined, (fake) => {
      fake.tickets.map.set('T-1', { ...makeTicket({ id: 'T-1' }), history: [] });
      fake.tickets.map.set('T-0', { ...makeTicket({ id: 'T-0', state: 'closed' }), history: [] });
    });
    s.devices.map.set('SN-1', makeDevice({ serial: 'SN-1' }));
    s.bus.emit('site-alert', {
      site: 'waw-hq',
      agentId: 'agent-1',
      status: 'raised',
      at: START,
      reason: 'agent-offline',
      serials: ['SN-1'],
    });
    s.clock.advance(100);

    const client = await s.connect();
    const snapshot = await client.next();
    expect(snapshot).toMatchObject({ type: 'snapshot', seq: 1, at: '2026-11-25T10:00:00.100Z' });
    // the hub node it comes from (issue 16: the NOC page shows it and moves to another node when this one dies)
    expect(snapshot.node).toBe(hubNodeId(s.ctx.config));
    expect(snapshot.node).toMatch(/^[A-Za-z0-9]/);
    expect(snapshot.devices.map((d: { serial: string }) => d.serial)).toEqual(['SN-1']);
    expect(snapshot.tickets.map((t: { id: string }) => t.id)).toEqual(['T-1']);
    expect(snapshot.tickets[0].sla.reactionDue).toBeTypeOf('string');
    expect(snapshot.siteAlerts).toHaveLength(1);

    s.bus.emit('device', makeDevice({ serial: 'SN-1', state: 'down', reason: 'all-channels-failed' }));
    s.bus.emit('ticket', { ticket: makeTicket({ id: 'T-2' }), change: 'opened' });
    s.bus.emit('sla', {
      ticketId: 'T-2',
      serial: 'SN-1',
      priority: 'P1',
      clock: 'reaction',
      level: 'warning',
      dueAt: START,
      at: START,
    });
    s.bus.emit('site-alert', {
      site: 'waw-hq',
      agentId: 'agent-1',
      status: 'cleared',
      at: START,
      reason: 'agent-online',
      serials: ['SN-1'],
    });
    s.clock.advance(100);
    const deltas = [await client.next(), await client.next(), await client.next(), await client.next()];
    expect(deltas.map((m) => [m.type, m.seq])).toEqual([
      ['device', 2],
      ['ticket', 3],
      ['sla', 4],
      ['site-alert', 5],
    ]);
    expect(deltas[0]!.data).toMatchObject({ serial: 'SN-1', state: 'down' });

    // A second client now gets the cleared alert out of its snapshot, at the current seq.
    const late = await s.connect();
    const lateSnapshot = await late.next();
    expect(lateSnapshot).toMatchObject({ type: 'snapshot', seq: 5, siteAlerts: [] });
  });

  it('coalesces a burst to the latest state per device within one tick', async () => {
    const s = await startStream({ coalesceMs: 200 });
    const client = await s.connect();
    await client.next((m) => m.type === 'snapshot');
    for (const state of ['down', 'degraded', 'up', 'down'] as const) {
      s.bus.emit('device', makeDevice({ serial: 'SN-1', state }));
      s.bus.emit('device', makeDevice({ serial: 'SN-2', state: 'up' }));
      s.clock.advance(40);
    }
    s.clock.advance(200);
    s.bus.emit('device', makeDevice({ serial: 'SN-1', state: 'up' }));
    s.clock.advance(200);
    const got = [await client.next(), await client.next(), await client.next()];
    expect(got.map((m) => [m.seq, m.data.serial, m.data.state])).toEqual([
      [1, 'SN-1', 'down'],
      [2, 'SN-2', 'up'],
      [3, 'SN-1', 'up'],
    ]);
    expect(s.module.stream.stats().seq).toBe(3);
  });

  it('answers {type:resync} with a fresh snapshot and ignores (and counts) invalid client messages', async () => {
    const s = await startStream();
    const client = await s.connect();
    await client.next((m) => m.type === 'snapshot');
    s.bus.emit('device', makeDevice({ serial: 'SN-9', state: 'down' }));
    s.clock.advance(100);
    await client.next((m) => m.type === 'device');
    client.ws.send('not json');
    client.ws.send(JSON.stringify({ type: 'hack', x: 1 }));
    client.ws.send(JSON.stringify({ type: 'resync' }));
    const snapshot = await client.next((m) => m.type === 'snapshot');
    expect(snapshot.seq).toBe(1);
    expect(s.module.stream.stats().ignoredMessages).toBe(2);
    const metric = await s.ctx.metrics.getSingleMetricAsString('hezo_ws_client_messages_ignored_total');
    expect(metric).toMatch(/ 2$/m);
  });
});

describe('ws stream: slow and dead clients', () => {
  it('skips a client that stops reading, keeps the others flowing, resyncs it on drain, cuts it off when stuck', async () => {
    const s = await startStream({ maxBufferedBytes: 64 * 1024, stuckClientTimeoutMs: 5000 });
    const fast = await s.connect();
    const slow = await s.connect();
    await fast.next((m) => m.type === 'snapshot');
    await slow.next((m) => m.type === 'snapshot');
    const slowSocket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;

    const padding = 'x'.repeat(16 * 1024);
    let n = 0;
    /** Emit big deltas until the hub marks the paused client stalled; the fast client must see each promptly. */
    async function fillUntilStalled(client: StreamTestClient) {
      for (let round = 0; round < 2000 && s.module.stream.stats().stalled === 0; round += 1) {
        for (let i = 0; i < 8; i += 1) {
          n += 1;
          const device = makeDevice({ serial: `SN-${n}`, state: 'down', reason: padding });
          s.devices.map.set(device.serial, device);
          s.bus.emit('device', device);
        }
        s.clock.advance(100);
        const sentAt = performance.now();
        const serial = `SN-${n}`;
        await client.next((m) => m.type === 'device' && m.data.serial === serial, 2000);
        expect(performance.now() - sentAt).toBeLessThan(1000);
      }
      expect(s.module.stream.stats().stalled).toBe(1);
    }

    slowSocket.pause();
    await fillUntilStalled(fast);
    const seqAtStall = s.module.stream.stats().seq;
    // Still stalled: more deltas go to the fast client only.
    s.devices.map.set('SN-extra', makeDevice({ serial: 'SN-extra', state: 'up' }));
    s.bus.emit('device', s.devices.map.get('SN-extra')!);
    s.clock.advance(100);
    await fast.next((m) => m.data?.serial === 'SN-extra');

    slowSocket.resume();
    await waitFor(
      async () => {
        s.clock.advance(100);
        await ioTurn();
        return s.module.stream.stats().resyncs === 1;
      },
      { what: 'slow client resynced after draining' },
    );
    const fresh = await slow.next((m) => m.type === 'snapshot' && m.seq > seqAtStall, 10_000);
    expect(fresh.seq).toBe(s.module.stream.stats().seq);
    expect(fresh.devices.some((d: { serial: string }) => d.serial === 'SN-extra')).toBe(true);

    // Stuck for good: cut off after stuckClientTimeoutMs; the fast client is untouched.
    slowSocket.pause();
    await fillUntilStalled(fast);
    const closed = new Promise((resolve) => slow.ws.once('close', resolve));
    s.clock.advance(5000);
    slowSocket.resume();
    await closed;
    expect(s.module.stream.stats()).toMatchObject({ cutoffs: 1, clients: 1 });
    s.bus.emit('device', makeDevice({ serial: 'SN-after', state: 'up' }));
    s.clock.advance(100);
    await fast.next((m) => m.data?.serial === 'SN-after');
    const metric = await s.ctx.metrics.getSingleMetricAsString('hezo_ws_slow_client_cutoffs_total');
    expect(metric).toMatch(/ 1$/m);
  });

  it('terminates a client that does not answer pings, keeps one that does', async () => {
    const s = await startStream({ pingIntervalMs: 1000 });
    const alive = await s.connect();
    const dead = await s.connect({ autoPong: false });
    await alive.next((m) => m.type === 'snapshot');
    await dead.next((m) => m.type === 'snapshot');
    const pinged = new Promise((resolve) => alive.ws.once('ping', resolve));
    s.clock.advance(1000);
    await pinged;
    // The pong frame precedes this app-level ping on the same socket: once answered, the hub has seen the pong.
    alive.ws.send(JSON.stringify({ type: 'ping' }));
    await alive.next((m) => m.type === 'pong');
    const closed = new Promise((resolve) => dead.ws.once('close', resolve));
    s.clock.advance(1000);
    await closed;
    expect(s.module.stream.stats()).toMatchObject({ deadDropped: 1, clients: 1 });
    expect(alive.ws.readyState).toBe(alive.ws.OPEN);
  });
});
