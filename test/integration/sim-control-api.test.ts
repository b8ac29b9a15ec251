/** The control API of interfaces.md: device list, fault injection (201/400/404), clearing (204), calls. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../simulator/fleet.ts';
import { startSimFleet } from '../helpers/sim-clients.ts';

async function api(
  fleet: Fleet,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${fleet.controlUrl}${path}`, {
    method,
    ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

describe('simulator control API', () => {
  let fleet: Fleet;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ fleet, close } = await startSimFleet({ devices: 6, seed: 9, tuning: { autoCalls: false } }));
  });
  afterAll(async () => close?.());

  it('GET /sim/devices lists networked devices with ports and credentials, and USB bars without ports', async () => {
    const { status, json } = await api(fleet, 'GET', '/sim/devices');
    expect(status).toBe(200);
    const list = json as Record<string, unknown>[];
    expect(list).toHaveLength(6);
    expect(new Set(list.map((d) => d.serial)).size).toBe(6);
    const models = new Set(list.map((d) => d.model));
    for (const m of ['StudioX30', 'StudioX50', 'StudioX70', 'G7500', 'StudioUSB']) expect(models).toContain(m);
    const net = list.find((d) => d.model === 'G7500')!;
    for (const key of [
      'serial',
      'model',
      'address',
      'restUrl',
      'snmpPort',
      'sshPort',
      'username',
      'password',
      'snmpCommunity',
      'faults',
      'snmpV3',
      'firmware',
    ]) {
      expect(net).toHaveProperty(key);
    }
    expect(net.restUrl).toBe(`https://127.0.0.1:${net.restPort}`);
    expect(net.peripherals).toEqual([expect.objectContaining({ model: 'Studio E70' })]);
    const usb = list.find((d) => d.model === 'StudioUSB')!;
    expect(usb.usb).toEqual({ vendorId: '095d', productId: '9203' });
    expect(usb).not.toHaveProperty('snmpPort');
    expect(usb).not.toHaveProperty('restUrl');
  });

  it('POST faults -> 201 and listed; DELETE -> 204 and gone', async () => {
    const serial = fleet.devices()[0]!.serial;
    const created = await api(
      fleet,
      'POST',
      `/sim/devices/${serial}/faults`,
      JSON.stringify({ kind: 'slow', value: 10, durationMs: 60_000 }),
    );
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ serial, faults: [{ kind: 'slow', value: 10 }] });
    const one = await api(fleet, 'GET', `/sim/devices/${serial}`);
    expect((one.json as { faults: { kind: string; endsAt?: string }[] }).faults[0]?.endsAt).toBeTruthy();
    expect((await api(fleet, 'DELETE', `/sim/devices/${serial}/faults`)).status).toBe(204);
    expect((await api(fleet, 'GET', `/sim/devices/${serial}`)).json).toMatchObject({ faults: [] });
  });

  it('400 with {error} naming the field for a bad body; 404 for an unknown serial', async () => {
    const serial = fleet.devices()[1]!.serial;
    const badKind = await api(fleet, 'POST', `/sim/devices/${serial}/faults`, JSON.stringify({ kind: 'meltdown' }));
    expect(badKind.status).toBe(400);
    expect((badKind.json as { error: string }).error).toMatch(/^kind:/);
    const badValue = await api(
      fleet,
      'POST',
      `/sim/devices/${serial}/faults`,
      JSON.stringify({ kind: 'network-loss', value: 2 }),
    );
    expect(badValue.status).toBe(400);
    expect((badValue.json as { error: string }).error).toMatch(/^value:/);
    const badDuration = await api(
      fleet,
      'POST',
      `/sim/devices/${serial}/faults`,
      JSON.stringify({ kind: 'slow', durationMs: -1 }),
    );
    expect((badDuration.json as { error: string }).error).toMatch(/^durationMs:/);
    const extra = await api(
      fleet,
      'POST',
      `/sim/devices/${serial}/faults`,
      JSON.stringify({ kind: 'slow', colour: 'red' }),
    );
    expect((extra.json as { error: string }).error).toMatch(/colour/);
    const notJson = await api(fleet, 'POST', `/sim/devices/${serial}/faults`, '{nope');
    expect(notJson.status).toBe(400);
    const unknown = await api(fleet, 'POST', '/sim/devices/NOPE123/faults', JSON.stringify({ kind: 'slow' }));
    expect(unknown.status).toBe(404);
    expect((unknown.json as { error: string }).error).toMatch(/^serial:/);
    expect((await api(fleet, 'DELETE', '/sim/devices/NOPE123/faults')).status).toBe(404);
  });

  it('POST/DELETE calls starts and ends a call (simulator extension)', async () => {
    const dev = fleet.devices().find((d) => d.usb === undefined)!;
    expect((await api(fleet, 'POST', `/sim/devices/${dev.serial}/calls`, '{}')).status).toBe(201);
    expect(fleet.device(dev.serial)?.call).not.toBeNull();
    expect((await api(fleet, 'DELETE', `/sim/devices/${dev.serial}/calls`)).status).toBe(204);
    expect(fleet.device(dev.serial)?.call).toBeNull();
  });
});
