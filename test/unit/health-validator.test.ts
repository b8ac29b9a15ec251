/**
 * The compiled health validator (protocols/health-validator.ts, ajv from `z.toJSONSchema`) accepts and rejects
 * exactly what zod's HealthRecord does: hand-written edge cases and fast-check generated records near every limit,
 * and decodeHealth/encodeHealth give the same records and the same errors as decodeMessage/encodeMessage.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHANNELS, DEVICE_MODELS, HealthRecord, ProbeErrorKind } from '../../protocols/health.ts';
import { encodeHealth } from '../../protocols/health-encode.ts';
import { decodeHealth, healthValidator } from '../../protocols/health-validator.ts';
import { decodeMessage, encodeMessage } from '../../protocols/messages.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';

const RUNS = Number(process.env.HEZO_FUZZ_RUNS ?? 1000);

function outcome(fn: () => unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return { ok: false, error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message}` };
  }
}

/** The compiled check and zod agree on `value`, and the decoders agree on its JSON text. */
function expectSameVerdict(value: unknown): void {
  const zod = HealthRecord.safeParse(value).success;
  expect(healthValidator()(value), JSON.stringify(value)).toBe(zod);
  const text = JSON.stringify(value);
  if (text === undefined) return;
  expect(outcome(() => decodeHealth(text))).toEqual(outcome(() => decodeMessage('health', text)));
  expect(outcome(() => decodeHealth(Buffer.from(text)))).toEqual(outcome(() => decodeMessage('health', text)));
}

// Strings of every kind of unit (astral characters are 2 UTF-16 units but 1 code point: zod counts code points).
const anyString = (maxLength: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.string({ maxLength: Math.min(maxLength, 12) }) },
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.constantFrom('', 'a', '😀'.repeat(32), '😀'.repeat(33), 'x'.repeat(64), 'x'.repeat(65), '\ud800'.repeat(65)),
  );
/** Mostly `valid`, sometimes anything near the limits (so that about a third of the records pass). */
const mostly = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 40, arbitrary: valid }, { weight: 1, arbitrary: other });
const around = (values: readonly string[], maxLength = 20) => mostly(fc.constantFrom(...values), anyString(maxLength));
const num = (min: number, max: number) =>
  mostly(
    fc.integer({ min, max: Math.min(max, min + 1000) }),
    fc.oneof(
      fc.integer({ min: Math.max(min - 2, Number.MIN_SAFE_INTEGER), max: Math.min(max + 2, Number.MAX_SAFE_INTEGER) }),
      fc.double({ noNaN: true, noDefaultInfinity: true, min: min - 2, max: max + 2 }),
      fc.constantFrom(min, max, min - 1, max + 1, 0.5, -0, 2 ** 53, 2 ** 53 - 1, 1e300, -1e300),
    ),
  );
const text = (maxLength: number) => mostly(fc.string({ maxLength: Math.min(maxLength, 20) }), anyString(maxLength + 2));
const iso = mostly(
  fc.date({ noInvalidDate: true, min: new Date(0), max: new Date('9999-12-31') }).map((d) => d.toISOString()),
  fc.oneof(
    fc.constantFrom(
      '2024-02-29T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-11-30T03:00:00+01:00',
      '2026-11-30T03:00:00.123456Z',
      '2026-11-30T03:00:00',
      '2026-11-30 03:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-11-30T24:00:00Z',
      '2026-11-30T03:00:00+1:00',
    ),
    fc.string({ maxLength: 30 }),
  ),
);
const serial = mostly(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
  fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9_.-]{0,66}$/),
    fc.constantFrom('-x', '.', 'SN 1', 'SN\n', 'S'.repeat(64), 'S'.repeat(65)),
    fc.string({ maxLength: 8 }),
  ),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });

const probe = fc.record(
  {
    ok: mostly(fc.boolean(), fc.constantFrom(0, 'true', null)),
    attempts: num(1, 10),
    latencyMs: num(0, 600_000),
    error: fc.record(
      {
        kind: around(ProbeErrorKind.options),
        message: text(500),
        httpStatus: num(100, 599),
      },
      { requiredKeys: ['kind', 'message'] },
    ),
  },
  { requiredKeys: ['ok', 'attempts'] },
);
const record = fc.record(
  {
    v: mostly(fc.constant(1), fc.constantFrom(2, '1', 0)),
    agentId: mostly(fc.string({ minLength: 1, maxLength: 20 }), anyString(66)),
    site: mostly(fc.string({ minLength: 1, maxLength: 20 }), anyString(66)),
    customer: mostly(fc.string({ minLength: 1, maxLength: 20 }), anyString(66)),
    seq: num(0, Number.MAX_SAFE_INTEGER),
    observedAt: iso,
    replayed: mostly(fc.boolean(), fc.constantFrom(1, null)),
    pollIntervalMs: num(1000, 3_600_000),
    identity: fc.record(
      {
        serial,
        model: around(DEVICE_MODELS),
        firmware: text(64),
        hostname: text(128),
        mac: text(32),
      },
      { requiredKeys: ['serial', 'model'] },
    ),
    reachability: mostly(
      fc.dictionary(fc.constantFrom(...CHANNELS), probe, { minKeys: 1, maxKeys: 5 }),
      fc.dictionary(around(CHANNELS, 5), probe, { maxKeys: 5 }),
    ),
    components: fc.array(
      fc.record({
        kind: around(['camera', 'microphone', 'speaker', 'network', 'usb', 'touch-controller', 'system']),
        name: mostly(fc.string({ minLength: 1, maxLength: 20 }), anyString(122)),
        status: around(['ok', 'failed', 'disabled', 'unknown']),
        source: around(['rest', 'snmp', 'ssh', 'usb']),
      }),
      { maxLength: 4 },
    ),
    call: maybe(
      fc.record(
        {
          inCall: fc.boolean(),
          activeCalls: num(0, 100),
          packetLossPct: num(0, 100),
          jitterMs: num(0, 100_000),
          latencyMs: num(0, 100_000),
        },
        { requiredKeys: ['inCall'] },
      ),
    ),
    uptimeS: maybe(num(0, 1e9)),
    temperatureC: maybe(num(-50, 200)),
    evidence: fc.array(
      fc.record({
        field: text(120),
        source: around(['rest', 'snmp', 'ssh', 'usb', 'tcp', 'agent']),
        path: text(200),
        value: text(500),
      }),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: ['v', 'agentId', 'site', 'customer', 'seq', 'observedAt', 'replayed', 'pollIntervalMs'] },
);
/** Valid-ish records, sometimes with one extra unknown field, or replaced by any JSON value. */
const candidate = fc.oneof(
  { weight: 8, arbitrary: record },
  {
    weight: 1,
    arbitrary: fc
      .tuple(record, fc.string({ maxLength: 8 }), fc.jsonValue())
      .map(([r, key, value]) => JSON.parse(JSON.stringify({ ...r, [key]: value }))),
  },
  { weight: 1, arbitrary: fc.jsonValue() },
);

describe('compiled health validator = zod HealthRecord', () => {
  it('hand-written edge cases', () => {
    const ok = makeHealthRecord();
    const cases: unknown[] = [
      ok,
      { ...ok, reachability: {} },
      { ...ok, reachability: { rest: undefined } },
      { ...ok, seq: 2 ** 53 },
      { ...ok, seq: 2 ** 53 - 1 },
      { ...ok, seq: 1.5 },
      { ...ok, seq: -0 },
      { ...ok, temperatureC: Number.NaN },
      { ...ok, uptimeS: Number.POSITIVE_INFINITY },
      { ...ok, agentId: '😀'.repeat(32) },
      { ...ok, agentId: `${'😀'.repeat(32)}x` },
      { ...ok, identity: { ...ok.identity, serial: 'é' } },
      { ...ok, agentId: '\ud800'.repeat(64) },
      { ...ok, agentId: '\ud800'.repeat(65) },
      { ...ok, components: Array.from({ length: 64 }, () => ok.components[0]) },
      { ...ok, observedAt: '2026-02-29T00:00:00Z' },
      { ...ok, extra: 1 },
      JSON.parse(`{${JSON.stringify(ok).slice(1, -1)},"__proto__":{"x":1}}`),
      { ...ok, components: Array.from({ length: 65 }, () => ok.components[0]) },
      { ...ok, v: 2 },
      null,
      [],
      'health',
    ];
    for (const c of cases) expectSameVerdict(c);
    // The corpus holds both verdicts (a test that only saw one side could not fail).
    expect(cases.filter((c) => HealthRecord.safeParse(c).success).length).toBeGreaterThan(3);
    expect(cases.filter((c) => !HealthRecord.safeParse(c).success).length).toBeGreaterThan(10);
  });

  it(`fast-check: ${RUNS} generated records near every limit`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(candidate, (value) => {
        expectSameVerdict(value);
        if (HealthRecord.safeParse(value).success) accepted += 1;
      }),
      { numRuns: RUNS, seed: Number(process.env.HEZO_FUZZ_SEED ?? 17) },
    );
    // Both verdicts are well represented.
    expect(accepted).toBeGreaterThan(RUNS / 50);
    expect(accepted).toBeLessThan(RUNS);
  });

  it('encodeHealth = encodeMessage: same text for a valid record, same error for a bad one', () => {
    const ok = makeHealthRecord();
    expect(JSON.parse(encodeHealth(ok))).toEqual(JSON.parse(encodeMessage('health', ok)));
    const bad = { ...ok, pollIntervalMs: 5 };
    expect(outcome(() => encodeHealth(bad))).toEqual(outcome(() => encodeMessage('health', bad)));
    expect(outcome(() => encodeHealth(bad)).ok).toBe(false);
  });
});
