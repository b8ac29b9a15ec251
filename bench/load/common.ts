/**
 * Shared plumbing for the scenarios: CPU pinning (taskset), child processes with an IPC request/reply,
 * /proc sampling of another process, free ports, temp folders, a hub config built for benchmarks.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { hashPassword } from '../../hub/broker/credentials.ts';
import { HubConfig } from '../../hub/config.ts';
import { buildConfig } from '../../protocols/config-common.ts';

export const BENCH_DIR = resolve(import.meta.dirname, '..');
export const API_TOKEN = 'bench-admin-token-0123456789';
export const AGENT_PASSWORD = 'bench-agent-password';
/** Silent unless HEZO_BENCH_LOG (e.g. `error`) asks for the product's logs on stderr. */
export const silentLogger = () => pino({ level: process.env.HEZO_BENCH_LOG ?? 'silent' }, pino.destination(2));
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const CORES = availableParallelism();

let cachedHash: string | undefined;
/** One scrypt hash shared by every bench agent (hashing 2000 plain passwords at start would take minutes). */
export function agentPasswordHash(): string {
  cachedHash ??= hashPassword(AGENT_PASSWORD);
  return cachedHash;
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `hezo-bench-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface BenchAgent {
  id: string;
  site: string;
}

export function benchAgents(n: number, prefix = 'ag'): BenchAgent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${String(i).padStart(4, '0')}`,
    site: `site-${String(i % 50).padStart(2, '0')}`,
  }));
}

/** A hub config for benchmarks: loopback, ports 0 unless given, the agents with a shared scrypt hash. */
export function benchHubConfig(options: {
  dataDir: string;
  agents?: readonly BenchAgent[];
  allowAnonymous?: boolean;
  mqttPort?: number;
  httpPort?: number;
  extra?: Record<string, unknown>;
  /** `scrypt` (default): a shared `passwordHash`; `plain`: the password itself (checked as an HMAC, no scrypt). */
  credential?: 'scrypt' | 'plain';
}): HubConfig {
  const secret = options.credential === 'plain' ? { password: AGENT_PASSWORD } : { passwordHash: agentPasswordHash() };
  return buildConfig(HubConfig, {
    version: 1,
    dataDir: options.dataDir,
    logLevel: 'silent',
    http: { host: '127.0.0.1', port: options.httpPort ?? 0 },
    api: { token: API_TOKEN },
    mqtt: {
      host: '127.0.0.1',
      port: options.mqttPort ?? 0,
      allowAnonymous: options.allowAnonymous ?? false,
      insecureDevelopmentOnly: options.allowAnonymous ?? false,
    },
    agents: (options.agents ?? []).map((a) => ({ id: a.id, site: a.site, ...secret })),
    // Benchmark fleets are not registered one by one.
    adoption: { unknownDevices: 'register' },
    ...options.extra,
  }) as HubConfig;
}

/** Pin this process to `core` (when there are >= 2 cores); returns a function restoring the old mask. */
export function pinSelf(core: number): () => void {
  if (CORES < 2) return () => {};
  try {
    const original = execFileSync('taskset', ['-p', String(process.pid)]).toString();
    const mask = /:\s*([0-9a-f]+)\s*$/i.exec(original)?.[1];
    // -a: every thread (libuv pool, GC helpers), so the measured process really has one core.
    execFileSync('taskset', ['-a', '-cp', String(core), String(process.pid)]);
    return () => {
      if (mask !== undefined) execFileSync('taskset', ['-a', '-p', mask, String(process.pid)]);
    };
  } catch {
    return () => {};
  }
}

export const pinNote = (what: string) =>
  CORES >= 2 ? `${what} (taskset)` : 'one core only: hub and load generator share it (not pinned)';

/** A child process (`node --import tsx <script>`, or plain `node` for a bundled .mjs), pinned to `core`, with an IPC request/reply helper. */
export class Child {
  readonly proc: ChildProcess;
  private constructor(proc: ChildProcess) {
    this.proc = proc;
  }

  static start(
    script: string,
    options: { core?: number; env?: Record<string, string>; args?: string[]; nodeArgs?: string[] } = {},
  ): Child {
    // A bundled .mjs/.js runs on plain node (as in production); TypeScript through tsx.
    const loader = /\.m?js$/.test(script) ? [] : ['--import', 'tsx'];
    const node = [process.execPath, ...(options.nodeArgs ?? []), ...loader, script, ...(options.args ?? [])];
    const cmd = options.core !== undefined && CORES >= 2 ? ['taskset', '-c', String(options.core), ...node] : node;
    const proc = spawn(cmd[0]!, cmd.slice(1), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...options.env },
      serialization: 'advanced',
    });
    proc.on('error', () => {});
    return new Child(proc);
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Wait for a message `ev` (optionally after sending `msg`). */
  request<T = Record<string, unknown>>(msg: Record<string, unknown> | undefined, ev: string, timeoutMs: number) {
    return new Promise<T>((resolveReply, reject) => {
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        this.proc.off('message', onMessage);
        reject(new Error(`child ${this.pid} exited (${code}) before '${ev}'`));
      };
      const timer = setTimeout(() => {
        this.proc.off('message', onMessage);
        this.proc.off('exit', onExit);
        reject(new Error(`no '${ev}' from child ${this.pid} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (m: { ev?: string }) => {
        if (m?.ev !== ev) return;
        clearTimeout(timer);
        this.proc.off('message', onMessage);
        this.proc.off('exit', onExit);
        resolveReply(m as T);
      };
      this.proc.on('message', onMessage);
      this.proc.once('exit', onExit);
      if (msg !== undefined) this.proc.send(msg);
    });
  }

  send(msg: Record<string, unknown>): void {
    if (this.proc.connected) this.proc.send(msg);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = once(this.proc, 'exit');
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

const CLOCK_TICKS = 100;
/** CPU time (ms, user+system) and RSS (MB) of another process from /proc. */
export function procStats(pid: number): { cpuMs: number; rssMb: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuMs: (ticks * 1000) / CLOCK_TICKS, rssMb: rssKb / 1024 };
  } catch {
    return { cpuMs: Number.NaN, rssMb: Number.NaN };
  }
}

/** Samples another process every `everyMs`: CPU % over the window and RSS peak. */
export function watchProcess(pid: number, everyMs = 250) {
  const start = procStats(pid);
  const t0 = performance.now();
  let rssPeak = start.rssMb;
  const rss: number[] = [];
  const timer = setInterval(() => {
    const s = procStats(pid);
    if (Number.isFinite(s.rssMb)) {
      rssPeak = Math.max(rssPeak, s.rssMb);
      rss.push(s.rssMb);
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const end = procStats(pid);
      const wallMs = performance.now() - t0;
      return {
        cpuPct: ((end.cpuMs - start.cpuMs) / wallMs) * 100,
        cpuMs: end.cpuMs - start.cpuMs,
        rssPeak,
        rss,
        wallMs,
      };
    },
  };
}

/** Event-loop delay and CPU of THIS process over a window. */
export function watchSelf() {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rssPeak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, 200);
  return {
    stop() {
      clearInterval(timer);
      loop.disable();
      const cpu = process.cpuUsage(cpu0);
      const wallMs = performance.now() - t0;
      return {
        wallMs,
        cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
        loopP99Ms: loop.percentile(99) / 1e6,
        loopMaxMs: loop.max / 1e6,
        rssPeakMb: Math.max(rssPeak, process.memoryUsage.rss()) / 2 ** 20,
      };
    },
  };
}

/** Poll `fn` until true or the deadline; returns the elapsed ms or undefined on timeout. */
export async function waitUntil(fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await fn()) return performance.now() - t0;
    await sleep(everyMs);
  }
  return undefined;
}

export const LOAD_SCRIPT = join(BENCH_DIR, 'load', 'mqtt-load.ts');
