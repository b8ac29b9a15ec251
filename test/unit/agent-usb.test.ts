import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildAgentConfig } from '../../agent/config.ts';
import { scanUsb } from '../../agent/poll/usb.ts';
import { UsbWatcher } from '../../agent/usb-watch.ts';
import { HealthRecord } from '../../protocols/health.ts';
import { tempDir } from '../helpers/agent-harness.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function usbDir(root: string, name: string, attrs: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(attrs)) writeFileSync(join(dir, k), `${v}\n`);
  return dir;
}

const ctx = { agentId: 'a1', site: 's1', customer: 'c1', pollIntervalMs: 10_000 };

describe('USB (sysfs)', () => {
  it('lists Poly and Plantronics devices only, skipping interfaces', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.close);
    usbDir(tmp.dir, '1-1', {
      idVendor: '095d',
      idProduct: '9203',
      serial: 'USB123',
      product: 'Poly Studio',
      manufacturer: 'Poly',
    });
    usbDir(tmp.dir, '1-2', { idVendor: '047f', idProduct: 'c056', product: 'Plantronics Headset' });
    usbDir(tmp.dir, '1-3', { idVendor: '046d', idProduct: '0825', product: 'Webcam' });
    usbDir(tmp.dir, '1-1:1.0', { idVendor: '095d' });
    const found = await scanUsb(tmp.dir);
    expect(found.map((d) => [d.dir, d.vendorId, d.serial ?? null])).toEqual([
      ['1-1', '095d', 'USB123'],
      ['1-2', '047f', null],
    ]);
    expect(await scanUsb(join(tmp.dir, 'missing'))).toEqual([]);
  });

  it('reports a configured bar that disappears as not-present with one device-gone event', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const root = join(tmp.dir, 'sys');
    const bar = usbDir(root, '1-1', { idVendor: '095d', idProduct: '9203', serial: 'USB123', product: 'Poly Studio' });
    const config = buildAgentConfig({
      version: 1,
      agentId: 'a1',
      site: 's1',
      customer: 'c1',
      mqtt: { url: 'mqtt://127.0.0.1:1883' },
      dataDir: tmp.dir,
      usb: { enabled: true, sysfsRoot: root },
      devices: [{ serial: 'USB123', address: 'localhost', model: 'StudioUSB' }],
    });
    const events: string[] = [];
    const watcher = new UsbWatcher(root, config.devices, tmp.dir, (serial, type) => events.push(`${type}:${serial}`));
    await watcher.load();
    const first = await watcher.poll(ctx, new Date().toISOString());
    expect(first).toHaveLength(1);
    expect(first[0]?.reachability.usb?.ok).toBe(true);
    expect(first[0]?.identity.model).toBe('StudioUSB');
    HealthRecord.parse({ ...first[0], seq: 0, replayed: false });
    rmSync(bar, { recursive: true });
    const second = await watcher.poll(ctx, new Date().toISOString());
    expect(second[0]?.reachability.usb).toMatchObject({ ok: false, error: { kind: 'not-present' } });
    await watcher.poll(ctx, new Date().toISOString());
    expect(events).toEqual(['device-gone:USB123']);
    usbDir(root, '1-4', { idVendor: '095d', idProduct: '9203', serial: 'USB123' });
    expect((await watcher.poll(ctx, new Date().toISOString()))[0]?.reachability.usb?.ok).toBe(true);
    expect(events).toEqual(['device-gone:USB123', 'device-found:USB123']);
  });
});
