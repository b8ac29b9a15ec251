/**
 * Issue 7 end to end (SLA-11): simulator + real agent + hub on loopback. A camera that disconnects opens a P2
 * that arrives with a fresh log archive mentioning the camera and the service tests; a device that loses power
 * opens a P1 with the agent's cached archive (and its capture time) and the failed service tests.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TicketView } from '../../hub/types.ts';
import { readTarEntries } from '../../protocols/tar-archive.ts';
import type { Fleet, SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import type { EvidenceHub } from '../helpers/evidence-hub.ts';
import { type LiveProduct, startLiveProduct } from '../helpers/live-product.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('evidence on automatic tickets, end to end', () => {
  let hub: EvidenceHub;
  let fleet: Fleet;
  let devices: SimNetworkDeviceInfo[];
  let product: LiveProduct | undefined;

  beforeAll(async () => {
    product = await startLiveProduct({ devices: 2, seed: 7, models: ['StudioX50'], tuning: { autoCalls: false } });
    ({ fleet, devices, hub } = product);
    const tmp = { dir: product.agentDataDir };
    // every device up, and the agent has cached an archive of each (the dead device will need it)
    await waitFor(
      () =>
        devices.every(
          (d) =>
            hub.hub.ctx.services.devices?.get(d.serial)?.state === 'up' &&
            existsSync(join(tmp.dir, 'log-cache', `${d.serial}.json`)),
        ),
      { timeoutMs: 30_000, what: 'devices up with cached archives' },
    );
  });

  afterAll(async () => {
    await product?.close();
  });

  async function ticketWithEvidence(serial: string, priority: 'P1' | 'P2'): Promise<TicketView> {
    return waitFor(
      async () => {
        const t = (await hub.tickets.list({ state: 'open' })).find(
          (x) => x.serial === serial && x.priority === priority,
        );
        if (t === undefined) return undefined;
        const kinds = new Set(t.attachments.map((a) => a.kind));
        const isComplete = kinds.has('device-logs') && kinds.has('service-tests') && kinds.has('agent-trace');
        return isComplete && t.summary?.includes('service tests') ? t : undefined;
      },
      { timeoutMs: 60_000, what: `${priority} ticket of ${serial} with its evidence` },
    );
  }

  async function download(ticketId: string, name: string): Promise<Buffer> {
    const res = await hub.api(`/api/tickets/${ticketId}/attachments/${name}`);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  it('camera disconnected: P2 with a fresh archive whose log lines mention the camera, and service tests', async () => {
    const device = devices[0]!;
    const faultAt = Date.now();
    fleet.injectFault(device.serial, { kind: 'camera-disconnected' });
    const t = await ticketWithEvidence(device.serial, 'P2');
    expect(t.channel).toBe('auto');
    const logs = t.attachments.find((a) => a.kind === 'device-logs')!;
    expect(logs.name).toBe('device-logs.tar.gz');
    expect(Date.parse(logs.capturedAt!)).toBeGreaterThanOrEqual(faultAt - 1000); // fresh, not the cache
    const entries = await readTarEntries(gunzipSync(await download(t.id, logs.name)));
    const text = entries.map((e) => e.data.toString('utf8')).join('\n');
    expect(text).toMatch(/CameraManager: camera ".+" disconnected/);
    expect(text).not.toContain(device.password);
    const tests = JSON.parse((await download(t.id, 'service-tests.json')).toString('utf8')) as {
      tests: { name: string; ok: boolean }[];
    };
    expect(tests.tests.find((x) => x.name === 'rest-login')?.ok).toBe(true);
    expect(t.summary).toContain('last log lines mention camera');
    expect(hub.logText()).not.toContain(device.password);
  });

  it('power off: P1 with the cached archive (capturedAt) and the failed service tests', async () => {
    const device = devices[1]!;
    const offAt = Date.now();
    fleet.injectFault(device.serial, { kind: 'power-off' });
    const t = await ticketWithEvidence(device.serial, 'P1');
    const logs = t.attachments.find((a) => a.kind === 'device-logs')!;
    expect(Date.parse(logs.capturedAt!)).toBeLessThan(offAt); // taken before the power went
    const tests = JSON.parse((await download(t.id, 'service-tests.json')).toString('utf8')) as {
      tests: { name: string; ok: boolean; skipped?: string }[];
    };
    const run = tests.tests.filter((x) => !x.skipped);
    expect(run.length).toBeGreaterThan(0);
    expect(run.every((x) => !x.ok)).toBe(true);
    const full = (await hub.tickets.get(t.id))!;
    expect(full.history.map((h) => h.note).join('\n')).toContain("the agent's cached archive captured at");
    expect(t.summary).toMatch(/logs from the cached archive captured .*old/);
    expect(t.summary).toMatch(/service tests 0\/\d+ passed/);
  });
});
