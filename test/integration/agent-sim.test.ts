/**
 * The agent polling the simulated fleet (REST over HTTPS, SNMP, SSH, fault injection) with pollOnce:
 * every fault kind shows up in the health record, and bad input gives a record that says exactly what
 * went wrong (garbage JSON / HTML, wrong credentials, a changed certificate) without crashing or logging secrets.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/agent.ts';
import { HealthRecord } from '../../protocols/health.ts';
import type { DeviceEvent } from '../../protocols/messages.ts';
import type { SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import { agentConfigForFleet, capturedLogger, silentLogger, tempDir } from '../helpers/agent-harness.ts';
import { networked, startSimFleet } from '../helpers/sim-clients.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  opts: {
    devices?: number;
    overrides?: Record<string, unknown>;
    deviceOverrides?: (d: SimNetworkDeviceInfo) => Record<string, unknown>;
    logger?: ReturnType<typeof capturedLogger>;
  } = {},
) {
  const sim = await startSimFleet({
    devices: opts.devices ?? 1,
    seed: 11,
    models: ['StudioX50'],
    tuning: { autoCalls: false },
  });
  cleanups.push(sim.close);
  const tmp = tempDir();
  cleanups.push(tmp.close);
  const config = agentConfigForFleet(
    sim.fleet.devices(),
    'mqtt://127.0.0.1:1',
    tmp.dir,
    opts.overrides ?? {},
    opts.deviceOverrides,
  );
  const agent = createAgent(config, { logger: opts.logger?.logger ?? silentLogger });
  cleanups.push(() => agent.stop());
  const events: DeviceEvent[] = [];
  agent.on('event', (e) => events.push(e));
  const device = networked(sim.fleet.devices())[0] as SimNetworkDeviceInfo;
  return { sim, agent, config, device, events, dataDir: tmp.dir };
}

async function one(agent: Agent): Promise<HealthRecord> {
  const [record] = await agent.pollOnce();
  return HealthRecord.parse(record);
}

describe('agent against the simulated fleet', () => {
  it('healthy devices: REST, SNMP and TCP ok, components ok, identity from the device', async () => {
    const { agent, sim } = await setup({ devices: 3 });
    const records = (await agent.pollOnce()).map((r) => HealthRecord.parse(r));
    expect(records).toHaveLength(3);
    for (const [i, d] of networked(sim.fleet.devices()).entries()) {
      const r = records[i] as HealthRecord;
      expect(r.identity).toMatchObject({ serial: d.serial, model: 'StudioX50' });
      expect(r.identity.firmware).toBe(d.firmware);
      expect(r.reachability.rest?.ok).toBe(true);
      expect(r.reachability.snmp?.ok).toBe(true);
      expect(r.reachability.tcp?.ok).toBe(true);
      expect(r.components.length).toBeGreaterThan(3);
      expect(r.components.filter((c) => c.status === 'failed')).toEqual([]);
      expect(r.uptimeS).toBeGreaterThan(0);
      expect(r.temperatureC).toBeLessThan(80);
      expect(r.call?.inCall).toBe(false);
    }
  });

  it('camera-disconnected and mic-missing mark those components failed (REST and SNMP)', async () => {
    const { agent, sim, device } = await setup();
    sim.fleet.injectFault(device.serial, { kind: 'camera-disconnected' });
    let r = await one(agent);
    const failed = (kind: string) =>
      r.components.filter((c) => c.kind === kind && c.status === 'failed').map((c) => c.source);
    expect(failed('camera')).toContain('rest');
    expect(failed('camera')).toContain('snmp');
    expect(failed('microphone')).toEqual([]);
    sim.fleet.clearFaults(device.serial);
    sim.fleet.injectFault(device.serial, { kind: 'mic-missing' });
    r = await one(agent);
    expect(failed('microphone')).toContain('rest');
    expect(failed('microphone')).toContain('snmp');
    expect(failed('camera')).toEqual([]);
  });

  it('high-temperature shows in temperatureC', async () => {
    const { agent, sim, device } = await setup();
    sim.fleet.injectFault(device.serial, { kind: 'high-temperature', value: 91 });
    const r = await one(agent);
    expect(r.temperatureC).toBe(91);
    expect(r.components.find((c) => c.name === 'hardware' && c.source === 'snmp')?.status).toBe('failed');
  });

  it('slow answers beyond the request timeout are REST timeouts after the quick retries', async () => {
    // 5 s interval, 400 ms timeout: two attempts fit in the interval's budget
    const { agent, sim, device, config } = await setup({ overrides: { pollIntervalMs: 5000, requestTimeoutMs: 400 } });
    sim.fleet.injectFault(device.serial, { kind: 'slow', value: 2000 });
    const r = await one(agent);
    expect(r.reachability.rest).toMatchObject({ ok: false, attempts: config.retries + 1, error: { kind: 'timeout' } });
  });

  it('garbage: cut JSON or an HTML page is a REST parse error, not a crash', async () => {
    // REST on every poll: each poll here must meet the garbage (the cadence: agent-rest-cadence.test.ts)
    const { agent, sim, device } = await setup({ overrides: { restIntervalMs: 0 } });
    await one(agent); // logged in first, so the garbage hits the data endpoints
    sim.fleet.injectFault(device.serial, { kind: 'garbage' });
    for (let i = 0; i < 3; i++) {
      const r = await one(agent);
      expect(r.reachability.rest?.ok).toBe(false);
      expect(['parse', 'http']).toContain(r.reachability.rest?.error?.kind);
      expect(r.reachability.snmp?.ok).toBe(true);
    }
  });

  it('power-off and network-loss: REST fails as down, SNMP times out; the record says which', async () => {
    const { agent, sim, device } = await setup();
    sim.fleet.injectFault(device.serial, { kind: 'network-loss', value: 1 });
    let r = await one(agent);
    expect(r.reachability.snmp).toMatchObject({ ok: false, error: { kind: 'timeout' } });
    expect(r.reachability.rest?.ok).toBe(false);
    expect(['timeout', 'refused']).toContain(r.reachability.rest?.error?.kind);
    sim.fleet.clearFaults(device.serial);
    sim.fleet.injectFault(device.serial, { kind: 'power-off' });
    r = await one(agent);
    expect(r.reachability.snmp).toMatchObject({ ok: false, error: { kind: 'timeout' } });
    expect(['timeout', 'refused']).toContain(r.reachability.rest?.error?.kind);
  });

  it('reboot: down, then back with a new certificate accepted (event) and the reboot detected', async () => {
    const { agent, sim, device, events } = await setup();
    const first = await one(agent);
    const fp1 = first.evidence.find((e) => e.field === 'tls.fingerprint256')?.value;
    const booted = once(sim.fleet, 'boot');
    sim.fleet.injectFault(device.serial, { kind: 'reboot', durationMs: 300 });
    const down = await one(agent);
    // the device answers nothing for a moment: SNMP (or REST) sees it down
    expect(down.reachability.snmp?.ok === false || down.reachability.rest?.ok === false).toBe(true);
    await booted;
    const back = await one(agent);
    expect(back.reachability, JSON.stringify(back.reachability)).toMatchObject({ rest: { ok: true } });
    const fp2 = back.evidence.find((e) => e.field === 'tls.fingerprint256')?.value;
    expect(fp2).not.toBe(fp1);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['certificate-changed', 'reboot-detected']));
    expect(events.find((e) => e.type === 'certificate-changed')?.detail).toMatch(/accepted/);
  });

  it('a certificate that changed without a reboot is a tls error and a certificate-changed event; no login is sent', async () => {
    const { agent, device, events, dataDir } = await setup();
    const other = Array.from({ length: 32 }, () => 'AB').join(':');
    writeFileSync(
      join(dataDir, 'known-certs.json'),
      JSON.stringify({ [device.serial]: { fingerprint256: other, firstSeen: 'x' } }),
    );
    const r = await one(agent);
    expect(r.reachability.rest).toMatchObject({ ok: false, attempts: 1, error: { kind: 'tls' } });
    expect(r.reachability.rest?.error?.message).toMatch(/certificate changed/);
    expect(r.reachability.snmp?.ok).toBe(true);
    expect(events).toEqual([expect.objectContaining({ type: 'certificate-changed', serial: device.serial })]);
    expect(events[0]?.detail).toMatch(/refused/);
  });

  it('wrong credentials: REST auth error (not retried), and the password never reaches the logs', async () => {
    const log = capturedLogger('debug');
    const wrong = 'Wr0ng-Passw0rd-42';
    const { agent } = await setup({
      logger: log,
      deviceOverrides: (d) => ({
        rest: { port: d.restPort, username: d.username, password: wrong, tls: { mode: 'tofu' } },
        snmp: { port: d.snmpPort, version: '2c', community: 'wrong-community' },
      }),
    });
    const r = await one(agent);
    expect(r.reachability.rest).toMatchObject({ ok: false, attempts: 1, error: { kind: 'auth', httpStatus: 400 } });
    expect(r.reachability.rest?.error?.message).toMatch(/SessionRequestInvalid|login refused/);
    expect(r.reachability.snmp).toMatchObject({ ok: false, error: { kind: 'timeout' } });
    expect(log.text()).toMatch(/channel failed/);
    expect(log.text()).not.toContain(wrong);
    expect(JSON.stringify(r)).not.toContain(wrong);
  });
});
