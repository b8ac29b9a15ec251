/**
 * Issue 9: from a clone, `hezo demo` serves the NOC page with every device `up` within 30 s; the README's curl
 * line injects power-off and the right ticket (P1, channel auto) opens; Ctrl-C (SIGINT) stops everything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCmd } from '../helpers/run-cmd.ts';
import { waitFor } from '../helpers/wait-for.ts';

const root = resolve(import.meta.dirname, '../..');

/** The README's fault-injection line, pointed at this demo's control port. */
function readmePowerOffLine(simPort: number): string {
  const line = readFileSync(join(root, 'README.md'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('curl') && l.includes('/faults') && l.includes('power-off'));
  if (line === undefined) throw new Error('README.md has no power-off curl line');
  return line.replaceAll('127.0.0.1:8081', `127.0.0.1:${simPort}`);
}

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(false);
    });
    socket.once('error', () => done(true));
  });
}

describe('hezo demo (issue 9)', () => {
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let httpPort: number;
  let simPort: number;
  let mqttPort: number;
  let dataDir: string;
  let token: string;

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hezo-demo-test-'));
    const env = { ...process.env };
    delete env.HEZO_API_TOKEN;
    // Port 0 everywhere: the demo picks free ports and prints them (a port picked here could be taken by a
    // parallel test before the demo binds it).
    child = spawn(
      process.execPath,
      [join(root, 'bin/hezo.js'), 'demo', '--port', '0', '--mqtt-port', '0', '--data', dataDir],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    await waitFor(() => child.exitCode !== null || /Ctrl-C stops everything/.test(stdout), {
      timeoutMs: 90_000,
      intervalMs: 100,
      what: () => `demo start (stdout: ${stdout.slice(-300)} stderr: ${stderr.slice(-500)} exit: ${child.exitCode})`,
    });
    expect(child.exitCode, `the demo exited before it was ready: ${stderr}`).toBeNull();
    token = /API token:\s+(\S+)/.exec(stdout)?.[1] ?? '';
    expect(token.length).toBeGreaterThanOrEqual(16);
    httpPort = Number(/NOC page:\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout)?.[1]);
    simPort = Number(/Sim control:\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout)?.[1]);
    mqttPort = Number(/MQTT broker:\s+mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
    expect([httpPort, simPort, mqttPort].every((p) => Number.isInteger(p) && p > 0)).toBe(true);
  });

  afterAll(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URLs and serves the NOC page', async () => {
    expect(stdout).toContain(`NOC page:      http://127.0.0.1:${httpPort}/?token=`);
    expect(stdout).toContain(`Sim control:   http://127.0.0.1:${simPort}/sim/devices`);
    const page = await fetch(`http://127.0.0.1:${httpPort}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
  });

  it('every simulated device is up within 30 s, across two customers and three sites', async () => {
    const sim = (await (await fetch(`http://127.0.0.1:${simPort}/sim/devices`)).json()) as {
      serial: string;
      peripherals?: { serial?: string }[];
    }[];
    expect(sim.length).toBe(12);
    // Peripherals with a serial of their own (the E70 of each G7500) are devices of their own (issue 18).
    const expected = [...sim.map((d) => d.serial), ...sim.flatMap((d) => (d.peripherals ?? []).map((p) => p.serial))]
      .filter((s): s is string => s !== undefined)
      .sort();
    expect(expected.length).toBeGreaterThan(sim.length);
    const devices = await waitFor(
      async () => {
        const list = await api<{ serial: string; state: string; site: string; customer: string }[]>('/api/devices');
        const serials = list.map((d) => d.serial).sort();
        return JSON.stringify(serials) === JSON.stringify(expected) && list.every((d) => d.state === 'up')
          ? list
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'all devices up' },
    );
    expect(new Set(devices.map((d) => d.site)).size).toBe(3);
    expect(new Set(devices.map((d) => d.customer)).size).toBe(2);
  });

  it("the README's power-off curl line opens one P1 automatic ticket for that device", async () => {
    const sim = (await (await fetch(`http://127.0.0.1:${simPort}/sim/devices`)).json()) as {
      serial: string;
      usb?: unknown;
      model: string;
    }[];
    const target = sim.find((d) => d.usb === undefined && d.model !== 'StudioUSB');
    expect(target).toBeDefined();
    const serial = target!.serial;
    const result = await runCmd('bash', ['-c', readmePowerOffLine(simPort)], { env: { SERIAL: serial } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('power-off');
    const tickets = await waitFor(
      async () => {
        const list = await api<{ serial: string; priority: string; channel: string }[]>('/api/tickets?state=open');
        const mine = list.filter((t) => t.serial === serial);
        return mine.some((t) => t.priority === 'P1') ? mine : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 250, what: `a P1 ticket for ${serial}` },
    );
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({ serial, priority: 'P1', channel: 'auto' });
    const device = await api<{ state: string }>(`/api/devices/${serial}`);
    expect(device.state).toBe('down');
  });

  it('Ctrl-C stops everything cleanly and leaves nothing listening', async () => {
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stdout).toContain('stopped');
    expect(await portIsClosed(httpPort)).toBe(true);
    expect(await portIsClosed(simPort)).toBe(true);
    expect(await portIsClosed(mqttPort)).toBe(true);
    const leftovers = await runCmd('pgrep', ['-f', `--data ${dataDir}`]);
    expect(leftovers.stdout.trim()).toBe('');
  });
});

describe('hezo demo on a port that is taken', () => {
  it('says which address is in use and exits 1, leaving nothing running', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const taken = (blocker.address() as AddressInfo).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'hezo-demo-taken-'));
    try {
      const result = await runCmd(
        process.execPath,
        [join(root, 'bin/hezo.js'), 'demo', '--port', '0', '--mqtt-port', String(taken), '--data', dataDir],
        { timeoutMs: 60_000 },
      );
      expect(result.signal, 'the demo hung after the error and was killed').toBeNull();
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`EADDRINUSE`);
      expect(result.stderr).toContain(`127.0.0.1:${taken}`);
      expect(result.stdout).not.toContain('Ctrl-C stops everything');
    } finally {
      blocker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
