/**
 * The REST cadence (agent/poll/rest-cadence.ts): when a poll reads REST up front, and when SNMP's answer makes a
 * poll that did not read it read it after all.
 */
import { describe, expect, it } from 'vitest';
import { isRestDue, isRestWantedAfterSnmp, type RestDueInput, snmpChangeKey } from '../../agent/poll/rest-cadence.ts';
import type { SnmpObservation } from '../../agent/poll/snmp.ts';

const base: RestDueInput = {
  nowMs: 100_000,
  intervalMs: 60_000,
  pollIntervalMs: 10_000,
  hasSnmp: true,
  isForced: false,
  isWatchful: false,
  lastReadAtMs: 90_000,
};

const snmp = (values: SnmpObservation['values']): SnmpObservation => ({
  values,
  missing: [],
  typeErrors: [],
  call: {},
});

describe('REST cadence', () => {
  it('carries the last read between reads while nothing asks for one', () => {
    expect(isRestDue(base)).toBe(false);
    // due half a poll early (a poll a few ms early must not push the read a whole interval later)
    expect(isRestDue({ ...base, nowMs: 90_000 + 54_999 })).toBe(false);
    expect(isRestDue({ ...base, nowMs: 90_000 + 55_000 })).toBe(true);
    expect(isRestDue({ ...base, nowMs: 90_000 + 60_000 })).toBe(true);
  });

  it('reads REST up front: no read yet, forced, watchful, no SNMP, or an interval no longer than the poll', () => {
    expect(isRestDue({ ...base, lastReadAtMs: undefined })).toBe(true);
    expect(isRestDue({ ...base, isForced: true })).toBe(true);
    expect(isRestDue({ ...base, isWatchful: true })).toBe(true);
    expect(isRestDue({ ...base, hasSnmp: false })).toBe(true);
    expect(isRestDue({ ...base, intervalMs: 0 })).toBe(true);
    expect(isRestDue({ ...base, intervalMs: 10_000 })).toBe(true);
    expect(isRestDue({ ...base, intervalMs: 30_000 })).toBe(false);
  });

  it('after SNMP: reads REST when SNMP did not answer cleanly, showed a reboot or anything new', () => {
    const key = snmpChangeKey(snmp({ hardwareCameraStatus: 1, conferenceNumberActiveConferences: 0 }));
    expect(isRestWantedAfterSnmp({ isClean: true, key, isReboot: false }, key)).toBe(false);
    expect(isRestWantedAfterSnmp({ isClean: false, key: undefined, isReboot: false }, key)).toBe(true);
    expect(isRestWantedAfterSnmp({ isClean: true, key, isReboot: true }, key)).toBe(true);
    expect(isRestWantedAfterSnmp({ isClean: true, key, isReboot: false }, undefined)).toBe(true);
    const unplugged = snmpChangeKey(snmp({ hardwareCameraStatus: 3, conferenceNumberActiveConferences: 0 }));
    expect(isRestWantedAfterSnmp({ isClean: true, key: unplugged, isReboot: false }, key)).toBe(true);
  });

  it('the change key follows status, identity and calls, not uptime or temperature', () => {
    const a = snmp({
      sysUpTime: 100,
      lmTempSensorsValue1: 40_000,
      hardwareMicrophoneStatus: 1,
      identitySoftwareInfo: '1',
    });
    expect(snmpChangeKey({ ...a, values: { ...a.values, sysUpTime: 9_999, lmTempSensorsValue1: 41_000 } })).toBe(
      snmpChangeKey(a),
    );
    for (const [name, value] of [
      ['hardwareMicrophoneStatus', 2],
      ['identitySoftwareInfo', '2'],
      ['conferenceNumberActiveConferences', 1],
      ['identityDeviceSerialNumber', 'X'],
      ['hardwareOverallStatus', 3],
      ['hardwareNICStatus', 2],
      ['identityStatus', 2],
    ] as const) {
      expect(snmpChangeKey({ ...a, values: { ...a.values, [name]: value } }), name).not.toBe(snmpChangeKey(a));
    }
  });
});
