/**
 * Issue 16, brokers: `hezo broker-acl` writes the broker's own ACL/users from the hub config's registry. The generated
 * files are loaded into a real Mosquitto and a real nats-server (MQTT): an agent can publish under its own topics
 * (the hub, connected as the hub user in external mode, counts it) but not under another agent's, and cannot
 * subscribe to another agent's command topic.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { HubModuleFactory } from '../../hub/context.ts';
import { encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';
import { run, startMosquitto } from '../helpers/mosquitto.ts';
import { connectAgent, type FakeAgent } from '../helpers/mqtt-agent.ts';
import { startNatsCluster } from '../helpers/nats-cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const HUB_PASSWORD = 'hub-broker-secret-1';
const AGENTS = [
  { id: 'agent-1', site: 'site-a', password: 'agent-1-secret' },
  { id: 'agent-2', site: 'site-b', password: 'agent-2-secret' },
];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-acl-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function generate(format: string, dir: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const file = join(dir, 'hub.yaml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      api: { token: 'x'.repeat(20) },
      mqtt: { mode: 'external', url: 'mqtt://127.0.0.1:1883', username: 'hezo-hub' },
      agents: AGENTS,
    }),
  );
  return run(
    'node',
    ['bin/hezo.js', 'broker-acl', '--config', file, '--format', format, '--out', join(dir, 'out')],
    30_000,
    {
      HEZO_MQTT_PASSWORD: HUB_PASSWORD,
    },
  );
}

function counter(into: string[], presences: string[] = []): HubModuleFactory[] {
  return [
    (ctx) => {
      ctx.bus.on('ingest:health', (m) => into.push(m.message.identity.serial));
      ctx.bus.on('ingest:presence', (m) => presences.push(`${m.site}/${m.agentId} ${m.message.status}`));
      return { name: 'health-counter' };
    },
  ];
}

function presenceOf(agentId: string, site: string, status: 'online' | 'offline'): Buffer {
  return Buffer.from(encodeMessage('presence', { v: 1, agentId, site, status, at: new Date().toISOString() }));
}

/** Connect as agent-1 with a retained QoS 1 Last Will on `willTopic` (as agent/mqtt-link.ts does on its own). */
function connectWithWill(url: string, willTopic: string, will: Buffer) {
  return mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: `agent-1-will-${Math.random().toString(16).slice(2, 8)}`,
    username: 'agent-1',
    password: 'agent-1-secret',
    reconnectPeriod: 0,
    connectTimeout: 5000,
    will: { topic: willTopic, payload: will, qos: 1, retain: true },
  });
}

/**
 * Presence passes the ACL as agents send it: retained `online`, and the Last Will `offline` the broker publishes for
 * a connection that dies. A will aimed at agent-2's presence topic is refused at connect or never delivered (it
 * would be published before agent-1's own will, which the hub receives after it).
 */
async function proveLastWill(url: string, presences: string[]): Promise<string> {
  let forgedWill = 'refused at connect';
  const forger = await connectWithWill(
    url,
    topics.presence('site-b', 'agent-2'),
    presenceOf('agent-2', 'site-b', 'offline'),
  ).catch(() => undefined);
  if (forger !== undefined) {
    forgedWill = 'accepted at connect, never delivered';
    const closed = new Promise<void>((resolve) => forger.once('close', () => resolve()));
    forger.stream.destroy();
    await closed;
  }
  const own = await connectWithWill(
    url,
    topics.presence('site-a', 'agent-1'),
    presenceOf('agent-1', 'site-a', 'offline'),
  );
  await own.publishAsync(topics.presence('site-a', 'agent-1'), presenceOf('agent-1', 'site-a', 'online'), {
    qos: 1,
    retain: true,
  });
  await waitFor(() => presences.includes('site-a/agent-1 online'), { what: "agent-1's retained online presence" });
  own.stream.destroy();
  await waitFor(() => presences.includes('site-a/agent-1 offline'), { what: "agent-1's Last Will" });
  expect(presences.filter((p) => p.includes('agent-2'))).toEqual([]);
  return forgedWill;
}

/** agent-1 publishes a forged record on agent-2's topic, then its own: once its own arrived, the forged one never will. */
async function proveIsolation(url: string, counted: string[], hub: TestHub): Promise<void> {
  const agent1: FakeAgent = await connectAgent(url, { agentId: 'agent-1', site: 'site-a', password: 'agent-1-secret' });
  cleanups.push(() => agent1.close());
  await agent1
    .raw(
      topics.health('site-b', 'agent-2', 'SN-FORGED'),
      encodeMessage('health', makeHealthRecord({ agentId: 'agent-2', site: 'site-b', serial: 'SN-FORGED' })),
    )
    .catch(() => undefined);
  const again = agent1.client.connected
    ? agent1
    : await connectAgent(url, { agentId: 'agent-1', site: 'site-a', password: 'agent-1-secret' });
  if (again !== agent1) cleanups.push(() => again.close());
  await again.send('health', makeHealthRecord({ serial: 'SN-OWN' }));
  await waitFor(() => counted.includes('SN-OWN'), { what: "agent-1's own record" });
  expect(counted).not.toContain('SN-FORGED');

  // agent-1 listening on agent-2's command topic gets nothing (refused at SUBACK, or never delivered): the hub sends
  // a command to agent-2, then one to agent-1; once agent-1 has its own, the foreign one would have come before it
  const listener = await connectAgent(url, { agentId: 'agent-1', site: 'site-a', password: 'agent-1-secret' });
  cleanups.push(() => listener.close());
  const heard: string[] = [];
  listener.client.on('message', (topic) => heard.push(topic));
  await listener.client.subscribeAsync(topics.commandsFor('site-b', 'agent-2'), { qos: 1 }).catch(() => undefined);
  // (NATS: the `$MQTT.sub.>` delivery subjects every QoS 1 subscriber needs must not leak other sessions' messages)
  await listener.client.subscribeAsync('$MQTT/sub/#', { qos: 1 }).catch(() => undefined);
  const ownGrant = await listener.client.subscribeAsync(topics.commandsFor('site-a', 'agent-1'), { qos: 1 });
  expect(ownGrant.map((g) => g.qos)).toEqual([1]);
  const command = (serial: string) => ({
    v: 1 as const,
    id: `cmd-${serial}`,
    kind: 'poll-now' as const,
    serial,
    issuedAt: new Date().toISOString(),
    timeoutMs: 200,
  });
  await hub.hub.ctx.services.commands
    ?.send({ site: 'site-b', agentId: 'agent-2' }, command('SN-B'))
    .catch(() => undefined);
  await hub.hub.ctx.services.commands
    ?.send({ site: 'site-a', agentId: 'agent-1' }, command('SN-A'))
    .catch(() => undefined);
  await waitFor(() => heard.length > 0, { what: "agent-1's own command" });
  expect(heard).toEqual([topics.commandsFor('site-a', 'agent-1')]);

  // a wrong password is refused
  await expect(
    mqtt.connectAsync(url, {
      protocolVersion: 4,
      username: 'agent-2',
      password: 'not-the-password',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    }),
  ).rejects.toThrow();
}

describe('hezo broker-acl', () => {
  it('mosquitto: the generated acl + passwd enforce per-agent topics on a real Mosquitto', async () => {
    const dir = tempDir();
    const result = await generate('mosquitto', dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('mosquitto_passwd -U');
    const out = join(dir, 'out');
    expect(statSync(join(out, 'passwd')).mode & 0o777).toBe(0o600);
    const acl = readFileSync(join(out, 'acl'), 'utf8');
    expect(acl).toContain('topic write hezo/v1/site-a/agent-1/health/+');
    expect(acl).not.toContain('secret');
    expect((await run('mosquitto_passwd', ['-U', join(out, 'passwd')])).code).toBe(0);
    const broker = await startMosquitto([
      'user root', // read the 0600 files where the test wrote them (a real install: owned by the broker's user)
      'allow_anonymous false',
      `password_file ${join(out, 'passwd')}`,
      `acl_file ${join(out, 'acl')}`,
    ]);
    cleanups.push(() => broker.close());
    const counted: string[] = [];
    const presences: string[] = [];
    const hub = await startTestHub({
      config: {
        mqtt: { mode: 'external', url: broker.url, username: 'hezo-hub', password: HUB_PASSWORD, clientId: 'hub-acl' },
      },
      modules: counter(counted, presences),
    });
    cleanups.push(() => hub.close());
    await proveIsolation(broker.url, counted, hub);
    const forgedWill = await proveLastWill(broker.url, presences);
    process.stdout.write(`mosquitto: a Last Will on another agent's topic: ${forgedWill}\n`);
  });

  it('nats: the generated authorization block enforces per-agent topics on a real nats-server (MQTT)', async () => {
    const dir = tempDir();
    const result = await generate('nats', dir);
    expect(result.code).toBe(0);
    const auth = join(dir, 'out', 'hezo-auth.conf');
    expect(readFileSync(auth, 'utf8')).toContain('"hezo.v1.site-a.agent-1.health.*"');
    const nats = await startNatsCluster({
      size: 1,
      includeFiles: [auth],
      probeAuth: { username: 'hezo-hub', password: HUB_PASSWORD },
    });
    cleanups.push(() => nats.close());
    const url = nats.mqttUrls[0] as string;
    const counted: string[] = [];
    const presences: string[] = [];
    const hub = await startTestHub({
      config: { mqtt: { mode: 'external', url, username: 'hezo-hub', password: HUB_PASSWORD, clientId: 'hub-acl' } },
      modules: counter(counted, presences),
    });
    cleanups.push(() => hub.close());
    await proveIsolation(url, counted, hub);
    const forgedWill = await proveLastWill(url, presences);
    process.stdout.write(`nats: a Last Will on another agent's topic: ${forgedWill}\n`);
  });

  it('stdout carries no secret; a bad format exits 2 naming the choices', async () => {
    const dir = tempDir();
    const file = join(dir, 'hub.yaml');
    writeFileSync(file, stringify({ version: 1, api: { token: 'x'.repeat(20) }, agents: AGENTS }));
    for (const format of ['mosquitto', 'nats', 'emqx']) {
      const printed = await run('node', ['bin/hezo.js', 'broker-acl', '--config', file, '--format', format], 30_000);
      expect(printed.code).toBe(0);
      expect(printed.stdout).toContain('agent-1');
      expect(printed.stdout).not.toContain('agent-1-secret');
    }
    const bad = await run('node', ['bin/hezo.js', 'broker-acl', '--config', file, '--format', 'hivemq'], 30_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected one of mosquitto, nats, emqx');
  });
});
