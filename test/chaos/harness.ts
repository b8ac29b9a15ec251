/**
 * Chaos suite helpers: seeded randomness, round counts (short in `npm test`, long with HEZO_CHAOS_LONG=1 from
 * `npm run chaos`), the hub as a child process through the real CLI (so it can be `kill -9`ed), and the result
 * rows `bin/chaos.js` prints as one table (written only when HEZO_CHAOS_RESULTS names a file).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const IS_LONG = process.env.HEZO_CHAOS_LONG === '1';
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export function rounds(short: number, long: number): number {
  return IS_LONG ? long : short;
}

/** mulberry32: a small seeded PRNG, so a failing round can be replayed with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChaosRow {
  kind: string;
  rounds: number;
  survived: number;
  produced?: number;
  delivered?: number;
  droppedByPolicy?: number;
  lost?: number;
  duplicates?: number;
  integrityFailures?: number;
  peakRssMb?: number;
  worstDetectionMs?: number;
  note?: string;
}

export function recordChaosResult(row: ChaosRow): void {
  const file = process.env.HEZO_CHAOS_RESULTS;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

export interface HubChild {
  child: ChildProcess;
  pid: number;
  /** Peak resident set size of the hub process so far (VmHWM), MB. */
  peakRssMb(): number;
  kill9(): Promise<void>;
  /** SIGTERM: the graceful stop. */
  stop(): Promise<void>;
}

/** Start `hezo hub --config FILE` (with `env` added to this process's) and resolve once it logs "hub serving". */
export async function spawnHub(
  configFile: string,
  logFile: string,
  env: Record<string, string> = {},
): Promise<HubChild> {
  const child = spawn(process.execPath, [join(REPO, 'bin/hezo.js'), 'hub', '--config', configFile], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      appendFileSync(logFile, text);
      buffer = (buffer + text).slice(-4096);
      if (buffer.includes('"msg":"hub serving"')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk));
    child.once('exit', (code) => reject(new Error(`hub exited with ${code} before serving (log: ${logFile})`)));
  });
  const pid = child.pid ?? 0;
  let peak = 0;
  const peakRssMb = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, kb / 1024);
    } catch {
      // gone
    }
    return Math.round(peak);
  };
  return {
    child,
    pid,
    peakRssMb,
    async kill9() {
      peakRssMb();
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      peakRssMb();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2));
}
