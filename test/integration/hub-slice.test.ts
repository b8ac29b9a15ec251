/** The hub's main slice: agent -> embedded broker -> ingest -> detector -> SQLite + bus -> GET /api/devices. */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceView } from '../../hub/types.ts';
import { makeHealthRecord, makePresence } from '../helpers/health-record.ts';
import { startTestHub, TEST_READ_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';
import { connectAgent, type FakeAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent, waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function hubWithAgent(
  config: Record<string, unknown> = {},
  modules?: 'all',
): Promise<{ t: TestHub; agent: FakeAgent }> {
  const t = await startTestHub({ config, ...(modules !== undefined ? { modules } : {}) });
  cleanups.push(() => t.close());
  const agent = await connectAgent(t.urls.mqttUrl, { agentId: 'agent-1', site: 'site-a', password: 'agent-1-secret' });
  cleanups.push(() => agent.close());
  return { t, agent };
}

describe('hub slice', () => {
  it('turns published health records into device state, stored and served by the API', async () => {
    const { t, agent } = await hubWithAgent({
      devices: [{ serial: 'SN-0001', model: 'StudioX50', site: 'site-a', customer: 'acme' }],
      contracts: [{ number: 'C-1', customer: 'acme', start: '2025-01-01', termYears: 3, serials: ['SN-0001'] }],
    });
    const up = nextBusEvent(t.hub.ctx.bus, 'device-state', (tr) => tr.serial === 'SN-0001' && tr.to === 'up');
    await agent.send('presence', makePresence('online', { devices: ['SN-0001'] }), { retain: true });
    await agent.send('health', makeHealthRecord({ serial: 'SN-0001', seq: 1 }));
    const transition = await up;
    expect(transition).toMatchObject({ from: 'unknown', to: 'up', reason: 'first-seen', agentId: 'agent-1' });

    const list = (await (await t.api('/api/devices')).json()) as DeviceView[];
    expect(list).toEqual([
      expect.objectContaining({
        serial: 'SN-0001',
        state: 'up',
        agentId: 'agent-1',
        firmware: '4.1.0',
        contract: 'C-1',
        coverage: 'active',
      }),
    ]);
    expect(list[0]?.lastSeen).toEqual(expect.any(String));

    // Two polls with every channel failed: down, stored, in the device's history.
    const down = nextBusEvent(t.hub.ctx.bus, 'device-state', (tr) => tr.to === 'down');
    await agent.send('health', makeHealthRecord({ serial: 'SN-0001', seq: 2, reachable: false }));
    await agent.send('health', makeHealthRecord({ serial: 'SN-0001', seq: 3, reachable: false }));
    expect(await down).toMatchObject({ from: 'up', to: 'down', reason: 'all-channels-failed', inMaintenance: false });
    const detail = (await (await t.api('/api/devices/SN-0001')).json()) as {
      state: string;
      health: unknown[];
      history: Array<{ to: string }>;
    };
    expect(detail.state).toBe('down');
    expect(detail.health).toHaveLength(3);
    expect(detail.history.map((h) => h.to)).toEqual(['down', 'up']);
    const rows = t.hub.ctx.db.prepare('SELECT to_state FROM device_transitions ORDER BY id').all();
    expect(rows).toEqual([{ to_state: 'up' }, { to_state: 'down' }]);
    expect(await t.metric('hezo_messages_in_total', { kind: 'health' })).toBe(3);
    expect(await t.metric('hezo_devices', { state: 'down' })).toBe(1);
  });

  it('auto-registers an unknown device from its record, with contract null', async () => {
    const { t, agent } = await hubWithAgent();
    await agent.send('health', makeHealthRecord({ serial: 'SN-NEW', model: 'StudioX30' }));
    const device = await waitFor(async () => {
      const res = await t.api('/api/devices/SN-NEW');
      return res.status === 200 ? ((await res.json()) as DeviceView) : undefined;
    });
    expect(device).toMatchObject({
      serial: 'SN-NEW',
      model: 'StudioX30',
      site: 'site-a',
      customer: 'acme',
      contract: null,
      coverage: 'none',
    });
  });

  it('checks tokens: 401 without, 403 for a read token writing, /healthz open', async () => {
    const { t } = await hubWithAgent();
    expect((await t.api('/healthz', { token: null })).status).toBe(200);
    const none = await t.api('/api/devices', { token: null });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ code: 'UNAUTHENTICATED', error: expect.any(String) });
    expect((await t.api('/api/devices', { token: 'wrong-token-wrong-token' })).status).toBe(401);
    expect((await t.api('/api/devices', { token: TEST_READ_TOKEN })).status).toBe(200);
    const write = await t.api('/api/devices/SN-9', {
      token: TEST_READ_TOKEN,
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ site: 'site-a', customer: 'acme' }),
    });
    expect(write.status).toBe(403);
    expect((await t.api('/api/devices/NOPE')).status).toBe(404);
    const bad = await t.api('/api/contracts', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: 'C-9', customer: 'acme', start: '2025-01-01', termYears: 7 }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('termYears');
  });

  it('with every module wired (OPTIONAL_MODULES): a device going down opens one automatic P1 ticket', async () => {
    const { t, agent } = await hubWithAgent({}, 'all');
    const ticket = nextBusEvent(t.hub.ctx.bus, 'ticket', ({ change }) => change === 'opened');
    await agent.send('health', makeHealthRecord({ serial: 'SN-0001', seq: 1 }));
    await agent.send('health', makeHealthRecord({ serial: 'SN-0001', seq: 2, reachable: false }));
    await agent.send('health', makeHealthRecord({ serial: 'SN-0001', seq: 3, reachable: false }));
    expect((await ticket).ticket).toMatchObject({ serial: 'SN-0001', priority: 'P1', channel: 'auto' });
    const tickets = (await (await t.api('/api/tickets')).json()) as unknown[];
    expect(tickets).toHaveLength(1);
    expect((await t.api('/', { token: null })).status).toBe(200);
  });
});
