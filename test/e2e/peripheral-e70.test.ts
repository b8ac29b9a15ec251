/**
 * Issue 18, peripherals as devices: a Studio E70 on a G7500 is a device of its own (its serial, model, host link,
 * contract line). Unplugging the E70 opens one P2 whose serial and contract are the E70's, not the G7500's; its
 * evidence comes from the host (the agent runs the E70's commands on the G7500).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthRecord } from '../../protocols/health.ts';
import type { SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import { LIVE_AGENT, LIVE_CUSTOMER, type LiveProduct, startLiveProduct } from '../helpers/live-product.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('Studio E70 as a device of its own', () => {
  let product: LiveProduct;
  let host: SimNetworkDeviceInfo;
  let e70: string;

  beforeAll(async () => {
    product = await startLiveProduct(
      { devices: 2, seed: 21, models: ['G7500', 'StudioX50'], tuning: { autoCalls: false } },
      (list) => {
        const g = list.find((d) => d.model === 'G7500') as SimNetworkDeviceInfo;
        const cam = g.peripherals.find((p) => p.kind === 'camera')?.serial as string;
        return {
          devices: [
            ...list.map((d) => ({ serial: d.serial, model: d.model, site: LIVE_AGENT.site, customer: LIVE_CUSTOMER })),
            { serial: cam, model: 'StudioE70', site: LIVE_AGENT.site, customer: LIVE_CUSTOMER },
          ],
          contracts: [
            {
              number: 'HZ-HOSTS-01',
              customer: LIVE_CUSTOMER,
              start: '2025-03-01',
              termYears: 3,
              serials: list.map((d) => d.serial),
            },
            { number: 'HZ-E70-01', customer: LIVE_CUSTOMER, start: '2026-01-15', termYears: 3, serials: [cam] },
          ],
        };
      },
    );
    host = product.devices.find((d) => d.model === 'G7500') as SimNetworkDeviceInfo;
    e70 = host.peripherals.find((p) => p.kind === 'camera')?.serial as string;
    const devices = product.hub.hub.ctx.services.devices;
    await waitFor(() => [host.serial, e70].every((s) => devices?.get(s)?.state === 'up'), {
      timeoutMs: 30_000,
      what: 'the G7500 and its E70 up',
    });
  });

  afterAll(async () => {
    await product?.close();
  });

  it('the agent reports the E70 with its own serial, model and host; the host record leaves the camera to it', async () => {
    const records: HealthRecord[] = [];
    const onRecord = (r: HealthRecord) => records.push(r);
    product.agent.on('record', onRecord);
    await waitFor(
      () => records.some((r) => r.identity.serial === e70) && records.some((r) => r.identity.serial === host.serial),
      {
        what: 'one record each',
      },
    );
    product.agent.off('record', onRecord);
    const cam = records.find((r) => r.identity.serial === e70) as HealthRecord;
    expect(cam.identity).toMatchObject({ serial: e70, model: 'StudioE70', hostSerial: host.serial });
    expect(cam.components).toEqual([expect.objectContaining({ kind: 'camera', status: 'ok' })]);
    const g = records.find((r) => r.identity.serial === host.serial) as HealthRecord;
    expect(g.components.some((c) => c.kind === 'camera')).toBe(false);
  });

  it('the hub links the E70 to its G7500 (GET /api/peripherals)', async () => {
    const link = await waitFor(
      async () => {
        const res = await product.hub.api(`/api/peripherals/${e70}`);
        return res.status === 200 ? ((await res.json()) as { hostSerial: string; model: string }) : undefined;
      },
      { what: 'the link' },
    );
    expect(link).toMatchObject({ hostSerial: host.serial, model: 'StudioE70' });
    const byHost = (await (await product.hub.api(`/api/peripherals?host=${host.serial}`)).json()) as {
      serial: string;
    }[];
    expect(byHost.map((p) => p.serial)).toEqual([e70]);
  });

  it('E70 unplugged: one P2 whose serial and contract are the E70s; nothing on the G7500', async () => {
    const tickets = product.hub.tickets;
    product.fleet.injectFault(host.serial, { kind: 'camera-disconnected' });
    const ticket = await waitFor(
      async () => (await tickets.list({ state: 'open' })).find((t) => t.serial === e70 && t.priority === 'P2'),
      { timeoutMs: 30_000, what: 'P2 for the E70' },
    );
    expect(ticket).toMatchObject({ serial: e70, contract: 'HZ-E70-01', coverage: 'active', channel: 'auto' });
    // evidence of the E70 ticket comes from its host (logs collected on the G7500)
    const withEvidence = await waitFor(
      async () => {
        const t = (await tickets.list({ state: 'open' })).find((x) => x.id === ticket.id);
        return t !== undefined && t.attachments.length > 0 ? t : undefined;
      },
      { timeoutMs: 60_000, what: 'attachments on the E70 ticket' },
    );
    expect(withEvidence.attachments.length).toBeGreaterThan(0);
    expect((await tickets.list({ state: 'open' })).filter((t) => t.serial === host.serial)).toEqual([]);
  });
});
