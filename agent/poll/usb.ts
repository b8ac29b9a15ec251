/**
 * Studio USB bars have no network interface: the agent reads the host's USB device list from Linux
 * sysfs (`/sys/bus/usb/devices/<dir>/{idVendor,idProduct,serial,product,manufacturer,bcdDevice}`)
 * and keeps the Poly (095d) and Plantronics (047f) ones.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const POLY_VENDOR_IDS: ReadonlySet<string> = new Set(['095d', '047f']);

export interface UsbDevice {
  /** sysfs directory name, e.g. `1-1.2`. */
  dir: string;
  vendorId: string;
  productId: string;
  serial?: string;
  product?: string;
  manufacturer?: string;
  bcdDevice?: string;
}

async function readAttr(dir: string, name: string): Promise<string | undefined> {
  try {
    const text = (await readFile(join(dir, name), 'utf8')).trim();
    return text === '' ? undefined : text.slice(0, 120);
  } catch {
    return undefined;
  }
}

/** List the Poly/Plantronics USB devices under `root`; a missing root is an empty list. */
export async function scanUsb(root: string): Promise<UsbDevice[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const found: UsbDevice[] = [];
  for (const name of names.sort()) {
    if (name.includes(':')) continue; // interfaces (1-1:1.0), not devices
    const dir = join(root, name);
    const vendorId = (await readAttr(dir, 'idVendor'))?.toLowerCase();
    if (vendorId === undefined || !POLY_VENDOR_IDS.has(vendorId)) continue;
    const device: UsbDevice = {
      dir: name,
      vendorId,
      productId: ((await readAttr(dir, 'idProduct')) ?? '').toLowerCase(),
    };
    const serial = await readAttr(dir, 'serial');
    const product = await readAttr(dir, 'product');
    const manufacturer = await readAttr(dir, 'manufacturer');
    const bcdDevice = await readAttr(dir, 'bcdDevice');
    if (serial) device.serial = serial;
    if (product) device.product = product;
    if (manufacturer) device.manufacturer = manufacturer;
    if (bcdDevice) device.bcdDevice = bcdDevice;
    found.push(device);
  }
  return found;
}

/** A serial usable as a topic segment: the USB serial, or vendor-product-dir when it has none. */
export function usbSerial(device: UsbDevice): string {
  const raw = device.serial ?? `${device.vendorId}-${device.productId}-${device.dir}`;
  const clean = raw.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return (clean || `usb-${device.vendorId}`).slice(0, 64);
}
