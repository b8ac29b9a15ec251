/**
 * Issue 18 in the demo fixture: each Studio USB bar is reported only by the agent of its own site (the host it is
 * plugged into), every G7500's E70 is a registered device with its site's contract line, and each simulated
 * device's traps reach its own site's agent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Demo, siteOf, startDemo } from '../../cli/demo.ts';
import type { HealthRecord } from '../../protocols/health.ts';
import type { DeviceEvent } from '../../protocols/messages.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('demo fixture: USB bars, E70s and traps per site', () => {
  let demo: Demo;
  let dir: string;
  const seen = new Map<string, Set<string>>();
  const events: DeviceEvent[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hezo-demo-cov-'));
    demo = await startDemo({
      devices: 12,
      httpPort: 0,
      mqttPort: 0,
      simPort: 0,
      dataDir: dir,
      seed: 1,
      pollIntervalMs: 1000,
      apiToken: 'demo-coverage-token-0123456789',
      logger: pino({ level: 'silent' }),
    });
    for (const agent of demo.agents) {
      agent.on('record', (r: HealthRecord) => {
        const set = seen.get(r.identity.serial) ?? new Set<string>();
        set.add(r.agentId);
        seen.set(r.identity.serial, set);
      });
      agent.on('event', (e: DeviceEvent) => events.push(e));
    }
  });

  afterAll(async () => {
    await demo?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a USB bar is reported by its own site agent only', async () => {
    const devices = demo.fleet.devices();
    const bars = devices.map((d, i) => ({ d, site: siteOf(i) })).filter(({ d }) => d.usb !== undefined);
    expect(bars.length).toBeGreaterThan(0);
    await waitFor(() => bars.every(({ d }) => seen.has(d.serial)), { timeoutMs: 20_000, what: 'every bar reported' });
    // a few more rounds: no other agent ever reports it
    const rounds = demo.agents.map(() => 0);
    for (const [i, a] of demo.agents.entries()) {
      a.on('record', () => {
        rounds[i] = (rounds[i] ?? 0) + 1;
      });
    }
    await waitFor(() => rounds.every((n) => n >= 10), { timeoutMs: 20_000, what: 'more polls' });
    for (const { d, site } of bars) expect([...(seen.get(d.serial) ?? [])]).toEqual([site.agentId]);
  });

  it('every E70 is a registered device with its site contract line, reported by its host agent', async () => {
    const devices = demo.fleet.devices();
    const hosts = devices.map((d, i) => ({ d, site: siteOf(i) })).filter(({ d }) => d.model === 'G7500');
    expect(hosts.length).toBeGreaterThan(0);
    const registry = demo.hub.ctx.services.devices;
    for (const { d, site } of hosts) {
      if (d.usb !== undefined) continue;
      const cam = d.peripherals[0]?.serial as string;
      await waitFor(() => registry?.get(cam)?.state === 'up', { timeoutMs: 20_000, what: `E70 ${cam} up` });
      const view = registry?.get(cam);
      expect(view).toMatchObject({ model: 'StudioE70', site: site.site, customer: site.customer });
      expect(view?.contract).not.toBeNull();
      expect([...(seen.get(cam) ?? [])]).toEqual([site.agentId]);
    }
  });

  it("each device's traps reach its own site agent", async () => {
    const devices = demo.fleet.devices();
    const targets = devices.map((d, i) => ({ d, site: siteOf(i) })).filter(({ d }) => d.usb === undefined);
    for (const { d } of targets) demo.fleet.injectFault(d.serial, { kind: 'camera-disconnected' });
    await waitFor(() => targets.every(({ d }) => events.some((e) => e.type === 'snmp-trap' && e.serial === d.serial)), {
      timeoutMs: 20_000,
      what: 'a trap event per device',
    });
    for (const { d, site } of targets) {
      const agents = new Set(
        events.filter((e) => e.type === 'snmp-trap' && e.serial === d.serial).map((e) => e.agentId),
      );
      expect([...agents]).toEqual([site.agentId]);
    }
    for (const agent of demo.agents) expect(agent.stats.traps).toMatchObject({ unknownSource: 0, badCredentials: 0 });
  });
});
