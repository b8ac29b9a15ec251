/** The real agent polling a simulated fleet, reporting to a real hub on loopback: power-off -> `down`. */
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

describe('hub + real agent + simulator', () => {
  it('a powered-off simulated device goes down, stored and visible at GET /api/devices', async () => {
    const fleet = createFleet({ devices: 2, seed: 7, models: ['StudioX50'], logger: silentLogger });
    await fleet.start();
    cleanups.push(() => fleet.stop());
    const t = await startTestHub({
      config: { agents: [{ id: 'agent-1', site: 'site-1', password: 'agent-1-secret' }] },
    });
    cleanups.push(() => t.close());
    const data = tempDir();
    cleanups.push(() => data.close());
    const config = agentConfigForFleet(fleet.devices(), t.urls.mqttUrl, data.dir, {
      mqtt: { url: t.urls.mqttUrl, keepaliveS: 5, username: 'agent-1', password: 'agent-1-secret' },
    });
    const agent = createAgent(config, { logger: silentLogger });
    await agent.start();
    cleanups.push(() => agent.stop());

    const devices = async () => (await (await t.api('/api/devices')).json()) as DeviceView[];
    const serials = fleet.devices().map((d) => d.serial);
    await waitFor(async () => (await devices()).filter((d) => d.state === 'up').length === serials.length, {
      what: 'every simulated device up',
      timeoutMs: 20_000,
    });
    const [victim, other] = serials as [string, string];
    fleet.injectFault(victim, { kind: 'power-off' });
    const down = await waitFor(async () => (await devices()).find((d) => d.serial === victim && d.state === 'down'), {
      what: `${victim} down`,
      timeoutMs: 20_000,
    });
    expect(down).toMatchObject({ reason: 'all-channels-failed', agentId: 'agent-1', site: 'site-1' });
    expect((await devices()).find((d) => d.serial === other)?.state).toBe('up');
    const stored = t.hub.ctx.db
      .prepare("SELECT reason FROM device_transitions WHERE serial = ? AND to_state = 'down'")
      .all(victim);
    expect(stored).toEqual([{ reason: 'all-channels-failed' }]);
  });
});
