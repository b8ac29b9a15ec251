/**
 * Fuzz door: SNMP varbinds as the agent reads them (agent/poll/snmp.ts type checks, uptime/reboot logic,
 * normalisation, the record's encoding). Each case is one poll of a device whose SNMP agent answers every
 * requested OID with a fuzzed varbind (right type, wrong type, exception, missing, extra OIDs, odd values:
 * huge, negative, fractional, control characters) or fails the request. The record must always be valid.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SCALARS } from '../../agent/poll/snmp.ts';
import { DeviceError } from '../../protocols/clients/device-error.ts';
import { type SnmpClient, SnmpType, type SnmpVarbind } from '../../protocols/clients/snmp.ts';
import { ProbeErrorKind } from '../../protocols/health.ts';
import { assertClearError, fuzzDoor } from '../helpers/agent-fuzz-door.ts';
import { tempDir } from '../helpers/agent-harness.ts';
import { pollerFixture } from '../helpers/agent-poller-fixture.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TYPES = Object.values(SnmpType);
const valueArb: fc.Arbitrary<SnmpVarbind['value']> = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e308),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constant(null),
  fc.constantFrom('1.3.6.1.4.1.13885', '', '\u0000\u202e', 'x'.repeat(70_000)),
);
/** One answer per requested OID: as expected, any type, an exception, or missing. */
const plausibleArb: fc.Arbitrary<SnmpVarbind['value']> = fc.oneof(fc.nat(2 ** 32 - 1), fc.string({ maxLength: 60 }));
const answerArb = fc.oneof(
  { weight: 30, arbitrary: fc.record({ kind: fc.constant('typed' as const), value: plausibleArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('typed' as const), value: valueArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('any' as const),
      type: fc.constantFrom(...TYPES, 0, 255),
      value: valueArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('missing' as const) }) },
);
const EXPECTED_TYPE: Record<string, number> = {
  string: SnmpType.OctetString,
  int: SnmpType.Integer,
  ticks: SnmpType.TimeTicks,
  oid: SnmpType.ObjectIdentifier,
};
const SCALAR_LIST = Object.values(SCALARS) as unknown as [string, string][];

const caseArb = fc.record({
  failure: fc.oneof(
    { weight: 10, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('timeout', 'snmp', 'plain') },
  ),
  answers: fc.array(answerArb, { minLength: SCALAR_LIST.length, maxLength: SCALAR_LIST.length }),
  extra: fc.array(fc.record({ oid: fc.string({ maxLength: 40 }), type: fc.constantFrom(...TYPES), value: valueArb }), {
    maxLength: 3,
  }),
  walkRows: fc.array(fc.record({ suffix: fc.nat(5), type: fc.constantFrom(...TYPES), value: valueArb }), {
    maxLength: 4,
  }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function varbinds(c: Case, oids: readonly string[]): SnmpVarbind[] {
  const out: SnmpVarbind[] = [];
  oids.forEach((oid, i) => {
    const answer = c.answers[i % c.answers.length];
    const expect = SCALAR_LIST.find(([o]) => o === oid)?.[1] ?? 'ticks';
    if (!answer || answer.kind === 'missing') return;
    if (answer.kind === 'typed') {
      const type = EXPECTED_TYPE[expect] ?? SnmpType.Integer;
      const isText = type === SnmpType.OctetString || type === SnmpType.ObjectIdentifier;
      const raw = answer.value;
      const value = isText ? String(raw) : typeof raw === 'string' ? raw.length : raw;
      out.push({ oid, type, value });
    } else out.push({ oid, type: answer.type, value: answer.value });
  });
  return [...out, ...c.extra];
}

describe('fuzz: SNMP varbinds', () => {
  it('every answer gives a valid health record; a refused one a clear SNMP error', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.close);
    let current: Case | undefined;
    const client: SnmpClient = {
      get(oids) {
        const c = current as Case;
        if (c.failure === 'timeout')
          return Promise.reject(new DeviceError('timeout', 'snmp get: no SNMP answer (timeout)'));
        if (c.failure === 'snmp') return Promise.reject(new DeviceError('snmp', 'snmp get: bad packet'));
        if (c.failure === 'plain')
          return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'oid')"));
        return Promise.resolve(varbinds(c, oids));
      },
      walk(oid) {
        const c = current as Case;
        return Promise.resolve(c.walkRows.map((r) => ({ oid: `${oid}.${r.suffix}`, type: r.type, value: r.value })));
      },
      close() {},
    };
    const fixture = await pollerFixture(
      tmp.dir,
      { channels: ['snmp'], snmp: { version: '2c', community: 'public' } },
      { snmp: client },
    );
    cleanups.push(fixture.close);
    const summary = await fuzzDoor('agent-snmp-varbinds', caseArb, async (c, i) => {
      current = c;
      const record = await fixture.pollAndEncode(i);
      const snmp = record.reachability.snmp;
      if (snmp?.ok) return 'accepted';
      if (!snmp?.error) throw new Error('SNMP failed without an error');
      ProbeErrorKind.parse(snmp.error.kind);
      assertClearError(new Error(snmp.error.message), 'snmp error');
      return 'rejected';
    });
    expect(summary.crashes).toBe(0);
    expect(summary.unhandled).toBe(0);
    expect(summary.accepted).toBeGreaterThan(0);
    expect(summary.rejected).toBeGreaterThan(0);
    expect(summary.growthMiB).toBeLessThan(512);
  });
});
