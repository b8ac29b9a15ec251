/**
 * Issue 19 "never silently blind": agent clock offsets are measured and corrected or rejected in both
 * directions (counted), and a device whose records stop being USED becomes `unknown` with the cause named.
 * Real ingest + detector + outage module on a virtual clock (test/helpers/detection-slice.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type DetectionSlice, startDetectionSlice } from '../helpers/detection-slice.ts';
import { makeHealthRecord, makeHeartbeat } from '../helpers/health-record.ts';
import { sumMetric as readMetric } from '../helpers/hub-fixture.ts';

const POLL_MS = 10_000;
let slice: DetectionSlice;
let seq = 0;
afterEach(async () => {
  await slice?.stop();
});

/** One poll round: a heartbeat and a record, both stamped with the agent's clock (hub clock + skewMs). */
function round(options: { skewMs?: number; reachable?: boolean; heartbeat?: boolean; record?: boolean } = {}) {
  const agentNow = slice.clock.now() + (options.skewMs ?? 0);
  if (options.heartbeat !== false) slice.sendHeartbeat(makeHeartbeat({ at: agentNow, intervalMs: POLL_MS }));
  if (options.record !== false) {
    slice.sendHealth(makeHealthRecord({ serial: 'SN-1', at: agentNow, seq: ++seq, reachable: options.reachable }));
  }
  slice.clock.advance(POLL_MS);
}

const state = () => slice.outage.get('SN-1');

describe('issue 19: agent clock skew never leaves a dead device green', () => {
  for (const [name, skewMs] of [
    ['ahead', 600_000],
    ['behind', -600_000],
  ] as const) {
    it(`10 min ${name}: records rejected and counted, the device goes unknown, the site alert names the clock`, async () => {
      slice = await startDetectionSlice();
      round();
      round();
      expect(state()?.state).toBe('up');
      // The agent's clock steps, then the device is powered off.
      for (let i = 0; i < 6; i++) round({ skewMs, reachable: false });
      await slice.settle();
      expect(state()?.state).toBe('unknown');
      expect(state()?.reason).toBe('stale');
      expect(slice.rejected.filter((r) => r === 'CLOCK_SKEW').length).toBeGreaterThanOrEqual(5);
      const alert = slice.alerts.find((a) => a.reason === 'records-stale');
      expect(alert).toMatchObject({ status: 'raised', agentId: 'agent-1', serials: ['SN-1'] });
      expect(alert?.detail).toContain(`agent clock 600 s ${name}`);
      const stale = slice.transitions.find((t) => t.to === 'unknown');
      expect(stale?.evidence.join('\n')).toContain(`agent clock 600 s ${name}`);
      const metrics = await slice.metricsText();
      expect(
        readMetric(metrics, 'hezo_agent_clock_timestamps_total', { action: 'rejected', direction: name }),
      ).toBeGreaterThanOrEqual(5);
      expect(readMetric(metrics, 'hezo_agent_clock_offset_seconds', { agent: 'agent-1' })).toBe(skewMs / 1000);
      // The clock is fixed: records are used again, the device is judged on them, the alert clears.
      round({ reachable: false });
      round({ reachable: false });
      expect(state()?.state).toBe('down');
      expect(slice.alerts.at(-1)).toMatchObject({ status: 'cleared', reason: 'records-fresh' });
    });
  }

  it('an offset within the bound is corrected (counted), so a dead device goes down on time', async () => {
    slice = await startDetectionSlice();
    round();
    for (let i = 0; i < 2; i++) round({ skewMs: 240_000 });
    // Stepped back to the right time, then the device dies: detection is not frozen for 4 minutes.
    round({ reachable: false });
    round({ reachable: false });
    round({ reachable: false });
    expect(state()?.state).toBe('down');
    const metrics = await slice.metricsText();
    expect(
      readMetric(metrics, 'hezo_agent_clock_timestamps_total', { action: 'corrected', direction: 'ahead' }),
    ).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 2; i++) round({ skewMs: -240_000, reachable: false });
    const after = await slice.metricsText();
    expect(
      readMetric(after, 'hezo_agent_clock_timestamps_total', { action: 'corrected', direction: 'behind' }),
    ).toBeGreaterThanOrEqual(1);
    expect(slice.rejected).toEqual([]);
  });

  it('a stalled poller (heartbeats, no records) makes the device unknown, named; records clear it', async () => {
    slice = await startDetectionSlice();
    round();
    for (let i = 0; i < 4; i++) round({ record: false });
    expect(state()).toMatchObject({ state: 'unknown', reason: 'stale' });
    expect(slice.alerts.at(-1)?.detail).toMatch(/online but sends no usable record.*stalled/);
    round();
    expect(state()?.state).toBe('up');
    expect(slice.alerts.at(-1)).toMatchObject({ status: 'cleared' });
    expect(slice.alerts.filter((a) => a.status === 'raised')).toHaveLength(1);
  });

  it('after a hub restart, a stored `up` device whose agent never returns goes unknown', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'hezo-fresh-'));
    try {
      slice = await startDetectionSlice({ dbFile: join(dir, 'hub.sqlite') });
      round();
      expect(state()?.state).toBe('up');
      await slice.stop();
      slice = await startDetectionSlice({ dbFile: join(dir, 'hub.sqlite'), start: '2026-03-02T10:30:00.000Z' });
      expect(state()?.state).toBe('up');
      slice.clock.advance(3 * POLL_MS + 5000);
      expect(state()).toMatchObject({ state: 'unknown', reason: 'stale' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('issue 18 + 19: a peripheral whose host is down', () => {
  /** One round for a G7500 host and its E70 (the agent reports the E70 only while the host answers). */
  function hostRound(hostUp: boolean) {
    const at = slice.clock.now();
    slice.sendHeartbeat(makeHeartbeat({ at, intervalMs: POLL_MS }));
    slice.sendHealth(makeHealthRecord({ serial: 'G75-1', model: 'G7500', at, seq: ++seq, reachable: hostUp }));
    if (hostUp) {
      const e70 = makeHealthRecord({ serial: 'E70-1', model: 'StudioE70', at, seq: ++seq });
      slice.sendHealth({ ...e70, identity: { ...e70.identity, hostSerial: 'G75-1' } });
    }
    slice.clock.advance(POLL_MS);
  }

  it('goes unknown naming its host, with no records-stale site alert blaming the agent', async () => {
    slice = await startDetectionSlice();
    hostRound(true);
    hostRound(true);
    expect(slice.outage.get('E70-1')?.state).toBe('up');
    for (let i = 0; i < 8; i++) hostRound(false);
    await slice.settle();
    expect(slice.outage.get('G75-1')?.state).toBe('down');
    expect(slice.outage.get('E70-1')?.state).toBe('unknown');
    const stale = slice.transitions.find((t) => t.serial === 'E70-1' && t.to === 'unknown');
    expect(stale?.evidence.join('\n')).toContain('its host G75-1 is down');
    expect(slice.alerts.filter((a) => a.reason === 'records-stale')).toEqual([]);
    // The host is back: the E70 reports again and is judged on its records.
    hostRound(true);
    expect(slice.outage.get('E70-1')?.state).toBe('up');
  });

  it('whose host is up but whose records stop still raises records-stale (the agent is at fault)', async () => {
    slice = await startDetectionSlice();
    hostRound(true);
    for (let i = 0; i < 8; i++) {
      const at = slice.clock.now();
      slice.sendHeartbeat(makeHeartbeat({ at, intervalMs: POLL_MS }));
      slice.sendHealth(makeHealthRecord({ serial: 'G75-1', model: 'G7500', at, seq: ++seq }));
      slice.clock.advance(POLL_MS);
    }
    expect(slice.outage.get('E70-1')?.state).toBe('unknown');
    expect(slice.alerts.find((a) => a.reason === 'records-stale')).toMatchObject({ serials: ['E70-1'] });
  });
});
