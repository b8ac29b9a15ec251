/**
 * Attack family: an authenticated agent of one site speaks for devices of another site (issue 13).
 * Real hub (aedes over TCP, SQLite, every module) and real MQTT.js clients: agent-1 is site-a (owner of SN-A),
 * agent-2 is site-b (the impostor). Each spoofing path is refused, counted by reason, and moves nothing.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord, makePresence } from '../helpers/health-record.ts';
import { startTestHub, TEST_AGENTS, type TestHub } from '../helpers/hub-fixture.ts';
import { connectAgent, type FakeAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent, waitFor } from '../helpers/wait-for.ts';

const [A1, A2] = TEST_AGENTS;
const VICTIM = 'SN-A';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function hub(): Promise<TestHub> {
  const t = await startTestHub({
    modules: 'all',
    config: {
      adoption: { unknownDevices: 'pending', maxPendingPerAgent: 50 },
      devices: [{ serial: VICTIM, model: 'StudioX50', site: 'site-a', customer: 'acme' }],
      contracts: [{ number: 'HZ-1', customer: 'acme', start: '2025-01-01', termYears: 3, serials: [VICTIM] }],
      detection: { downAfterFailedPolls: 1 },
    },
  });
  cleanups.push(() => t.close());
  return t;
}

async function agent(t: TestHub, who: (typeof TEST_AGENTS)[number]): Promise<FakeAgent> {
  const a = await connectAgent(t.urls.mqttUrl, { agentId: who.id, site: who.site, password: who.password });
  cleanups.push(() => a.close());
  return a;
}

function rejected(t: TestHub, reason: string) {
  return nextBusEvent(t.hub.ctx.bus, 'rejected', (r) => r.reason === reason);
}

async function tickets(t: TestHub): Promise<Array<{ serial: string }>> {
  return (await (await t.api('/api/tickets?state=all')).json()) as Array<{ serial: string }>;
}

const down = (agentId: string, site: string, serial = VICTIM) =>
  makeHealthRecord({ agentId, site, serial, reachable: false, customer: 'evil' });

describe('device ownership: an agent speaks only for its own site', () => {
  it('a health record for another site`s device is refused: no state change, no ticket', async () => {
    const t = await hub();
    const impostor = await agent(t, A2);
    const refused = rejected(t, 'FOREIGN_DEVICE');
    await impostor.send('health', down(A2.id, A2.site));
    await refused;
    expect(await t.metric('hezo_messages_rejected_total', { reason: 'FOREIGN_DEVICE' })).toBe(1);
    const view = (await (await t.api(`/api/devices/${VICTIM}`)).json()) as { state: string; site: string };
    expect(view).toMatchObject({ state: 'unknown', site: 'site-a' });
    expect(await tickets(t)).toEqual([]);
  });

  it('the owner`s own record is accepted (the check is not a blanket refusal)', async () => {
    const t = await hub();
    const owner = await agent(t, A1);
    const state = nextBusEvent(t.hub.ctx.bus, 'device-state', (s) => s.serial === VICTIM && s.to === 'down');
    await owner.send('health', down(A1.id, A1.site));
    await state;
    await waitFor(async () => (await tickets(t)).some((x) => x.serial === VICTIM), { what: 'the P1 ticket' });
  });

  it('a device-gone event for another site`s device is refused', async () => {
    const t = await hub();
    const impostor = await agent(t, A2);
    const refused = rejected(t, 'FOREIGN_DEVICE');
    await impostor.send('event', {
      v: 1,
      agentId: A2.id,
      serial: VICTIM,
      at: new Date().toISOString(),
      replayed: false,
      type: 'device-gone',
      detail: 'gone',
    });
    await refused;
    const view = (await (await t.api(`/api/devices/${VICTIM}`)).json()) as { state: string };
    expect(view.state).toBe('unknown');
    expect(await tickets(t)).toEqual([]);
  });

  it('a presence list naming another site`s device is refused, so its going offline touches nothing', async () => {
    const t = await hub();
    const owner = await agent(t, A1);
    const up = nextBusEvent(t.hub.ctx.bus, 'device-state', (s) => s.serial === VICTIM && s.to === 'up');
    await owner.send('health', makeHealthRecord({ agentId: A1.id, site: A1.site, serial: VICTIM }));
    await up;
    const impostor = await agent(t, A2);
    const refused = rejected(t, 'FOREIGN_DEVICE');
    await impostor.send('presence', makePresence('online', { agentId: A2.id, site: A2.site, devices: [VICTIM] }));
    await refused;
    const presence = nextBusEvent(t.hub.ctx.bus, 'agent-presence', (p) => p.agentId === A2.id);
    await impostor.send('presence', makePresence('offline', { agentId: A2.id, site: A2.site }));
    await presence;
    const view = (await (await t.api(`/api/devices/${VICTIM}`)).json()) as { state: string };
    expect(view.state).toBe('up');
  });

  it('commands about a device go only to an agent of its site; forged logs from the impostor are refused', async () => {
    const t = await hub();
    const owner = await agent(t, A1);
    const impostor = await agent(t, A2);
    const seenByImpostor: string[] = [];
    const seenByOwner: Command[] = [];
    await impostor.client.subscribeAsync(topics.commandsFor(A2.site, A2.id), { qos: 1 });
    await owner.client.subscribeAsync(topics.commandsFor(A1.site, A1.id), { qos: 1 });
    impostor.client.on('message', (topic) => seenByImpostor.push(topic));
    owner.client.on('message', (_topic, payload) => seenByOwner.push(JSON.parse(payload.toString()) as Command));
    await impostor.send('presence', makePresence('online', { agentId: A2.id, site: A2.site }));
    await owner.send('presence', makePresence('online', { agentId: A1.id, site: A1.site }));
    await waitFor(() => t.hub.ctx.services.commands?.isOnline(A2.id), { what: 'agent-2 online' });

    // The hub itself refuses to address the impostor about the victim's device.
    const commands = t.hub.ctx.services.commands!;
    const cmd: Command = {
      v: 1,
      id: `cmd-${randomBytes(4).toString('hex')}`,
      kind: 'collect-logs',
      serial: VICTIM,
      issuedAt: new Date().toISOString(),
      timeoutMs: 1000,
    };
    await expect(commands.send({ site: A2.site, agentId: A2.id }, cmd)).rejects.toMatchObject({ code: 'FORBIDDEN' });

    // A real P1 (from the owner) sends its evidence commands to the owner only.
    await owner.send('health', down(A1.id, A1.site));
    await waitFor(() => seenByOwner.find((c) => c.serial === VICTIM), { what: 'an evidence command to the owner' });
    const real = seenByOwner.find((c) => c.serial === VICTIM)!;
    expect(seenByImpostor).toEqual([]);

    // The impostor answers that command with a forged log archive: refused at the boundary.
    const data = Buffer.from('forged device log\n');
    const refused = rejected(t, 'FOREIGN_DEVICE');
    await impostor.send('attachment', {
      v: 1,
      transferId: `tr-${randomBytes(4).toString('hex')}`,
      commandId: real.id,
      serial: VICTIM,
      name: 'device-logs.txt',
      kind: 'device-logs',
      seq: 0,
      total: 1,
      size: data.length,
      sha256: (await import('node:crypto')).createHash('sha256').update(data).digest('hex'),
      data: data.toString('base64'),
    });
    await refused;
    const [ticket] = await tickets(t);
    const detail = (await (await t.api(`/api/tickets/${(ticket as unknown as { id: string }).id}`)).json()) as {
      attachments?: Array<{ name: string }>;
    };
    expect((detail.attachments ?? []).map((a) => a.name)).not.toContain('device-logs.txt');
  });

  it('100 made-up serials: none registered, 50 pending (the cap), no ticket; an admin adopts or rejects', async () => {
    const t = await hub();
    const impostor = await agent(t, A2);
    const serials = Array.from({ length: 100 }, (_, i) => `FAKE-${String(i).padStart(3, '0')}`);
    for (const serial of serials) await impostor.send('health', down(A2.id, A2.site, serial));
    await waitFor(
      async () =>
        (await t.metric('hezo_messages_rejected_total', { reason: 'PENDING_ADOPTION' })) +
          (await t.metric('hezo_messages_rejected_total', { reason: 'PENDING_LIMIT' })) ===
        100,
      { what: '100 rejections' },
    );
    expect(await t.metric('hezo_messages_rejected_total', { reason: 'PENDING_LIMIT' })).toBe(50);
    const devices = (await (await t.api('/api/devices')).json()) as Array<{ serial: string }>;
    expect(devices.map((d) => d.serial)).toEqual([VICTIM]);
    expect(await tickets(t)).toEqual([]);
    const pending = (await (await t.api('/api/devices/pending')).json()) as Array<{ serial: string; site: string }>;
    expect(pending).toHaveLength(50);
    expect(pending[0]).toMatchObject({ serial: 'FAKE-000', site: 'site-b', agentId: A2.id, model: 'StudioX50' });

    const post = (path: string, body: unknown) =>
      t.api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/api/devices/pending/FAKE-000/adopt', { customer: 'globex', contract: 'HZ-1' })).status).toBe(
      400,
    );
    const adopted = await post('/api/devices/pending/FAKE-000/adopt', { customer: 'globex', name: 'Room 7' });
    expect(adopted.status).toBe(201);
    expect(await adopted.json()).toMatchObject({ serial: 'FAKE-000', site: 'site-b', customer: 'globex' });
    expect((await post('/api/devices/pending/FAKE-001/reject', {})).status).toBe(200);
    expect((await post('/api/devices/pending/FAKE-001/reject', {})).status).toBe(404);
    const after = (await (await t.api('/api/devices/pending')).json()) as Array<{ serial: string }>;
    expect(after.map((d) => d.serial)).not.toContain('FAKE-000');
    expect(after.map((d) => d.serial)).not.toContain('FAKE-001');

    // The adopted one is a real device now; the rejected one stays refused.
    const state = nextBusEvent(t.hub.ctx.bus, 'device-state', (s) => s.serial === 'FAKE-000');
    await impostor.send('health', makeHealthRecord({ agentId: A2.id, site: A2.site, serial: 'FAKE-000' }));
    await state;
    const refused = rejected(t, 'REJECTED_DEVICE');
    await impostor.send('health', down(A2.id, A2.site, 'FAKE-001'));
    await refused;
    // A read-only token may look but not adopt.
    expect((await t.api('/api/devices/pending', { token: 'test-read-token-0123456789ab' })).status).toBe(200);
  });
});
