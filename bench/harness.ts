/**
 * Benchmark harness: machine description, event-loop and CPU sampling, percentiles, the report.
 * Each scenario (bench/bNN-*.ts) exports `scenario: Scenario`.
 */
import { cpus, totalmem } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export type Profile = 'tiny' | 'quick' | 'full';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The same figure for the baseline measured in the same run, when the scenario has one. */
  baseline?: number;
  baselineName?: string;
  /** Human-readable target, e.g. ">= 20000" or "<= 12 s". */
  target?: string;
  /** Whether the target is met (undefined when there is no target or the profile is too small to judge). */
  met?: boolean;
}

export interface ScenarioResult {
  id: string;
  title: string;
  profile: Profile;
  figures: Figure[];
  notes: string[];
}

export interface Scenario {
  id: string;
  title: string;
  run(profile: Profile): Promise<Omit<ScenarioResult, 'id' | 'title' | 'profile'>>;
}

export function machine(): Record<string, unknown> {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function summarise(samples: number[]): { p50: number; p95: number; p99: number; max: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    n: sorted.length,
  };
}

/** Measures this process while `fn` runs: CPU %, event-loop delay p99/max (ms), RSS peak (MB). */
export async function measureProcess<T>(fn: () => Promise<T>): Promise<{
  result: T;
  wallMs: number;
  cpuPct: number;
  loopP99Ms: number;
  loopMaxMs: number;
  rssPeakMb: number;
}> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let rssPeak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, 100);
  const cpuStart = process.cpuUsage();
  const t0 = performance.now();
  try {
    const result = await fn();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpuStart);
    return {
      result,
      wallMs,
      cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      loopP99Ms: histogram.percentile(99) / 1e6,
      loopMaxMs: histogram.max / 1e6,
      rssPeakMb: Math.max(rssPeak, process.memoryUsage.rss()) / 2 ** 20,
    };
  } finally {
    clearInterval(sampler);
    histogram.disable();
  }
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function markdownTable(results: readonly ScenarioResult[]): string {
  const lines = [
    '| scenario | figure | value | baseline (same run) | ratio | target | met |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    for (const f of r.figures) {
      const ratio = f.baseline !== undefined && f.baseline !== 0 ? round(f.value / f.baseline, 2) : undefined;
      lines.push(
        `| ${r.id} | ${f.name} | ${round(f.value)} ${f.unit} | ${
          f.baseline === undefined
            ? '-'
            : `${round(f.baseline)} ${f.unit}${f.baselineName ? ` (${f.baselineName})` : ''}`
        } | ${ratio ?? '-'} | ${f.target ?? '-'} | ${f.met === undefined ? '-' : f.met ? 'yes' : '**no**'} |`,
      );
    }
  }
  return lines.join('\n');
}
