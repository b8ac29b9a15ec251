/**
 * A fixture Linux sysfs tree for Studio USB bars, so USB discovery can be tested without hardware:
 * `<dir>/<busport>/{idVendor,idProduct,serial,product,manufacturer,...}` like /sys/bus/usb/devices.
 * Each value file ends with a newline, as sysfs does. Besides the bars it writes a root hub, a non-Poly device and
 * an interface directory (no idVendor), which real trees always contain. Vendor 095d is [CODE]; product 9203 and
 * the product/manufacturer strings are a [GUESS].
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { POLY_USB_VENDOR_ID, STUDIO_USB_PRODUCT_ID } from './identity.ts';

export interface UsbBarRecord {
  serial: string;
  firmware?: string;
}

async function writeDevice(dir: string, name: string, files: Record<string, string>): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  await Promise.all(Object.entries(files).map(([file, value]) => writeFile(join(path, file), `${value}\n`)));
  return path;
}

/** bcdDevice-like 4 hex digits from `1.6.0.0051` -> `0160`. */
function bcd(firmware: string | undefined): string {
  const [major = '1', minor = '0', patch = '0'] = (firmware ?? '1.0.0').split('.');
  return `${major.slice(0, 2).padStart(2, '0')}${minor.slice(0, 1)}${patch.slice(0, 1)}`;
}

/** Write the tree; returns the device directories of the bars, in order. */
export async function writeUsbSysfs(dir: string, bars: readonly UsbBarRecord[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  await writeDevice(dir, 'usb1', {
    idVendor: '1d6b',
    idProduct: '0002',
    manufacturer: 'Linux 6.1.0 xhci-hcd',
    product: 'xHCI Host Controller',
    serial: '0000:00:14.0',
    busnum: '1',
    devnum: '1',
    speed: '480',
  });
  await writeDevice(dir, '1-1', {
    idVendor: '046d',
    idProduct: 'c31c',
    manufacturer: 'Logitech',
    product: 'USB Keyboard',
    busnum: '1',
    devnum: '2',
    speed: '1.5',
  });
  await writeDevice(dir, '1-1:1.0', { bInterfaceClass: '03', bInterfaceNumber: '00' });
  const out: string[] = [];
  for (const [i, bar] of bars.entries()) {
    const name = `1-${i + 2}`;
    out.push(
      await writeDevice(dir, name, {
        idVendor: POLY_USB_VENDOR_ID,
        idProduct: STUDIO_USB_PRODUCT_ID,
        serial: bar.serial,
        product: 'Poly Studio',
        manufacturer: 'Poly',
        bcdDevice: bcd(bar.firmware),
        busnum: '1',
        devnum: String(i + 3),
        speed: '480',
      }),
    );
    await writeDevice(dir, `${name}:1.0`, { bInterfaceClass: '0e', bInterfaceNumber: '00' });
  }
  return out;
}
