/**
 * Interop with clients nobody here wrote: curl, Debian snmpget/snmpwalk (v2c and v3 authPriv SHA/AES),
 * OpenSSH ssh via sshpass, and Debian snmptrapd receiving a trap.
 */
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet, SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import { runCmd } from '../helpers/run-cmd.ts';
import { networked, startSimFleet } from '../helpers/sim-clients.ts';
import { startSnmptrapd, type TrapDaemon } from '../helpers/snmptrapd.ts';

const SNMP_ENV = { MIBS: '' };
const SSH_OPTS = [
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'PreferredAuthentications=password',
  '-o',
  'PubkeyAuthentication=no',
  '-o',
  'LogLevel=ERROR',
];

describe('simulator interop with standard clients', () => {
  let fleet: Fleet;
  let close: () => Promise<void>;
  let trapd: TrapDaemon;
  let scratch: string;
  let dev: SimNetworkDeviceInfo;
  let xsrfDev: SimNetworkDeviceInfo;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'sim-interop-'));
    trapd = await startSnmptrapd('public');
    ({ fleet, close } = await startSimFleet({
      devices: 6,
      seed: 11,
      trapTarget: { host: '127.0.0.1', port: trapd.port, community: 'public' },
      tuning: { autoCalls: false },
    }));
    const list = networked(fleet.devices());
    dev = list.find((d) => d.firmware.startsWith('3.') || d.firmware.startsWith('4.0')) ?? list[0]!;
    xsrfDev = networked(createXsrfFleetInfo(list))[0] ?? dev;
  });

  afterAll(async () => {
    await close?.();
    await trapd?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  function createXsrfFleetInfo(list: SimNetworkDeviceInfo[]): SimNetworkDeviceInfo[] {
    return list.filter((d) => d.firmware.startsWith('4.6') || d.firmware.startsWith('4.7'));
  }

  it('curl -k logs in with JSON and reads /rest/system with the cookie; the serial matches /sim/devices', async () => {
    const jar = join(scratch, 'jar.txt');
    const login = await runCmd('curl', [
      '-sk',
      '-c',
      jar,
      '-H',
      'Content-Type: application/json',
      '-d',
      JSON.stringify({ user: dev.username, password: dev.password }),
      `${dev.restUrl}/rest/current/session`,
    ]);
    expect(login.code).toBe(0);
    const body = JSON.parse(login.stdout) as { success: boolean; session: { sessionId: string } };
    expect(body.success).toBe(true);
    expect(body.session.sessionId).toMatch(/^PS.{40,}/);
    expect(await readFile(jar, 'utf8')).toContain('session_id');
    const sys = await runCmd('curl', ['-sk', '-b', jar, `${dev.restUrl}/rest/system`]);
    const control = await runCmd('curl', ['-s', `${fleet.controlUrl}/sim/devices`]);
    const listed = (JSON.parse(control.stdout) as { serial: string }[]).map((d) => d.serial);
    const serial = (JSON.parse(sys.stdout) as { serialNumber: string }).serialNumber;
    expect(serial).toBe(dev.serial);
    expect(listed).toContain(serial);
  });

  it('curl on firmware >= 4.6.2 needs the XSRF-TOKEN cookie copied into x-xsrf-token', async () => {
    const jar = join(scratch, 'jar-xsrf.txt');
    await runCmd('curl', [
      '-sk',
      '-c',
      jar,
      '-H',
      'Content-Type: application/json',
      '-d',
      JSON.stringify({ user: xsrfDev.username, password: xsrfDev.password }),
      `${xsrfDev.restUrl}/rest/session`,
    ]);
    const token = (await readFile(jar, 'utf8'))
      .split('\n')
      .find((l) => l.includes('XSRF-TOKEN'))
      ?.split('\t')[6];
    expect(token).toBeTruthy();
    const without = await runCmd('curl', [
      '-sk',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-b',
      jar,
      `${xsrfDev.restUrl}/rest/system`,
    ]);
    expect(without.stdout).toBe('403');
    const withHeader = await runCmd('curl', [
      '-sk',
      '-b',
      jar,
      '-H',
      `x-xsrf-token: ${token}`,
      `${xsrfDev.restUrl}/rest/system`,
    ]);
    expect(JSON.parse(withHeader.stdout)).toMatchObject({ serialNumber: xsrfDev.serial });
  });

  it('snmpget v2c reads sysName and the Poly identity serial; snmpwalk walks the endpoint MIB', async () => {
    const get = await runCmd(
      'snmpget',
      [
        '-v2c',
        '-c',
        dev.snmpCommunity,
        '-On',
        '-t',
        '2',
        '-r',
        '0',
        `127.0.0.1:${dev.snmpPort}`,
        '1.3.6.1.2.1.1.5.0',
        '1.3.6.1.4.1.13885.101.1.1.5.0',
      ],
      { env: SNMP_ENV },
    );
    expect(get.code).toBe(0);
    expect(get.stdout).toContain(`.1.3.6.1.4.1.13885.101.1.1.5.0 = STRING: "${dev.serial}"`);
    expect(get.stdout).toContain(`.1.3.6.1.2.1.1.5.0 = STRING: "${dev.systemName}"`);
    const walk = await runCmd(
      'snmpwalk',
      [
        '-v2c',
        '-c',
        dev.snmpCommunity,
        '-On',
        '-t',
        '2',
        '-r',
        '0',
        `127.0.0.1:${dev.snmpPort}`,
        '1.3.6.1.4.1.13885.101',
      ],
      {
        env: SNMP_ENV,
      },
    );
    expect(walk.stdout).toContain('.1.3.6.1.4.1.13885.101.1.3.6.2.1.3.1 = INTEGER: 2');
    expect(walk.stdout).toContain('.1.3.6.1.4.1.13885.101.1.5.1.0 = INTEGER: 0');
    const wrong = await runCmd(
      'snmpget',
      ['-v2c', '-c', 'wrong', '-On', '-t', '0.5', '-r', '0', `127.0.0.1:${dev.snmpPort}`, '1.3.6.1.2.1.1.5.0'],
      {
        env: SNMP_ENV,
      },
    );
    expect(wrong.code).not.toBe(0);
  });

  it('snmpget v3 authPriv SHA/AES reads the serial and sysUpTime', async () => {
    const v3 = dev.snmpV3;
    const get = await runCmd(
      'snmpget',
      [
        '-v3',
        '-l',
        'authPriv',
        '-u',
        v3.user,
        '-a',
        'SHA',
        '-A',
        v3.authKey,
        '-x',
        'AES',
        '-X',
        v3.privKey,
        '-On',
        '-t',
        '2',
        '-r',
        '0',
        `127.0.0.1:${dev.snmpPort}`,
        '1.3.6.1.4.1.13885.101.1.1.5.0',
        '1.3.6.1.2.1.1.3.0',
      ],
      { env: SNMP_ENV },
    );
    expect(get.code).toBe(0);
    expect(get.stdout).toContain(`STRING: "${dev.serial}"`);
    expect(get.stdout).toMatch(/1\.3\.6\.1\.2\.1\.1\.3\.0 = Timeticks: \(\d+\)/);
  });

  it('OpenSSH ssh (sshpass) runs whoami and an unknown command', async () => {
    const who = await runCmd('sshpass', [
      '-p',
      dev.password,
      'ssh',
      '-p',
      String(dev.sshPort),
      ...SSH_OPTS,
      `${dev.username}@127.0.0.1`,
      'whoami',
    ]);
    expect(who.code).toBe(0);
    expect(who.stdout).toContain(`Serial Number: ${dev.serial}`);
    expect(who.stdout).toContain('SNMP Enabled:');
    const bad = await runCmd('sshpass', [
      '-p',
      dev.password,
      'ssh',
      '-p',
      String(dev.sshPort),
      ...SSH_OPTS,
      `${dev.username}@127.0.0.1`,
      'frobnicate',
    ]);
    expect(bad.stdout.trim()).toBe('error: command not found');
    const denied = await runCmd('sshpass', [
      '-p',
      'nope',
      'ssh',
      '-p',
      String(dev.sshPort),
      ...SSH_OPTS,
      `${dev.username}@127.0.0.1`,
      'whoami',
    ]);
    expect(denied.code).not.toBe(0); // sshpass says 5 (wrong password), ssh alone 255
    expect(denied.stdout).not.toContain('Serial Number');
  });

  it('snmptrapd receives primaryCameraDown (76) and primaryCameraOK (77)', async () => {
    fleet.injectFault(dev.serial, { kind: 'camera-disconnected' });
    await trapd.waitForOutput(/OID: \.1\.3\.6\.1\.4\.1\.13885\.101\.0\.76\b[^\n]*STRING: "[^"]*"/);
    expect(trapd.output()).toContain(`STRING: "${dev.serial}"`);
    const sent = once(fleet, 'trap');
    fleet.clearFaults(dev.serial);
    await sent;
    await trapd.waitForOutput(/OID: \.1\.3\.6\.1\.4\.1\.13885\.101\.0\.77\b/);
  });
});
