/**
 * Attack family: hostile MQTT clients against the embedded broker (issue 13): oversized packets announced
 * before authentication, silent connections, client-id squatting, password guessing, connection floods.
 * Real hub, aedes over TCP, raw sockets and MQTT.js clients.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocols/clock.ts';
import { topics } from '../../protocols/topics.ts';
import { startTestHub, TEST_AGENTS, type TestHub } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { withDeadline } from '../helpers/wait-for.ts';

const [A1, A2] = TEST_AGENTS;
const MB = 1024 * 1024;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function hub(config: Record<string, unknown> = {}, clock?: ManualClock): Promise<TestHub> {
  const t = await startTestHub({ config, ...(clock !== undefined ? { clock } : {}) });
  cleanups.push(() => t.close());
  return t;
}

function tcp(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
    cleanups.push(() => void socket.destroy());
  });
}

/** MQTT remaining-length varint. */
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** Write `chunk` again and again until the server closes the socket; resolves with the bytes written. */
function floodUntilClosed(socket: Socket, chunk: Buffer, maxBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let closed = false;
    socket.on('error', () => {});
    socket.once('close', () => {
      closed = true;
      resolve(written);
    });
    const pump = () => {
      while (!closed && written < maxBytes) {
        written += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      if (!closed) reject(new Error(`server kept reading ${written} bytes`));
    };
    pump();
  });
}

function mqttConnect(url: string, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  cleanups.push(() => client.endAsync(true));
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

describe('broker hardening', () => {
  it('a 250 MB CONNECT announcement is cut off at its header: memory stays bounded', async () => {
    const t = await hub();
    const before = process.memoryUsage().rss;
    const header = Buffer.concat([Buffer.from([0x10]), varint(250 * MB)]);
    const filler = Buffer.alloc(MB, 0x41);
    const sockets = await Promise.all([1, 2, 3, 4].map(() => tcp(t.urls.mqttUrl)));
    const written = await Promise.all(
      sockets.map(async (s) => {
        s.write(header);
        return floodUntilClosed(s, filler, 250 * MB);
      }),
    );
    const growthMb = (process.memoryUsage().rss - before) / MB;
    console.log(
      `250 MB CONNECT x4: closed after ${written.map((w) => w / MB).join(', ')} MB sent; RSS +${growthMb.toFixed(1)} MB`,
    );
    for (const w of written) expect(w).toBeLessThan(64 * MB);
    expect(growthMb).toBeLessThan(150);
    expect(await t.metric('hezo_mqtt_auth_denied_total', { action: 'packet', reason: 'too-large' })).toBe(4);
  });

  it('after login, a PUBLISH larger than its topic kind allows closes the connection', async () => {
    const t = await hub();
    const agent = await connectAgent(t.urls.mqttUrl, { agentId: A1.id, site: A1.site, password: A1.password });
    cleanups.push(() => agent.close());
    const closed = agent.whenClosed();
    // An event may carry 8 KB; 200 KB is under the largest kind (attachment) but over the event limit.
    void agent.raw(topics.event(A1.site, A1.id, 'SN-1'), Buffer.alloc(200 * 1024, 0x20), 0).catch(() => {});
    await withDeadline(closed, 10_000, 'the broker to close the connection');
    expect(await t.metric('hezo_mqtt_auth_denied_total', { action: 'packet', reason: 'too-large' })).toBe(1);
  });

  it('a connection that never sends CONNECT is closed after connectTimeoutMs', async () => {
    const t = await hub({ mqtt: { connectTimeoutMs: 300 } });
    const socket = await tcp(t.urls.mqttUrl);
    await withDeadline(new Promise((resolve) => socket.once('close', resolve)), 10_000, 'the idle connection to close');
  });

  it('client ids are bound to their agent: no squatting; same credentials replace the old session', async () => {
    const t = await hub();
    const victimId = `hezo-agent-${A1.site}-${A1.id}`;
    // agent-2 (valid credentials) tries agent-1's predictable id while agent-1 is away.
    await expect(
      mqttConnect(t.urls.mqttUrl, { clientId: victimId, username: A2.id, password: A2.password }),
    ).rejects.toThrow(/identifier rejected/i);
    expect(await t.metric('hezo_mqtt_auth_denied_total', { reason: 'client-id-not-own' })).toBe(1);
    // An id that belongs to no agent at all is refused too.
    await expect(
      mqttConnect(t.urls.mqttUrl, { clientId: 'mosq-1234', username: A2.id, password: A2.password }),
    ).rejects.toThrow(/identifier rejected/i);
    // The real agent gets its id.
    const first = await mqttConnect(t.urls.mqttUrl, { clientId: victimId, username: A1.id, password: A1.password });
    // A wrong password on that id changes nothing.
    await expect(
      mqttConnect(t.urls.mqttUrl, { clientId: victimId, username: A1.id, password: 'wrong-password' }),
    ).rejects.toThrow(/bad user ?name or password/i);
    expect(first.connected).toBe(true);
    // The same agent again (its credentials): the new connection replaces the old one.
    const firstClosed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const second = await mqttConnect(t.urls.mqttUrl, { clientId: victimId, username: A1.id, password: A1.password });
    await withDeadline(firstClosed, 10_000, 'the replaced session to close');
    expect(second.connected).toBe(true);
  });

  it('password guessing: after the free attempts every try is refused unchecked, with exponential delay', async () => {
    const clock = new ManualClock(Date.now());
    const t = await hub({ mqtt: { loginFreeAttempts: 5, loginBaseDelayMs: 1000, loginMaxDelayMs: 60_000 } }, clock);
    const guess = (password: string) =>
      mqttConnect(t.urls.mqttUrl, { clientId: `${A1.id}-g`, username: A1.id, password }).then(
        () => 'in',
        () => 'refused',
      );
    for (let i = 0; i < 50; i++) expect(await guess(`guess-${i}`)).toBe('refused');
    expect(await t.metric('hezo_mqtt_auth_denied_total', { reason: 'bad-credentials' })).toBe(5);
    expect(await t.metric('hezo_mqtt_auth_denied_total', { reason: 'throttled' })).toBe(45);
    // Even the right password waits out the delay (the guesser cannot tell it was right).
    expect(await guess(A1.password)).toBe('refused');
    clock.advance(1000);
    expect(await guess('guess-after-1s')).toBe('refused');
    expect(await t.metric('hezo_mqtt_auth_denied_total', { reason: 'bad-credentials' })).toBe(6);
    clock.advance(1000); // the next delay is 2 s: still refused unchecked
    expect(await guess(A1.password)).toBe('refused');
    expect(await t.metric('hezo_mqtt_auth_denied_total', { reason: 'bad-credentials' })).toBe(6);
    clock.advance(1000);
    expect(await guess(A1.password)).toBe('in');
    // Made-up usernames from the guessing address are refused unchecked...
    for (let i = 0; i < 5; i++) {
      await mqttConnect(t.urls.mqttUrl, { clientId: `x${i}`, username: `nobody-${i}`, password: 'x' }).catch(() => {});
    }
    const throttled = await t.metric('hezo_mqtt_auth_denied_total', { reason: 'throttled' });
    await expect(mqttConnect(t.urls.mqttUrl, { clientId: 'y', username: 'nobody-9', password: 'x' })).rejects.toThrow(
      /bad user ?name or password/i,
    );
    expect(await t.metric('hezo_mqtt_auth_denied_total', { reason: 'throttled' })).toBe(throttled + 1);
    // ...but another real agent behind the same address (a NAT) still logs in: its own name was never guessed.
    await mqttConnect(t.urls.mqttUrl, { clientId: `${A2.id}-ok`, username: A2.id, password: A2.password });
  });

  it('an agent may hold at most maxConnectionsPerAgent connections', async () => {
    const t = await hub({ mqtt: { maxConnectionsPerAgent: 2 } });
    await mqttConnect(t.urls.mqttUrl, { clientId: `${A1.id}-a`, username: A1.id, password: A1.password });
    await mqttConnect(t.urls.mqttUrl, { clientId: `${A1.id}-b`, username: A1.id, password: A1.password });
    await expect(
      mqttConnect(t.urls.mqttUrl, { clientId: `${A1.id}-c`, username: A1.id, password: A1.password }),
    ).rejects.toThrow(/server unavailable/i);
    // Another agent is not affected.
    await mqttConnect(t.urls.mqttUrl, { clientId: `${A2.id}-a`, username: A2.id, password: A2.password });
  });
});
