/**
 * B2 profile probe: the B2 setup (10k devices on 100 authenticated agents over real MQTT, hub in this process on
 * core 0), warmed up like B2, then ONE steady load measured with a V8 CPU profile of exactly that stretch (no
 * warm-up, no start-up in the profile): what the hub spends its CPU on at nominal load.
 *
 *   node --import tsx bench/b2-profile-probe.ts [--rate 1000] [--seconds 10] [--out /tmp/b2.cpuprofile]
 *   node --import tsx bench/load/profile-top.ts /tmp/b2.cpuprofile 40 [--by-file]
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { round } from './harness.ts';
import { runSteady, setupSteady, warmUpSteady } from './load/steady.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '100' },
    'devices-per-agent': { type: 'string', default: '100' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    /** The second warm-up at the measured rate (0: measure right after the first warm-up, as B2 does). */
    'warmup2-seconds': { type: 'string', default: '0' },
    /** Warm up with the first records only (the measured window then holds the first poll cycle after them). */
    cold: { type: 'boolean', default: false },
    /** CPU profile sampling interval (us). */
    'sample-us': { type: 'string', default: '500' },
    out: { type: 'string' },
    /** Sample what the measured stretch allocated and kept (survived scavenges): a .heapprofile. */
    'heap-out': { type: 'string' },
    /** With --heap-out: every allocation sampled, also what the GC already collected (allocation volume). */
    'heap-all': { type: 'boolean', default: false },
  },
});
const rate = Number(values.rate);
const setup = await setupSteady(Number(values.agents), Number(values['devices-per-agent']), 'b2p');
try {
  // Warm-up as in B2 (steady.ts warmUpSteady): every device registered and `up`, one full poll cycle at the nominal
  // rate, the hub's pending writes done. `--cold`: only the first records (as B2 did before the fourth round).
  if (values.cold) await runSteady(setup, 2000, Math.max(1000, (setup.devices / 2000) * 1000 + 500), 1000, 20_000);
  else await warmUpSteady(setup, 1000);
  // An optional second warm-up at the measured rate.
  const warmup2Ms = Number(values['warmup2-seconds']) * 1000;
  if (warmup2Ms > 0) await runSteady(setup, rate, warmup2Ms);
  // What the hub did in the measured stretch besides taking records in (bus events counted).
  const events: Record<string, number> = {};
  const offs = (['device', 'device-state', 'site-alert', 'health'] as const).map((name) =>
    setup.hub.hub.ctx.bus.on(name, () => {
      events[name] = (events[name] ?? 0) + 1;
    }),
  );
  const session = new Session();
  const isProfiling = values.out !== undefined || values['heap-out'] !== undefined;
  if (isProfiling) session.connect();
  if (values.out !== undefined) {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: Number(values['sample-us']) });
    await session.post('Profiler.start');
  }
  if (values['heap-out'] !== undefined) {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMinorGC: values['heap-all'],
      includeObjectsCollectedByMajorGC: values['heap-all'],
    });
  }
  const gcMs = { minor: 0, major: 0, incremental: 0, weak: 0, count: 0 };
  const gcKinds: Record<number, keyof typeof gcMs> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
  };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = gcKinds[(e as unknown as { detail: { kind: number } }).detail.kind];
      if (kind !== undefined) gcMs[kind] += e.duration;
      gcMs.count += 1;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  // For an outside profiler (`perf record -p <pid>`): the measured stretch starts now.
  process.stderr.write(`measured stretch starts: pid ${process.pid}\n`);
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage().minorPageFault;
  const threads0 = threadTicks();
  const windowStartMs = performance.now();
  const r = await runSteady(setup, rate, Number(values.seconds) * 1000);
  const threads = diffTicks(threads0, threadTicks());
  const cpu = process.cpuUsage(cpu0);
  const minorPageFaults = process.resourceUsage().minorPageFault - faults0;
  gcObserver.disconnect();
  for (const off of offs) off();
  const windowEndMs = performance.now();
  if (values.out !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(values.out, JSON.stringify(profile));
  }
  if (values['heap-out'] !== undefined) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(values['heap-out'], JSON.stringify(profile));
  }
  if (isProfiling) session.disconnect();
  console.log(
    JSON.stringify({
      devices: setup.devices,
      rate,
      offeredPerS: r.offeredPerS,
      processed: r.processed,
      lost: r.lost,
      cpuPct: round(r.cpuPct),
      cpuUsPerMsg: round((cpu.user + cpu.system) / Math.max(1, r.processed)),
      loopP99Ms: round(r.loopP99Ms),
      loopMaxMs: round(r.loopMaxMs),
      profiled: values.out !== undefined,
      gcMs: Object.fromEntries(Object.entries(gcMs).map(([k, v]) => [k, Math.round(v)])),
      threadCpuMs: threads,
      minorPageFaults,
      events,
      userMs: Math.round(cpu.user / 1000),
      systemMs: Math.round(cpu.system / 1000),
      /** The measured stretch in ms since the process started (to cut a --trace-gc-nvp log to it). */
      windowMs: [Math.round(windowStartMs), Math.round(windowEndMs)],
    }),
  );
} finally {
  await setup.close();
}

/** CPU ticks (user + system) per thread of this process, by thread name and id (/proc/self/task). */
function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}${tid === String(process.pid) ? ' (main)' : `-${tid}`}`;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      out.set(name, (out.get(name) ?? 0) + ticks);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Per thread, ms of CPU between two samples (100 ticks per second on Linux). */
function diffTicks(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, t] of after) {
    const ms = (t - (before.get(name) ?? 0)) * 10;
    if (ms > 0) out[name] = ms;
  }
  return out;
}
