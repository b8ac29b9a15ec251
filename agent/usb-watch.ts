/**
 * Studio USB bars seen through sysfs: one health record per Poly/Plantronics USB device per poll
 * (channel `usb`, model StudioUSB). Bars configured in `devices` (model StudioUSB) and bars seen once
 * (remembered in `<dataDir>/usb-known.json`) that are no longer plugged in are reported with the usb
 * probe error `not-present`, plus one `device-gone` event per disappearance (`device-found` on return).
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentDevice } from '../protocols/agent-config.ts';
import type { Evidence } from '../protocols/health.ts';
import type { DeviceEventType } from './device-poller.ts';
import type { RecordContext, RecordDraft } from './normalise.ts';
import { scanUsb, type UsbDevice, usbSerial } from './poll/usb.ts';

export class UsbWatcher {
  private readonly root: string;
  private readonly configured: readonly AgentDevice[];
  private readonly knownFile: string;
  private readonly emitEvent: (serial: string, type: DeviceEventType, detail: string) => void;
  private known = new Set<string>();
  private present: Set<string> | undefined;

  constructor(
    root: string,
    configured: readonly AgentDevice[],
    dataDir: string,
    emitEvent: (serial: string, type: DeviceEventType, detail: string) => void,
  ) {
    this.root = root;
    this.configured = configured;
    this.knownFile = join(dataDir, 'usb-known.json');
    this.emitEvent = emitEvent;
  }

  async load(): Promise<void> {
    try {
      this.known = new Set(JSON.parse(await readFile(this.knownFile, 'utf8')) as string[]);
    } catch {
      this.known = new Set();
    }
    for (const d of this.configured) this.known.add(d.serial);
  }

  private async saveKnown(): Promise<void> {
    await writeFile(`${this.knownFile}.tmp`, JSON.stringify([...this.known].sort()));
    await rename(`${this.knownFile}.tmp`, this.knownFile);
  }

  private presentRecord(device: UsbDevice, serial: string, ctx: RecordContext, observedAt: string): RecordDraft {
    const base = join(this.root, device.dir);
    const evidence: Evidence[] = [
      {
        field: 'usb.id',
        source: 'usb',
        path: `${base}/idVendor:idProduct`,
        value: `${device.vendorId}:${device.productId}`,
      },
    ];
    if (device.serial)
      evidence.push({ field: 'identity.serial', source: 'usb', path: `${base}/serial`, value: device.serial });
    if (device.product)
      evidence.push({ field: 'usb.product', source: 'usb', path: `${base}/product`, value: device.product });
    const record: RecordDraft = {
      v: 1,
      agentId: ctx.agentId,
      site: ctx.site,
      customer: ctx.customer,
      observedAt,
      pollIntervalMs: ctx.pollIntervalMs,
      identity: { serial, model: 'StudioUSB' },
      reachability: { usb: { ok: true, attempts: 1, latencyMs: 0 } },
      components: [
        { kind: 'usb', name: (device.product ?? 'Poly USB device').slice(0, 120), status: 'ok', source: 'usb' },
      ],
      evidence,
    };
    if (device.bcdDevice) record.identity.firmware = device.bcdDevice;
    return record;
  }

  private absentRecord(serial: string, ctx: RecordContext, observedAt: string): RecordDraft {
    return {
      v: 1,
      agentId: ctx.agentId,
      site: ctx.site,
      customer: ctx.customer,
      observedAt,
      pollIntervalMs: ctx.pollIntervalMs,
      identity: { serial, model: 'StudioUSB' },
      reachability: {
        usb: {
          ok: false,
          attempts: 1,
          error: { kind: 'not-present', message: `usb: no device with serial ${serial} under ${this.root}` },
        },
      },
      components: [{ kind: 'usb', name: 'usb device', status: 'failed', source: 'usb' }],
      evidence: [{ field: 'reachability.usb', source: 'usb', path: this.root, value: 'not present' }],
    };
  }

  async poll(ctx: RecordContext, observedAt: string): Promise<RecordDraft[]> {
    const devices = await scanUsb(this.root);
    const nowPresent = new Map<string, UsbDevice>();
    for (const d of devices) nowPresent.set(usbSerial(d), d);
    const previously = this.present ?? new Set(this.known);
    const records: RecordDraft[] = [];
    let learned = false;
    for (const [serial, device] of nowPresent) {
      if (!this.known.has(serial)) {
        this.known.add(serial);
        learned = true;
      }
      if (!previously.has(serial) || this.present === undefined) {
        if (!previously.has(serial))
          this.emitEvent(
            serial,
            'device-found',
            `USB ${device.vendorId}:${device.productId} ${device.product ?? ''} at ${device.dir}`.trim(),
          );
      }
      records.push(this.presentRecord(device, serial, ctx, observedAt));
    }
    for (const serial of this.known) {
      if (nowPresent.has(serial)) continue;
      if (previously.has(serial))
        this.emitEvent(serial, 'device-gone', `USB device ${serial} is no longer present under ${this.root}`);
      records.push(this.absentRecord(serial, ctx, observedAt));
    }
    this.present = new Set(nowPresent.keys());
    if (learned) await this.saveKnown();
    return records;
  }
}
