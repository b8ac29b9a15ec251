/**
 * Peripherals as devices: a peripheral the host lists with a serial of its own (a Studio E70 camera on a G7500,
 * from /rest/current/devicemanagement/devices) is the unit a customer's contract covers and the one that would be
 * replaced, so it is reported as a device of its own: a health record with its serial, its model, its host's serial
 * (`identity.hostSerial`), the host's reachability (the host answers for it) and its own component. The host's record
 * then leaves out the camera components that describe that peripheral (one problem, one ticket: the E70's).
 * Peripheral records exist only when the host's REST detail answered this poll: while the host is down nothing is
 * said about its peripherals (the host's own ticket covers the room). Pure.
 */

import type { Peripherals } from '../protocols/clients/poly-rest-schemas.ts';
import { DEVICE_MODELS } from '../protocols/device-models.ts';
import type { Component, ComponentStatus, DeviceModel } from '../protocols/health.ts';
import type { RecordDraft } from './normalise.ts';

const SERIAL_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function modelOf(productName: string | undefined): DeviceModel {
  const compact = (productName ?? '')
    .replace(/[\s_-]/g, '')
    .replace(/^Poly/i, '')
    .toLowerCase();
  return DEVICE_MODELS.find((m) => m.toLowerCase() === compact) ?? 'unknown';
}

function statusOf(deviceState: string | undefined): ComponentStatus {
  const state = (deviceState ?? '').toUpperCase();
  if (state === 'CONNECTED' || state === 'PAIRED') return 'ok';
  if (state.includes('DISCONNECT') || state === 'UNPAIRED') return 'failed';
  return 'unknown';
}

export interface SplitRecords {
  host: RecordDraft;
  peripherals: RecordDraft[];
}

/** The host's record and one record per peripheral with its own serial (cameras; other categories when serialised). */
export function splitPeripherals(host: RecordDraft, peripherals: Peripherals | undefined): SplitRecords {
  const own = (peripherals ?? []).filter(
    (p) =>
      (p.deviceCategory ?? '').toUpperCase() !== 'SYSTEM' &&
      p.uid !== 'local-system' &&
      typeof p.serialNumber === 'string' &&
      SERIAL_PATTERN.test(p.serialNumber) &&
      p.serialNumber !== host.identity.serial,
  );
  if (own.length === 0) return { host, peripherals: [] };
  const hostSerial = host.identity.serial;
  const records: RecordDraft[] = [];
  let hasOwnCamera = false;
  for (const [i, p] of own.entries()) {
    const serial = p.serialNumber as string;
    const category = (p.deviceCategory ?? '').toUpperCase();
    const kind: Component['kind'] =
      category === 'CAMERA' ? 'camera' : category === 'MODULE' ? 'touch-controller' : 'usb';
    if (kind === 'camera') hasOwnCamera = true;
    const name = `${p.productName ?? p.deviceType ?? 'peripheral'} on ${host.identity.model} ${hostSerial}`.slice(
      0,
      120,
    );
    const identity: RecordDraft['identity'] = { serial, model: modelOf(p.productName), hostSerial };
    if (typeof p.softwareVersion === 'string' && p.softwareVersion !== '')
      identity.firmware = p.softwareVersion.slice(0, 64);
    const { call: _call, uptimeS: _uptime, temperatureC: _temperature, clockOffsetS: _clock, ...base } = host;
    records.push({
      ...base,
      identity,
      components: [{ kind, name, status: statusOf(p.deviceState), source: 'rest' }],
      evidence: [
        {
          field: 'identity.hostSerial',
          source: 'rest',
          path: `host ${hostSerial} /rest/current/devicemanagement/devices[${i}]`,
          value: hostSerial,
        },
        {
          field: `component.${name}`.slice(0, 120),
          source: 'rest',
          path: `host ${hostSerial} /rest/current/devicemanagement/devices[${i}].deviceState`,
          value: p.deviceState ?? '(none)',
        },
        ...host.evidence.filter((e) => e.field.startsWith('reachability.') || e.field === 'rest.detailReadAt'),
      ],
    });
  }
  if (!hasOwnCamera) return { host, peripherals: records };
  const failedPeripherals = records.filter((r) => r.components[0]?.status === 'failed').map((r) => r.identity.serial);
  let components = host.components.filter((c) => c.kind !== 'camera');
  const explained: RecordDraft['evidence'] = [];
  // the host's aggregate hardware status (SNMP hardwareOverallStatus) fails with its peripheral: when nothing else
  // on the host failed, that failure is the peripheral's (its own record carries it), not a second problem
  const isAggregate = (c: Component) => c.kind === 'system';
  if (failedPeripherals.length > 0 && !components.some((c) => c.status === 'failed' && !isAggregate(c))) {
    components = components.map((c) => {
      if (!isAggregate(c) || c.status !== 'failed') return c;
      explained.push({
        field: `component.${c.name}`,
        source: 'agent',
        path: 'aggregate status explained by a peripheral',
        value: `failed because of peripheral ${failedPeripherals.join(', ')} (reported as its own device)`,
      });
      return { ...c, status: 'unknown' as const };
    });
  }
  const trimmed: RecordDraft = {
    ...host,
    components,
    evidence: [
      ...host.evidence,
      ...explained,
      {
        field: 'component.camera',
        source: 'agent',
        path: 'peripherals with their own serial',
        value: `camera reported as its own device: ${records
          .filter((r) => r.components[0]?.kind === 'camera')
          .map((r) => r.identity.serial)
          .join(', ')}`,
      },
    ],
  };
  return { host: trimmed, peripherals: records };
}

/** The device map where a peripheral's serial finds its host's entry (commands for an E70 run on its G7500). */
export function withPeripheralHosts<V>(
  base: ReadonlyMap<string, V>,
  hostOf: (serial: string) => string | undefined,
): ReadonlyMap<string, V> {
  const find = (serial: string): V | undefined => {
    const own = base.get(serial);
    if (own !== undefined) return own;
    const host = hostOf(serial);
    return host === undefined ? undefined : base.get(host);
  };
  return {
    get: find,
    has: (serial) => find(serial) !== undefined,
    get size() {
      return base.size;
    },
    forEach: (fn, thisArg) => base.forEach(fn, thisArg),
    entries: () => base.entries(),
    keys: () => base.keys(),
    values: () => base.values(),
    [Symbol.iterator]: () => base[Symbol.iterator](),
  };
}
