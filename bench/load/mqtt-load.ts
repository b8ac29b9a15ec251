/**
 * Load generator (child process, `node --import tsx bench/load/mqtt-load.ts`, usually pinned to core 1):
 * simulated agents over real MQTT 3.1.1 (MQTT.js), each watching `devicesPerAgent` devices, publishing
 * realistic health JSON at QoS 1 at a total rate, plus retained presence (with a Last Will) and heartbeats.
 *
 * IPC (parent -> child, child -> parent):
 *   {cmd:'connect', url, agents:[{id,site}], password?, devicesPerAgent, keepaliveS?, reconnectMs?}
 *        -> {ev:'connected', connected, ms}
 *   {cmd:'run', rate, durationMs, ackWaitMs?} -> {ev:'done', sent, acked, errors, wallMs, publishMs}
 *        (rate = messages/s in total; waits up to ackWaitMs, default 5 s, for the last PUBACKs)
 *   {cmd:'status'} -> {ev:'status', connected, connects, acked, sent}
 *   {cmd:'close'} -> {ev:'closed'}
 */
import mqtt, { type MqttClient } from 'mqtt';
import { encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { type DeviceTemplate, deviceTemplate, render } from './health-json.ts';

interface SimAgent {
  id: string;
  site: string;
  client: MqttClient;
  devices: Array<DeviceTemplate & { topic: string }>;
  seq: number;
  isConnected: boolean;
}

const agents: SimAgent[] = [];
let connects = 0;
let sent = 0;
let acked = 0;
let errors = 0;
let iso = new Date().toISOString();
let heartbeatTimer: NodeJS.Timeout | undefined;
const send = (m: Record<string, unknown>) => process.send?.(m);

function presence(a: { id: string; site: string }, status: 'online' | 'offline', serials: string[]): string {
  return encodeMessage('presence', {
    v: 1,
    agentId: a.id,
    site: a.site,
    status,
    at: new Date().toISOString(),
    ...(status === 'online' ? { devices: serials } : {}),
  });
}

async function connectAll(m: {
  url: string;
  agents: Array<{ id: string; site: string }>;
  password?: string;
  devicesPerAgent: number;
  keepaliveS?: number;
  reconnectMs?: number;
}): Promise<void> {
  const t0 = performance.now();
  const open = (spec: { id: string; site: string }) =>
    new Promise<void>((resolveOpen) => {
      const devices = Array.from({ length: m.devicesPerAgent }, (_, i) => {
        const serial = `${spec.id}-D${String(i).padStart(3, '0')}`;
        return { ...deviceTemplate(spec.id, spec.site, serial), topic: topics.health(spec.site, spec.id, serial) };
      });
      const serials = devices.map((d) => d.serial);
      const presenceTopic = topics.presence(spec.site, spec.id);
      const client = mqtt.connect(m.url, {
        protocolVersion: 4,
        clientId: spec.id,
        ...(m.password !== undefined ? { username: spec.id, password: m.password } : {}),
        keepalive: m.keepaliveS ?? 30,
        reconnectPeriod: m.reconnectMs ?? 1000,
        connectTimeout: 30_000,
        clean: true,
        will: { topic: presenceTopic, payload: Buffer.from(presence(spec, 'offline', [])), qos: 1, retain: true },
      });
      const agent: SimAgent = { id: spec.id, site: spec.site, client, devices, seq: 0, isConnected: false };
      agents.push(agent);
      let isFirst = true;
      client.on('connect', () => {
        connects += 1;
        agent.isConnected = true;
        client.publish(presenceTopic, presence(spec, 'online', serials), { qos: 1, retain: true });
        if (isFirst) {
          isFirst = false;
          resolveOpen();
        }
      });
      client.on('close', () => {
        agent.isConnected = false;
      });
      client.on('error', () => {});
    });
  for (let i = 0; i < m.agents.length; i += 200) await Promise.all(m.agents.slice(i, i + 200).map(open));
  heartbeatTimer ??= setInterval(() => {
    for (const a of agents) {
      if (!a.isConnected) continue;
      const hb = { v: 1 as const, agentId: a.id, at: iso, intervalMs: 10_000, outboxDepth: 0, outboxDropped: 0 };
      a.client.publish(topics.heartbeat(a.site, a.id), encodeMessage('heartbeat', hb), { qos: 0 });
    }
  }, 10_000);
  send({ ev: 'connected', connected: agents.filter((a) => a.isConnected).length, ms: performance.now() - t0 });
}

async function run(rate: number, durationMs: number, ackWaitMs = 5000): Promise<void> {
  const sent0 = sent;
  const acked0 = acked;
  const errors0 = errors;
  const t0 = performance.now();
  let budget = 0;
  let device = 0;
  const total = agents.reduce((n, a) => n + a.devices.length, 0);
  const flat = agents.flatMap((a) => a.devices.map((d) => ({ a, d })));
  const onAck = (err?: Error) => {
    if (err) errors += 1;
    else acked += 1;
  };
  const isoTimer = setInterval(() => {
    iso = new Date().toISOString();
  }, 50);
  await new Promise<void>((resolveRun) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolveRun();
        return;
      }
      const due = Math.floor((rate * elapsed) / 1000);
      const n = Math.min(due - budget, Math.ceil(rate / 20));
      for (let i = 0; i < n; i += 1) {
        const { a, d } = flat[device % total]!;
        device += 1;
        if (!a.isConnected) continue;
        a.seq += 1;
        a.client.publish(d.topic, render(d, a.seq, iso), { qos: 1 }, onAck);
        sent += 1;
      }
      budget += n;
    };
    const timer = setInterval(tick, 5);
  });
  clearInterval(isoTimer);
  const publishMs = performance.now() - t0;
  // Let outstanding PUBACKs arrive (bounded).
  const waitStart = performance.now();
  while (acked + errors - acked0 - errors0 < sent - sent0 && performance.now() - waitStart < ackWaitMs) {
    await new Promise((r) => setTimeout(r, 20));
  }
  send({
    ev: 'done',
    sent: sent - sent0,
    acked: acked - acked0,
    errors: errors - errors0,
    wallMs: performance.now() - t0,
    publishMs,
  });
}

process.on('message', (m: { cmd: string } & Record<string, any>) => {
  switch (m.cmd) {
    case 'connect':
      void connectAll(m as unknown as Parameters<typeof connectAll>[0]);
      return;
    case 'run':
      void run(m.rate, m.durationMs, m.ackWaitMs);
      return;
    case 'status':
      send({ ev: 'status', connected: agents.filter((a) => a.isConnected).length, connects, acked, sent });
      return;
    case 'close':
      clearInterval(heartbeatTimer);
      void Promise.all(agents.splice(0).map((a) => a.client.endAsync(true))).then(() => {
        send({ ev: 'closed' });
        process.exit(0);
      });
      return;
  }
});
process.on('disconnect', () => process.exit(0));
