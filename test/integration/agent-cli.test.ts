/**
 * The real command line: `hezo sim ... --agent-config a.yaml --mqtt-url URL` then `hezo agent --config a.yaml`
 * publishes valid health for every simulated device within two poll intervals; `--once` prints JSON lines;
 * a bad config exits 2 with one line naming the field.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HealthRecord } from '../../protocols/health.ts';
import { decodeMessage } from '../../protocols/messages.ts';
import { recordTopics, startBroker, tempDir, waitFor } from '../helpers/agent-harness.ts';
import { runCmd } from '../helpers/run-cmd.ts';

const BIN = resolve(import.meta.dirname, '../../bin/hezo.js');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function spawnHezo(args: string[], cwd: string): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
  return child;
}

describe('hezo agent (CLI)', () => {
  it('sim + agent: valid health for all devices within two poll intervals; --once prints JSON lines', async () => {
    const broker = await startBroker();
    cleanups.push(broker.close);
    const hub = await recordTopics(broker.url, 'hezo/v1/#');
    cleanups.push(hub.close);
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const configFile = join(tmp.dir, 'a.yaml');
    const usbRoot = join(tmp.dir, 'usb');
    spawnHezo(
      [
        'sim',
        '--devices',
        '3',
        '--port',
        '0',
        '--agent-config',
        configFile,
        '--mqtt-url',
        broker.url,
        '--usb-sysfs',
        usbRoot,
      ],
      tmp.dir,
    );
    await waitFor(
      () => existsSync(configFile) && readFileSync(configFile, 'utf8').includes('devices'),
      20_000,
      'agent config written',
    );
    const config = parse(readFileSync(configFile, 'utf8'));
    const intervalMs: number = config.pollIntervalMs ?? 10_000;
    const networkSerials: string[] = config.devices.map((d: { serial: string }) => d.serial);

    const once = await runCmd(process.execPath, [BIN, 'agent', '--config', configFile, '--once'], {
      cwd: tmp.dir,
      timeoutMs: 30_000,
    });
    expect(once.code).toBe(0);
    const lines = once.stdout
      .trim()
      .split('\n')
      .map((l) => HealthRecord.parse(JSON.parse(l)));
    expect(lines.length).toBe(3);
    expect(lines.map((r) => r.identity.serial)).toEqual(expect.arrayContaining(networkSerials));

    const started = Date.now();
    spawnHezo(['agent', '--config', configFile], tmp.dir);
    await waitFor(
      () => {
        const serials = new Set(hub.on('/health/').map((m) => decodeMessage('health', m.payload).identity.serial));
        return serials.size >= 3 && networkSerials.every((s) => serials.has(s));
      },
      2 * intervalMs,
      'health for all devices',
    );
    expect(Date.now() - started).toBeLessThan(2 * intervalMs);
    const usbRecords = hub
      .on('/health/')
      .map((m) => decodeMessage('health', m.payload))
      .filter((r) => r.identity.model === 'StudioUSB');
    expect(usbRecords.length).toBeGreaterThan(0);
  });

  it('a bad config exits 2 with one line naming the field', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const bad = join(tmp.dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nagentId: a1\nsite: s1\ncustomer: c1\nmqtt: { url: "http://x" }\ndevices: []\n');
    const res = await runCmd(process.execPath, [BIN, 'agent', '--config', bad], { cwd: tmp.dir });
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/mqtt\.url/);
    const flag = await runCmd(process.execPath, [BIN, 'agent', '--bogus'], { cwd: tmp.dir });
    expect(flag.code).toBe(2);
  });
});
