/**
 * One SNMP poll: MIB-II system group plus the POLYCOM-ENDPOINT-MIB objects of poly-devices.md §2.2 in
 * one GET, then the active-call columns when a conference is up. Every value is checked against its
 * expected SMI type: a wrong type is reported (probe error `parse`) and the value ignored, never a crash.
 */
import { DeviceError } from '../../protocols/clients/device-error.ts';
import { isException, type SnmpClient, SnmpType, type SnmpVarbind, typeName } from '../../protocols/clients/snmp.ts';

const P = '1.3.6.1.4.1.13885.101.1';

type Expect = 'string' | 'int' | 'ticks' | 'oid';

/** The scalars read on every poll: name -> [OID, expected type]. */
export const SCALARS = {
  sysDescr: ['1.3.6.1.2.1.1.1.0', 'string'],
  sysObjectID: ['1.3.6.1.2.1.1.2.0', 'oid'],
  sysUpTime: ['1.3.6.1.2.1.1.3.0', 'ticks'],
  sysName: ['1.3.6.1.2.1.1.5.0', 'string'],
  identitySoftwareInfo: [`${P}.1.1.0`, 'string'],
  identityDeviceModel: [`${P}.1.4.0`, 'string'],
  identityDeviceSerialNumber: [`${P}.1.5.0`, 'string'],
  identityStatus: [`${P}.1.6.0`, 'int'],
  hardwareOverallStatus: [`${P}.3.1.0`, 'int'],
  hardwareMicrophoneStatus: [`${P}.3.5.1.0`, 'int'],
  hardwareCameraStatus: [`${P}.3.6.1.0`, 'int'],
  hardwareNICStatus: [`${P}.3.10.1.0`, 'int'],
  conferenceNumberActiveConferences: [`${P}.5.1.0`, 'int'],
  /** LM-SENSORS-MIB lmTempSensorsValue, row 1, millidegrees C (the Poly MIB has no temperature: a [GUESS]). */
  lmTempSensorsValue1: ['1.3.6.1.4.1.2021.13.16.2.1.3.1', 'int'],
} as const satisfies Record<string, readonly [string, Expect]>;
export type ScalarName = keyof typeof SCALARS;

/** callActiveCallsTable columns read during a call. */
export const CALL_COLUMNS = {
  pctPacketLostRx: `${P}.4.1.1.16`,
  pctPacketLostTx: `${P}.4.1.1.17`,
  overallLatencyRx: `${P}.4.1.1.18`,
  overallJitterRx: `${P}.4.1.1.20`,
} as const;
export type CallColumn = keyof typeof CALL_COLUMNS;

export interface SnmpObservation {
  values: Partial<Record<ScalarName, string | number>>;
  /** Objects the agent does not have (noSuchObject / noSuchInstance). */
  missing: ScalarName[];
  /** Values of the wrong SMI type, one line each: `sysUpTime (1.3.6.1.2.1.1.3.0): expected TimeTicks, got OctetString`. */
  typeErrors: string[];
  call: Partial<Record<CallColumn, number>>;
}

const INT_TYPES: ReadonlySet<number> = new Set([
  SnmpType.Integer,
  SnmpType.Counter,
  SnmpType.Gauge,
  SnmpType.TimeTicks,
]);

function accepts(expect: Expect, vb: SnmpVarbind): boolean {
  switch (expect) {
    case 'string':
      return vb.type === SnmpType.OctetString && typeof vb.value === 'string';
    // a whole number the record can carry (no fraction, no Counter64 beyond 2^53): anything else is a type error
    case 'int':
      return INT_TYPES.has(vb.type) && Number.isSafeInteger(vb.value);
    case 'ticks':
      return vb.type === SnmpType.TimeTicks && Number.isSafeInteger(vb.value) && (vb.value as number) >= 0;
    case 'oid':
      return vb.type === SnmpType.ObjectIdentifier && typeof vb.value === 'string';
  }
}

const EXPECT_NAME: Record<Expect, string> = {
  string: 'OctetString',
  int: 'Integer',
  ticks: 'TimeTicks',
  oid: 'ObjectIdentifier',
};

export async function pollSnmp(client: SnmpClient): Promise<SnmpObservation> {
  const names = Object.keys(SCALARS) as ScalarName[];
  const varbinds = await client.get(names.map((n) => SCALARS[n][0]));
  const byOid = new Map(varbinds.map((vb) => [vb.oid, vb]));
  const obs: SnmpObservation = { values: {}, missing: [], typeErrors: [], call: {} };
  for (const name of names) {
    const [oid, expect] = SCALARS[name];
    const vb = byOid.get(oid);
    if (vb === undefined || isException(vb)) {
      obs.missing.push(name);
      continue;
    }
    if (!accepts(expect, vb)) {
      obs.typeErrors.push(`${name} (${oid}): expected ${EXPECT_NAME[expect]}, got ${typeName(vb.type)}`);
      continue;
    }
    obs.values[name] = vb.value as string | number;
  }
  if (obs.missing.includes('sysUpTime') && obs.missing.includes('sysDescr')) {
    throw new DeviceError('snmp', 'snmp get: the agent answered but has no MIB-II system group');
  }
  const active = obs.values.conferenceNumberActiveConferences;
  if (typeof active === 'number' && active > 0) {
    for (const [column, oid] of Object.entries(CALL_COLUMNS) as [CallColumn, string][]) {
      const rows = await client.walk(oid, 4);
      const first = rows.find((r) => r.oid.startsWith(`${oid}.`));
      if (first === undefined) continue;
      if (INT_TYPES.has(first.type) && Number.isSafeInteger(first.value)) obs.call[column] = first.value as number;
      else obs.typeErrors.push(`${column} (${first.oid}): expected Unsigned32, got ${typeName(first.type)}`);
    }
  }
  return obs;
}
