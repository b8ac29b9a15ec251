/** The USB sysfs fixture writer: Poly bars among other devices, the way /sys/bus/usb/devices looks. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeUsbSysfs } from '../../simulator/usb-sysfs.ts';

describe('writeUsbSysfs', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('writes one device directory per bar with idVendor/idProduct/serial/product/manufacturer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sysfs-'));
    dirs.push(dir);
    const paths = await writeUsbSysfs(dir, [{ serial: 'USB0001' }, { serial: 'USB0002', firmware: '1.6.0.0051' }]);
    expect(paths).toHaveLength(2);
    const found: string[] = [];
    for (const name of await readdir(dir)) {
      const vendor = await readFile(join(dir, name, 'idVendor'), 'utf8').catch(() => undefined);
      if (vendor?.trim() !== '095d') continue;
      expect((await readFile(join(dir, name, 'idProduct'), 'utf8')).trim()).toBe('9203');
      expect(await readFile(join(dir, name, 'product'), 'utf8')).toBe('Poly Studio\n');
      expect(await readFile(join(dir, name, 'manufacturer'), 'utf8')).toBeTruthy();
      found.push((await readFile(join(dir, name, 'serial'), 'utf8')).trim());
    }
    expect(found.sort()).toEqual(['USB0001', 'USB0002']);
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['usb1', '1-1', '1-1:1.0']));
  });
});
