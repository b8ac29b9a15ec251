/**
 * Chaos (d): agent clocks stepped +-10 min while devices die. No device may stay green while dead: its records
 * are rejected (counted, both directions), it goes `unknown` within the freshness deadline with one site alert
 * naming the clock, and once the clock is right again the dead device is `down` and the alert clears.
 * Real agent (its wall clock stepped, its timers monotonic), real simulated devices, real hub in-process.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.ts';
import { HubConfig } from '../../hub/config.ts';
import { createHub, type Hub } from '../../hub/hub.ts';
import type { SiteAlert } from '../../hub/types.ts';
import { type Clock, systemClock } from '../../protocols/clock.ts';
import { buildConfig } from '../../protocols/config-common.ts';
import { sumMetric } from '../helpers/hub-fixture.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { recordChaosResult, rounds } from './harness.ts';
import { type ChaosWorld, startChaosWorld } from './world.ts';

const ROUNDS = rounds(1, 3);
let world: ChaosWorld | undefined;
let hub: Hub | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  await hub?.stop();
  await world?.close();
  agent = undefined;
  hub = undefined;
  world = undefined;
});

describe('chaos: agent clock steps', () => {
  it(`${ROUNDS} round(s) of +-10 min steps: a dead device never stays green`, async () => {
    const w = await startChaosWorld({
      devices: 3,
      seed: 31,
      detection: { freshnessPolls: 3, freshnessCheckMs: 500 },
    });
    world = w;
    const config = buildConfig(HubConfig, { ...w.hubConfig, logLevel: 'silent' }) as HubConfig;
    hub = createHub(config, { logger: pino({ level: 'silent' }) });
    const alerts: SiteAlert[] = [];
    hub.ctx.bus.on('site-alert', (a) => alerts.push(a));
    await hub.start();
    const devices = hub.ctx.services.devices!;
    let skewMs = 0;
    const clock: Clock = {
      now: () => Date.now() + skewMs,
      setTimer: systemClock.setTimer,
      monotonicNow: () => performance.now(),
    };
    agent = await w.startAgent(clock);
    const stateOf = (serial: string) => devices.get(serial)?.state;
    await waitFor(() => w.devices.every((d) => stateOf(d.serial) === 'up'), { timeoutMs: 30_000, what: 'all up' });
    let worstMs = 0;
    let survived = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, step] of [600_000, -600_000].entries()) {
        const dead = w.devices[i]!.serial;
        const raisedBefore = alerts.filter((a) => a.status === 'raised' && a.reason === 'records-stale').length;
        skewMs = step;
        const killedAt = Date.now();
        w.fault(dead, 'power-off');
        await waitFor(() => stateOf(dead) !== 'up', { timeoutMs: 30_000, what: `${dead} not green (step ${step})` });
        worstMs = Math.max(worstMs, Date.now() - killedAt);
        await waitFor(() => stateOf(dead) === 'unknown' && devices.get(dead)?.reason === 'stale', {
          timeoutMs: 30_000,
          what: `${dead} unknown (stale)`,
        });
        const raised = alerts.filter((a) => a.status === 'raised' && a.reason === 'records-stale');
        expect(raised.length).toBe(raisedBefore + 1);
        expect(raised.at(-1)?.detail).toContain(`agent clock 600 s ${step > 0 ? 'ahead' : 'behind'}`);
        // The clock is right again: the dead device is judged on its records, the alert clears.
        skewMs = 0;
        await waitFor(() => stateOf(dead) === 'down', { timeoutMs: 30_000, what: `${dead} down` });
        await waitFor(() => alerts.at(-1)?.status === 'cleared', { timeoutMs: 30_000, what: 'alert cleared' });
        w.clearFaults(dead);
        // Back: up, or degraded `flapping` (a power cycle is a down/up cycle plus a reboot).
        await waitFor(() => stateOf(dead) === 'up' || stateOf(dead) === 'degraded', {
          timeoutMs: 30_000,
          what: `${dead} back up`,
        }).catch((err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(devices.get(dead))}`);
        });
      }
      survived++;
    }
    const metrics = await hub.ctx.metrics.metrics();
    const ahead = sumMetric(metrics, 'hezo_agent_clock_timestamps_total', { action: 'rejected', direction: 'ahead' });
    const behind = sumMetric(metrics, 'hezo_agent_clock_timestamps_total', { action: 'rejected', direction: 'behind' });
    recordChaosResult({
      kind: 'agent clock +-10 min',
      rounds: ROUNDS,
      survived,
      worstDetectionMs: worstMs,
      note: `rejected ${ahead} ahead / ${behind} behind; dead device never green`,
    });
    expect(ahead).toBeGreaterThan(0);
    expect(behind).toBeGreaterThan(0);
  });
});
