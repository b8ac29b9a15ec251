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
  quick: { agents: 50, devices: 40, rates: [2500, 5000, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000], stepMs: 2000 },
  full: {
    agents: 100,
    devices: 100,
    rates: [5000, 10_000, 15_000, 20_000, 22_500, 25_000, 27_500, 30_000, 35_000, 40_000, 50_000],
    stepMs: 10_000,
  },
} as const;

type Step = Awaited<ReturnType<typeof measureStep>>;

interface Side {
  label: string;
  load: LoadGenerator;
  processed: () => number;
  knee: number;
  bound: string;
  isDone: boolean;
  steps: Step[];
}

/** One step of one side: judged ok when loop p99 <= 50 ms and >= 97 % went through. */
async function step(side: Side, rate: number, stepMs: number, log: string[]): Promise<void> {
  const s = await measureStep(side.load, side.processed, rate, stepMs);
  side.steps.push(s);
  log.push(
    `${side.label} step ${rate}/s: offered ${Math.round(s.offeredPerS)}/s, through ${Math.round(s.achievedPerS)}/s, ` +
      `loop p99 ${round(s.loopP99Ms)} ms, cpu ${round(s.cpuPct)} %, lost ${s.lost}`,
  );
  if (s.loopP99Ms > 50 || s.processed < 0.97 * s.sent) {
    side.bound = s.loopP99Ms > 50 ? `loop p99 ${round(s.loopP99Ms)} ms at ${rate}/s` : `backlog at ${rate}/s`;
    side.isDone = true;
    return;
  }
  side.knee = Math.max(side.knee, s.achievedPerS);
  if (s.offeredPerS < 0.9 * rate) {
    side.bound = `load generator tops out at ${Math.round(s.offeredPerS)}/s (one core)`;
    side.isDone = true;
  }
}

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const notes: string[] = [];
  const agents = benchAgents(p.agents, 'b1');
  const hub = await startBenchHub({
    agents,
    extra: { mqtt: { host: '127.0.0.1', port: 0, maxMessagesPerSecond: 10_000 } },
  });
  // Baseline: bare aedes in this process, same load, a `published` hook that only counts.
  let rawCount = 0;
  const broker = await Aedes.createBroker({
    published: (_packet, client, done) => {
      if (client) rawCount += 1;
      done(null);
    },
  });
  const server = createServer(broker.handle).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const hubSide: Side = {
    label: 'hub',
    load: LoadGenerator.start(1),
    processed: hub.processed,
    knee: 0,
    bound: 'ramp ended',
    isDone: false,
    steps: [],
  };
  const rawSide: Side = {
    label: 'raw aedes',
    load: LoadGenerator.start(1),
    processed: () => rawCount,
    knee: 0,
    bound: 'ramp ended',
    isDone: false,
    steps: [],
  };
  try {
    // Logins first (scrypt on both cores), then pin this process to core 0 for the measurement.
    await hubSide.load.connect({ url: hub.urls.mqttUrl, agents, password: AGENT_PASSWORD, devicesPerAgent: p.devices });
    const rawUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await rawSide.load.connect({ url: rawUrl, agents, devicesPerAgent: p.devices });
    const unpin = pinSelf(0);
    try {
      // Warm-up (not judged): first records register the devices, JIT settles.
      await measureStep(hubSide.load, hubSide.processed, p.rates[0]!, Math.min(2000, p.stepMs));
      await measureStep(rawSide.load, rawSide.processed, p.rates[0]!, Math.min(2000, p.stepMs));
      // Interleaved steps: the shared machine's noise hits both sides alike.
      for (const rate of p.rates) {
        for (const side of [hubSide, rawSide]) if (!side.isDone) await step(side, rate, p.stepMs, notes);
        if (hubSide.isDone && rawSide.isDone) break;
      }
    } finally {
      unpin();
    }
  } finally {
    await hubSide.load.close();
    await rawSide.load.close();
    await hub.close();
    await new Promise<void>((r) => broker.close(() => r()));
    server.close();
  }

  notes.unshift(
    `${pinNote('hub / raw broker (this process, all threads) on core 0, load generators on core 1')}; ` +
      `${p.agents} agents x ${p.devices} devices, QoS 1, ~800 B health JSON, ${p.stepMs} ms steps, hub and raw interleaved`,
    `hub knee limited by: ${hubSide.bound}; raw aedes limited by: ${rawSide.bound}`,
  );
  const judged = profile !== 'tiny';
  const ratio = rawSide.knee > 0 ? hubSide.knee / rawSide.knee : 0;
  const last = hubSide.steps.at(-1);
  const figures: Figure[] = [
    {
      name: 'ingest knee (loop p99 <= 50 ms)',
      value: round(hubSide.knee, 0),
      unit: 'msg/s',
      baseline: round(rawSide.knee, 0),
      baselineName: 'raw aedes',
      target: '>= 20000 and >= 0.7 x raw',
      ...(judged ? { met: hubSide.knee >= 20_000 && ratio >= 0.7 } : {}),
    },
    {
      name: 'hub CPU per message (last step)',
      value: last ? round((last.cpuPct * 10_000) / Math.max(1, last.achievedPerS), 1) : Number.NaN,
      unit: 'us',
    },
  ];
  if (CORES < 2) notes.push('one core: the generator competes with the hub, the knee is a lower bound');
  return { figures, notes };
}

export const scenario: Scenario = { id: 'B1', title: 'hub ingest knee vs raw aedes', run };
