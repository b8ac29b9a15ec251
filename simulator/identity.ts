/**
 * Deterministic device identities: model, serial, firmware, name, MAC, credentials, SNMP community and v3 keys.
 * Formats follow the real samples of poly-devices.md (serial `8L200353429AFC`, MAC `00:e0:db:53:42:9a`,
 * name `NH-StudioX30-53429a`); the exact serial scheme is a [GUESS].
 */
import type { Prng } from './prng.ts';

export const SIM_MODELS = ['StudioX30', 'StudioX50', 'StudioX70', 'G7500', 'StudioUSB'] as const;
export type SimModel = (typeof SIM_MODELS)[number];

/** Poly USB vendor 0x095d [CODE]; Studio USB product 0x9203 is low confidence [GUESS] (poly-devices.md §4). */
export const POLY_USB_VENDOR_ID = '095d';
export const STUDIO_USB_PRODUCT_ID = '9203';

/** Firmware `version.build`: 3.14.1.374010 and 4.0.0.100885 are real strings (S20); the 4.6.x builds are [GUESS]. */
export const FIRMWARES = ['3.14.1.374010', '4.0.0.100885', '4.6.2.412233', '4.7.0.421507'] as const;

export interface SnmpV3Credentials {
  user: string;
  authProtocol: 'sha';
  authKey: string;
  privProtocol: 'aes';
  privKey: string;
}

export interface CameraIdentity {
  model: string;
  name: string;
  /** Only external cameras (Studio E70 on a G7500) carry their own serial. */
  serial?: string;
  isBuiltIn: boolean;
}

export interface DeviceIdentity {
  serial: string;
  model: SimModel;
  /** `softwareVersion.build`, e.g. `4.6.2.412233`. */
  firmware: string;
  softwareVersion: string;
  build: string;
  systemName: string;
  /** `00:e0:db:xx:xx:xx` (the Polycom OUI seen in the sample). */
  mac: string;
  username: string;
  password: string;
  snmpCommunity: string;
  snmpV3: SnmpV3Credentials;
  camera: CameraIdentity;
}

/** Compare dotted versions numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Models for a fleet of `count`: the first five cover every model (order from the seed), the rest weighted. */
export function pickModels(count: number, prng: Prng, models?: readonly SimModel[]): SimModel[] {
  if (models !== undefined && models.length > 0)
    return Array.from({ length: count }, (_, i) => models[i % models.length]!);
  const weighted: SimModel[] = [
    'StudioX30',
    'StudioX30',
    'StudioX50',
    'StudioX50',
    'StudioX50',
    'StudioX70',
    'G7500',
    'G7500',
    'StudioUSB',
  ];
  const first = [...SIM_MODELS].sort(() => prng.next() - 0.5);
  return Array.from({ length: count }, (_, i) => (i < first.length ? first[i]! : prng.pick(weighted)));
}

function cameraFor(model: SimModel, prng: Prng): CameraIdentity {
  if (model === 'G7500') {
    return {
      model: 'Studio E70',
      name: 'Poly Studio E70',
      serial: `8L22${prng.hex(8).toUpperCase()}E7`,
      isBuiltIn: false,
    };
  }
  return { model, name: `${model} built-in camera`, isBuiltIn: true };
}

export function createIdentity(
  model: SimModel,
  prng: Prng,
  firmware: string | undefined,
  taken: Set<string>,
): DeviceIdentity {
  let macTail = prng.hex(6);
  let serial = `8L20${prng.hex(2)}${macTail}`.toUpperCase() + prng.pick(['FC', 'FD', 'FE', 'AB']);
  while (taken.has(serial)) {
    macTail = prng.hex(6);
    serial = `8L20${prng.hex(2)}${macTail}`.toUpperCase() + prng.pick(['FC', 'FD', 'FE', 'AB']);
  }
  taken.add(serial);
  const full = firmware ?? prng.pick(FIRMWARES);
  const parts = full.split('.');
  const build = parts.length > 3 ? parts.slice(3).join('.') : '0';
  const softwareVersion = parts.slice(0, 3).join('.');
  const mac = `00:e0:db:${macTail.slice(0, 2)}:${macTail.slice(2, 4)}:${macTail.slice(4, 6)}`;
  return {
    serial,
    model,
    firmware: full,
    softwareVersion,
    build,
    systemName: `SIM-${model}-${macTail}`,
    mac,
    username: 'admin',
    password: `pw-${prng.hex(10)}`,
    snmpCommunity: `c-${prng.hex(8)}`,
    snmpV3: {
      user: `mon${prng.hex(4)}`,
      authProtocol: 'sha',
      authKey: `auth-${prng.hex(12)}`,
      privProtocol: 'aes',
      privKey: `priv-${prng.hex(12)}`,
    },
    camera: cameraFor(model, prng),
  };
}
