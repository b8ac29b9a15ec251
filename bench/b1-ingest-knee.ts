/**
 * B1 hub ingest knee: simulated agents (child process, core 1) publish realistic health JSON at QoS 1 in rate
 * steps; the hub (this process, pinned with all its threads to core 0) is measured per step. The knee is the
 * highest rate where the event-loop p99 stays <= 50 ms and >= 97 % of what was sent went through ingest +
 * detector. Baseline in the same run: a bare aedes broker (no auth, no hub logic) under the same load.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { Aedes } from 'aedes';
import type { Figure, Profile, Scenario } from './harness.ts';
import { round } from './harness.ts';
import { AGENT_PASSWORD, benchAgents, CORES, pinNote, pinSelf } from './load/common.ts';
import { LoadGenerator, measureStep } from './load/driver.ts';
import { startBenchHub } from './load/hub.ts';

const PROFILES = {
  tiny: { agents: 2, devices: 5, rates: [200, 400], stepMs: 800 },
  quick: { agents: 50, devices: 40, rates: [5000, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000], stepMs: 2500 },
  full: {
    agents: 100,
    devices: 100,
    rates: [5000, 10_000, 15_000, 20_000, 22_500, 25_000, 27_500, 30_000, 35_000, 40_000, 50_000],
    stepMs: 10_000,
  },
} as const;

type Step = Awaited<ReturnType<typeof measureStep>>;

async function ramp(
  load: LoadGenerator,
  processed: () => number,
  rates: readonly number[],
  stepMs: number,
  log: string[],
  label: string,
): Promise<{ knee: number; steps: Step[]; bound: string }> {
  const steps: Step[] = [];
  let knee = 0;
  let bound = 'ramp ended';
  for (const rate of rates) {
    const s = await measureStep(load, processed, rate, stepMs);
    steps.push(s);
    log.push(
      `${label} step ${rate}/s: offered ${Math.round(s.offeredPerS)}/s, through ${Math.round(s.achievedPerS)}/s, ` +
        `loop p99 ${round(s.loopP99Ms)} ms, cpu ${round(s.cpuPct)} %, lost ${s.lost}`,
    );
    const isOk = s.loopP99Ms <= 50 && s.processed >= 0.97 * s.sent;
    if (!isOk) {
      bound = s.loopP99Ms > 50 ? `loop p99 ${round(s.loopP99Ms)} ms at ${rate}/s` : `backlog at ${rate}/s`;
      break;
    }
    knee = Math.max(knee, s.achievedPerS);
    if (s.offeredPerS < 0.9 * rate) {
      bound = `load generator tops out at ${Math.round(s.offeredPerS)}/s (one core)`;
      break;
    }
  }
  return { knee, steps, bound };
}

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const notes: string[] = [];
  const agents = benchAgents(p.agents, 'b1');
  // Hub + its agents' scrypt logins first (both cores), then pin the hub to core 0 for the measurement.
  const hub = await startBenchHub({ agents, extra: { mqtt: { host: '127.0.0.1', port: 0, maxMessagesPerSecond: 10_000 } } });
  const load = LoadGenerator.start(1);
  let hubResult: Awaited<ReturnType<typeof ramp>>;
  let rawResult: Awaited<ReturnType<typeof ramp>>;
  try {
    await load.connect({ url: hub.urls.mqttUrl, agents, password: AGENT_PASSWORD, devicesPerAgent: p.devices });
    const unpin = pinSelf(0);
    try {
      hubResult = await ramp(load, hub.processed, p.rates, p.stepMs, notes, 'hub');
    } finally {
      unpin();
    }
  } finally {
    await load.close();
    await hub.close();
  }

  // Baseline: bare aedes, same load, a `published` hook that only counts.
  let count = 0;
  const broker = await Aedes.createBroker({
    published: (packet, client, done) => {
      if (client) count += 1;
      done(null);
    },
  });
  const server = createServer(broker.handle).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const raw = LoadGenerator.start(1);
  try {
    await raw.connect({
      url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
      agents,
      devicesPerAgent: p.devices,
    });
    const unpin = pinSelf(0);
    try {
      rawResult = await ramp(raw, () => count, p.rates, p.stepMs, notes, 'raw aedes');
    } finally {
      unpin();
    }
  } finally {
    await raw.close();
    await new Promise<void>((r) => broker.close(() => r()));
    server.close();
  }

  notes.unshift(
    `${pinNote('hub / raw broker pinned to core 0 with all threads, load generator on core 1')}; ${p.agents} agents x ${
      p.devices
    } devices, QoS 1, ${Buffer.byteLength('x'.repeat(1))}`.replace(/, 1$/, ', ~800 B health JSON'),
    `hub knee limited by: ${hubResult.bound}; raw aedes limited by: ${rawResult.bound}`,
  );
  const judged = profile !== 'tiny';
  const ratio = rawResult.knee > 0 ? hubResult.knee / rawResult.knee : 0;
  const last = hubResult.steps.at(-1);
  const figures: Figure[] = [
    {
      name: 'ingest knee (loop p99 <= 50 ms)',
      value: round(hubResult.knee, 0),
      unit: 'msg/s',
      baseline: round(rawResult.knee, 0),
      baselineName: 'raw aedes',
      target: '>= 20000 and >= 0.7 x raw',
      ...(judged ? { met: hubResult.knee >= 20_000 && ratio >= 0.7 } : {}),
    },
    {
      name: 'hub CPU per message at the last step',
      value: last ? round((last.cpuPct * 10_000) / Math.max(1, last.achievedPerS), 1) : Number.NaN,
      unit: 'us',
    },
  ];
  if (CORES < 2) notes.push('one core: the generator competes with the hub, the knee is a lower bound');
  return { figures, notes };
}

export const scenario: Scenario = { id: 'B1', title: 'hub ingest knee vs raw aedes', run };
