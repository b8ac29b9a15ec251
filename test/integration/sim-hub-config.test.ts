/**
 * Issue 16: `hezo sim ... --hub-config FILE` writes a hub config matching the fleet (agent + credentials, customer,
 * contract, devices). A real hub started from that file accepts the agent with the credentials of the agent config
 * the same run wrote, and knows every device with its contract.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HubConfig } from '../../hub/config.ts';
import type { DeviceView } from '../../hub/types.ts';
import { AgentConfig } from '../../protocols/agent-config.ts';
import { loadConfig, readConfigFile } from '../../protocols/config-common.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { freePort } from '../helpers/mosquitto.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent, waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('hezo sim --hub-config', () => {
  it('writes a hub config a real hub starts from, matching the agent config of the same run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hezo-sim-hub-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const agentFile = join(dir, 'agent.yaml');
    const hubFile = join(dir, 'hub.yaml');
    const mqttPort = await freePort();
    const child = spawn(
      process.execPath,
      [
        'bin/hezo.js',
        'sim',
        '--devices',
        '5',
        '--port',
        '0',
        '--seed',
        '4',
        '--site',
        'lab',
        '--agent-config',
        agentFile,
        '--hub-config',
        hubFile,
        '--mqtt-url',
        `mqtt://127.0.0.1:${mqttPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    await waitFor(() => out.includes('hub config:'), { timeoutMs: 20_000, what: 'the hub config' });
    expect(statSync(hubFile).mode & 0o777).toBe(0o600);
    const hubConfig = loadConfig(HubConfig, hubFile);
    const agentConfig = loadConfig(AgentConfig, agentFile);
    expect(hubConfig.agents).toEqual([{ id: agentConfig.agentId, site: 'lab', password: agentConfig.mqtt.password }]);
    expect(hubConfig.mqtt.port).toBe(mqttPort);
    const serials = hubConfig.devices.map((d) => d.serial);
    expect(serials).toHaveLength(5);
    expect(hubConfig.contracts[0]?.serials).toEqual(serials);

    // a real hub from the written file (ports 0 and a temp data dir for the test)
    const raw = readConfigFile(hubFile);
    const hub = await startTestHub({
      config: { ...raw, http: { host: '127.0.0.1', port: 0 }, mqtt: { ...(raw.mqtt as object), port: 0 } },
    });
    cleanups.push(() => hub.close());
    const agent = await connectAgent(hub.urls.mqttUrl, {
      agentId: agentConfig.agentId,
      site: agentConfig.site,
      password: agentConfig.mqtt.password as string,
    });
    cleanups.push(() => agent.close());
    const serial = serials[0] as string;
    const up = nextBusEvent(hub.hub.ctx.bus, 'device-state', (t) => t.serial === serial && t.to === 'up');
    await agent.send(
      'health',
      makeHealthRecord({ agentId: agentConfig.agentId, site: 'lab', customer: agentConfig.customer, serial }),
    );
    await up;
    const view = (await (await hub.api(`/api/devices/${serial}`, { token: hubConfig.api.token })).json()) as DeviceView;
    expect(view).toMatchObject({ site: 'lab', customer: agentConfig.customer, coverage: 'active', contract: 'SIM-4' });
  });
});
