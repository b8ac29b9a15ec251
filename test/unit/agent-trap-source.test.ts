/** Issue 18: which device sent a trap (address, credentials, serial varbind) and what a trap OID means. */
import { describe, expect, it } from 'vitest';
import { describeTrap, v1TrapOid } from '../../agent/traps/trap-catalogue.ts';
import { matchTrapSource, type TrapCandidate } from '../../agent/traps/trap-source.ts';

const devices: TrapCandidate[] = [
  { serial: 'A1', addresses: ['10.0.0.5'], community: 'ca' },
  { serial: 'B2', addresses: ['10.0.0.6', 'room-b.example'], community: 'cb', v3User: 'mon' },
  // two units behind one NAT address with the same community: told apart by the serial they carry
  { serial: 'C3', addresses: ['10.0.0.9'], community: 'shared' },
  { serial: 'D4', addresses: ['10.0.0.9'], community: 'shared' },
];

describe('trap source', () => {
  it('matches by address and credentials', () => {
    expect(matchTrapSource(devices, { address: '10.0.0.5', community: 'ca' })).toEqual({ ok: true, serial: 'A1' });
    expect(matchTrapSource(devices, { address: '::ffff:10.0.0.6', v3User: 'mon' })).toEqual({ ok: true, serial: 'B2' });
  });
  it('an address no device has is an unknown source; a known address with other credentials is bad credentials', () => {
    expect(matchTrapSource(devices, { address: '10.0.0.7', community: 'ca' })).toEqual({
      ok: false,
      reason: 'unknown-source',
    });
    expect(matchTrapSource(devices, { address: '10.0.0.5', community: 'cb' })).toEqual({
      ok: false,
      reason: 'bad-credentials',
    });
    expect(matchTrapSource(devices, { address: '10.0.0.5', v3User: 'mon' })).toEqual({
      ok: false,
      reason: 'bad-credentials',
    });
  });
  it('several devices at one address: the serial varbind decides, else the trap is not attributed', () => {
    expect(matchTrapSource(devices, { address: '10.0.0.9', community: 'shared', serial: 'D4' })).toEqual({
      ok: true,
      serial: 'D4',
    });
    expect(matchTrapSource(devices, { address: '10.0.0.9', community: 'shared' })).toEqual({
      ok: false,
      reason: 'unknown-source',
    });
    expect(matchTrapSource(devices, { address: '10.0.0.9', community: 'shared', serial: 'A1' })).toEqual({
      ok: false,
      reason: 'unknown-source',
    });
  });
});

describe('trap catalogue', () => {
  it('maps standard and Polycom traps; login notices are not re-polled; unknown OIDs have no meaning', () => {
    expect(describeTrap('1.3.6.1.6.3.1.1.5.3')).toMatchObject({ name: 'linkDown', isProblem: true, repoll: true });
    expect(describeTrap('.1.3.6.1.6.3.1.1.5.1')).toMatchObject({ name: 'coldStart', kind: 'boot' });
    expect(describeTrap('1.3.6.1.4.1.13885.101.0.76')).toMatchObject({ name: 'primaryCameraDown', kind: 'component' });
    expect(describeTrap('1.3.6.1.4.1.13885.101.0.19')).toMatchObject({ repoll: false });
    expect(describeTrap('1.3.6.1.4.1.99999.1')).toBeUndefined();
  });
  it('SNMPv1 generic and enterprise-specific traps get their v2 OIDs (RFC 3584)', () => {
    expect(v1TrapOid('1.3.6.1.4.1.13885.101', 2, 0)).toBe('1.3.6.1.6.3.1.1.5.3');
    expect(v1TrapOid('1.3.6.1.4.1.13885.101', 6, 76)).toBe('1.3.6.1.4.1.13885.101.0.76');
  });
});
