/** `hezo sim`: strict flags (exit 2), a running fleet with a valid agent config, clean stop on SIGTERM. */

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { AgentConfig } from '../../protocols/agent-config.ts';
import { loadConfig } from '../../protocols/config-common.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('hezo sim', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('exits 2 on bad flags', async () => {
    expect(await main(['sim', '--bogus'])).toBe(2);
    expect(await main(['sim', '--devices', 'many'])).toBe(2);
    expect(await main(['sim', '--agent-config', '/tmp/x.yaml'])).toBe(2); // --mqtt-url missing
    expect(await main(['sim', '--trap-target', 'nowhere'])).toBe(2);
  });

  it('runs a fleet, writes a valid agent config and a USB sysfs fixture, and stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hezo-sim-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const cfg = join(dir, 'agent.yaml');
    const sysfs = join(dir, 'sysfs');
    const child = spawn(
      process.execPath,
      [
        'bin/hezo.js',
        'sim',
        '--devices',
        '7',
        '--port',
        '0',
        '--seed',
        '3',
        '--agent-config',
        cfg,
        '--mqtt-url',
        'mqtt://127.0.0.1:1883',
        '--site',
        'lab',
        '--usb-sysfs',
        sysfs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    const url = await waitFor(() => /control: (http:\S+)/.exec(out)?.[1], { timeoutMs: 15_000, what: 'control URL' });
    const devices = (await (await fetch(url)).json()) as { serial: string; usb?: unknown }[];
    const config = loadConfig(AgentConfig, cfg);
    expect(config).toMatchObject({ agentId: 'sim-agent', site: 'lab', customer: 'sim-customer' });
    expect(config.devices.map((d) => d.serial)).toEqual(
      devices.filter((d) => d.usb === undefined).map((d) => d.serial),
    );
    expect(config.devices[0]).toMatchObject({ channels: ['rest', 'snmp', 'ssh'], rest: { tls: { mode: 'tofu' } } });
    // both sides of the traps: the agent listens where the fleet sends them
    expect(config.traps).toMatchObject({ enabled: true, address: '127.0.0.1' });
    const trapSocket = createSocket('udp4');
    cleanups.push(() => new Promise<void>((resolve) => trapSocket.close(() => resolve())));
    await new Promise<void>((resolve) => trapSocket.bind(config.traps.port, '127.0.0.1', () => resolve()));
    const trap = once(trapSocket, 'message');
    const target = config.devices[0]!.serial;
    await fetch(`${url}/${target}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'camera-disconnected' }),
    });
    const [datagram] = (await trap) as [Buffer];
    expect(datagram.includes(Buffer.from(config.devices[0]!.snmp!.community!))).toBe(true);
    const usbSerials = devices.filter((d) => d.usb !== undefined).map((d) => d.serial);
    const entries = await readdir(sysfs);
    const serials = await Promise.all(
      entries.map(async (e) => (await readFile(join(sysfs, e, 'serial'), 'utf8').catch(() => '')).trim()),
    );
    for (const s of usbSerials) expect(serials).toContain(s);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('hezo sim: stopped');
  });
});
