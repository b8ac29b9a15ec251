/** A steady health-message load on an in-process hub (hub pinned to core 0, generator on core 1). */
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

/** A hub with `agents` x `devicesPerAgent` simulated devices connected (logins done before pinning). */
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
  return {
    hub,
    load,
    devices: agentCount * devicesPerAgent,
    async close() {
      await load.close();
      await hub.close();
    },
  };
}

/** Run `rate` msg/s for `durationMs` with this process pinned to core 0; RSS sampled every `rssEveryMs`. */
export async function runSteady(
  setup: SteadySetup,
  rate: number,
  durationMs: number,
  rssEveryMs = 1000,
  drainMs = 5000,
) {
  const { hub, load } = setup;
  const unpin = pinSelf(0);
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
    unpin();
  }
}

/** A counter's value from the hub's prom registry (summed over labels, or the one `kind`). */
async function counter(setup: SteadySetup, name: string, kind?: string): Promise<number> {
  const metric = setup.hub.hub.ctx.metrics.getSingleMetric(name);
  const values = (await metric?.get())?.values ?? [];
  return values.filter((v) => kind === undefined || v.labels.kind === kind).reduce((n, v) => n + v.value, 0);
}
