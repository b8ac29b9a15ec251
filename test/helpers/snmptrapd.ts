/** Debian snmptrapd on a free UDP port (recipe of environment.md); wait on its stdout for a trap line. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort } from './ports.ts';
import { waitFor } from './wait-for.ts';

export interface TrapDaemon {
  port: number;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startSnmptrapd(community = 'public'): Promise<TrapDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'trapd-'));
  const port = await freeUdpPort();
  const conf = join(dir, 'snmptrapd.conf');
  await writeFile(conf, `snmpTrapdAddr udp:127.0.0.1:${port}\nauthCommunity log,execute ${community}\n`);
  const child: ChildProcess = spawn(
    '/usr/sbin/snmptrapd',
    ['-f', '-Lo', '-C', '-c', conf, '-On', '-p', join(dir, 'pid')],
    {
      env: { ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  await waitFor(() => /NET-SNMP version|Starting/i.test(out) || child.exitCode !== null, {
    timeoutMs: 5000,
    what: 'snmptrapd start',
  });
  if (child.exitCode !== null) throw new Error(`snmptrapd exited: ${out}`);
  return {
    port,
    output: () => out,
    async waitForOutput(pattern, timeoutMs = 5000) {
      await waitFor(() => pattern.test(out), { timeoutMs, what: `snmptrapd output ${pattern}` });
      return out;
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
