/**
 * Hot-path probe: hub CPU per live health record, ingest -> detector -> device view -> bus.
 *
 * Two measurements in one run (the hub runs in THIS process, pinned to core 0 when there are 2+ cores):
 *  - direct: the hub's own `Ingest` fed pre-rendered payloads in a loop (no broker, no sockets): the pure cost of
 *    decode + identity checks + detector + view + events, per message (process.cpuUsage and wall time).
 *  - mqtt:   a load generator child (bench/load/mqtt-load.ts, core 1) with N agents over real MQTT.js QoS 1
 *    publishes `--messages` records through the embedded aedes broker; hub CPU / processed records.
 * Both use realistic ~780 B JSON (bench/load/health-json.ts), every device `up` (no transitions: steady state).
 * With `--cpu-prof` run it as `node --cpu-prof --import tsx bench/hub-hot-path-probe.ts` and read the profile.
 *
 *   node --import tsx bench/hub-hot-path-probe.ts [--agents 100] [--devices-per-agent 4] [--messages 50000]
 *        [--rate 10000] [--modules core|all] [--skip-mqtt]
 */
import { parseArgs } from 'node:util';
import { Registry as MetricsRegistry } from 'prom-client';
import { OPTIONAL_MODULES } from '../hub/hub.ts';
import { Ingest } from '../hub/ingest/ingest.ts';
import { topics } from '../protocols/topics.ts';
import { benchAgents, CORES, pinNote, pinSelf, silentLogger } from './load/common.ts';
import { LoadGenerator, measureStep } from './load/driver.ts';
import { deviceTemplate, render } from './load/health-json.ts';
import { startBenchHub } from './load/hub.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '100' },
    'devices-per-agent': { type: 'string', default: '4' },
    messages: { type: 'string', default: '50000' },
    rate: { type: 'string', default: '10000' },
    modules: { type: 'string', default: 'core' },
    'skip-mqtt': { type: 'boolean', default: false },
  },
});
const agentCount = Number(values.agents);
const perAgent = Number(values['devices-per-agent']);
const messages = Number(values.messages);
const rate = Number(values.rate);

const unpin = pinSelf(0);
const agents = benchAgents(agentCount, 'hp');
// Every device registered with an active contract, as in a real deployment (the view shows contract + coverage).
const serialsOf = (a: { id: string }) =>
  Array.from({ length: perAgent }, (_, i) => [
    `${a.id}-X${String(i).padStart(3, '0')}`,
    `${a.id}-D${String(i).padStart(3, '0')}`,
  ]).flat();
const hub = await startBenchHub({
  allowAnonymous: true,
  modules: values.modules === 'all' ? OPTIONAL_MODULES : [],
  extra: {
    devices: agents.flatMap((a) =>
      serialsOf(a).map((serial) => ({ serial, model: 'StudioX50', site: a.site, customer: 'bench-customer' })),
    ),
    contracts: [
      {
        number: 'HZ-BENCH-1',
        customer: 'bench-customer',
        start: new Date().toISOString().slice(0, 10),
        termYears: 3,
        serials: agents.flatMap(serialsOf),
      },
    ],
  },
});

async function measureDirect(): Promise<Record<string, number>> {
  const ingest = new Ingest({
    bus: hub.hub.ctx.bus,
    clock: hub.hub.ctx.clock,
    logger: silentLogger(),
    metrics: new MetricsRegistry(),
    detection: hub.hub.ctx.config.detection,
    maxMessagesPerSecond: Number.MAX_SAFE_INTEGER,
    knownAgent: () => undefined,
    onReply: () => {},
  });
  const devices = agents.flatMap((a) =>
    Array.from({ length: perAgent }, (_, i) => {
      const serial = `${a.id}-X${String(i).padStart(3, '0')}`;
      return { agent: a, topic: topics.health(a.site, a.id, serial), template: deviceTemplate(a.id, a.site, serial) };
    }),
  );
  const source = { clientId: 'probe', identity: undefined };
  let seq = 0;
  const batch = (n: number) => {
    const iso = new Date().toISOString();
    const payloads = Array.from({ length: n }, (_, i) => {
      const d = devices[i % devices.length]!;
      seq += 1;
      return { topic: d.topic, payload: Buffer.from(render(d.template, seq, iso)) };
    });
    return payloads;
  };
  // Warm-up: every device seen (first-seen transitions, registry auto-registration), JIT warm.
  for (const m of batch(Math.max(devices.length * 3, 10_000))) ingest.handle(m.topic, m.payload, source);
  const outage = hub.hub.ctx.services.devices as unknown as { flush(): Promise<void> };
  await outage.flush();
  const before = hub.processed();
  const work = batch(messages);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const m of work) ingest.handle(m.topic, m.payload, source);
  const loopWallMs = performance.now() - t0;
  const loopCpu = process.cpuUsage(cpu0);
  // The batched SQLite write of lastSeen + recent records is part of every record's cost (on a timer in the hub).
  await outage.flush();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const processed = hub.processed() - before;
  return {
    messages: work.length,
    processed,
    loopCpuUsPerMsg: (loopCpu.user + loopCpu.system) / processed,
    loopWallUsPerMsg: (loopWallMs * 1000) / processed,
    flushUsPerMsg: ((wallMs - loopWallMs) * 1000) / processed,
    cpuUsPerMsg: (cpu.user + cpu.system) / processed,
    wallUsPerMsg: (wallMs * 1000) / processed,
    msgPerS: (processed / wallMs) * 1000,
  };
}

async function measureMqtt(): Promise<Record<string, number>> {
  const load = LoadGenerator.start(1);
  try {
    await load.connect({ url: hub.urls.mqttUrl, agents, devicesPerAgent: perAgent });
    // Warm-up (first-seen for every device), then the measured run.
    await measureStep(load, hub.processed, rate, Math.max(1000, ((agentCount * perAgent * 3) / rate) * 1000));
    const cpu0 = process.cpuUsage();
    const step = await measureStep(load, hub.processed, rate, (messages / rate) * 1000, 5000);
    const cpu = process.cpuUsage(cpu0);
    return {
      sent: step.sent,
      processed: step.processed,
      lost: step.lost,
      cpuUsPerMsg: (cpu.user + cpu.system) / Math.max(1, step.processed),
      cpuPct: step.cpuPct,
      loopP99Ms: step.loopP99Ms,
      achievedPerS: step.achievedPerS,
    };
  } finally {
    await load.close();
  }
}

const direct = await measureDirect();
const viaMqtt = values['skip-mqtt'] ? undefined : await measureMqtt();
await hub.close();
unpin();
console.log(
  JSON.stringify(
    {
      node: process.version,
      cores: CORES,
      pinning: pinNote('hub on core 0, load generator on core 1'),
      modules: values.modules,
      agents: agentCount,
      devices: agentCount * perAgent,
      direct,
      ...(viaMqtt !== undefined ? { mqtt: viaMqtt } : {}),
    },
    null,
    2,
  ),
);
