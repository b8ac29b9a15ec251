/**
 * Issue 18, traps: the agent's SNMP notification receiver. The simulated fleet sends its traps to the agent
 * (camera unplugged -> `snmp-trap` event and an immediate re-poll, long before the 60 s poll); Debian's
 * `snmptrap` sends v2c and v3 (authPriv) traps with the devices' own credentials (accepted) and with wrong ones,
 * from an unknown address and as garbage (counted and dropped).
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../agent/agent.ts';
import type { HealthRecord } from '../../protocols/health.ts';
import type { DeviceEvent } from '../../protocols/messages.ts';
import type { SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import { agentConfigForFleet, silentLogger, startBroker, tempDir, waitFor } from '../helpers/agent-harness.ts';
import { runCmd } from '../helpers/run-cmd.ts';
import { networked, startSimFleet } from '../helpers/sim-clients.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const CAMERA_DOWN = '1.3.6.1.4.1.13885.101.0.76';
const LINK_DOWN = '1.3.6.1.6.3.1.1.5.3';
const SERIAL_OID = '1.3.6.1.4.1.13885.101.1.1.5.0';

async function setup(v3Serial?: (devices: SimNetworkDeviceInfo[]) => string) {
  const sim = await startSimFleet({ devices: 2, seed: 5, models: ['StudioX50'], tuning: { autoCalls: false } });
  cleanups.push(sim.close);
  const broker = await startBroker();
  cleanups.push(() => broker.close());
  const tmp = tempDir();
  cleanups.push(tmp.close);
  const devices = networked(sim.fleet.devices());
  const v3 = v3Serial?.(devices);
  const config = agentConfigForFleet(
    sim.fleet.devices(),
    broker.url,
    tmp.dir,
    // 60 s polls: within the test only a trap can cause a second poll
    { pollIntervalMs: 60_000, traps: { enabled: true, address: '127.0.0.1', port: 0 } },
    (d) =>
      d.serial === v3
        ? {
            snmp: {
              port: d.snmpPort,
              version: '3',
              v3: { user: d.snmpV3.user, authKey: d.snmpV3.authKey, privKey: d.snmpV3.privKey },
            },
          }
        : {},
  );
  const agent = createAgent(config, { logger: silentLogger });
  cleanups.push(() => agent.stop());
  const events: DeviceEvent[] = [];
  const records: HealthRecord[] = [];
  agent.on('event', (e) => events.push(e));
  agent.on('record', (r) => records.push(r));
  await agent.start();
  const port = agent.stats.traps?.port ?? 0;
  expect(port).toBeGreaterThan(0);
  await waitFor(() => devices.every((d) => records.some((r) => r.identity.serial === d.serial)), 15_000, 'first polls');
  return { sim, agent, devices, events, records, port };
}

function snmptrap(args: string[]) {
  return runCmd('snmptrap', args, { env: { MIBS: '', SNMP_PERSISTENT_DIR: '/nonexistent-hezo' } });
}

describe('agent SNMP trap receiver', () => {
  it('a camera unplugged on a simulated X50 reaches the agent as a trap and is re-polled at once (60 s polls)', async () => {
    const { sim, agent, devices, events, records, port } = await setup();
    sim.fleet.setTrapTarget(undefined, { host: '127.0.0.1', port });
    const [dev, other] = devices as [SimNetworkDeviceInfo, SimNetworkDeviceInfo];
    const before = records.filter((r) => r.identity.serial === dev.serial).length;
    sim.fleet.injectFault(dev.serial, { kind: 'camera-disconnected' });
    const trap = await waitFor(
      () => events.find((e) => e.type === 'snmp-trap' && e.trapOid === CAMERA_DOWN),
      10_000,
      'camera trap event',
    );
    expect(trap.serial).toBe(dev.serial);
    expect(trap.detail).toContain('primaryCameraDown');
    const repolled = await waitFor(
      () =>
        records
          .filter((r) => r.identity.serial === dev.serial)
          .slice(before)
          .find((r) => r.components.some((c) => c.kind === 'camera' && c.status === 'failed')),
      10_000,
      'a re-poll showing the camera failed',
    );
    expect(repolled.identity.serial).toBe(dev.serial);
    // the other device was not re-polled, and nothing was dropped
    expect(records.filter((r) => r.identity.serial === other.serial)).toHaveLength(1);
    expect(agent.stats.traps).toMatchObject({ accepted: 1, unknownSource: 0, badCredentials: 0, malformed: 0 });
  });

  it('Debian snmptrap: v2c and v3 traps with the devices credentials are accepted; wrong ones, strangers and garbage are counted and dropped', async () => {
    let v3dev = '';
    const { agent, devices, events, port } = await setup((list) => {
      v3dev = (list[1] as SimNetworkDeviceInfo).serial;
      return v3dev;
    });
    const v2 = devices.find((d) => d.serial !== v3dev) as SimNetworkDeviceInfo;
    const v3 = devices.find((d) => d.serial === v3dev) as SimNetworkDeviceInfo;
    const to = `udp:127.0.0.1:${port}`;
    const counters = () => agent.stats.traps!;

    // v2c linkDown with the device's community
    let r = await snmptrap(['-v', '2c', '-c', v2.snmpCommunity, to, '', LINK_DOWN]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => events.find((e) => e.trapOid === LINK_DOWN && e.serial === v2.serial), 10_000, 'v2c linkDown');

    // v3 authPriv (SHA/AES) with the device's user, the sender's own engine id
    r = await snmptrap([
      '-v',
      '3',
      '-e',
      '0x8000000001020304',
      '-u',
      v3.snmpV3.user,
      '-l',
      'authPriv',
      '-a',
      'SHA',
      '-A',
      v3.snmpV3.authKey,
      '-x',
      'AES',
      '-X',
      v3.snmpV3.privKey,
      to,
      '',
      CAMERA_DOWN,
      SERIAL_OID,
      's',
      v3.serial,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const viaV3 = await waitFor(
      () => events.find((e) => e.trapOid === CAMERA_DOWN && e.serial === v3.serial),
      10_000,
      'v3 trap',
    );
    expect(viaV3.detail).toContain(v3.serial);
    expect(counters().accepted).toBe(2);

    // wrong community; v3 with a wrong auth key; a stranger's address; garbage
    await snmptrap(['-v', '2c', '-c', 'not-the-community', to, '', LINK_DOWN]);
    await waitFor(() => counters().badCredentials === 1, 10_000, 'bad community counted');
    await snmptrap([
      '-v',
      '3',
      '-e',
      '0x8000000001020305',
      '-u',
      v3.snmpV3.user,
      '-l',
      'authPriv',
      '-a',
      'SHA',
      '-A',
      'wrong-auth-key',
      '-x',
      'AES',
      '-X',
      v3.snmpV3.privKey,
      to,
      '',
      LINK_DOWN,
    ]);
    await waitFor(() => counters().badCredentials === 2, 10_000, 'bad v3 keys counted');
    await snmptrap(['-v', '2c', '-c', v2.snmpCommunity, '--clientaddr=127.0.0.2', to, '', LINK_DOWN]);
    await waitFor(() => counters().unknownSource === 1, 10_000, 'unknown source counted');
    const junk = createSocket('udp4');
    await new Promise<void>((resolve) => junk.send(Buffer.from('not snmp at all'), port, '127.0.0.1', () => resolve()));
    junk.close();
    await waitFor(() => counters().malformed === 1, 10_000, 'garbage counted');

    expect(counters()).toMatchObject({ received: 6, accepted: 2, badCredentials: 2, unknownSource: 1, malformed: 1 });
    expect(events.filter((e) => e.type === 'snmp-trap')).toHaveLength(2);
  });
});
