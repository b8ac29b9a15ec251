/**
 * Real Debian servers on loopback for interop tests (recipes from environment.md): Mosquitto, snmpd
 * (v2c + v3 authPriv, extra `override` lines), OpenSSH sshd (key auth, a ForceCommand script that answers
 * like the Poly CLI). Each returns `{ ..., close }`; ports are picked free at run time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { tempDir, waitFor } from './agent-harness.ts';
import { freeTcpPort, freeUdpPort } from './ports.ts';
import { runCmd } from './run-cmd.ts';

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startMosquitto(): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const tmp = tempDir('mosq-');
  const port = await freeTcpPort();
  const conf = join(tmp.dir, 'm.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  await waitFor(() => tcpOpen(port), 5000, 'mosquitto listening');
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    close: async () => {
      await stopChild(child);
      tmp.close();
    },
  };
}

export const SNMPD_V3 = { user: 'mon', authKey: 'authpass123', privKey: 'privpass123' };

export async function startSnmpd(
  extraLines: string[],
): Promise<{ port: number; community: string; close: () => Promise<void> }> {
  const tmp = tempDir('snmpd-');
  const port = await freeUdpPort();
  mkdirSync(join(tmp.dir, 'persist'));
  const conf = join(tmp.dir, 'snmpd.conf');
  writeFileSync(
    conf,
    [
      `agentAddress udp:127.0.0.1:${port}`,
      'rocommunity hezo-ro-community 127.0.0.1',
      `createUser ${SNMPD_V3.user} SHA ${SNMPD_V3.authKey} AES ${SNMPD_V3.privKey}`,
      `rouser ${SNMPD_V3.user} authPriv`,
      ...extraLines,
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/snmpd', ['-f', '-Lo', '-C', '-c', conf, '-p', join(tmp.dir, 'pid')], {
    env: { ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: join(tmp.dir, 'persist') },
    stdio: 'ignore',
  });
  await waitFor(
    async () =>
      (
        await runCmd('snmpget', [
          '-v2c',
          '-c',
          'hezo-ro-community',
          '-t',
          '0.3',
          '-r',
          '0',
          `127.0.0.1:${port}`,
          '1.3.6.1.2.1.1.3.0',
        ])
      ).code === 0,
    8000,
    'snmpd answering',
  );
  return {
    port,
    community: 'hezo-ro-community',
    close: async () => {
      await stopChild(child);
      tmp.close();
    },
  };
}

/** A ForceCommand that answers `whoami`, `status`, `callinfo all` like the Poly CLI (poly-devices.md §3). */
const POLY_CLI = `#!/bin/sh
case "$SSH_ORIGINAL_COMMAND" in
  whoami) printf 'Hi, my name is : SSHD-Poly\\nModel: StudioX50\\nSerial Number: 8L0000SSHD\\nadmin password=leaky-secret-99\\nSNMP Enabled: True\\n' ;;
  status) printf 'inacall offline\\nmicrophones online\\nipnetwork online\\nstatus end\\n' ;;
  "callinfo all") echo "system is not in a call" ;;
  *) echo "error: command not found"; exit 1 ;;
esac
`;

export async function startSshd(): Promise<{
  port: number;
  keyPath: string;
  user: string;
  close: () => Promise<void>;
}> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const tmp = tempDir('sshd-');
  const d = tmp.dir;
  const port = await freeTcpPort();
  await runCmd('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(d, 'host_key')]);
  await runCmd('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(d, 'client_key')]);
  await runCmd('cp', [join(d, 'client_key.pub'), join(d, 'authorized_keys')]);
  const cli = join(d, 'poly-cli.sh');
  writeFileSync(cli, POLY_CLI);
  chmodSync(cli, 0o755);
  writeFileSync(
    join(d, 'sshd_config'),
    [
      'ListenAddress 127.0.0.1',
      `HostKey ${join(d, 'host_key')}`,
      `PidFile ${join(d, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(d, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      `ForceCommand ${cli}`,
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(d, 'sshd_config'), '-p', String(port)], {
    stdio: 'ignore',
  });
  await waitFor(() => tcpOpen(port), 5000, 'sshd listening');
  return {
    port,
    keyPath: join(d, 'client_key'),
    user: 'root',
    close: async () => {
      await stopChild(child);
      tmp.close();
    },
  };
}
