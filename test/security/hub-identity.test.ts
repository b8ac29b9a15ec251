/**
 * Attack family: on-path attacker between agent and device, hub side (issue 13). The agent's
 * `certificate-changed` / `ssh-host-key-changed` events become a visible alert (API device view, NOC stream),
 * a note on the open ticket; only the admin can accept the new identity, through the agent of the device's
 * site; the alert clears on that agent's ok reply. An impostor agent cannot raise or clear an alert.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../protocols/messages.ts';
import { encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord, makePresence } from '../helpers/health-record.ts';
import { startTestHub, TEST_AGENTS, TEST_READ_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';
import { connectAgent, type FakeAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent, waitFor } from '../helpers/wait-for.ts';

const [A1, A2] = TEST_AGENTS;
const SERIAL = 'SN-A';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface DeviceWithAlerts {
  identityAlerts?: Array<{ channel: string; fingerprint: string | null; status: string }>;
}

async function setup(): Promise<{ t: TestHub; owner: FakeAgent; commands: Command[] }> {
  const t = await startTestHub({
    modules: 'all',
    config: {
      adoption: { unknownDevices: 'pending' },
      devices: [{ serial: SERIAL, model: 'StudioX50', site: A1.site, customer: 'acme' }],
      detection: { downAfterFailedPolls: 1 },
    },
  });
  cleanups.push(() => t.close());
  const owner = await connectAgent(t.urls.mqttUrl, { agentId: A1.id, site: A1.site, password: A1.password });
  cleanups.push(() => owner.close());
  const commands: Command[] = [];
  await owner.client.subscribeAsync(topics.commandsFor(A1.site, A1.id), { qos: 1 });
  owner.client.on('message', (_topic, payload) => commands.push(JSON.parse(payload.toString()) as Command));
  await owner.send('presence', makePresence('online', { agentId: A1.id, site: A1.site, devices: [SERIAL] }));
  // The device goes down: a P1 is open when the identity changes.
  await owner.send('health', makeHealthRecord({ agentId: A1.id, site: A1.site, serial: SERIAL, reachable: false }));
  await waitFor(async () => ((await (await t.api('/api/tickets')).json()) as unknown[]).length === 1, {
    what: 'the P1',
  });
  return { t, owner, commands };
}

const changed = (agentId: string, type: 'certificate-changed' | 'ssh-host-key-changed', detail: string) => ({
  v: 1 as const,
  agentId,
  serial: SERIAL,
  at: new Date().toISOString(),
  replayed: false,
  type,
  detail,
});

const REFUSED =
  'certificate changed without a reboot being seen; refused, REST not used, no credentials sent (was sha256:aa11, now sha256:bb22)';

describe('identity alerts at the hub', () => {
  it('a changed certificate is an alert on the device and a note on its ticket; the admin accepts it', async () => {
    const { t, owner, commands } = await setup();
    const shown = nextBusEvent(t.hub.ctx.bus, 'device', (d) => (d.identityAlerts?.length ?? 0) > 0);
    await owner.send('event', changed(A1.id, 'certificate-changed', REFUSED));
    expect((await shown).identityAlerts).toEqual([
      expect.objectContaining({ channel: 'rest', fingerprint: 'sha256:bb22', status: 'refused' }),
    ]);
    const view = (await (await t.api(`/api/devices/${SERIAL}`)).json()) as DeviceWithAlerts;
    expect(view.identityAlerts).toHaveLength(1);
    const [ticket] = (await (await t.api('/api/tickets')).json()) as Array<{ id: string }>;
    const detail = (await (await t.api(`/api/tickets/${ticket!.id}`)).json()) as {
      history: Array<{ note: string; kind: string }>;
    };
    expect(detail.history.map((e) => e.note).join('\n')).toContain('IDENTITY_CHANGED');
    // for engineers only: a customer reading the ticket never sees it
    expect(detail.history.find((e) => e.note.includes('IDENTITY_CHANGED'))?.kind).toBe('internal-note');

    // A read-only token cannot accept.
    const readOnly = await t.api(`/api/devices/${SERIAL}/accept-identity`, {
      method: 'POST',
      token: TEST_READ_TOKEN,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'rest' }),
    });
    expect(readOnly.status).toBe(403);

    // The admin accepts: the command goes to the owner, who answers ok; the alert clears.
    owner.client.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as Command;
      if (cmd.kind !== 'accept-identity') return;
      void owner.client
        .publishAsync(
          topics.reply(A1.site, A1.id),
          encodeMessage('reply', { v: 1, id: cmd.id, ok: true, data: { pinned: cmd.identity?.fingerprint ?? '' } }),
          { qos: 1 },
        )
        .catch(() => {});
    });
    const res = await t.api(`/api/devices/${SERIAL}/accept-identity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'rest' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ serial: SERIAL, channel: 'rest', fingerprint: 'sha256:bb22', accepted: true });
    const sent = commands.find((c) => c.kind === 'accept-identity')!;
    expect(sent).toMatchObject({ serial: SERIAL, identity: { channel: 'rest', fingerprint: 'sha256:bb22' } });
    const after = (await (await t.api(`/api/devices/${SERIAL}`)).json()) as DeviceWithAlerts;
    expect(after.identityAlerts).toBeUndefined();
  });

  it('an agent`s error reply leaves the alert; an impostor of another site can neither raise nor clear one', async () => {
    const { t, owner } = await setup();
    owner.client.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as Command;
      if (cmd.kind !== 'accept-identity') return;
      void owner.client
        .publishAsync(
          topics.reply(A1.site, A1.id),
          encodeMessage('reply', { v: 1, id: cmd.id, ok: false, code: 'DEVICE_TLS', error: 'fingerprint not seen' }),
          { qos: 1 },
        )
        .catch(() => {});
    });
    const impostor = await connectAgent(t.urls.mqttUrl, { agentId: A2.id, site: A2.site, password: A2.password });
    cleanups.push(() => impostor.close());
    const refused = nextBusEvent(t.hub.ctx.bus, 'rejected', (r) => r.reason === 'FOREIGN_DEVICE');
    await impostor.send('event', changed(A2.id, 'ssh-host-key-changed', 'SSH host key changed (was a, now b)'));
    await refused;
    expect(((await (await t.api(`/api/devices/${SERIAL}`)).json()) as DeviceWithAlerts).identityAlerts).toBeUndefined();

    const shown = nextBusEvent(t.hub.ctx.bus, 'device', (d) => (d.identityAlerts?.length ?? 0) > 0);
    await owner.send(
      'event',
      changed(A1.id, 'ssh-host-key-changed', `\u202e${REFUSED.replace('certificate', 'SSH host key')}\u001b[2J`),
    );
    await shown;
    const res = await t.api(`/api/devices/${SERIAL}/accept-identity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'ssh' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('DEVICE_TLS');
    const view = (await (await t.api(`/api/devices/${SERIAL}`)).json()) as DeviceWithAlerts;
    expect(view.identityAlerts).toEqual([expect.objectContaining({ channel: 'ssh', status: 'refused' })]);
    // Control characters and bidi overrides from the agent's text never reach people.
    expect(JSON.stringify(view.identityAlerts)).not.toMatch(/\\u202e|\\u001b|\u202e|\u001b/i);
    expect(view.identityAlerts?.[0]).toMatchObject({ detail: expect.stringMatching(/^\uFFFDSSH host key changed/) });
  });
});
