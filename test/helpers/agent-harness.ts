/**
 * Helpers for the agent's tests: an aedes broker on loopback (stoppable and restartable on the same port),
 * a subscriber that records every message, agent configs for a simulated fleet, temp dirs, a pino
 * logger captured into a string, and a `waitFor(cond, timeoutMs)` poller.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import pino, { type Logger } from 'pino';
import { buildAgentConfig } from '../../agent/config.ts';
import { createRootLogger } from '../../agent/main.ts';
import type { AgentConfig } from '../../protocols/agent-config.ts';
import type { SimDeviceInfo, SimNetworkDeviceInfo } from '../../simulator/fleet.ts';

/** Poll `cond` every 10 ms until it returns a truthy value; fail after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await cond();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function tempDir(prefix = 'hezo-agent-'): { dir: string; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, close: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestBroker {
  url: string;
  port: number;
  /** Which client ids may connect (default: all); others get CONNACK "not authorized" and retry. */
  admit: (clientId: string) => boolean;
  /** Close the listener and drop every client (the "hub unreachable" case). */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startBroker(port = 0): Promise<TestBroker> {
  const gate = { admit: (_clientId: string) => true };
  const make = () =>
    Aedes.createBroker({
      authenticate: (client, _user, _password, done) => done(null, gate.admit(client.id)),
    });
  let broker = await make();
  let server = net.createServer(broker.handle);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : 0;
  let running = true;
  const stop = async () => {
    if (!running) return;
    running = false;
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
    });
  };
  return {
    url: `mqtt://127.0.0.1:${actual}`,
    port: actual,
    get admit() {
      return gate.admit;
    },
    set admit(fn) {
      gate.admit = fn;
    },
    stop,
    async restart() {
      if (running) return;
      broker = await make();
      server = net.createServer(broker.handle);
      server.listen(actual, '127.0.0.1');
      await once(server, 'listening');
      running = true;
    },
    close: stop,
  };
}

export interface Received {
  topic: string;
  payload: Buffer;
  retain: boolean;
  json: () => Record<string, unknown>;
}

export interface Recorder {
  client: MqttClient;
  messages: Received[];
  on(topicPart: string): Received[];
  /** Resolves once the subscription works (a probe message came back), e.g. after a broker restart. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** A plain MQTT subscriber that records what it receives (the hub's view). */
export async function recordTopics(url: string, filter: string | string[]): Promise<Recorder> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    reconnectPeriod: 100,
    clean: false,
    clientId: `rec-${Math.random().toString(16).slice(2, 10)}`,
  });
  const messages: Received[] = [];
  const probes = new Set<string>();
  client.on('message', (topic, payload, packet) => {
    if (topic.startsWith('hezo/v1/probe/')) {
      probes.add(topic);
      return;
    }
    messages.push({ topic, payload, retain: packet.retain, json: () => JSON.parse(payload.toString('utf8')) });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  await client.subscribeAsync('hezo/v1/probe/#', { qos: 1 });
  return {
    client,
    messages,
    on: (part) => messages.filter((m) => m.topic.includes(part)),
    async ready() {
      for (let i = 0; ; i++) {
        const topic = `hezo/v1/probe/${i}-${Math.random().toString(16).slice(2)}`;
        if (client.connected) client.publish(topic, 'x', { qos: 0 });
        try {
          await waitFor(() => probes.has(topic), 200, 'probe');
          return;
        } catch {
          if (i > 100) throw new Error('recorder never became ready');
        }
      }
    },
    close: () => client.endAsync(true),
  };
}

/** Agent config for a simulated fleet (networked devices), validated. */
export function agentConfigForFleet(
  devices: readonly SimDeviceInfo[],
  mqttUrl: string,
  dataDir: string,
  overrides: Record<string, unknown> = {},
  deviceOverrides: (d: SimNetworkDeviceInfo) => Record<string, unknown> = () => ({}),
): Readonly<AgentConfig> {
  const net = devices.filter((d): d is SimNetworkDeviceInfo => d.usb === undefined);
  return buildAgentConfig({
    version: 1,
    agentId: 'agent-1',
    site: 'site-1',
    customer: 'cust-1',
    mqtt: { url: mqttUrl, keepaliveS: 5 },
    pollIntervalMs: 1000,
    requestTimeoutMs: 800,
    retries: 1,
    retryBackoffMs: 20,
    dataDir,
    devices: net.map((d) => ({
      serial: d.serial,
      address: d.address,
      model: d.model,
      channels: ['rest', 'snmp', 'ssh'],
      rest: { port: d.restPort, username: d.username, password: d.password, tls: { mode: 'tofu' } },
      snmp: { port: d.snmpPort, version: '2c', community: d.snmpCommunity },
      ssh: { port: d.sshPort, username: d.username, password: d.password },
      ...deviceOverrides(d),
    })),
    ...overrides,
  });
}

/** A logger with the agent's redaction whose NDJSON output is kept in `text()`. */
export function capturedLogger(level = 'debug'): { logger: Logger; text: () => string } {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { logger: createRootLogger(level, sink), text: () => out };
}

export const silentLogger: Logger = pino({ level: 'silent' });
