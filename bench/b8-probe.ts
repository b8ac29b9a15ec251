/**
 * B8's footprint phase alone, repeatable, with the agent's CPU split by thread (main = JS, TLS, SQLite; the
 * others = GC helpers, the libuv pool): for measuring one agent change at a time. Same setup as B8 (the agent
 * harness bundled like dist/agent.js, production node flags, fleet and aedes broker on core 1, agent on core 0).
 *
 *   node --import tsx bench/b8-probe.ts [--devices 200] [--poll-ms 10000] [--warm-ms 10500] [--measure-ms 12000]
 *        [--channels rest,snmp] [--reps 1] [--liveness on|off] [--script other-bundle.mjs] [--node-arg=--flag ...]
 *        [--device-keepalive-ms MS] [--env K=V ...] [--prof DIR] [--perf FILE (perf record of the measured window, with --perf-basic-prof)]
 *        [--heap-snapshot FILE (the agent's V8 heap at the end of the window; summarise with bench/load/heap-summary.ts)]
 * Prints one JSON line per run.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import { buildAgentConfig } from '../simulator/agent-config.ts';
import type { SimDeviceInfo, SimNetworkDeviceInfo } from '../simulator/fleet.ts';
import { AGENT_ENV, AGENT_NODE_ARGS } from './b8-agent-footprint.ts';
import { BENCH_DIR, Child, pinSelf, procStats, sleep, tempDir } from './load/common.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '200' },
    'poll-ms': { type: 'string', default: '10000' },
    'warm-ms': { type: 'string', default: '10500' },
    'measure-ms': { type: 'string', default: '12000' },
    channels: { type: 'string', default: 'rest,snmp' },
    reps: { type: 'string', default: '1' },
    liveness: { type: 'string', default: 'on' },
    script: { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    env: { type: 'string', multiple: true, default: [] },
    prof: { type: 'string' },
    perf: { type: 'string' },
    'device-keepalive-ms': { type: 'string' },
    'heap-snapshot': { type: 'string' },
  },
});

/** The agent's production flags and environment, as B8 runs it. */
const NODE_ARGS = AGENT_NODE_ARGS;

/** CPU ms of each thread of `pid` (tid -> ms). */
function threadCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), ((Number(f[11]) + Number(f[12])) * 1000) / 100);
    } catch {
      // thread gone
    }
  }
  return out;
}

async function main() {
  const tmp = tempDir('b8probe');
  const unpin = pinSelf(1);
  const fleet = Child.start(`${BENCH_DIR}/load/fleet-proc.ts`, { core: 1 });
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const mqttUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const { devices } = await fleet.request<{ devices: SimDeviceInfo[] }>(
      {
        cmd: 'start',
        devices: Number(values.devices),
        seed: 8,
        // the devices' HTTPS idle timeout (the simulator's default: 5 s, node's)
        ...(values['device-keepalive-ms']
          ? { tuning: { restKeepAliveMs: Number(values['device-keepalive-ms']) } }
          : {}),
      },
      'ready',
      180_000,
    );
    const networked = devices.filter((d): d is SimNetworkDeviceInfo => d.usb === undefined);
    const raw = buildAgentConfig(networked, { mqttUrl, agentId: 'b8-agent', site: 'b8-site' });
    // @ts-expect-error plain ESM build script without types
    const { bundleOne } = await import('../build/build.mjs');
    const script = values.script ?? ((await bundleOne('bench/load/agent-proc.ts', 'bench-agent-proc.mjs')) as string);
    const env = Object.fromEntries(values.env.map((kv) => kv.split('=', 2) as [string, string]));
    for (let rep = 0; rep < Number(values.reps); rep += 1) {
      const prof = values.prof ? ['--cpu-prof', `--cpu-prof-dir=${values.prof}`] : [];
      if (values.perf) prof.push('--perf-basic-prof');
      const agent = Child.start(script, {
        core: 0,
        env: { ...AGENT_ENV, ...env },
        nodeArgs: [...NODE_ARGS, ...values['node-arg'], ...prof],
      });
      const config = {
        ...raw,
        devices: (raw.devices as Array<Record<string, unknown>>).map((d) => ({
          ...d,
          channels: values.channels.split(','),
        })),
        pollIntervalMs: Number(values['poll-ms']),
        requestTimeoutMs: 2000,
        dataDir: join(tmp.dir, `a${rep}`),
        ...(values.liveness === 'off' ? { liveness: { enabled: false } } : {}),
      };
      const idle = await agent.request<{ rssMb: number }>({ cmd: 'stats' }, 'stats', 60_000);
      await agent.request({ cmd: 'start', config }, 'started', 60_000);
      await sleep(Number(values['warm-ms']));
      const s0 = await agent.request<{ records: number }>({ cmd: 'stats' }, 'stats', 5000);
      const t0 = performance.now();
      const c0 = threadCpu(agent.pid);
      let rssPeak = 0;
      const timer = setInterval(() => {
        rssPeak = Math.max(rssPeak, procStats(agent.pid).rssMb);
      }, 200);
      const perf = values.perf
        ? spawn(
            'perf',
            [
              'record',
              '-F',
              '1999',
              '-g',
              '-p',
              String(agent.pid),
              '-o',
              `${values.perf}.${rep}`,
              '--',
              'sleep',
              String(Number(values['measure-ms']) / 1000),
            ],
            { stdio: 'ignore' },
          )
        : undefined;
      await sleep(Number(values['measure-ms']));
      if (perf && perf.exitCode === null) await once(perf, 'exit');
      clearInterval(timer);
      const c1 = threadCpu(agent.pid);
      if (process.env.B8_SMAPS) {
        const rollup = readFileSync(`/proc/${agent.pid}/smaps_rollup`, 'utf8');
        process.stderr.write(
          `${rollup
            .split('\n')
            .filter((l) => /^(Rss|Pss_Anon|Pss_File|Anonymous)/.test(l))
            .join(' | ')}\n`,
        );
        const maps = readFileSync(`/proc/${agent.pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
        const rows = maps.map((m) => ({ head: m.split('\n')[0], rss: Number(/\nRss:\s+(\d+)/.exec(m)?.[1] ?? 0) }));
        rows.sort((a, b) => b.rss - a.rss);
        for (const r of rows.slice(0, 15)) process.stderr.write(`${String(r.rss).padStart(7)} kB ${r.head}\n`);
      }
      const wallMs = performance.now() - t0;
      if (values['heap-snapshot']) {
        await agent.request(
          { cmd: 'heap-snapshot', file: `${values['heap-snapshot']}.${rep}` },
          'heap-snapshot',
          120_000,
        );
      }
      const s1 = await agent.request<{ records: number; memory: NodeJS.MemoryUsage }>({ cmd: 'stats' }, 'stats', 5000);
      await agent.stop();
      const pct = (ms: number) => Math.round((ms / wallMs) * 1000) / 10;
      let total = 0;
      let main = 0;
      for (const [tid, ms] of c1) {
        const d = ms - (c0.get(tid) ?? 0);
        total += d;
        if (tid === agent.pid) main = d;
      }
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      process.stdout.write(
        `${JSON.stringify({
          rep,
          cpuPct: pct(total),
          mainPct: pct(main),
          otherThreadsPct: pct(total - main),
          rssPeakMb: Math.round(rssPeak * 10) / 10,
          idleRssMb: Math.round(idle.rssMb * 10) / 10,
          heapUsedMb: Math.round((s1.memory.heapUsed / 2 ** 20) * 10) / 10,
          recordsPerS: Math.round(((s1.records - s0.records) / wallMs) * 10000) / 10,
          load,
        })}\n`,
      );
    }
  } finally {
    await fleet.stop();
    await new Promise<void>((r) => broker.close(() => r()));
    server.close();
    unpin();
    tmp.remove();
  }
}

await main();
