/**
 * B7 InfluxDB stall: a complete hub (this process, core 0) writes to a real Debian influxd through a proxy that
 * can stall (accepts, never answers); simulated agents (child, core 1) keep publishing health records.
 * Phases: healthy -> stalled for 60 s (quick 15 s) -> resumed until the backlog has drained.
 * 1000 health msg/s (nominal: 10k devices every 10 s) so the hub itself is not the bottleneck.
 * Figures: event-loop max during the stall and the catch-up, the queue bound (peak <= maxQueue), drops counted
 * exactly (health points produced = written + dropped + still queued), catch-up time after the stall.
 */

import { OPTIONAL_MODULES } from '../hub/hub.ts';
import { createInfluxModule, type InfluxModule } from '../hub/influx/module.ts';
import { healthPoints } from '../hub/influx/points.ts';
import type { InfluxBatchWriter } from '../hub/influx/writer.ts';

import type { Figure, Profile, Scenario } from './harness.ts';
import { round } from './harness.ts';
import { AGENT_PASSWORD, benchAgents, pinNote, pinSelf, sleep, watchSelf } from './load/common.ts';
import { LoadGenerator } from './load/driver.ts';
import { startBenchHub } from './load/hub.ts';
import { startInfluxd } from './load/influxd.ts';
import { startStallProxy } from './load/stall-proxy.ts';

const PROFILES = {
  tiny: { agents: 2, devices: 10, rate: 100, healthyMs: 1000, stallMs: 2000, maxQueue: 500, catchUpMs: 15_000 },
  quick: {
    agents: 10,
    devices: 100,
    rate: 1000,
    healthyMs: 3000,
    stallMs: 15_000,
    maxQueue: 20_000,
    catchUpMs: 30_000,
  },
  full: {
    agents: 20,
    devices: 100,
    rate: 1000,
    healthyMs: 10_000,
    stallMs: 60_000,
    maxQueue: 100_000,
    catchUpMs: 120_000,
  },
} as const;

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const influxd = await startInfluxd();
  const proxy = await startStallProxy({ host: '127.0.0.1', port: influxd.httpPort });
  const agents = benchAgents(p.agents, 'b7');
  let influxModule: InfluxModule | undefined;
  const hub = await startBenchHub({
    agents,
    extra: { influx: { url: proxy.url, database: 'hezo_b7', flushIntervalMs: 1000, maxQueue: p.maxQueue } },
    // The default modules, with a handle on the influx one (to read its writer's stats).
    modules: OPTIONAL_MODULES.map((factory) =>
      factory === createInfluxModule
        ? (ctx) => {
            influxModule = createInfluxModule(ctx);
            return influxModule;
          }
        : factory,
    ),
  });
  const load = LoadGenerator.start(1);
  const notes: string[] = [];
  try {
    const writer: InfluxBatchWriter | undefined = influxModule?.writer;
    if (writer === undefined) throw new Error('b7: the influx module is not in OPTIONAL_MODULES');
    // Every point the influx module enqueues: health points plus one per transition, ticket, SLA event, site alert.
    let produced = 0;
    const { bus } = hub.hub.ctx;
    bus.on('health', ({ record }) => {
      produced += healthPoints(record).length;
    });
    for (const event of ['device-state', 'ticket', 'sla', 'site-alert'] as const) {
      bus.on(event, () => {
        produced += 1;
      });
    }
    await load.connect({ url: hub.urls.mqttUrl, agents, password: AGENT_PASSWORD, devicesPerAgent: p.devices });
    const unpin = pinSelf(0);
    try {
      // Runs through every phase; ended by load.close() below (its rejection then is expected).
      load.run(p.rate, p.healthyMs + p.stallMs + p.catchUpMs).catch(() => undefined);
      await sleep(p.healthyMs);
      const beforeStall = writer.stats();
      let peakQueue = 0;
      const peakTimer = setInterval(() => {
        peakQueue = Math.max(peakQueue, writer.stats().queued);
      }, 20);
      proxy.stall();
      const stallWatch = watchSelf();
      await sleep(p.stallMs);
      const stall = stallWatch.stop();
      const atResume = writer.stats();
      proxy.resume();
      const catchWatch = watchSelf();
      const t0 = performance.now();
      // Caught up: the backlog is gone (what is left is the current second's points).
      let caughtUpMs: number | undefined;
      while (performance.now() - t0 < p.catchUpMs - 1000) {
        const s = writer.stats();
        if (s.written > atResume.written && s.queued < Math.max(200, p.rate * 3)) {
          caughtUpMs = performance.now() - t0;
          break;
        }
        await sleep(50);
      }
      const catchUp = catchWatch.stop();
      clearInterval(peakTimer);
      // Stop the load, let the writer empty its queue, then every produced point must be written or dropped.
      await load.close();
      await sleep(1000); // messages already in the hub's sockets still arrive and produce points
      await writer.flush();
      for (let i = 0; i < 100 && writer.stats().queued > 0; i += 1) {
        await writer.flush();
        await sleep(50);
      }
      const end = writer.stats();
      const producedAtEnd = produced;
      const accounted = end.written + end.dropped + end.queued;
      const isExact = accounted === producedAtEnd;
      const judged = profile !== 'tiny';
      notes.push(
        `${pinNote('hub on core 0, agents on core 1, influxd unpinned')}; ${p.agents * p.devices} devices, ${
          p.rate
        } health msg/s (each -> several points), maxQueue ${p.maxQueue}, batch 500, stall ${p.stallMs / 1000} s`,
        `before the stall: ${JSON.stringify(beforeStall)}; at resume: ${JSON.stringify(atResume)}; end: ${JSON.stringify(end)}`,
        `points produced ${producedAtEnd} (health + events); written + dropped + queued = ${accounted}`,
        `loop during stall p99 ${round(stall.loopP99Ms)} / max ${round(stall.loopMaxMs)} ms; during catch-up p99 ${round(
          catchUp.loopP99Ms,
        )} / max ${round(catchUp.loopMaxMs)} ms, CPU ${round(catchUp.cpuPct)} %`,
        'a write stuck on the stalled proxy fails after the influx request timeout (10 s); retries back off from 1 s up to 30 s',
      );
      const loopMax = Math.max(stall.loopMaxMs, catchUp.loopMaxMs);
      const figures: Figure[] = [
        {
          name: 'loop max during stall + catch-up',
          value: round(loopMax),
          unit: 'ms',
          target: '<= 50',
          ...(judged ? { met: loopMax <= 50 } : {}),
        },
        {
          name: 'queue peak (bound = maxQueue)',
          value: peakQueue,
          unit: 'points',
          target: `<= ${p.maxQueue}`,
          met: peakQueue <= p.maxQueue,
        },
        {
          name: 'points dropped (counted)',
          value: end.dropped,
          unit: 'points',
          target: '> 0 and exact',
          ...(judged ? { met: end.dropped > 0 && isExact } : {}),
        },
        {
          name: 'catch-up after the stall',
          value: caughtUpMs === undefined ? Number.NaN : round(caughtUpMs / 1000),
          unit: 's',
          target: 'full catch-up',
          met: caughtUpMs !== undefined,
        },
      ];
      return { figures, notes };
    } finally {
      unpin();
    }
  } finally {
    await load.close();
    await hub.close();
    await proxy.close();
    await influxd.close();
  }
}

export const scenario: Scenario = { id: 'B7', title: 'InfluxDB stall', run };
