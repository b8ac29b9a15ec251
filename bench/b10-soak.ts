/**
 * B10 soak: 10x load (10k devices at 1 msg/s each = 10k msg/s) for a long time into a complete hub.
 * Figures: RSS drift (mean of the last fifth vs the first fifth after warm-up), and exact counters: messages
 * the agents sent = PUBACKed = counted by `hezo_messages_in_total{kind=health}` = through the detector.
 * quick: 15 s, full: 1 h (HEZO_BENCH_SOAK_S overrides, e.g. 86400 for the 24 h run).
 */
import type { Figure, Profile, Scenario } from './harness.ts';
import { round } from './harness.ts';
import { pinNote } from './load/common.ts';
import { runSteady, setupSteady } from './load/steady.ts';

const PROFILES = {
  tiny: { agents: 2, devices: 10, rate: 200, durationMs: 2000 },
  quick: { agents: 100, devices: 100, rate: 10_000, durationMs: 15_000 },
  full: { agents: 100, devices: 100, rate: 10_000, durationMs: 3_600_000 },
} as const;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const override = Number(process.env.HEZO_BENCH_SOAK_S);
  const durationMs = Number.isFinite(override) && override > 0 ? override * 1000 : p.durationMs;
  const setup = await setupSteady(p.agents, p.devices, 'b10');
  try {
    await runSteady(setup, p.rate, Math.max(1500, (setup.devices / p.rate) * 1000 + 500), 1000, 20_000);
    const everyMs = Math.max(250, Math.round(durationMs / 200));
    const r = await runSteady(setup, p.rate, durationMs, everyMs, profile === 'full' ? 120_000 : 5000);
    const fifth = Math.max(1, Math.floor(r.rss.length / 5));
    const early = mean(r.rss.slice(0, fifth));
    const late = mean(r.rss.slice(-fifth));
    const driftPct = ((late - early) / early) * 100;
    // Exact: everything the broker acknowledged was counted once at the boundary and went through the detector.
    // `acked` is read in the generator process: comparable only once nothing is left in flight (no backlog).
    const mismatch =
      Math.abs(r.counted - r.processed) + r.rejected + (r.backlog === 0 ? Math.abs(r.acked - r.processed) : 0);
    const judged = profile !== 'tiny';
    const figures: Figure[] = [
      {
        name: 'RSS drift (last fifth vs first fifth)',
        value: round(driftPct),
        unit: '%',
        target: '<= 10',
        ...(judged ? { met: driftPct <= 10 } : {}),
      },
      {
        name: 'counter mismatch (acked vs in_total vs detector)',
        value: mismatch,
        unit: 'msg',
        target: '0',
        met: mismatch === 0,
      },
      {
        name: 'backlog at the end (sent - acked)',
        value: r.backlog,
        unit: 'msg',
        target: '0 (keeps up)',
        ...(judged ? { met: r.backlog === 0 } : {}),
      },
      { name: 'hub CPU', value: round(r.cpuPct), unit: '%' },
      { name: 'loop p99', value: round(r.loopP99Ms), unit: 'ms' },
    ];
    const notes = [
      `${pinNote('hub on core 0, agents on core 1')}; ${setup.devices} devices, ${p.rate} msg/s offered for ${
        durationMs / 1000
      } s`,
      `counters: sent ${r.sent}, acked ${r.acked}, hezo_messages_in_total(health) +${r.counted}, through detector ${
        r.processed
      }, rejected ${r.rejected}, PUBACK errors ${r.errors}`,
      `RSS first fifth ${round(early)} MB, last fifth ${round(late)} MB, peak ${round(r.rssPeakMb)} MB; loop max ${round(
        r.loopMaxMs,
      )} ms`,
    ];
    if (profile === 'quick') {
      notes.push(
        'quick soak is 15 s: the per-device memory ring (recentRecordsPerDevice = 50) is still filling, so the drift ' +
          'here mostly shows that warm-up; run --full for 1 h',
      );
    }
    return { figures, notes };
  } finally {
    await setup.close();
  }
}

export const scenario: Scenario = { id: 'B10', title: 'soak at 10x load', run };
