/**
 * Interop with real Debian mosquitto: its command-line clients against the hub's embedded broker, and the hub in
 * `mqtt.mode: external` against a real mosquitto broker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceView } from '../../hub/types.ts';
import { encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord, makePresence } from '../helpers/health-record.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { run, startMosquitto } from '../helpers/mosquitto.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent, waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function mosquittoArgs(url: string): string[] {
  const { hostname, port } = new URL(url);
  return ['-h', hostname, '-p', port, '-V', 'mqttv311', '-q', '1'];
}

describe('embedded broker vs mosquitto clients', () => {
  it('refuses mosquitto_pub without credentials', async () => {
    const t = await startTestHub();
    cleanups.push(() => t.close());
    const record = encodeMessage('health', makeHealthRecord({ serial: 'SN-ANON' }));
    const result = await run('mosquitto_pub', [
      ...mosquittoArgs(t.urls.mqttUrl),
      '-t',
      topics.health('site-a', 'agent-1', 'SN-ANON'),
      '-m',
      record,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/not authori[sz]ed|Connection refused|bad user name or password/i);
    expect(await t.metric('hezo_mqtt_auth_denied_total', { action: 'connect', reason: 'anonymous' })).toBe(1);
    expect((await t.api('/api/devices/SN-ANON')).status).toBe(404);
  });

  it("refuses mosquitto_pub with one agent's credentials on another agent's topic", async () => {
    const t = await startTestHub();
    cleanups.push(() => t.close());
    const ingested: string[] = [];
    t.hub.ctx.bus.on('ingest:health', (m) => ingested.push(m.message.identity.serial));
    const forged = encodeMessage(
      'health',
      makeHealthRecord({ agentId: 'agent-2', site: 'site-b', serial: 'SN-FORGED' }),
    );
    await run('mosquitto_pub', [
      ...mosquittoArgs(t.urls.mqttUrl),
      '-u',
      'agent-1',
      '-P',
      'agent-1-secret',
      // Client ids are bound to their agent (issue 13): `agent-1[-...]`, not mosquitto_pub's random `mosq-...`.
      '-i',
      'agent-1-pub',
      '-t',
      topics.health('site-b', 'agent-2', 'SN-FORGED'),
      '-m',
      forged,
    ]);
    await waitFor(
      async () => (await t.metric('hezo_mqtt_auth_denied_total', { action: 'publish', reason: 'foreign-topic' })) === 1,
      {
        what: 'the denied publish',
      },
    );
    // Its own topic works with the same credentials: the denial is about the topic, not the login.
    const own = nextBusEvent(t.hub.ctx.bus, 'device-state', (tr) => tr.serial === 'SN-OWN');
    const result = await run('mosquitto_pub', [
      ...mosquittoArgs(t.urls.mqttUrl),
      '-u',
      'agent-1',
      '-P',
      'agent-1-secret',
      // Client ids are bound to their agent (issue 13): `agent-1[-...]`, not mosquitto_pub's random `mosq-...`.
      '-i',
      'agent-1-pub',
      '-t',
      topics.health('site-a', 'agent-1', 'SN-OWN'),
      '-m',
      encodeMessage('health', makeHealthRecord({ serial: 'SN-OWN' })),
    ]);
    expect(result.code).toBe(0);
    await own;
    expect(ingested).toEqual(['SN-OWN']);
    expect((await t.api('/api/devices/SN-FORGED')).status).toBe(404);
  });
});

describe('external mode against a real mosquitto', () => {
  it('ingests agent messages through mosquitto and sends commands back', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const t = await startTestHub({ config: { mqtt: { mode: 'external', url: broker.url } } });
    cleanups.push(() => t.close());
    const agent = await connectAgent(broker.url, { agentId: 'agent-1', site: 'site-a' });
    cleanups.push(() => agent.close());

    const up = nextBusEvent(t.hub.ctx.bus, 'device-state', (tr) => tr.serial === 'SN-EXT' && tr.to === 'up');
    await agent.send('presence', makePresence('online', { devices: ['SN-EXT'] }), { retain: true });
    await agent.send('health', makeHealthRecord({ serial: 'SN-EXT' }));
    await up;
    const list = (await (await t.api('/api/devices')).json()) as DeviceView[];
    expect(list.find((d) => d.serial === 'SN-EXT')).toMatchObject({ state: 'up', agentId: 'agent-1' });

    // An agent publishing as a registered agent from the wrong site is refused by the hub (TOPIC_MISMATCH).
    await agent.raw(
      topics.health('site-z', 'agent-1', 'SN-EXT'),
      encodeMessage('health', makeHealthRecord({ site: 'site-z', serial: 'SN-EXT' })),
    );
    await waitFor(async () => (await t.metric('hezo_messages_rejected_total', { reason: 'TOPIC_MISMATCH' })) === 1, {
      what: 'TOPIC_MISMATCH',
    });

    // Command round trip: hub -> mosquitto -> agent -> reply -> hub.
    await agent.client.subscribeAsync(topics.commandsFor('site-a', 'agent-1'), { qos: 1 });
    agent.client.on('message', (_topic, payload) => {
      const command = JSON.parse(payload.toString()) as { id: string };
      void agent.send('reply', { v: 1, id: command.id, ok: true, data: { echoed: command.id } });
    });
    const commands = t.hub.ctx.services.commands!;
    const reply = await commands.send(
      { site: 'site-a', agentId: 'agent-1' },
      {
        v: 1,
        id: 'cmd-000001',
        kind: 'poll-now',
        serial: 'SN-EXT',
        issuedAt: new Date().toISOString(),
        timeoutMs: 5000,
      },
    );
    expect(reply).toEqual({ v: 1, id: 'cmd-000001', ok: true, data: { echoed: 'cmd-000001' } });
    expect(commands.agentFor('SN-EXT')).toEqual({ site: 'site-a', agentId: 'agent-1' });
  });
});
