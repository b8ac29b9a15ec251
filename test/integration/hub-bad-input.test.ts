/**
 * Bad input at the hub's MQTT boundary: each case shows the hub keeps serving the other agents
 * (a good agent's record still arrives and is processed).
 */
import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';
import { connectAgent, type FakeAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent, waitFor, withDeadline } from '../helpers/wait-for.ts';

let t: TestHub;
let good: FakeAgent;
const cleanups: Array<() => Promise<void>> = [];
let goodSeq = 0;

beforeEach(async () => {
  t = await startTestHub({ config: { mqtt: { maxMessagesPerSecond: 50 } } });
  cleanups.push(() => t.close());
  good = await connectAgent(t.urls.mqttUrl, { agentId: 'agent-2', site: 'site-b', password: 'agent-2-secret' });
  cleanups.push(() => good.close());
});

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** The good agent publishes a record; it must reach the detector and change the device's view. */
async function expectGoodAgentServed(): Promise<void> {
  goodSeq++;
  const serial = `SN-GOOD-${goodSeq}`;
  const seen = nextBusEvent(t.hub.ctx.bus, 'device-state', (tr) => tr.serial === serial && tr.to === 'up');
  await good.send('health', makeHealthRecord({ agentId: 'agent-2', site: 'site-b', serial, seq: goodSeq }));
  await seen;
  expect((await t.api(`/api/devices/${serial}`)).status).toBe(200);
}

async function rejected(reason: string): Promise<number> {
  return t.metric('hezo_messages_rejected_total', { reason });
}

async function badAgent(): Promise<FakeAgent> {
  const agent = await connectAgent(t.urls.mqttUrl, { agentId: 'agent-1', site: 'site-a', password: 'agent-1-secret' });
  cleanups.push(() => agent.close());
  return agent;
}

describe('hub under bad input', () => {
  it('survives malformed MQTT packets on a raw TCP socket', async () => {
    const { port } = new URL(t.urls.mqttUrl);
    const garbage = [
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // reserved packet type, bad remaining length
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      // CONNECT with a wrong protocol name, then junk
      Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x58, 0x58, 0x58, 0x58, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00, 0xde, 0xad]),
    ];
    for (const bytes of garbage) {
      const socket = connectTcp(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      socket.write(bytes);
      await withDeadline(once(socket, 'close'), 5000, 'the broker to drop a malformed connection');
    }
    await expectGoodAgentServed();
    expect((await t.api('/healthz', { token: null })).status).toBe(200);
  });

  it('counts and drops malformed JSON', async () => {
    const agent = await badAgent();
    await agent.raw(topics.health('site-a', 'agent-1', 'SN-1'), '{"v":1,"agentId":');
    await agent.raw(topics.heartbeat('site-a', 'agent-1'), Buffer.from([0xc3, 0x28, 0x00]));
    await waitFor(async () => (await rejected('JSON_INVALID')) === 2, { what: 'two JSON_INVALID rejections' });
    await expectGoodAgentServed();
    expect((await t.api('/api/devices/SN-1')).status).toBe(404);
  });

  it('counts and drops valid JSON with the wrong schema, version or identity', async () => {
    const agent = await badAgent();
    const record = makeHealthRecord({ serial: 'SN-1' });
    await agent.raw(topics.health('site-a', 'agent-1', 'SN-1'), JSON.stringify({ ...record, temperatureC: 'hot' }));
    await agent.raw(topics.health('site-a', 'agent-1', 'SN-1'), JSON.stringify({ ...record, extra: true }));
    await agent.raw(topics.health('site-a', 'agent-1', 'SN-1'), JSON.stringify({ ...record, v: 2 }));
    await agent.raw(topics.health('site-a', 'agent-1', 'SN-1'), JSON.stringify({ ...record, agentId: 'agent-2' }));
    await agent.raw(topics.health('site-a', 'agent-1', 'SN-OTHER'), JSON.stringify(record));
    await agent.raw(topics.health('site-a', 'agent-1', 'SN-1'), JSON.stringify([1, 2, 3]));
    await waitFor(async () => (await rejected('PAYLOAD_INVALID')) === 3, { what: 'PAYLOAD_INVALID rejections' });
    await waitFor(async () => (await rejected('SCHEMA_VERSION')) === 1, { what: 'a SCHEMA_VERSION rejection' });
    await waitFor(async () => (await rejected('TOPIC_MISMATCH')) === 2, { what: 'TOPIC_MISMATCH rejections' });
    await expectGoodAgentServed();
    expect((await t.api('/api/devices/SN-1')).status).toBe(404);
  });

  it('rejects records from the far future and the far past, and keeps replayed ones out of live state', async () => {
    const agent = await badAgent();
    const year = 365 * 24 * 3_600_000;
    const topic = topics.health('site-a', 'agent-1', 'SN-1');
    await agent.raw(topic, JSON.stringify(makeHealthRecord({ serial: 'SN-1', at: Date.now() + year, replayed: true })));
    await agent.raw(topic, JSON.stringify(makeHealthRecord({ serial: 'SN-1', at: Date.now() + year })));
    await agent.raw(
      topic,
      JSON.stringify(makeHealthRecord({ serial: 'SN-1', at: Date.now() - 20 * year, replayed: true })),
    );
    await waitFor(async () => (await rejected('CLOCK_SKEW')) === 2, { what: 'CLOCK_SKEW rejections' });
    await waitFor(async () => (await rejected('STALE_RECORD')) === 1, { what: 'a STALE_RECORD rejection' });
    // A replayed record within the replay horizon is history: stored and visible, but no live state.
    const history = nextBusEvent(t.hub.ctx.bus, 'health', ({ record }) => record.identity.serial === 'SN-1');
    await agent.send(
      'health',
      makeHealthRecord({ serial: 'SN-1', at: Date.now() - 3_600_000, replayed: true, reachable: false }),
    );
    await history;
    const device = (await (await t.api('/api/devices/SN-1')).json()) as {
      state: string;
      health: unknown[];
      history: unknown[];
    };
    expect(device).toMatchObject({ state: 'unknown', history: [] });
    expect(device.health).toHaveLength(1);
    await expectGoodAgentServed();
  });

  it("refuses a client publishing under another agent's topic (the message never reaches the hub)", async () => {
    const agent = await badAgent();
    const received: string[] = [];
    t.hub.ctx.bus.on('ingest:health', (m) => received.push(m.message.identity.serial));
    const closed = agent.whenClosed();
    // agent-1 (site-a) impersonating agent-2 (site-b)
    await agent.raw(
      topics.health('site-b', 'agent-2', 'SN-FORGED'),
      JSON.stringify(makeHealthRecord({ agentId: 'agent-2', site: 'site-b', serial: 'SN-FORGED' })),
      0,
    );
    await withDeadline(closed, 5000, 'the broker to drop the impersonating client');
    await waitFor(
      async () => (await t.metric('hezo_mqtt_auth_denied_total', { action: 'publish', reason: 'foreign-topic' })) === 1,
      {
        what: 'a denied publish',
      },
    );
    await expectGoodAgentServed();
    expect(received).not.toContain('SN-FORGED');
    expect((await t.api('/api/devices/SN-FORGED')).status).toBe(404);
  });

  it('refuses subscriptions to other agents\u2019 command topics', async () => {
    const agent = await badAgent();
    // MQTT.js turns a SUBACK of 128 (refused) into an error.
    await expect(agent.client.subscribeAsync(topics.commandsFor('site-b', 'agent-2'))).rejects.toThrow(
      /Subscribe error/,
    );
    await expect(agent.client.subscribeAsync('hezo/#')).rejects.toThrow(/Subscribe error/);
    expect(await t.metric('hezo_mqtt_auth_denied_total', { action: 'subscribe' })).toBe(2);
    const own = await agent.client.subscribeAsync(topics.commandsFor('site-a', 'agent-1'));
    expect(own[0]?.qos).toBe(0);
    await expectGoodAgentServed();
  });

  it('drops and counts a flood from one client over mqtt.maxMessagesPerSecond', async () => {
    const agent = await badAgent();
    const topic = topics.heartbeat('site-a', 'agent-1');
    const payload = JSON.stringify({
      v: 1,
      agentId: 'agent-1',
      at: new Date().toISOString(),
      intervalMs: 10_000,
      outboxDepth: 0,
      outboxDropped: 0,
    });
    for (let i = 0; i < 2000; i++) agent.client.publish(topic, payload, { qos: 0 });
    await waitFor(async () => (await rejected('RATE_LIMITED')) > 1000, {
      what: 'rate-limited drops',
      timeoutMs: 10_000,
    });
    await expectGoodAgentServed();
    expect(await t.metric('hezo_messages_in_total', { kind: 'heartbeat' })).toBeLessThan(1000);
  });
});
