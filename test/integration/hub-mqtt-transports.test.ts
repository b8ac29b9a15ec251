/**
 * The embedded broker's other listeners: MQTT over TLS (`mqtt.tls`, certificate pinned by the client) and
 * MQTT over websocket (`mqtt.wsPort`). A real MQTT.js client publishes a health record on each and the hub
 * processes it; a plain-TCP MQTT client cannot speak to the TLS port.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import selfsigned from 'selfsigned';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';
import { nextBusEvent, withDeadline } from '../helpers/wait-for.ts';

const AGENT = { agentId: 'agent-1', site: 'site-a', password: 'agent-1-secret' } as const;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

let certDir: string;
let certPem: string;

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'hezo-hub-tls-'));
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'hezo-hub-test' }], {
    algorithm: 'sha256',
    keyType: 'ec',
    notAfterDate: new Date(Date.now() + 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  certPem = pems.cert;
  writeFileSync(join(certDir, 'hub.crt'), pems.cert);
  writeFileSync(join(certDir, 'hub.key'), pems.private, { mode: 0o600 });
  return () => rmSync(certDir, { recursive: true, force: true });
});

async function hub(mqttOverrides: Record<string, unknown>): Promise<TestHub> {
  const t = await startTestHub({ config: { mqtt: { host: '127.0.0.1', port: 0, ...mqttOverrides } } });
  cleanups.push(() => t.close());
  return t;
}

async function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: `${AGENT.agentId}-${Math.random().toString(16).slice(2, 8)}`,
    username: AGENT.agentId,
    password: AGENT.password,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  client.on('error', () => {});
  cleanups.push(() => client.endAsync(true));
  return client;
}

/** Publish one valid health record for `serial` and wait until the detector has turned it into `up`. */
async function expectProcessed(t: TestHub, client: MqttClient, serial: string): Promise<void> {
  const up = nextBusEvent(t.hub.ctx.bus, 'device-state', (tr) => tr.serial === serial && tr.to === 'up');
  const record = makeHealthRecord({ ...AGENT, serial });
  await client.publishAsync(topics.health(AGENT.site, AGENT.agentId, serial), encodeMessage('health', record), {
    qos: 1,
  });
  expect(await up).toMatchObject({ serial, from: 'unknown', to: 'up', agentId: AGENT.agentId });
  const view = (await (await t.api(`/api/devices/${serial}`)).json()) as { state: string; lastSeen: string | null };
  expect(view.state).toBe('up');
  expect(view.lastSeen).toEqual(expect.any(String));
}

describe('hub MQTT over TLS (mqtt.tls)', () => {
  it('accepts an mqtts:// client that pins the hub certificate, and processes its health record', async () => {
    const t = await hub({
      tls: { port: 0, certFile: join(certDir, 'hub.crt'), keyFile: join(certDir, 'hub.key') },
    });
    expect(t.urls.mqttTlsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const client = await connect(t.urls.mqttTlsUrl!, { ca: certPem, rejectUnauthorized: true });
    await expectProcessed(t, client, 'SN-TLS-1');
  });

  it('refuses a client that does not trust the certificate, and a plain-TCP client on the TLS port', async () => {
    const t = await hub({
      tls: { port: 0, certFile: join(certDir, 'hub.crt'), keyFile: join(certDir, 'hub.key') },
    });
    const tlsUrl = t.urls.mqttTlsUrl!;
    const received: string[] = [];
    cleanups.push(t.hub.ctx.bus.on('ingest:health', ({ message }) => received.push(message.identity.serial)));

    // No `ca`: the self-signed certificate is not trusted, so the TLS handshake fails on the client.
    await expect(connect(tlsUrl, { rejectUnauthorized: true })).rejects.toThrow(/self[- ]signed|certificate/i);

    // Plain MQTT on the TLS port: the server expects a TLS ClientHello; there is never a CONNACK.
    const plainUrl = tlsUrl.replace(/^mqtts:/, 'mqtt:');
    const plain = mqtt.connect(plainUrl, {
      protocolVersion: 4,
      clientId: 'plain-on-tls',
      username: AGENT.agentId,
      password: AGENT.password,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    plain.on('error', () => {});
    cleanups.push(() => plain.endAsync(true));
    let isConnected = false;
    plain.on('connect', () => {
      isConnected = true;
    });
    await withDeadline(
      new Promise<void>((resolve) => plain.once('close', () => resolve())),
      10_000,
      'the TLS port to close a plain-TCP MQTT connection',
    );
    expect(isConnected).toBe(false);
    expect(received).toEqual([]);

    // The plain listener still works next to it.
    const ok = await connect(t.urls.mqttUrl);
    await expectProcessed(t, ok, 'SN-PLAIN-1');
  });
});

describe('hub MQTT over websocket (mqtt.wsPort)', () => {
  it('accepts a ws:// MQTT.js client and processes its health record', async () => {
    const t = await hub({ wsPort: 0 });
    expect(t.urls.mqttWsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const client = await connect(t.urls.mqttWsUrl!);
    await expectProcessed(t, client, 'SN-WS-1');

    // Stopping the hub with a websocket client still connected closes it and does not hang.
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await withDeadline(t.hub.stop(), 15_000, 'hub.stop() with a websocket MQTT client connected');
    await withDeadline(closed, 5000, 'the websocket MQTT client to be closed by the hub');
  });

  it('applies the same authentication on the websocket listener', async () => {
    const t = await hub({ wsPort: 0 });
    await expect(connect(t.urls.mqttWsUrl!, { password: 'wrong-password-123' })).rejects.toThrow(
      /not authori[sz]ed|bad user/i,
    );
  });
});
