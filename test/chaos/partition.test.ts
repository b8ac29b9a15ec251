/**
 * Chaos (f): the agent's WAN link to the hub is cut (a black-holing TCP proxy the test controls: no RST, as a
 * dead link). The partitioned agent's devices go `unknown` under ONE site alert, never tickets; healing brings
 * them back with no storm (no ticket, no second alert). Real agent and devices, real hub in-process.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HubConfig } from '../../hub/config.ts';
import { createHub, type Hub } from '../../hub/hub.ts';
import type { SiteAlert } from '../../hub/types.ts';
import { buildConfig } from '../../protocols/config-common.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { recordChaosResult, rounds } from './harness.ts';
import { type ChaosWorld, startChaosWorld } from './world.ts';

const ROUNDS = rounds(1, 3);
let world: ChaosWorld | undefined;
let hub: Hub | undefined;
afterEach(async () => {
  await world?.close();
  await hub?.stop();
  world = undefined;
  hub = undefined;
});

describe('chaos: agent partitioned from the hub', () => {
  it(`${ROUNDS} partition(s): unknown under one site alert, no ticket; healing gives no storm`, async () => {
    const w = await startChaosWorld({ devices: 4, seed: 41, viaProxy: true, keepaliveS: 2 });
    world = w;
    const config = buildConfig(HubConfig, { ...w.hubConfig, logLevel: 'silent' }) as HubConfig;
    hub = createHub(config, { logger: pino({ level: 'silent' }) });
    const alerts: SiteAlert[] = [];
    let opened = 0;
    hub.ctx.bus.on('site-alert', (a) => alerts.push(a));
    hub.ctx.bus.on('ticket', (e) => {
      if (e.change === 'opened') opened++;
    });
    await hub.start();
    const devices = hub.ctx.services.devices!;
    const states = () => w.devices.map((d) => devices.get(d.serial)?.state);
    await w.startAgent();
    await waitFor(() => states().every((s) => s === 'up'), { timeoutMs: 30_000, what: 'all up' });
    let worstMs = 0;
    let survived = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const raisedBefore = alerts.filter((a) => a.status === 'raised').length;
      const cutAt = Date.now();
      w.proxy!.partition();
      await waitFor(() => states().every((s) => s === 'unknown'), { timeoutMs: 30_000, what: 'all unknown' });
      worstMs = Math.max(worstMs, Date.now() - cutAt);
      // Stay cut a while longer: nothing more may happen.
      await delay(3000);
      expect(alerts.filter((a) => a.status === 'raised').length).toBe(raisedBefore + 1);
      w.proxy!.heal();
      await waitFor(() => states().every((s) => s === 'up'), { timeoutMs: 30_000, what: 'all up again' });
      await waitFor(() => alerts.at(-1)?.status === 'cleared', { timeoutMs: 30_000, what: 'alert cleared' });
      expect(alerts.filter((a) => a.status === 'raised').length).toBe(raisedBefore + 1);
      expect(opened).toBe(0);
      survived++;
    }
    recordChaosResult({
      kind: 'agent-hub partition (TCP black hole)',
      rounds: ROUNDS,
      survived,
      duplicates: alerts.filter((a) => a.status === 'raised').length - ROUNDS,
      worstDetectionMs: worstMs,
      note: `${alerts.filter((a) => a.status === 'raised').length} site alert(s) raised, ${opened} tickets`,
    });
  });
});
