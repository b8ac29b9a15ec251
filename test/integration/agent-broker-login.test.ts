/**
 * Issue 13, clear failures: an agent whose broker login fails says why at `error` level on every attempt,
 * with a growing back-off; `hezo agent --once` says so and exits 1; `hezo sim --agent-config` writes a config
 * that logs in to a hub started with the matching agent credentials (HEZO_AGENT_<ID>_PASSWORD, the variable
 * the hub reads, or `--agent-password`). Real hub (embedded aedes over TCP), real processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createAgent } from '../../agent/agent.ts';
import { buildAgentConfig } from '../../agent/config.ts';
import { capturedLogger, tempDir, waitFor } from '../helpers/agent-harness.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { runCmd } from '../helpers/run-cmd.ts';

const BIN = resolve(import.meta.dirname, '../../bin/hezo.js');
const SIM_AGENT = { id: 'sim-agent', site: 'sim-site', password: 'sim-agent-secret-42' };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function spawnHezo(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
  return child;
}

interface LogLine {
  level: number;
  msg: string;
  reason?: string;
  retryInMs?: number;
  attempt?: number;
  outboxDepth?: number;
}

describe('agent broker login failures are clear', () => {
  it('a refused login is logged at error level on every attempt, with the reason and a growing back-off', async () => {
    const hub = await startTestHub({ config: { agents: [SIM_AGENT] } });
    cleanups.push(() => hub.close());
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const log = capturedLogger('info');
    const wrong = 'not-the-password-7';
    const config = buildAgentConfig({
      version: 1,
      agentId: SIM_AGENT.id,
      site: SIM_AGENT.site,
      customer: 'c1',
      mqtt: { url: hub.urls.mqttUrl, username: SIM_AGENT.id, password: wrong },
      dataDir: tmp.dir,
      devices: [],
    });
    const agent = createAgent(config, { logger: log.logger, reconnectMinMs: 40, reconnectMaxMs: 2000 });
    cleanups.push(() => agent.stop());
    await agent.start();
    const refusals = () =>
      log
        .text()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as LogLine)
        .filter((l) => l.msg === 'mqtt login refused by the broker');
    await waitFor(() => refusals().length >= 4, 20_000, 'four refused attempts logged');
    const lines = refusals();
    expect(lines.every((l) => l.level === 50)).toBe(true);
    expect(lines[0]?.reason).toMatch(/bad username or password|not authorized/);
    expect(lines.map((l) => l.attempt).slice(0, 4)).toEqual([1, 2, 3, 4]);
    // full-jitter back-off: each ceiling doubles (40, 80, 160, 320 ms), a delay is between half and all of it
    lines.slice(0, 4).forEach((l, i) => {
      expect(l.retryInMs).toBeGreaterThanOrEqual(20 * 2 ** i);
      expect(l.retryInMs).toBeLessThanOrEqual(40 * 2 ** i);
    });
    expect(agent.stats.connected).toBe(false);
    expect(log.text()).not.toContain(wrong);
  });

  it('no mqtt.username: the reason says so', async () => {
    const hub = await startTestHub({ config: { agents: [SIM_AGENT] } });
    cleanups.push(() => hub.close());
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const log = capturedLogger('info');
    const agent = createAgent(
      buildAgentConfig({
        version: 1,
        agentId: SIM_AGENT.id,
        site: SIM_AGENT.site,
        customer: 'c1',
        mqtt: { url: hub.urls.mqttUrl },
        dataDir: tmp.dir,
        devices: [],
      }),
      { logger: log.logger, reconnectMinMs: 40, reconnectMaxMs: 200 },
    );
    cleanups.push(() => agent.stop());
    await agent.start();
    const line = await waitFor(
      () =>
        log
          .text()
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as LogLine)
          .find((l) => l.msg === 'mqtt login refused by the broker'),
      20_000,
      'refusal logged',
    );
    expect(line.level).toBe(50);
    expect(line.reason).toMatch(/mqtt\.username is not set/);
  });

  it('hezo sim --agent-config writes a config that logs in; hezo agent --once says when the login fails', async () => {
    const hub = await startTestHub({ config: { agents: [SIM_AGENT] } });
    cleanups.push(() => hub.close());
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const configFile = join(tmp.dir, 'a.yaml');
    // the same variable the hub reads this agent's password from
    const sim = spawnHezo(
      ['sim', '--devices', '2', '--port', '0', '--agent-config', configFile, '--mqtt-url', hub.urls.mqttUrl],
      tmp.dir,
      { HEZO_AGENT_SIM_AGENT_PASSWORD: SIM_AGENT.password },
    );
    let simOut = '';
    sim.stdout?.on('data', (c: Buffer) => {
      simOut += c.toString();
    });
    await waitFor(() => existsSync(configFile) && simOut.includes('agent config:'), 30_000, 'agent config written');
    const written = parse(readFileSync(configFile, 'utf8'));
    expect(written.mqtt).toMatchObject({ username: 'sim-agent', password: SIM_AGENT.password });

    const env = { HEZO_MQTT_PASSWORD: '', HEZO_LOG_LEVEL: 'error' };
    const ok = await runCmd(process.execPath, [BIN, 'agent', '--config', configFile, '--once'], {
      cwd: tmp.dir,
      timeoutMs: 30_000,
      env,
    });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim().split('\n')).toHaveLength(2);

    // the same config without the password: --once prints the records, says why the login failed, exits 1
    delete written.mqtt.password;
    const noPassword = join(tmp.dir, 'b.yaml');
    writeFileSync(noPassword, stringify(written));
    const refused = await runCmd(process.execPath, [BIN, 'agent', '--config', noPassword, '--once'], {
      cwd: tmp.dir,
      timeoutMs: 30_000,
      env,
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout.trim().split('\n')).toHaveLength(2);
    expect(refused.stderr).toMatch(
      /hezo: agent --once: the broker refused the login at mqtt:\/\/127\.0\.0\.1:\d+ as "sim-agent"/,
    );
    expect(refused.stderr).toMatch(/"level":50.*mqtt login failed/);

    // ... and HEZO_MQTT_PASSWORD, as the sim's hint says, makes it log in
    const viaEnv = await runCmd(process.execPath, [BIN, 'agent', '--config', noPassword, '--once'], {
      cwd: tmp.dir,
      timeoutMs: 30_000,
      env: { ...env, HEZO_MQTT_PASSWORD: SIM_AGENT.password },
    });
    expect(viaEnv.code).toBe(0);
  });
});
