/**
 * Issue 18: every drift / early-warning rule fires at its threshold and stays silent just below it, on a virtual
 * clock (record times), with the data behind the verdict.
 */
import { describe, expect, it } from 'vitest';
import { compareVersions, DeviceRules, type RuleId, type Verdict } from '../../hub/rules/device-rules.ts';
import { RulesConfig } from '../../hub/rules/rules-config.ts';
import type { HealthRecord } from '../../protocols/health.ts';

const T0 = Date.parse('2026-11-30T00:00:00Z');
const MIN = 60_000;
const cfg = RulesConfig.parse({ minFirmware: { StudioX50: '4.2.0' } });

function rec(over: Partial<HealthRecord> = {}, atMs = T0): HealthRecord {
  return {
    v: 1,
    agentId: 'a',
    site: 's',
    customer: 'c',
    seq: 0,
    observedAt: new Date(atMs).toISOString(),
    replayed: false,
    pollIntervalMs: 60_000,
    identity: { serial: 'X50A', model: 'StudioX50', firmware: '4.2.0.1' },
    reachability: { rest: { ok: true, attempts: 1 }, snmp: { ok: true, attempts: 1 } },
    components: [],
    evidence: [],
    ...over,
  };
}

/** Feed records one minute apart; the last verdict of `rule`. */
function run(rule: RuleId, records: Partial<HealthRecord>[], rules = new DeviceRules(cfg)): Verdict | undefined {
  let last: Verdict | undefined;
  records.forEach((r, i) => {
    const v = rules.observe(rec(r, T0 + i * MIN), T0 + i * MIN).find((x) => x.rule === rule);
    if (v) last = v;
  });
  return last;
}
const times = <T>(n: number, x: T): T[] => Array.from({ length: n }, () => x);

describe('configuration rules (-> P3)', () => {
  it('firmware below the minimum of its model; the minimum itself is fine', () => {
    expect(compareVersions('4.1.9.999', '4.2.0')).toBe(-1);
    expect(
      run('firmware-below-minimum', [{ identity: { serial: 'X50A', model: 'StudioX50', firmware: '4.1.9.412233' } }]),
    ).toMatchObject({
      isFiring: true,
      data: { firmware: '4.1.9.412233', minimum: '4.2.0' },
    });
    expect(
      run('firmware-below-minimum', [{ identity: { serial: 'X50A', model: 'StudioX50', firmware: '4.2.0' } }])
        ?.isFiring,
    ).toBe(false);
    expect(
      run('firmware-below-minimum', [{ identity: { serial: 'X30A', model: 'StudioX30', firmware: '1.0' } }]),
    ).toBeUndefined();
  });

  it('device clock off by more than the limit; exactly the limit is fine', () => {
    expect(run('clock-offset', [{ clockOffsetS: -121 }])).toMatchObject({
      isFiring: true,
      data: { clockOffsetS: -121 },
    });
    expect(run('clock-offset', [{ clockOffsetS: 120 }])?.isFiring).toBe(false);
  });

  it('SNMP disabled: failing 3 polls while REST answers; 2 polls is silent; a dead device is no verdict', () => {
    const snmpOff = {
      reachability: {
        rest: { ok: true, attempts: 1 },
        snmp: { ok: false, attempts: 2, error: { kind: 'timeout' as const, message: 'no answer' } },
      },
    };
    expect(run('snmp-disabled', times(3, snmpOff))).toMatchObject({ isFiring: true, data: { polls: 3 } });
    expect(run('snmp-disabled', times(2, snmpOff))?.isFiring).toBe(false);
    const dead = { reachability: { rest: { ok: false, attempts: 1 }, snmp: { ok: false, attempts: 1 } } };
    expect(run('snmp-disabled', times(5, dead))).toBeUndefined();
  });

  it('REST disabled (refused while SNMP answers), and credentials changed (auth errors), each from 3 polls', () => {
    const restOff = {
      reachability: {
        rest: { ok: false, attempts: 1, error: { kind: 'refused' as const, message: 'refused' } },
        snmp: { ok: true, attempts: 1 },
      },
    };
    expect(run('rest-disabled', times(3, restOff))?.isFiring).toBe(true);
    expect(run('rest-disabled', times(2, restOff))?.isFiring).toBe(false);
    // a hung REST (timeouts) is not "disabled": the detector and the remote reboot handle it
    const restHung = {
      reachability: {
        rest: { ok: false, attempts: 1, error: { kind: 'timeout' as const, message: 'no answer' } },
        snmp: { ok: true, attempts: 1 },
      },
    };
    expect(run('rest-disabled', times(5, restHung))?.isFiring).toBe(false);
    const auth = {
      reachability: {
        rest: { ok: false, attempts: 1, error: { kind: 'auth' as const, message: 'HTTP 400 SessionRequestInvalid' } },
        snmp: { ok: true, attempts: 1 },
      },
    };
    expect(run('credentials-changed', times(3, auth))).toMatchObject({
      isFiring: true,
      data: { channel: 'rest', polls: 3 },
    });
    expect(run('credentials-changed', times(2, auth))?.isFiring).toBe(false);
    expect(run('rest-disabled', times(3, auth))?.isFiring).toBe(false);
  });
});

describe('trend rules (-> watch)', () => {
  const uptimes = (resets: number) => {
    const out: Partial<HealthRecord>[] = [{ uptimeS: 5000 }];
    for (let i = 0; i < resets; i++) out.push({ uptimeS: 10 + i }, { uptimeS: 3000 + i });
    return out;
  };
  it('3 unplanned reboots in 24 h; 2 are silent; reboots in a maintenance window do not count', () => {
    expect(run('unplanned-reboots', uptimes(3))).toMatchObject({ isFiring: true });
    expect(run('unplanned-reboots', uptimes(2))?.isFiring).toBe(false);
    const rules = new DeviceRules(cfg);
    for (const [i, r] of uptimes(3).entries()) rules.observe(rec(r, T0 + i * MIN), T0 + i * MIN, true);
    expect(
      rules.observe(rec({ uptimeS: 4000 }, T0 + 10 * MIN), T0 + 10 * MIN).find((v) => v.rule === 'unplanned-reboots')
        ?.isFiring,
    ).toBe(false);
  });

  it('reboots older than the window no longer count', () => {
    const rules = new DeviceRules(cfg);
    const feed = (uptimeS: number, atMs: number) =>
      rules.observe(rec({ uptimeS }, atMs), atMs).find((v) => v.rule === 'unplanned-reboots');
    feed(5000, T0);
    feed(1, T0 + MIN);
    feed(2000, T0 + 2 * MIN);
    feed(1, T0 + 3 * MIN);
    feed(2000, T0 + 25 * 3_600_000);
    expect(feed(1, T0 + 25 * 3_600_000 + MIN)?.isFiring).toBe(false);
  });

  const cam = (status: 'ok' | 'failed') => ({
    components: [{ kind: 'camera' as const, name: 'camera 1', status, source: 'rest' as const }],
  });
  it('5 short camera losses in 24 h; 4 are silent; a long loss is not a blip', () => {
    const blips = (n: number) => [cam('ok'), ...Array.from({ length: n }, () => [cam('failed'), cam('ok')]).flat()];
    expect(run('component-blips', blips(5))).toMatchObject({ isFiring: true });
    expect(run('component-blips', blips(4))?.isFiring).toBe(false);
    const long = [cam('ok'), ...times(10, cam('failed')), cam('ok')];
    expect(run('component-blips', [...blips(4), ...long])?.isFiring).toBe(false);
  });

  it('temperature above the threshold for 5 polls; 4 polls, or exactly the threshold, are silent', () => {
    expect(run('temperature-high', times(5, { temperatureC: 61 }))).toMatchObject({
      isFiring: true,
      data: { polls: 5 },
    });
    expect(run('temperature-high', times(4, { temperatureC: 61 }))?.isFiring).toBe(false);
    expect(run('temperature-high', times(8, { temperatureC: 60 }))?.isFiring).toBe(false);
  });

  it('3 calls with bad packet loss or jitter in 24 h; 2 bad calls (or calls just at the limits) are silent', () => {
    const call = (lossPct: number, jitterMs = 10) => [
      { call: { inCall: true, packetLossPct: lossPct, jitterMs } },
      { call: { inCall: true, packetLossPct: 1, jitterMs: 5 } },
      { call: { inCall: false } },
    ];
    expect(run('call-quality', [...call(8), ...call(1, 80), ...call(6)])).toMatchObject({ isFiring: true });
    expect(run('call-quality', [...call(8), ...call(6), ...call(5, 50)])?.isFiring).toBe(false);
  });
});

describe('verdict filter (the hub builds only the verdicts it acts on)', () => {
  it('returns only the wanted verdicts, equal to the unfiltered ones, and the rules advance the same', () => {
    const all = new DeviceRules(cfg);
    const filtered = new DeviceRules(cfg);
    const asked: string[] = [];
    const wants = (rule: RuleId, _kind: Verdict['kind'], isFiring: boolean) => {
      asked.push(rule);
      return isFiring;
    };
    // Hot for 5 polls (the temperature trend fires), then three reboots (the reboot trend fires).
    const reboots = [{ uptimeS: 5000 }, ...[0, 1, 2].flatMap((i) => [{ uptimeS: 10 + i }, { uptimeS: 3000 + i }])];
    const records: Partial<HealthRecord>[] = [...times(5, { temperatureC: 61 }), ...reboots];
    const fired = new Set<string>();
    records.forEach((r, i) => {
      const atMs = T0 + i * MIN;
      const expected = all.observe(rec(r, atMs), atMs).filter((v) => v.isFiring);
      expect(filtered.observe(rec(r, atMs), atMs, false, wants)).toEqual(expected);
      for (const v of expected) fired.add(v.rule);
    });
    expect([...fired].sort()).toEqual(['temperature-high', 'unplanned-reboots']);
    expect(asked).toContain('credentials-changed');
  });
});
