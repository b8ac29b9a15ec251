/** Agent liveness, commands and restarts through the real embedded broker. */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceView } from '../../hub/types.ts';
import { isAppError } from '../../protocols/errors.ts';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord, makePresence } from '../helpers/health-record.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function hub(dataDir?: string): Promise<TestHub> {
  const t = await startTestHub(dataDir === undefined ? {} : { dataDir });
  cleanups.push(() => t.close());
  return t;
}

describe('agents', () => {
  it("an agent's Last Will raises ONE site alert and marks its devices unknown; its return clears it", async () => {
    const t = await hub();
    const will = JSON.stringify(makePresence('offline', { devices: ['SN-1', 'SN-2'] }));
    const client = await mqtt.connectAsync(t.urls.mqttUrl, {
      protocolVersion: 4,
      clientId: 'agent-1-main',
      username: 'agent-1',
      password: 'agent-1-secret',
      reconnectPeriod: 0,
      will: { topic: topics.presence('site-a', 'agent-1'), payload: Buffer.from(will), qos: 1, retain: true },
    });
    client.on('error', () => {});
    const both = Promise.all(
      ['SN-1', 'SN-2'].map((serial) =>
        nextBusEvent(t.hub.ctx.bus, 'device-state', (tr) => tr.serial === serial && tr.to === 'up'),
      ),
    );
    for (const serial of ['SN-1', 'SN-2']) {
      client.publish(topics.health('site-a', 'agent-1', serial), JSON.stringify(makeHealthRecord({ serial })), {
        qos: 1,
      });
    }
    await both;
    const alerts: string[] = [];
    t.hub.ctx.bus.on('site-alert', (a) => alerts.push(`${a.agentId}:${a.status}:${a.serials.join(',')}`));
    const raised = nextBusEvent(t.hub.ctx.bus, 'site-alert', (a) => a.status === 'raised');
    client.stream.destroy(); // crash: the broker publishes the Last Will
    await raised;
    const devices = (await (await t.api('/api/devices')).json()) as DeviceView[];
    expect(devices.map((d) => [d.serial, d.state, d.reason])).toEqual([
      ['SN-1', 'unknown', 'agent-offline'],
      ['SN-2', 'unknown', 'agent-offline'],
    ]);
    const cleared = nextBusEvent(t.hub.ctx.bus, 'site-alert', (a) => a.status === 'cleared');
    const back = await connectAgent(t.urls.mqttUrl, { agentId: 'agent-1', site: 'site-a', password: 'agent-1-secret' });
    cleanups.push(() => back.close());
    await back.send('presence', makePresence('online'), { retain: true });
    await cleared;
    expect(alerts).toEqual(['agent-1:raised:SN-1,SN-2', 'agent-1:cleared:SN-1,SN-2']);
  });

  it('commands: resolve on the reply, reject on timeout and when the agent is offline', async () => {
    const t = await hub();
    const agent = await connectAgent(t.urls.mqttUrl, {
      agentId: 'agent-1',
      site: 'site-a',
      password: 'agent-1-secret',
    });
    cleanups.push(() => agent.close());
    const commands = t.hub.ctx.services.commands!;
    const target = { site: 'site-a', agentId: 'agent-1' };
    const command = (id: string, timeoutMs = 5000) =>
      ({ v: 1, id, kind: 'collect-logs', serial: 'SN-1', issuedAt: new Date().toISOString(), timeoutMs }) as const;

    await expect(commands.send(target, command('cmd-offline'))).rejects.toSatisfy((e) =>
      isAppError(e, 'AGENT_OFFLINE'),
    );
    const online = nextBusEvent(t.hub.ctx.bus, 'agent-presence', (e) => e.status === 'online');
    await agent.send('presence', makePresence('online'));
    await online;

    await agent.client.subscribeAsync(topics.commandsFor('site-a', 'agent-1'), { qos: 1 });
    let answer = true;
    agent.client.on('message', (_topic, payload) => {
      const { id } = JSON.parse(payload.toString()) as { id: string };
      if (answer)
        void agent.send('reply', { v: 1, id, ok: false, code: 'DEVICE_TIMEOUT', error: 'device did not answer' });
    });
    await expect(commands.send(target, command('cmd-answered'))).resolves.toMatchObject({
      id: 'cmd-answered',
      ok: false,
      code: 'DEVICE_TIMEOUT',
    });

    answer = false;
    const pending = commands.send(target, command('cmd-dropped', 100)).then(
      () => new Error('expected a rejection'),
      (err: unknown) => err,
    );
    const offline = nextBusEvent(t.hub.ctx.bus, 'agent-presence', (e) => e.status === 'offline');
    await agent.send('presence', makePresence('offline'));
    await offline;
    const dropped = await pending;
    expect(String(dropped)).toMatch(/agent went offline/);
    expect(isAppError(dropped, 'AGENT_OFFLINE')).toBe(true);
  });

  it('keeps device state and history across a restart (same data folder)', async () => {
    const first = await startTestHub();
    const agent = await connectAgent(first.urls.mqttUrl, {
      agentId: 'agent-1',
      site: 'site-a',
      password: 'agent-1-secret',
    });
    const down = nextBusEvent(first.hub.ctx.bus, 'device-state', (tr) => tr.to === 'down');
    await agent.send('health', makeHealthRecord({ serial: 'SN-1', seq: 1 }));
    await agent.send('health', makeHealthRecord({ serial: 'SN-1', seq: 2, reachable: false }));
    await agent.send('health', makeHealthRecord({ serial: 'SN-1', seq: 3, reachable: false }));
    await down;
    const closed = agent.whenClosed();
    await first.hub.stop();
    await closed;
    await agent.close();

    const second = await hub(first.dataDir);
    cleanups.push(async () => (await import('node:fs')).rmSync(first.dataDir, { recursive: true, force: true }));
    const detail = (await (await second.api('/api/devices/SN-1')).json()) as DeviceView & {
      health: unknown[];
      history: unknown[];
    };
    expect(detail).toMatchObject({ state: 'down', reason: 'all-channels-failed', agentId: 'agent-1' });
    expect(detail.lastSeen).not.toBeNull();
    expect(detail.health).toHaveLength(3);
    expect(detail.history).toHaveLength(2);
  });
});
