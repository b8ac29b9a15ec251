/**
 * Issue 18 end to end with 60 s polls (so no regular poll can be the cause within the test): a powered-off
 * unit reaches `down` at the hub through the agent's liveness check (two TCP misses, confirmed over SNMP + TCP,
 * twice = two failed polls); a camera unplugged reaches the hub as a component problem through its trap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../agent/agent.ts';
import type { DeviceView } from '../../hub/types.ts';
import { createFleet } from '../../simulator/fleet.ts';
import { agentConfigForFleet, silentLogger, tempDir } from '../helpers/agent-harness.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup() {
  const fleet = createFleet({
    devices: 3,
    seed: 7,
    models: ['StudioX50'],
    logger: silentLogger,
    tuning: { autoCalls: false },
  });
  await fleet.start();
  cleanups.push(() => fleet.stop());
  const t = await startTestHub({ config: { agents: [{ id: 'agent-1', site: 'site-1', password: 'agent-1-secret' }] } });
  cleanups.push(() => t.close());
  const data = tempDir();
  cleanups.push(() => data.close());
  const config = agentConfigForFleet(fleet.devices(), t.urls.mqttUrl, data.dir, {
    mqtt: { url: t.urls.mqttUrl, keepaliveS: 5, username: 'agent-1', password: 'agent-1-secret' },
    pollIntervalMs: 60_000,
    traps: { enabled: true, address: '127.0.0.1', port: 0 },
  });
  const agent = createAgent(config, { logger: silentLogger });
  await agent.start();
  cleanups.push(() => agent.stop());
  fleet.setTrapTarget(undefined, { host: '127.0.0.1', port: agent.stats.traps?.port ?? 0 });
  const devices = async () => (await (await t.api('/api/devices')).json()) as DeviceView[];
  const serials = fleet.devices().map((d) => d.serial);
  await waitFor(async () => (await devices()).filter((d) => d.state === 'up').length === serials.length, {
    what: 'every simulated device up',
    timeoutMs: 20_000,
  });
  return { fleet, t, devices, serials };
}

describe('dead unit and unplugged camera seen between 60 s polls', () => {
  it('power-off -> down at the hub through liveness misses confirmed over SNMP', async () => {
    const { fleet, devices, serials } = await setup();
    const [victim, other] = serials as [string, string];
    fleet.injectFault(victim, { kind: 'power-off' });
    const down = await waitFor(async () => (await devices()).find((d) => d.serial === victim && d.state === 'down'), {
      what: `${victim} down well before the next 60 s poll`,
      timeoutMs: 15_000,
    });
    expect(down.reason).toBe('all-channels-failed');
    expect((await devices()).find((d) => d.serial === other)?.state).toBe('up');
  });

  it('camera unplugged -> trap -> re-poll -> degraded (component-failed) at the hub', async () => {
    const { fleet, devices, serials } = await setup();
    const victim = serials[0] as string;
    fleet.injectFault(victim, { kind: 'camera-disconnected' });
    const degraded = await waitFor(
      async () => (await devices()).find((d) => d.serial === victim && d.state === 'degraded'),
      { what: `${victim} degraded well before the next 60 s poll`, timeoutMs: 15_000 },
    );
    expect(JSON.stringify(degraded)).toContain('camera');
  });
});
