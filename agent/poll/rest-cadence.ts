/**
 * When a poll reads REST and when it carries the last REST read (agent config `restIntervalMs`). SNMP is read on
 * every poll; REST - a TLS connect, a session and 2-7 requests, ~20x SNMP's CPU in the agent (bench B8) and the
 * device's fragile service (poly-devices.md 1.1) - at most every `restIntervalMs` while SNMP answers and shows
 * nothing new, and at once whenever anything may have changed.
 */
import type { SnmpObservation } from './snmp.ts';

/** The SNMP values whose change makes a poll read REST at once (uptime and temperature move on their own). */
const WATCHED = [
  'sysObjectID',
  'identitySoftwareInfo',
  'identityDeviceModel',
  'identityDeviceSerialNumber',
  'identityStatus',
  'hardwareOverallStatus',
  'hardwareMicrophoneStatus',
  'hardwareCameraStatus',
  'hardwareNICStatus',
  'conferenceNumberActiveConferences',
] as const;

/** What SNMP showed, in one string: a poll whose key differs from the one at the last REST read reads REST. */
export function snmpChangeKey(obs: SnmpObservation): string {
  let key = '';
  for (const name of WATCHED) key += `${obs.values[name] ?? '-'}|`;
  return key;
}

export interface RestDueInput {
  nowMs: number;
  intervalMs: number;
  pollIntervalMs: number;
  hasSnmp: boolean;
  /** A trap, a liveness miss or a command asked for a full read. */
  isForced: boolean;
  /** Something is wrong or moving (a call, a component problem, the device was down): read REST every poll. */
  isWatchful: boolean;
  /** The last successful REST read (undefined: none yet, or the last read failed). */
  lastReadAtMs: number | undefined;
}

/** Whether this poll reads REST together with SNMP (without waiting for SNMP's answer). */
export function isRestDue(i: RestDueInput): boolean {
  if (i.intervalMs <= i.pollIntervalMs || !i.hasSnmp || i.isForced || i.isWatchful) return true;
  if (i.lastReadAtMs === undefined) return true;
  // half a poll of slack: a poll a few ms early must not push the read a whole interval later
  return i.nowMs - i.lastReadAtMs >= i.intervalMs - i.pollIntervalMs / 2;
}

export interface SnmpVerdict {
  /** SNMP answered with every value of the right type. */
  isClean: boolean;
  key: string | undefined;
  /** The SNMP uptime says the device rebooted since the last poll. */
  isReboot: boolean;
}

/** Whether a poll that did not read REST up front must read it now that SNMP answered (or did not). */
export function isRestWantedAfterSnmp(snmp: SnmpVerdict, keyAtLastRead: string | undefined): boolean {
  return !snmp.isClean || snmp.isReboot || snmp.key === undefined || snmp.key !== keyAtLastRead;
}
