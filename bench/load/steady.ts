/** A steady health-message load on an in-process hub (hub pinned to core 0, generator on core 1). */
import type { OutageModule } from '../../hub/outage/module.ts';
import { round } from '../harness.ts';
import { AGENT_PASSWORD, benchAgents, pinSelf, sleep, watchSelf } from './common.ts';
import { LoadGenerator } from './driver.ts';
import { type BenchHub, startBenchHub } from './hub.ts';

export interface SteadySetup {
  hub: BenchHub;
  load: LoadGenerator;
  devices: number;
  close(): Promise<void>;
}

/**
 * A hub with `agents` x `devicesPerAgent` simulated devices connected (logins done before pinning), this process
 * pinned to core 0 from then until `close()`. Pinned ONCE: `taskset` is a child process, and forking the hub (~500
 * MB) marks all its pages copy-on-write, so pinning before every measured window made each page's first write in
 * that window a page fault (B2 nominal: ~3 % of the hub's CPU, mostly the device rings) that a hub never pays.
 */
export async function setupSteady(agentCount: number, devicesPerAgent: number, prefix: string): Promise<SteadySetup> {
  const agents = benchAgents(agentCount, prefix);
  const hub = await startBenchHub({ agents });
  const load = LoadGenerator.start(1);
  try {
    await load.connect({ url: hub.urls.mqttUrl, agents, password: AGENT_PASSWORD, devicesPerAgent });
  } catch (err) {
    await load.close();
    await hub.close();
    throw err;
  }
  const unpin = pinSelf(0);
  return {
    hub,
    load,
    devices: agentCount * devicesPerAgent,
    async close() {
      unpin();
      await load.close();
      await hub.close();
    },
  };
}

/** Run `rate` msg/s for `durationMs` (this process pinned to core 0 by setupSteady); RSS sampled every `rssEveryMs`. */
export async function runSteady(
  setup: SteadySetup,
  rate: number,
  durationMs: number,
  rssEveryMs = 1000,
  drainMs = 5000,
) {
  const { hub, load } = setup;
  const rss: number[] = [];
  const rssTimer = setInterval(() => rss.push(process.memoryUsage.rss() / 2 ** 20), rssEveryMs);
  try {
    const before = hub.processed();
    const rejected0 = await counter(setup, 'hezo_messages_rejected_total');
    const in0 = await counter(setup, 'hezo_messages_in_total', 'health');
    const w = watchSelf();
    const r = await load.run(rate, durationMs, drainMs);
    const t0 = performance.now();
    while (hub.processed() - before < r.acked && performance.now() - t0 < 2000) await sleep(10);
    const m = w.stop();
    // Read the counters together (in-process registry, no HTTP in between).
    const [rejectedNow, inNow] = await Promise.all([
      counter(setup, 'hezo_messages_rejected_total'),
      counter(setup, 'hezo_messages_in_total', 'health'),
    ]);
    const processed = hub.processed() - before;
    const rejected = rejectedNow - rejected0;
    const counted = inNow - in0;
    return {
      ...m,
      sent: r.sent,
      acked: r.acked,
      errors: r.errors,
      processed,
      rejected,
      counted,
      lost: r.sent - processed,
      backlog: r.sent - r.acked,
      offeredPerS: round((r.sent / r.publishMs) * 1000, 0),
      rss,
    };
  } finally {
    clearInterval(rssTimer);
  }
}

/**
 * Bring the hub to nominal steady state before a nominal window is measured (B2, the B2 probe):
 * 1. every device's first record, at twice the nominal rate, drained: registry rows, `unknown -> up` transitions;
 * 2. one full poll cycle at the nominal rate (every device's second record): what the first records left behind is
 *    worked off here (the live flush of the warm-up's lastSeen rows and first history samples, optimised code for the
 *    steady per-record path, the device views' lastSeen refresh) - its CPU is returned as the cold figure;
 * 3. the hub's own signals, no sleep: the outage module's pending lastSeen and history written (`flush()`), every
 *    transition stored and announced and no write under way (`idle()`).
 * A nominal window measured after this sees a device every `devices / nominal` seconds, as in production.
 */
export async function warmUpSteady(setup: SteadySetup, nominal: number) {
  await runSteady(setup, nominal * 2, Math.max(1000, (setup.devices / (nominal * 2)) * 1000 + 500), 1000, 20_000);
  const firstCycle = await runSteady(setup, nominal, Math.max(1000, (setup.devices / nominal) * 1000), 1000, 20_000);
  const outage = setup.hub.hub.ctx.services.devices as OutageModule | undefined;
  await outage?.flush();
  await outage?.idle();
  return { firstCycle };
}

/** A counter's value from the hub's prom registry (summed over labels, or the one `kind`). */
async function counter(setup: SteadySetup, name: string, kind?: string): Promise<number> {
  const metric = setup.hub.hub.ctx.metrics.getSingleMetric(name);
  const values = (await metric?.get())?.values ?? [];
  return values.filter((v) => kind === undefined || v.labels.kind === kind).reduce((n, v) => n + v.value, 0);
}
