/** Scale: 12 devices start well under 5 s; 500 devices fit under 400 MB RSS (measured in a child process). */
import { describe, expect, it } from 'vitest';
import { runCmd } from '../helpers/run-cmd.ts';

async function probe(devices: number): Promise<{ startMs: number; rssMB: number }> {
  const r = await runCmd(process.execPath, ['--import', 'tsx', 'test/helpers/sim-scale-probe.ts', String(devices)], {
    timeoutMs: 60_000,
  });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { startMs: number; rssMB: number };
}

describe('simulator scale', () => {
  it('starts 12 devices in well under 5 s', async () => {
    expect((await probe(12)).startMs).toBeLessThan(2500);
  });

  it('runs 500 devices under 400 MB RSS', async () => {
    const { rssMB, startMs } = await probe(500);
    expect(rssMB).toBeLessThan(400);
    expect(startMs).toBeLessThan(20_000);
  });
});
