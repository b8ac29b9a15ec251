/** Issue 18: the automatic reboot policy (hours in the customer's window, no call, at most one per 24 h; off by default). */
import { describe, expect, it } from 'vitest';
import { decideAutoReboot, localTime } from '../../hub/reboot/policy.ts';
import { RemoteRebootConfig } from '../../hub/reboot/reboot-config.ts';

const cfg = RemoteRebootConfig.parse({ policies: [{ customer: 'acme', allowedFrom: '23:00', allowedTo: '05:00' }] });
const at = (iso: string) => Date.parse(iso);

describe('remote reboot policy', () => {
  it('off by default', () => {
    const d = decideAutoReboot({
      cfg: RemoteRebootConfig.parse({}),
      customer: 'acme',
      atMs: at('2026-11-30T01:00:00Z'),
      inCall: false,
      lastAutoRebootMs: undefined,
    });
    expect(d).toMatchObject({ ok: false });
  });
  it('inside the window (crossing midnight, Warsaw time) yes; outside, in a call, or twice in 24 h no', () => {
    expect(localTime(at('2026-11-30T01:00:00Z'), 'Europe/Warsaw')).toBe('02:00');
    const base = { cfg, customer: 'acme', inCall: false, lastAutoRebootMs: undefined };
    expect(decideAutoReboot({ ...base, atMs: at('2026-11-29T22:30:00Z') }).ok).toBe(true); // 23:30
    expect(decideAutoReboot({ ...base, atMs: at('2026-11-30T03:59:00Z') }).ok).toBe(true); // 04:59
    expect(decideAutoReboot({ ...base, atMs: at('2026-11-30T04:00:00Z') })).toMatchObject({
      ok: false,
      why: expect.stringContaining('05:00 is outside'),
    });
    expect(decideAutoReboot({ ...base, atMs: at('2026-11-30T01:00:00Z'), inCall: true })).toMatchObject({
      ok: false,
      why: 'the device is in a call',
    });
    expect(
      decideAutoReboot({ ...base, atMs: at('2026-11-30T01:00:00Z'), lastAutoRebootMs: at('2026-11-29T02:00:00Z') }),
    ).toMatchObject({ ok: false, why: expect.stringContaining('at most one') });
    expect(
      decideAutoReboot({ ...base, atMs: at('2026-11-30T01:00:00Z'), lastAutoRebootMs: at('2026-11-29T00:59:00Z') }).ok,
    ).toBe(true);
    expect(decideAutoReboot({ ...base, customer: 'other', atMs: at('2026-11-30T01:00:00Z') }).ok).toBe(false);
  });
});
