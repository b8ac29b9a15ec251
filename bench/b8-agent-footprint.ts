/**
 * B8 agent footprint: the real agent (child process, core 0) polling a simulated fleet (child, core 1) of
 * 200 devices every 10 s over REST + SNMP, publishing to a bare aedes broker in this process (core 1).
 * Figures: agent RSS peak (the whole run) and CPU % of one core (from /proc) once the agent has run the load for
 * `steadyAtMs`; the first window after start (`warmMs`, JIT compiling) is measured too and noted.
 * SNMP throughput vs the baseline in the same run: both the agent (SNMP only, every device every second) and
 * Debian's Prometheus `snmp_exporter` 0.21 (core 0; one generated module per device with the agent's 14
 * Poly/MIB-II OIDs, since each simulated device has its own community; scraped once per device per second like
 * Prometheus with `scrape_interval: 1s`) get the same 200 devices/s to do: devices/s answered and CPU per device,
 * measured once both have run that load for `snmpWarmMs` (a running agent's cost, not its JIT warm-up; the first
 * seconds after start are measured too and noted).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { SCALARS } from '../agent/poll/snmp.ts';
import { buildAgentConfig } from '../simulator/agent-config.ts';
import type { SimDeviceInfo, SimNetworkDeviceInfo } from '../simulator/fleet.ts';
import type { Figure, Profile, Scenario } from './harness.ts';
import { round } from './harness.ts';
import {
  BENCH_DIR,
  Child,
  CORES,
  freePort,
  pinNote,
  pinSelf,
  procStats,
  sleep,
  tempDir,
  watchProcess,
} from './load/common.ts';

const PROFILES = {
  tiny: {
    devices: 4,
    pollMs: 1000,
    warmMs: 1000,
    measureMs: 1000,
    steadyAtMs: 3000,
    steadyMs: 1000,
    snmpMs: 1000,
    snmpWarmMs: 3000,
  },
  quick: {
    devices: 200,
    pollMs: 10_000,
    warmMs: 10_500,
    measureMs: 12_000,
    // after the log cache's first fill (one archive a second over max(10 polls, 1 s per device) = 200 s)
    steadyAtMs: 215_000,
    steadyMs: 30_000,
    snmpMs: 5000,
    snmpWarmMs: 15_000,
  },
  full: {
    devices: 200,
    pollMs: 10_000,
    warmMs: 15_000,
    measureMs: 60_000,
    steadyAtMs: 300_000,
    steadyMs: 120_000,
    snmpMs: 30_000,
    snmpWarmMs: 60_000,
  },
} as const;
const EXPORTER = '/usr/bin/prometheus-snmp-exporter';

interface AgentStats {
  records: number;
  failedRecords: number;
  snmpOk: number;
  cpuMs: number;
  rssMb: number;
}

function exporterConfig(devices: readonly SimNetworkDeviceInfo[]): string {
  const gets = Object.values(SCALARS).map(([oid]) => oid);
  const metrics = Object.entries(SCALARS)
    .filter(([, [, type]]) => type !== 'oid')
    .map(
      ([name, [oid, type]]) =>
        `    - {name: ${name}, oid: ${oid.replace(/\.0$/, '')}, type: ${type === 'string' ? 'DisplayString' : 'gauge'}, help: ${name}}`,
    );
  return devices
    .map((d, i) =>
      [
        `d${i}:`,
        '  version: 2',
        `  auth: {community: ${d.snmpCommunity}}`,
        '  retries: 0',
        '  timeout: 2s',
        `  get: [${gets.join(', ')}]`,
        '  metrics:',
        ...metrics,
      ].join('\n'),
    )
    .join('\n');
}

/** Node flags of the agent in production (deploy/hezo-agent.service, docker-compose.yml). */
export const AGENT_NODE_ARGS = [
  '--enable-source-maps',
  '--max-old-space-size=64',
  '--max-semi-space-size=1',
  '--single-threaded',
];
/**
 * Its environment there too: two glibc malloc arenas instead of up to 8 per core (~10 MB less RSS, bench B8), and
 * glibc's mmap and trim thresholds fixed at their 128-kB defaults: left dynamic they grow with every large buffer
 * freed (TLS records, log archives), and freed memory then stays in the heap (~8 MB more RSS, bench B8, eighth round).
 */
export const AGENT_ENV: Record<string, string> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/** bench/load/agent-proc.ts bundled by esbuild into dist/ (next to node_modules for the native packages). */
async function bundleAgentProc(): Promise<string> {
  // @ts-expect-error plain ESM build script without types
  const { bundleOne } = await import('../build/build.mjs');
  return (await bundleOne('bench/load/agent-proc.ts', 'bench-agent-proc.mjs')) as string;
}

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const tmp = tempDir('b8');
  const unpin = pinSelf(1);
  const fleet = Child.start(`${BENCH_DIR}/load/fleet-proc.ts`, { core: 1 });
  let health = 0;
  const broker = await Aedes.createBroker({
    published: (packet, client, done) => {
      if (client && packet.topic.includes('/health/')) health += 1;
      done(null);
    },
  });
  const server = createServer(broker.handle).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const mqttUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const children: Child[] = [];
  let exporter: ReturnType<typeof spawn> | undefined;
  try {
    const { devices } = await fleet.request<{ devices: SimDeviceInfo[] }>(
      { cmd: 'start', devices: p.devices, seed: 8 },
      'ready',
      180_000,
    );
    const networked = devices.filter((d): d is SimNetworkDeviceInfo => d.usb === undefined);
    const raw = buildAgentConfig(networked, { mqttUrl, agentId: 'b8-agent', site: 'b8-site' });
    const agentConfig = (channels: string[], pollIntervalMs: number, dir: string) => ({
      ...raw,
      devices: (raw.devices as Array<Record<string, unknown>>).map((d) => ({ ...d, channels })),
      pollIntervalMs,
      requestTimeoutMs: 2000,
      dataDir: join(tmp.dir, dir),
    });

    // A. Footprint: REST + SNMP, every device every 10 s.
    // HEZO_BENCH_AGENT_PROF=<dir>: CPU-profile the footprint agent (bench/load/profile-top.ts reads it).
    const profDir = process.env.HEZO_BENCH_AGENT_PROF;
    // The agent harness bundled into one file like dist/agent.js, on plain node with the systemd unit's heap limit.
    const agentScript = await bundleAgentProc();
    const agent = Child.start(agentScript, {
      core: 0,
      env: AGENT_ENV,
      nodeArgs: [...AGENT_NODE_ARGS, ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])],
    });
    children.push(agent);
    const idle = await agent.request<AgentStats>({ cmd: 'stats' }, 'stats', 60_000);
    // Two windows: the first after start (JIT compiling, the log cache's first fill: noted, never hidden) and the
    // figure's, once the agent has run the same load for `steadyAtMs` (what a small box pays for months). The RSS
    // peak is the whole run's, both windows and all between them.
    const whole = watchProcess(agent.pid, 200);
    await agent.request({ cmd: 'start', config: agentConfig(['rest', 'snmp'], p.pollMs, 'a') }, 'started', 60_000);
    const footprintStarted = performance.now();
    await sleep(p.warmMs);
    const s0 = await agent.request<AgentStats>({ cmd: 'stats' }, 'stats', 5000);
    const firstWatch = watchProcess(agent.pid, 200);
    await sleep(p.measureMs);
    const first = firstWatch.stop();
    const sFirst = await agent.request<AgentStats>({ cmd: 'stats' }, 'stats', 5000);
    await sleep(Math.max(0, p.steadyAtMs - (performance.now() - footprintStarted)));
    const s1 = await agent.request<AgentStats>({ cmd: 'stats' }, 'stats', 5000);
    const steadyWatch = watchProcess(agent.pid, 200);
    await sleep(p.steadyMs);
    const steady = steadyWatch.stop();
    const s2 = await agent.request<AgentStats>({ cmd: 'stats' }, 'stats', 5000);
    const runRssPeak = whole.stop().rssPeak;
    await agent.stop();
    const footprintPerS = ((s2.records - s1.records) / steady.wallMs) * 1000;
    const firstPerS = ((sFirst.records - s0.records) / first.wallMs) * 1000;

    // B1. Agent, SNMP only, every device every second. Measured twice: right after start (2 s in: JIT compiling,
    // noted) and once both sides have run `snmpWarmMs` (the figure: the per-poll cost of a running agent).
    const snmpAgent = Child.start(agentScript, { core: 0, env: AGENT_ENV, nodeArgs: AGENT_NODE_ARGS });
    children.push(snmpAgent);
    await snmpAgent.request({ cmd: 'start', config: agentConfig(['snmp'], 1000, 'b') }, 'started', 60_000);
    const agentStarted = performance.now();
    const measureAgent = async () => {
      const a0 = await snmpAgent.request<AgentStats>({ cmd: 'stats' }, 'stats', 5000);
      const aw = watchProcess(snmpAgent.pid, 200);
      await sleep(p.snmpMs);
      const stop = aw.stop();
      const a1 = await snmpAgent.request<AgentStats>({ cmd: 'stats' }, 'stats', 5000);
      const polls = a1.snmpOk - a0.snmpOk;
      return { stop, perS: (polls / stop.wallMs) * 1000, cpuPerPollMs: stop.cpuMs / Math.max(1, polls) };
    };
    await sleep(2000);
    const agentEarly = await measureAgent();
    await sleep(Math.max(0, p.snmpWarmMs - (performance.now() - agentStarted)));
    const agentSteady = await measureAgent();
    await snmpAgent.stop();
    const aStop = agentSteady.stop;
    const agentSnmpPerS = agentSteady.perS;
    const agentCpuPerDeviceMs = agentSteady.cpuPerPollMs;

    // B2. snmp_exporter, same devices, same schedule (each device once per second).
    const configFile = join(tmp.dir, 'snmp.yml');
    writeFileSync(configFile, `${exporterConfig(networked)}\n`);
    const port = await freePort();
    const args = [`--config.file=${configFile}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'];
    exporter = spawn(CORES >= 2 ? 'taskset' : EXPORTER, CORES >= 2 ? ['-c', '0', EXPORTER, ...args] : args, {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i += 1) {
      if (
        await fetch(`${base}/`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await sleep(50);
    }
    const scrape = async (i: number) => {
      const d = networked[i]!;
      try {
        const res = await fetch(`${base}/snmp?target=127.0.0.1:${d.snmpPort}&module=d${i}`);
        const text = await res.text();
        return res.ok && text.includes('sysUpTime ');
      } catch {
        return false;
      }
    };
    let ok = 0;
    const exporterStarted = performance.now();
    const schedule = async (ms: number, count: boolean) => {
      const t0 = performance.now();
      const pending: Promise<void>[] = [];
      // Paced on absolute time: device i of round r is scraped at t0 + r s + i / n s.
      for (let k = 0; performance.now() - t0 < ms; k += 1) {
        const i = k % networked.length;
        pending.push(
          scrape(i).then((isOk) => {
            if (isOk && count) ok += 1;
          }),
        );
        const dueMs = ((k + 1) * 1000) / networked.length - (performance.now() - t0);
        if (dueMs > 0) await sleep(dueMs);
      }
      await Promise.all(pending);
    };
    const measureExporter = async () => {
      ok = 0;
      const ew = watchProcess(exporter?.pid ?? -1, 200);
      await schedule(p.snmpMs, true);
      const stop = ew.stop();
      return { stop, perS: (ok / stop.wallMs) * 1000, cpuPerPollMs: stop.cpuMs / Math.max(1, ok) };
    };
    // the same schedule as the agent's: warm 1.5 s, early window, warm until snmpWarmMs, the figure's window
    await schedule(1500, false);
    const exporterEarly = await measureExporter();
    await schedule(Math.max(0, p.snmpWarmMs - (performance.now() - exporterStarted)), false);
    const exporterSteady = await measureExporter();
    const eStop = exporterSteady.stop;
    const exporterRss = procStats(exporter.pid ?? -1).rssMb;
    const exporterPerS = exporterSteady.perS;
    const exporterCpuPerDeviceMs = exporterSteady.cpuPerPollMs;

    const judged = profile !== 'tiny';
    const figures: Figure[] = [
      {
        name: 'agent RSS peak (REST + SNMP)',
        value: round(runRssPeak),
        unit: 'MB',
        target: '<= 80',
        ...(judged ? { met: runRssPeak <= 80 } : {}),
      },
      {
        name: 'agent CPU (REST + SNMP, running)',
        value: round(steady.cpuPct),
        unit: '% of a core',
        target: '<= 5',
        ...(judged ? { met: steady.cpuPct <= 5 } : {}),
      },
      {
        name: 'SNMP devices/s (offered 1/s each)',
        value: round(agentSnmpPerS),
        unit: 'dev/s',
        baseline: round(exporterPerS),
        baselineName: 'snmp_exporter',
        target: '>= 1.0 x snmp_exporter',
        ...(judged ? { met: agentSnmpPerS >= 0.98 * exporterPerS } : {}),
      },
      {
        name: 'SNMP CPU per device poll',
        value: round(agentCpuPerDeviceMs, 3),
        unit: 'ms',
        baseline: round(exporterCpuPerDeviceMs, 3),
        baselineName: 'snmp_exporter',
        target: '<= 1.2 x snmp_exporter',
        ...(judged ? { met: agentCpuPerDeviceMs <= 1.2 * exporterCpuPerDeviceMs } : {}),
      },
    ];
    const notes = [
      `${pinNote('agent / snmp_exporter on core 0; fleet, broker and scrape driver on core 1')}; ${networked.length} devices`,
      `REST + SNMP every ${p.pollMs / 1000} s, measured ${round(p.steadyAtMs / 1000)}-${round((p.steadyAtMs + steady.wallMs) / 1000)} s after start: ` +
        `${round(footprintPerS)} records/s, ${s2.failedRecords} records with a failed probe in the run; CPU ${round(steady.cpuPct)} %, ` +
        `RSS peak ${round(steady.rssPeak)} MB in the window, ${round(runRssPeak)} MB over the whole run; broker got ${health} health messages`,
      `REST + SNMP, the first window after start (${round(p.warmMs / 1000)}-${round((p.warmMs + first.wallMs) / 1000)} s: JIT compiling, ` +
        `the log cache's first fill; the window this figure used before): CPU ${round(first.cpuPct)} %, RSS peak ${round(first.rssPeak)} MB, ${round(firstPerS)} records/s`,
      `SNMP only, every device every 1 s, ${p.snmpMs / 1000} s measured after ${p.snmpWarmMs / 1000} s of the same load: agent ${round(agentSnmpPerS)} dev/s at ${round(aStop.cpuPct)} % CPU, RSS ${round(
        aStop.rssPeak,
      )} MB; snmp_exporter ${round(exporterPerS)} dev/s at ${round(eStop.cpuPct)} % CPU, RSS ${round(exporterRss)} MB`,
      `SNMP only, the first ${p.snmpMs / 1000} s after a 2 s start (the agent's JIT still compiling; the window this figure used before): agent ${round(
        agentEarly.cpuPerPollMs,
        3,
      )} ms per poll (${round(agentEarly.stop.cpuPct)} % CPU), snmp_exporter ${round(exporterEarly.cpuPerPollMs, 3)} ms (${round(
        exporterEarly.stop.cpuPct,
      )} % CPU): ${exporterEarly.cpuPerPollMs > 0 ? `${round(agentEarly.cpuPerPollMs / exporterEarly.cpuPerPollMs, 2)}x` : 'no ratio (no exporter CPU measured)'}`,
      `agent process RSS before start (plain node + the minified agent bundle, ${AGENT_NODE_ARGS.join(' ')}, ${Object.entries(
        AGENT_ENV,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}, nothing polled): ${round(idle.rssMb)} MB`,
      'the agent also normalises each poll into a health record and publishes it over MQTT (QoS 1); the exporter only renders text',
      'the simulated fleet (net-snmp agents in Node, core 1) caps what either side can get',
    ];
    return { figures, notes };
  } finally {
    exporter?.kill();
    for (const c of children) await c.stop();
    await fleet.stop();
    await new Promise<void>((r) => broker.close(() => r()));
    server.close();
    unpin();
    tmp.remove();
  }
}

export const scenario: Scenario = { id: 'B8', title: 'agent footprint vs snmp_exporter', run };
