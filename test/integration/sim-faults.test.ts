/**
 * Every fault kind seen consistently on REST, SNMP and SSH, and its clearing. Device time is a ManualClock
 * (durations, uptime); protocol delays (slow) are real time.
 */
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocols/clock.ts';
import type { Fleet, SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import { peerFingerprint } from '../helpers/https-json.ts';
import {
  networked,
  restCall,
  restGetJson,
  restLogin,
  settle,
  snmpGet,
  sshExec,
  startSimFleet,
} from '../helpers/sim-clients.ts';
import { waitFor } from '../helpers/wait-for.ts';

const P = '1.3.6.1.4.1.13885.101.1';
const OID = {
  serial: `${P}.1.5.0`,
  identityStatus: `${P}.1.6.0`,
  overall: `${P}.3.1.0`,
  mic: `${P}.3.5.1.0`,
  micRow: `${P}.3.5.2.1.3.1`,
  camera: `${P}.3.6.1.0`,
  cameraRow: `${P}.3.6.2.1.3.1`,
  conferences: `${P}.5.1.0`,
  sysUpTime: '1.3.6.1.2.1.1.3.0',
  temp: '1.3.6.1.4.1.2021.13.16.2.1.3.1',
};

type StatusItem = { name: string; stateList: string[] };
const stateOf = (items: unknown, name: string): string | undefined =>
  (items as StatusItem[]).find((i) => i.name === name)?.stateList[0];

describe('simulator faults across REST, SNMP and SSH', () => {
  const clock = new ManualClock('2026-03-02T09:00:00Z');
  let fleet: Fleet;
  let close: () => Promise<void>;
  let devs: SimNetworkDeviceInfo[];
  let d: SimNetworkDeviceInfo;

  beforeAll(async () => {
    ({ fleet, close } = await startSimFleet({
      devices: 4,
      seed: 5,
      clock,
      models: ['StudioX50', 'G7500', 'StudioX30', 'StudioX70'],
      tuning: { autoCalls: false, rebootDurationMs: 120_000 },
    }));
    devs = networked(fleet.devices());
    d = devs[0]!;
  });
  afterAll(async () => close?.());
  afterEach(async () => {
    for (const dev of devs) fleet.clearFaults(dev.serial);
    await waitFor(() => devs.every((dev) => fleet.device(dev.serial)?.isUp()), { what: 'all devices up' });
  });

  async function allAnswer(dev: SimNetworkDeviceInfo): Promise<boolean[]> {
    const [rest, snmp, ssh] = await Promise.all([
      settle(restGetJson(dev, '/rest/system')),
      settle(snmpGet(dev, [OID.serial], 400)),
      settle(sshExec(dev, 'whoami', { timeoutMs: 1500 })),
    ]);
    return [rest.ok, snmp.ok, ssh.ok];
  }

  it('power-off: nothing answers; clearing boots with uptime reset and a new certificate', async () => {
    const before = await peerFingerprint(d.restUrl);
    const uptimeBefore = ((await restGetJson(d, '/rest/system')) as { uptime: number }).uptime;
    expect(uptimeBefore).toBeGreaterThan(3000);
    fleet.injectFault(d.serial, { kind: 'power-off' });
    expect(await allAnswer(d)).toEqual([false, false, false]);
    expect(
      fleet
        .devices()
        .find((x) => x.serial === d.serial)
        ?.faults.map((f) => f.kind),
    ).toEqual(['power-off']);
    const booted = once(fleet, 'boot');
    fleet.clearFaults(d.serial);
    await booted;
    expect(await allAnswer(d)).toEqual([true, true, true]);
    expect(((await restGetJson(d, '/rest/system')) as { uptime: number }).uptime).toBeLessThan(5);
    expect(await peerFingerprint(d.restUrl)).not.toBe(before);
  });

  it('network-loss: value 1 drops everything, value 0.5 drops about half of SNMP requests, clearing restores', async () => {
    fleet.injectFault(d.serial, { kind: 'network-loss', value: 1 });
    expect(await allAnswer(d)).toEqual([false, false, false]);
    fleet.injectFault(d.serial, { kind: 'network-loss', value: 0.5 });
    const results = await Promise.all(Array.from({ length: 40 }, () => settle(snmpGet(d, [OID.serial], 300))));
    const answered = results.filter((r) => r.ok).length;
    expect(answered).toBeGreaterThan(8);
    expect(answered).toBeLessThan(32);
    fleet.clearFaults(d.serial);
    expect(await allAnswer(d)).toEqual([true, true, true]);
  });

  it('camera-disconnected: REST status/cameras/peripherals, MIB camera status and table, CLI status, logs', async () => {
    const g = devs[1]!; // G7500 with a Studio E70
    expect(g.peripherals[0]?.model).toBe('Studio E70');
    fleet.injectFault(g.serial, { kind: 'camera-disconnected' });
    const status = await restGetJson(g, '/rest/system/status');
    expect(stateOf(status, 'system.status.trackablecamera')).toBe('down');
    expect(stateOf(status, 'system.status.mr.camera')).toBe('all_down');
    const cams = (await restGetJson(g, '/rest/cameras/near/all')) as { connected: boolean; model: string }[];
    expect(cams[0]).toMatchObject({ connected: false, model: 'Studio E70' });
    const { session } = await restLogin(g);
    const periph = (await restCall(g, session, '/rest/current/devicemanagement/devices', { method: 'POST' })).json as {
      deviceCategory: string;
      deviceState: string;
    }[];
    expect(periph.find((p) => p.deviceCategory === 'CAMERA')?.deviceState).toBe('DISCONNECTED');
    const logs = await restCall(g, session, '/rest/system/logs');
    expect(logs.body.subarray(0, 2).toString('hex')).toBe('1f8b');
    const { gunzipSync } = await import('node:zlib');
    expect(gunzipSync(logs.body).toString('latin1')).toContain('camera "Poly Studio E70" disconnected');
    const snmp = await snmpGet(g, [OID.camera, OID.cameraRow, OID.identityStatus, OID.overall]);
    expect([...snmp.values()]).toEqual([3, 3, 3, 3]);
    const cli = await sshExec(g, 'status');
    expect(cli).toMatch(/^camera offline\r$/m);
    expect(cli).toMatch(/^trackablecamera offline\r$/m);
    fleet.clearFaults(g.serial);
    expect(stateOf(await restGetJson(g, '/rest/system/status'), 'system.status.trackablecamera')).toBe('up');
    expect([...(await snmpGet(g, [OID.camera, OID.cameraRow])).values()]).toEqual([2, 2]);
    expect(await sshExec(g, 'status')).toMatch(/^camera online\r$/m);
  });

  it('mic-missing: REST audio + microphones + status, MIB mic status, CLI microphones offline', async () => {
    fleet.injectFault(d.serial, { kind: 'mic-missing' });
    expect(await restGetJson(d, '/rest/audio')).toMatchObject({ numOfMicsConnected: 0 });
    expect(await restGetJson(d, '/rest/audio/microphones')).toEqual([]);
    expect(stateOf(await restGetJson(d, '/rest/system/status'), 'system.status.mr.audio')).toBe('all_down');
    expect([...(await snmpGet(d, [OID.mic, OID.micRow])).values()]).toEqual([3, 3]);
    expect(await sshExec(d, 'status')).toMatch(/^microphones offline\r$/m);
    fleet.clearFaults(d.serial);
    expect(await restGetJson(d, '/rest/audio')).toMatchObject({ numOfMicsConnected: 1 });
    expect([...(await snmpGet(d, [OID.mic])).values()]).toEqual([2]);
    expect(await sshExec(d, 'status')).toMatch(/^microphones online\r$/m);
  });

  it('reboot via REST: down for rebootDurationMs on the device clock, then up with uptime reset and a new cert', async () => {
    const dev = devs[2]!;
    const before = await peerFingerprint(dev.restUrl);
    const { session } = await restLogin(dev);
    const down = once(fleet, 'down');
    expect(
      (await restCall(dev, session, '/rest/system/reboot', { method: 'POST', json: { action: 'reboot' } })).status,
    ).toBe(200);
    await down;
    expect(await allAnswer(dev)).toEqual([false, false, false]);
    clock.advance(119_000);
    expect(fleet.device(dev.serial)?.isUp()).toBe(false);
    const booted = once(fleet, 'boot');
    clock.advance(1_000);
    await booted;
    expect(await allAnswer(dev)).toEqual([true, true, true]);
    expect(((await snmpGet(dev, [OID.sysUpTime])).get(OID.sysUpTime) as number) < 100).toBe(true);
    expect(await peerFingerprint(dev.restUrl)).not.toBe(before);
    const { session: s2 } = await restLogin(dev);
    const { gunzipSync } = await import('node:zlib');
    const logs = gunzipSync((await restCall(dev, s2, '/rest/system/logs')).body).toString('latin1');
    expect(logs).toContain('reboot requested');
    expect(logs).toContain('restart complete');
  });

  it('reboot fault with durationMs clears by itself', async () => {
    const dev = devs[3]!;
    fleet.injectFault(dev.serial, { kind: 'reboot', durationMs: 30_000 });
    expect(await allAnswer(dev)).toEqual([false, false, false]);
    const booted = once(fleet, 'boot');
    clock.advance(30_000);
    await booted;
    expect(fleet.devices().find((x) => x.serial === dev.serial)?.faults).toEqual([]);
    expect(await allAnswer(dev)).toEqual([true, true, true]);
  });

  it('slow: every protocol answers at least value ms late; clearing makes it fast again', async () => {
    fleet.injectFault(d.serial, { kind: 'slow', value: 300 });
    const timed = async (p: () => Promise<unknown>): Promise<number> => {
      const t0 = Date.now();
      await p();
      return Date.now() - t0;
    };
    expect(await timed(() => restGetJson(d, '/rest/system'))).toBeGreaterThanOrEqual(300);
    expect(await timed(() => snmpGet(d, [OID.serial], 2000))).toBeGreaterThanOrEqual(290);
    expect(await timed(() => sshExec(d, 'whoami'))).toBeGreaterThanOrEqual(290);
    fleet.clearFaults(d.serial);
    expect(await timed(() => snmpGet(d, [OID.serial], 2000))).toBeLessThan(250);
  });

  it('garbage: REST answers malformed bodies or HTML; SNMP and SSH still answer; clearing restores REST', async () => {
    fleet.injectFault(d.serial, { kind: 'garbage' });
    for (let i = 0; i < 6; i++) {
      const { reply, session } = await restLogin(d);
      expect(session).toBeUndefined();
      expect(reply.json === undefined || (reply.json as { success?: boolean }).success === undefined).toBe(true);
    }
    expect((await snmpGet(d, [OID.serial])).get(OID.serial)).toBe(d.serial);
    expect(await sshExec(d, 'whoami')).toContain(d.serial);
    fleet.clearFaults(d.serial);
    expect(await restGetJson(d, '/rest/system')).toMatchObject({ serialNumber: d.serial });
  });

  it('high-temperature: REST temperature, MIB lmTempSensorsValue + overall status, CLI temperature get', async () => {
    fleet.injectFault(d.serial, { kind: 'high-temperature', value: 91 });
    expect(await restGetJson(d, '/rest/system/temperature')).toMatchObject({ temperatureC: 91, state: 'HIGH' });
    const snmp = await snmpGet(d, [OID.temp, OID.overall]);
    expect([...snmp.values()]).toEqual([91_000, 3]);
    expect(await sshExec(d, 'temperature get')).toContain('temperature 91.0 C high');
    fleet.clearFaults(d.serial);
    const t = (await restGetJson(d, '/rest/system/temperature')) as { temperatureC: number; state: string };
    expect(t.state).toBe('NORMAL');
    expect(t.temperatureC).toBeLessThan(60);
    expect((await snmpGet(d, [OID.overall])).get(OID.overall)).toBe(2);
    expect(await sshExec(d, 'temperature get')).toContain('normal');
  });

  it('a fault with durationMs clears itself on the device clock', async () => {
    const ended = once(fleet, 'fault');
    fleet.injectFault(d.serial, { kind: 'camera-disconnected', durationMs: 5_000 });
    await ended; // the start event
    expect((await snmpGet(d, [OID.camera])).get(OID.camera)).toBe(3);
    clock.advance(4_999);
    expect((await snmpGet(d, [OID.camera])).get(OID.camera)).toBe(3);
    clock.advance(1);
    expect((await snmpGet(d, [OID.camera])).get(OID.camera)).toBe(2);
    expect(await sshExec(d, 'status')).toMatch(/^camera online\r$/m);
  });

  it('uptime grows with the clock on REST and SNMP', async () => {
    const r1 = ((await restGetJson(d, '/rest/system')) as { uptime: number }).uptime;
    const s1 = (await snmpGet(d, [OID.sysUpTime])).get(OID.sysUpTime) as number;
    clock.advance(3_600_000);
    const r2 = ((await restGetJson(d, '/rest/system')) as { uptime: number }).uptime;
    const s2 = (await snmpGet(d, [OID.sysUpTime])).get(OID.sysUpTime) as number;
    expect(Math.round(r2 - r1)).toBe(3600);
    expect(s2 - s1).toBe(360_000);
  });

  it('a call shows on all protocols; network-loss in a call raises packet loss above the threshold', async () => {
    const dev = fleet.device(d.serial)!;
    fleet.startCall(d.serial, { farSiteName: 'Lab-Huddle-2', lossPct: 0.2 });
    const confs = (await restGetJson(d, '/rest/conferences')) as { id: number }[];
    expect(confs).toHaveLength(1);
    const stats = (await restGetJson(d, `/rest/conferences/${confs[0]!.id}/mediastats`)) as {
      mediaDirection: string;
    }[];
    expect(stats.map((s) => s.mediaDirection).sort()).toEqual(['RX', 'RX', 'TX', 'TX']);
    expect((await snmpGet(d, [OID.conferences])).get(OID.conferences)).toBe(1);
    expect(await sshExec(d, 'callinfo all')).toContain(':Lab-Huddle-2:');
    const loss = once(dev, 'packet-loss');
    fleet.injectFault(d.serial, { kind: 'network-loss', value: 0.1 });
    expect((await loss)[0]).toBe('excessive');
    fleet.clearFaults(d.serial);
    clock.advance(dev.tuning.qualityTickMs);
    expect(dev.call?.quality.lossPct).toBeLessThan(1);
    const pct = `${P}.4.1.1.16.1`;
    expect((await snmpGet(d, [pct])).get(pct)).toBe(0);
    fleet.endCall(d.serial);
    expect(await restGetJson(d, '/rest/conferences')).toEqual([]);
    expect(await sshExec(d, 'callinfo all')).toContain('system is not in a call');
  });
});
