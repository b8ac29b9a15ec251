/**
 * B8 probe: the agent's footprint (CPU share of one core, RSS) while it polls a simulated fleet.
 *
 * Starts a Mosquitto broker and `hezo sim` (both pinned to core 0), trims the generated agent config to
 * N networked devices at the chosen poll interval, starts `hezo agent` pinned to core 1, waits for the
 * warm-up, then samples /proc/<agent pid>/stat (utime + stime) and /proc/<pid>/status (VmRSS) every second.
 * A QoS 0 subscriber counts the health records reaching the broker (proof that the agent really polls).
 * Prints one JSON object. With `--cpu-prof`, the agent writes a .cpuprofile and the top self-time
 * functions are added to the JSON.
 *
 *   node --import tsx bench/load/agent-footprint-probe.ts [--devices 200] [--interval-ms 10000]
 *        [--warmup-s 30] [--duration-s 60] [--cpu-prof] [--log-level warn] [--keep]
 *        [--node-arg=--max-semi-space-size=2 ...] [--agent-root DIR (another checkout's agent, e.g. a baseline)]
 *
 * As a library: `probeAgentFootprint({ devices: 200, intervalMs: 10_000, ... })` returns the same object.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { parse, stringify } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** Read once at load, before this probe pins itself to one core (affinity would then say 1). */
const CORES = availableParallelism();

export interface ProbeOptions {
  /** Networked devices polled by the agent. */
  devices: number;
  intervalMs: number;
  warmupS: number;
  durationS: number;
  /** Agent log level (HEZO_LOG_LEVEL). */
  logLevel: string;
  cpuProf: boolean;
  /** Extra node flags for the agent process. */
  agentNodeArgs: string[];
  /** Keep the temp folder (config, data, profile). */
  keep: boolean;
  /** Checkout whose `bin/hezo.js agent` is measured (default: this one), e.g. an exported older commit. */
  agentRoot?: string;
}

export interface ProbeResult {
  machine: { cores: number; node: string; clockTicks: number };
  pinning: string;
  devices: number;
  intervalMs: number;
  warmupS: number;
  durationS: number;
  agent: {
    cpuPctOfOneCore: number;
    cpuPctPerSecond: { p50: number; max: number };
    /** By thread name: `node` (main: JS, TLS, SQLite), `libuv-worker` (fs), `V8 Worker` (GC), ... */
    cpuPctByThread: Record<string, number>;
    rssMb: { mean: number; max: number; last: number };
    healthRecordsPerS: number;
    expectedRecordsPerS: number;
  };
  topFunctions?: { name: string; selfMs: number; pct: number }[];
  profile?: string;
  dir?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function pinned(core: number, cmd: string[]): string[] {
  return CORES >= 2 ? ['taskset', '-c', String(core), ...cmd] : cmd;
}

function start(cmd: string[], env: Record<string, string> = {}): ChildProcess {
  const proc = spawn(cmd[0] as string, cmd.slice(1), {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  proc.on('error', () => {});
  return proc;
}

/** Resolve when a line matching `pattern` appears on stdout or stderr. */
function waitForLine(proc: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`${what}: no ${pattern} within ${timeoutMs} ms:\n${buffered}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const m = pattern.exec(buffered);
      if (m) {
        clearTimeout(timer);
        proc.stdout?.off('data', onData);
        proc.stderr?.off('data', onData);
        resolveLine(m[0]);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}):\n${buffered}`));
    });
  });
}

async function stopProc(proc: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

/** CPU ticks per thread name (/proc/<pid>/task/<tid>/stat): main thread, libuv pool, GC helpers, loader. */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + Number(rest[11]) + Number(rest[12]));
    } catch {
      // the thread ended
    }
  }
  return out;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  return kb / 1024;
}

/** The node process itself (`taskset` execs it, so the pid is the same; kept for clarity). */
function agentPid(proc: ChildProcess): number {
  return proc.pid ?? -1;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Self time per function of a .cpuprofile, highest first. */
export function topFunctions(file: string, limit = 25): { name: string; selfMs: number; pct: number }[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (const [i, id] of prof.samples.entries()) {
    const dt = (prof.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node) continue;
    const f = node.callFrame;
    const url = f.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
    const name = `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(name, (self.get(name) ?? 0) + dt);
    if (f.functionName !== '(idle)') total += dt;
  }
  return [...self.entries()]
    .filter(([name]) => !name.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, ms]) => ({ name, selfMs: Math.round(ms), pct: Math.round((ms / total) * 1000) / 10 }));
}

export async function probeAgentFootprint(options: ProbeOptions): Promise<ProbeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-b8-probe-'));
  const HEZO = join(ROOT, 'bin', 'hezo.js');
  const agentHezo = join(options.agentRoot ?? ROOT, 'bin', 'hezo.js');
  const procs: ChildProcess[] = [];
  let subscriber: mqtt.MqttClient | undefined;
  try {
    const mqttPort = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${mqttPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    const broker = start(pinned(0, ['mosquitto', '-c', conf]));
    procs.push(broker);
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;

    // about 1 device in 8 of the default model mix is a USB bar (not polled over the network): ask for more
    const simDevices = Math.ceil(options.devices * 1.2) + 2;
    const simConfig = join(dir, 'sim-agent.yaml');
    const sim = start(
      pinned(0, [
        process.execPath,
        HEZO,
        'sim',
        '--devices',
        String(simDevices),
        '--port',
        '0',
        '--agent-config',
        simConfig,
        '--mqtt-url',
        mqttUrl,
      ]),
    );
    procs.push(sim);
    await waitForLine(sim, /control: \S+/, 120_000, 'hezo sim');

    const raw = parse(readFileSync(simConfig, 'utf8')) as { devices: unknown[] } & Record<string, unknown>;
    if (raw.devices.length < options.devices) {
      throw new Error(`the simulator made only ${raw.devices.length} networked devices, ${options.devices} asked`);
    }
    raw.devices = raw.devices.slice(0, options.devices);
    raw.pollIntervalMs = options.intervalMs;
    raw.dataDir = join(dir, 'agent-data');
    const agentConfig = join(dir, 'agent.yaml');
    writeFileSync(agentConfig, stringify(raw));

    let records = 0;
    subscriber = await mqtt.connectAsync(mqttUrl, { clientId: 'b8-probe-counter', reconnectPeriod: 1000 });
    await subscriber.subscribeAsync('hezo/v1/+/+/health/#', { qos: 0 });
    subscriber.on('message', () => {
      records++;
    });

    const nodeArgs = [...options.agentNodeArgs];
    const profDir = join(dir, 'prof');
    if (options.cpuProf) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
    const agent = start(pinned(1, [process.execPath, ...nodeArgs, agentHezo, 'agent', '--config', agentConfig]), {
      HEZO_LOG_LEVEL: options.logLevel,
    });
    procs.push(agent);
    let agentLog = '';
    agent.stderr?.on('data', (c: Buffer) => {
      if (agentLog.length < 20_000) agentLog += c.toString();
    });
    const pid = agentPid(agent);
    // ready = its first health record reached the broker (the log may be quieter than `info`)
    for (let waited = 0; records === 0; waited += 100) {
      if (agent.exitCode !== null) throw new Error(`the agent exited (${agent.exitCode}):\n${agentLog}`);
      if (waited > 60_000) throw new Error(`no health record from the agent within 60 s:\n${agentLog}`);
      await sleep(100);
    }

    await sleep(options.warmupS * 1000);
    const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    const perSecond: number[] = [];
    const rss: number[] = [];
    const t0 = performance.now();
    const ticks0 = cpuTicks(pid);
    const threads0 = threadTicks(pid);
    const records0 = records;
    let lastTicks = ticks0;
    let lastT = t0;
    for (let i = 0; i < options.durationS; i++) {
      await sleep(1000);
      if (agent.exitCode !== null) throw new Error(`the agent exited (${agent.exitCode}):\n${agentLog}`);
      const ticks = cpuTicks(pid);
      const t = performance.now();
      perSecond.push(((ticks - lastTicks) / hz / ((t - lastT) / 1000)) * 100);
      lastTicks = ticks;
      lastT = t;
      rss.push(rssMb(pid));
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const cpuPctByThread: Record<string, number> = {};
    for (const [name, ticks] of threadTicks(pid)) {
      const pct = ((ticks - (threads0.get(name) ?? 0)) / hz / elapsedS) * 100;
      if (pct >= 0.05) cpuPctByThread[name] = Math.round(pct * 10) / 10;
    }
    const cpuPct = ((lastTicks - ticks0) / hz / elapsedS) * 100;
    const recordsPerS = (records - records0) / elapsedS;
    const sorted = [...perSecond].sort((a, b) => a - b);
    const round1 = (n: number) => Math.round(n * 10) / 10;

    await stopProc(agent);
    const result: ProbeResult = {
      machine: { cores: CORES, node: process.version, clockTicks: hz },
      pinning:
        CORES >= 2 ? 'agent on core 1; simulator, broker and this probe on core 0 (taskset)' : 'one core: not pinned',
      devices: options.devices,
      intervalMs: options.intervalMs,
      warmupS: options.warmupS,
      durationS: options.durationS,
      agent: {
        cpuPctOfOneCore: round1(cpuPct),
        cpuPctPerSecond: { p50: round1(sorted[Math.floor(sorted.length / 2)] ?? 0), max: round1(sorted.at(-1) ?? 0) },
        rssMb: {
          mean: round1(rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length)),
          max: round1(Math.max(...rss)),
          last: round1(rss.at(-1) ?? 0),
        },
        cpuPctByThread,
        healthRecordsPerS: round1(recordsPerS),
        expectedRecordsPerS: round1(options.devices / (options.intervalMs / 1000)),
      },
    };
    if (options.cpuProf) {
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        result.profile = join(profDir, file);
        result.topFunctions = topFunctions(result.profile);
      }
    }
    if (options.keep) result.dir = dir;
    return result;
  } finally {
    await subscriber?.endAsync(true).catch(() => {});
    for (const proc of procs.reverse()) await stopProc(proc);
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  // this probe (the MQTT counter) shares core 0 with the simulator and the broker
  if (CORES >= 2) execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '200' },
      'interval-ms': { type: 'string', default: '10000' },
      'warmup-s': { type: 'string', default: '30' },
      'duration-s': { type: 'string', default: '60' },
      'log-level': { type: 'string', default: 'warn' },
      'cpu-prof': { type: 'boolean', default: false },
      'node-arg': { type: 'string', multiple: true, default: [] },
      keep: { type: 'boolean', default: false },
      'agent-root': { type: 'string' },
    },
  });
  const result = await probeAgentFootprint({
    devices: Number(values.devices),
    intervalMs: Number(values['interval-ms']),
    warmupS: Number(values['warmup-s']),
    durationS: Number(values['duration-s']),
    logLevel: values['log-level'],
    cpuProf: values['cpu-prof'],
    agentNodeArgs: values['node-arg'],
    keep: values.keep || values['cpu-prof'],
    ...(values['agent-root'] ? { agentRoot: resolve(values['agent-root']) } : {}),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
