/**
 * Issue 18, safe remote reboot, with the simulator (`rest-hung`: TCP and TLS accept, HTTP never answers; SSH
 * `reboot now`), the real agent and the hub: at 02:00 under an allowing policy the hung unit is rebooted once
 * (REST cannot take it, the SSH CLI does), comes back, and its ticket shows the sequence; under a denying policy, or
 * during a call, nothing is rebooted and the ticket says why. The policy reads the time of day on its own clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../agent/agent.ts';
import { createRebootModule } from '../../hub/reboot/module.ts';
import type { RebootRecord } from '../../hub/reboot/reboot-store.ts';
import { createTicketsModule } from '../../hub/tickets/module.ts';
import type { TicketHistoryEntry, TicketView } from '../../hub/types.ts';
import { systemClock } from '../../protocols/clock.ts';
import { createFleet } from '../../simulator/fleet.ts';
import { agentConfigForFleet, silentLogger, tempDir } from '../helpers/agent-harness.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** 02:00 in Warsaw (01:00 UTC in winter). */
const AT_2AM = { now: () => Date.parse('2026-11-30T01:00:00Z'), setTimer: systemClock.setTimer };

async function setup(policies: unknown[]) {
  const fleet = createFleet({
    devices: 1,
    seed: 9,
    models: ['StudioX50'],
    logger: silentLogger,
    tuning: { autoCalls: false, rebootDurationMs: 1500 },
  });
  await fleet.start();
  cleanups.push(() => fleet.stop());
  const serial = fleet.devices()[0]!.serial;
  const t = await startTestHub({
    modules: [createTicketsModule, (ctx) => createRebootModule(ctx, { policyClock: AT_2AM })],
    config: {
      agents: [{ id: 'agent-1', site: 'site-1', password: 'agent-1-secret' }],
      customers: [{ id: 'cust-1', name: 'Customer One' }],
      devices: [{ serial, model: 'StudioX50', site: 'site-1', customer: 'cust-1' }],
      remoteReboot: { policies, hungPolls: 3 },
    },
  });
  cleanups.push(() => t.close());
  const data = tempDir();
  cleanups.push(() => data.close());
  const agent = createAgent(
    agentConfigForFleet(fleet.devices(), t.urls.mqttUrl, data.dir, {
      mqtt: { url: t.urls.mqttUrl, keepaliveS: 5, username: 'agent-1', password: 'agent-1-secret' },
      // REST on every poll: a hung REST service shows only there (with the default cadence it is seen at the next
      // REST read, at most restIntervalMs later: agent-rest-cadence.test.ts)
      restIntervalMs: 0,
    }),
    { logger: silentLogger },
  );
  await agent.start();
  cleanups.push(() => agent.stop());
  await waitFor(() => t.hub.ctx.services.devices?.get(serial)?.state === 'up', {
    what: 'device up',
    timeoutMs: 20_000,
  });
  const history = async (): Promise<string[]> => {
    const open = (await (await t.api('/api/tickets?state=open')).json()) as TicketView[];
    const ticket = open.find((x) => x.serial === serial);
    if (!ticket) return [];
    const full = (await (await t.api(`/api/tickets/${ticket.id}`)).json()) as { history: TicketHistoryEntry[] };
    return full.history.map((h) => h.note ?? '');
  };
  const reboots = async () => (await (await t.api(`/api/reboots?serial=${serial}`)).json()) as RebootRecord[];
  return { fleet, serial, t, history, reboots };
}

describe('safe remote reboot', () => {
  it('rest-hung at 02:00, policy allows: rebooted once over SSH, comes back, the ticket shows the sequence', async () => {
    const { fleet, serial, history, reboots } = await setup([
      { customer: 'cust-1', allowedFrom: '01:00', allowedTo: '05:00' },
    ]);
    fleet.injectFault(serial, { kind: 'rest-hung' });
    const notes = await waitFor(
      async () => {
        const h = await history();
        return h.some((n) => n.startsWith('recovered after remote reboot')) ? h : undefined;
      },
      { what: 'recovered after remote reboot', timeoutMs: 45_000 },
    );
    const at = (prefix: string) => notes.findIndex((n) => n.startsWith(prefix));
    expect(at('remote reboot: REST hung')).toBeGreaterThanOrEqual(0);
    expect(notes[at('remote reboot: REST hung')]).toContain('before:');
    expect(at('remote reboot sent through the SSH CLI')).toBeGreaterThan(at('remote reboot: REST hung'));
    expect(at('recovered after remote reboot')).toBeGreaterThan(at('remote reboot sent through'));
    expect(notes[at('recovered after remote reboot')]).toContain('rest ok');
    const done = await reboots();
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ trigger: 'auto', channel: 'ssh', result: 'recovered' });
  });

  it('denying policy: nothing is rebooted and the ticket says why', async () => {
    const { fleet, serial, history, reboots } = await setup([]);
    fleet.injectFault(serial, { kind: 'rest-hung' });
    const why = await waitFor(async () => (await history()).find((n) => n.startsWith('remote reboot not done')), {
      what: 'the refusal on the ticket',
      timeoutMs: 30_000,
    });
    expect(why).toContain('does not allow automatic reboots');
    expect(await reboots()).toEqual([]);
  });

  it('allowed hours but in a call: nothing is rebooted and the ticket says why', async () => {
    const { fleet, serial, history, reboots } = await setup([{ customer: 'cust-1' }]);
    fleet.startCall(serial, { farSiteName: 'Board room' });
    fleet.injectFault(serial, { kind: 'rest-hung' });
    const why = await waitFor(async () => (await history()).find((n) => n.startsWith('remote reboot not done')), {
      what: 'the refusal on the ticket',
      timeoutMs: 30_000,
    });
    expect(why).toContain('in a call');
    expect(await reboots()).toEqual([]);
  });
});

describe('engineer-triggered reboot', () => {
  it('POST /api/devices/:serial/reboot with a reason reboots over REST (no policy needed); a missing reason is 400', async () => {
    const { serial, t, reboots } = await setup([]);
    const bad = await t.api(`/api/devices/${serial}/reboot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'eng.nowak' }),
    });
    expect(bad.status).toBe(400);
    const res = await t.api(`/api/devices/${serial}/reboot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'eng.nowak', reason: 'customer reports a frozen screen' }),
    });
    expect(res.status).toBe(202);
    const done = await waitFor(async () => (await reboots()).find((r) => r.result === 'recovered'), {
      what: 'back after the manual reboot',
      timeoutMs: 30_000,
    });
    // the actor is the signed-in caller (here the config's admin token), not what the body claims
    expect(done).toMatchObject({
      trigger: 'manual',
      channel: 'rest',
      reason: 'customer reports a frozen screen',
    });
  });
});
