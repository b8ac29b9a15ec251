/**
 * Issue 6 end to end with the simulator, a real agent and the hub (SLA-2, SLA-4, SLA-16):
 * power-off on one device gives exactly one open P1 `auto` ticket with its contract number and attachments;
 * camera-disconnected gives one P2; a flapping device (repeated reboots) gives one ticket; restarting the hub in
 * the middle keeps every ticket and clock, and nothing is duplicated after the restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.ts';
import type { TicketView } from '../../hub/types.ts';
import type { Fleet, SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import type { EvidenceHub } from '../helpers/evidence-hub.ts';
import { LIVE_CUSTOMER, type LiveProduct, startLiveProduct } from '../helpers/live-product.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('automatic tickets from real faults (issue 6)', () => {
  let hub: EvidenceHub;
  let fleet: Fleet;
  let agent: Agent;
  let devices: SimNetworkDeviceInfo[];
  let product: LiveProduct | undefined;

  const openTickets = async (serial: string): Promise<TicketView[]> =>
    (await hub.tickets.list({ state: 'open' })).filter((t) => t.serial === serial);

  beforeAll(async () => {
    product = await startLiveProduct(
      { devices: 4, seed: 11, models: ['StudioX50', 'StudioX30'], tuning: { autoCalls: false } },
      (list) => ({
        contracts: [
          {
            number: 'HZ-E2E-0001',
            customer: LIVE_CUSTOMER,
            start: '2025-03-01',
            termYears: 3,
            serials: list.map((d) => d.serial),
          },
        ],
      }),
    );
    ({ fleet, devices, hub, agent } = product);
    await waitFor(() => devices.every((d) => hub.hub.ctx.services.devices?.get(d.serial)?.state === 'up'), {
      timeoutMs: 30_000,
      what: 'every device up',
    });
  });

  afterAll(async () => {
    await product?.close();
  });

  it('power-off: exactly one open P1 auto ticket with its contract number and attachments', async () => {
    const { serial } = devices[0]!;
    fleet.injectFault(serial, { kind: 'power-off' });
    const ticket = await waitFor(
      async () => {
        const t = (await openTickets(serial)).find((x) => x.priority === 'P1');
        return t !== undefined && t.attachments.length >= 2 ? t : undefined;
      },
      { timeoutMs: 60_000, what: 'P1 with attachments' },
    );
    expect(ticket).toMatchObject({ channel: 'auto', contract: 'HZ-E2E-0001', coverage: 'active', state: 'open' });
    expect(ticket.sla.reactionDue).not.toBeNull();
    // SLA-6: P1 reaction is 1 h of real time from the clock start.
    expect(Date.parse(ticket.sla.reactionDue!) - Date.parse(ticket.sla.clockStart!)).toBe(3_600_000);
    // More failed polls of the same dead device add nothing.
    await waitFor(() => agent.stats.connected && hub.hub.ctx.services.devices?.get(serial)?.state === 'down', {
      what: 'device down',
    });
    expect(await openTickets(serial)).toHaveLength(1);
  });

  it('camera-disconnected: one P2', async () => {
    const { serial } = devices[1]!;
    fleet.injectFault(serial, { kind: 'camera-disconnected' });
    const ticket = await waitFor(async () => (await openTickets(serial)).find((x) => x.priority === 'P2'), {
      timeoutMs: 30_000,
      what: 'P2 for the camera',
    });
    expect(ticket).toMatchObject({ channel: 'auto', contract: 'HZ-E2E-0001' });
    expect(await openTickets(serial)).toHaveLength(1);
  });

  it('a flapping device (three reboots in a minute) gives one ticket', async () => {
    const { serial } = devices[2]!;
    const sim = fleet.device(serial)!;
    for (let i = 0; i < 3; i++) {
      const booted = new Promise<void>((resolve) => sim.once('boot', () => resolve()));
      fleet.injectFault(serial, { kind: 'reboot', durationMs: 300 });
      await booted;
      // A flapping device stays up a few seconds between reboots; the agent must see it back before the next one.
      await waitFor(() => sim.uptimeS() >= 4, { timeoutMs: 10_000, what: `uptime after reboot ${i + 1}` });
      const seen = hub.hub.ctx.services.devices?.get(serial)?.lastSeen;
      await waitFor(() => hub.hub.ctx.services.devices?.get(serial)?.lastSeen !== seen, {
        timeoutMs: 10_000,
        what: `poll after reboot ${i + 1}`,
      });
    }
    await waitFor(() => hub.hub.ctx.services.devices?.get(serial)?.state === 'degraded', {
      timeoutMs: 30_000,
      what: 'degraded (flapping)',
    });
    const tickets = await waitFor(
      async () => {
        const open = await openTickets(serial);
        return open.length > 0 ? open : undefined;
      },
      {
        timeoutMs: 10_000,
        what: 'a ticket for the flapping device',
      },
    );
    expect(tickets).toHaveLength(1);
    expect(hub.hub.ctx.services.devices?.get(serial)?.reason).toMatch(/flap/);
  });

  it('a hub restart keeps every ticket and clock and duplicates nothing', async () => {
    const before = await hub.tickets.list({ state: 'all' });
    expect(before.length).toBeGreaterThanOrEqual(3);
    await hub.restart();
    await waitFor(() => agent.stats.connected, { timeoutMs: 30_000, what: 'agent reconnected' });
    // let the agent report every device again after the restart
    const seen = new Map(devices.map((d) => [d.serial, hub.hub.ctx.services.devices?.get(d.serial)?.lastSeen]));
    await waitFor(
      () => devices.every((d) => hub.hub.ctx.services.devices?.get(d.serial)?.lastSeen !== seen.get(d.serial)),
      { timeoutMs: 30_000, what: 'fresh records after the restart' },
    );
    const after = await hub.tickets.list({ state: 'all' });
    expect(after.map((t) => t.id).sort()).toEqual(before.map((t) => t.id).sort());
    for (const t of before) {
      const same = after.find((x) => x.id === t.id)!;
      expect(same.priority).toBe(t.priority);
      expect(same.sla.clockStart).toBe(t.sla.clockStart);
      expect(same.sla.reactionDue).toBe(t.sla.reactionDue);
    }
    // The dead device goes back to `down` once the agent's records arrive again: still one ticket.
    await waitFor(() => hub.hub.ctx.services.devices?.get(devices[0]!.serial)?.state === 'down', {
      timeoutMs: 30_000,
      what: 'dead device down again after the restart',
    });
    expect(await hub.tickets.list({ state: 'all' })).toHaveLength(before.length);
    for (const d of devices.slice(0, 3)) expect(await openTickets(d.serial)).toHaveLength(1);
  });
});
