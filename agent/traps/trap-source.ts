/**
 * Which configured device sent a notification: the sender's address, then the credentials it used (v2c
 * community or v3 user, which the receiver has already authenticated), then - when several devices share one
 * address (NAT, a simulator) - the serial number the notification carries (POLYCOM-ENDPOINT-MIB
 * identityDeviceSerialNumber). Pure: no I/O.
 */

export const IDENTITY_SERIAL_OID = '1.3.6.1.4.1.13885.101.1.1.5.0';

export interface TrapCandidate {
  serial: string;
  /** The device's configured address and what it resolved to. */
  addresses: readonly string[];
  community?: string | undefined;
  v3User?: string | undefined;
}

export interface TrapOrigin {
  address: string;
  community?: string | undefined;
  v3User?: string | undefined;
  /** The serial varbind, when the notification carries one. */
  serial?: string | undefined;
}

export type SourceMatch = { ok: true; serial: string } | { ok: false; reason: 'unknown-source' | 'bad-credentials' };

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same sender. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address.toLowerCase();
}

export function matchTrapSource(candidates: readonly TrapCandidate[], origin: TrapOrigin): SourceMatch {
  const from = plainAddress(origin.address);
  const atAddress = candidates.filter((c) => c.addresses.some((a) => plainAddress(a) === from));
  if (atAddress.length === 0) return { ok: false, reason: 'unknown-source' };
  const credited = atAddress.filter((c) =>
    origin.v3User !== undefined ? c.v3User === origin.v3User : c.community === origin.community,
  );
  if (credited.length === 0) return { ok: false, reason: 'bad-credentials' };
  if (credited.length === 1) return { ok: true, serial: (credited[0] as TrapCandidate).serial };
  const bySerial = credited.filter((c) => c.serial === origin.serial);
  if (bySerial.length === 1) return { ok: true, serial: (bySerial[0] as TrapCandidate).serial };
  return { ok: false, reason: 'unknown-source' };
}
