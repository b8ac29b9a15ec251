/**
 * The compiled checks of the wire messages and REST answers (protocols/compiled-checks.ts) that let the agent run
 * without zod: the build-time generated form (build/compiled-checks-standalone.ts, ajv standalone, what the agent
 * bundle runs) and the sources' form (ajv at run time, zod naming the fields) give zod's verdict on a corpus of valid
 * values, values with one field changed, removed or added, and arbitrary values; the generated form names the field
 * of the first issue; the agent's decode/encode (protocols/wire.ts) refuse what messages.ts refuses, with its codes.
 */
import { readFileSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHECKED, type CheckName, checkValue } from '../../protocols/compiled-checks.ts';
import { decodeMessage, encodeMessage } from '../../protocols/messages.ts';
import { decodeChecked, encodeChecked } from '../../protocols/wire.ts';
import { errorText } from '../helpers/error-text.ts';
import { paths, setAt } from '../helpers/mutate.ts';

const RUNS = Number(process.env.HEZO_FUZZ_RUNS ?? 1000);
type Check = (name: CheckName, value: unknown) => string[] | undefined;

/** protocols/compiled-checks.ts bundled exactly as the agent bundle gets it (build/build.mjs), loaded from dist/. */
async function loadGenerated(): Promise<Check> {
  // @ts-expect-error plain ESM build script without types
  const { bundleOne } = await import('../../build/build.mjs');
  const file = (await bundleOne('protocols/compiled-checks.ts', `test-compiled-checks-${process.pid}.mjs`)) as string;
  try {
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/"validate\d+"/); // generated functions, not the run-time compile
    expect(text).not.toContain('toJSONSchema'); // no zod
    return ((await import(pathToFileURL(file).href)) as { checkValue: Check }).checkValue;
  } finally {
    rmSync(file, { force: true });
    rmSync(`${file}.map`, { force: true });
  }
}

const at = '2026-11-30T10:00:00.000Z';
const BASES: [CheckName, unknown][] = [
  ['cmd', { v: 1, id: 'cmd-000001', kind: 'poll-now', serial: 'SN1', issuedAt: at, timeoutMs: 5000 }],
  [
    'cmd',
    {
      v: 1,
      id: 'cmd-000002',
      kind: 'accept-identity',
      serial: 'SN1',
      issuedAt: at,
      timeoutMs: 600_000,
      ticketId: 'T-1',
      resumeFrom: { 'logs.tar': 2 },
      identity: { channel: 'rest', fingerprint: 'AB:CD' },
      reason: 'engineer asked',
    },
  ],
  ['reply', { v: 1, id: 'cmd-000001', ok: true, data: { records: 1 } }],
  ['reply', { v: 1, id: 'cmd-000001', ok: false, code: 'DEVICE_TIMEOUT', error: 'no answer' }],
  [
    'event',
    { v: 1, agentId: 'a1', serial: 'SN1', at, replayed: false, type: 'snmp-trap', detail: 'x', trapOid: '1.3' },
  ],
  [
    'heartbeat',
    {
      v: 1,
      agentId: 'a1',
      at,
      intervalMs: 30_000,
      outboxDepth: 0,
      outboxDropped: 2,
      progress: [{ task: 't', done: 1, total: 2 }],
    },
  ],
  [
    'presence',
    { v: 1, agentId: 'a1', site: 's1', status: 'stopping', at, agentVersion: '1.0', devices: ['SN1', 'SN2'] },
  ],
  [
    'attachment',
    {
      v: 1,
      transferId: 'xfer-0001',
      commandId: 'cmd-000001',
      serial: 'SN1',
      name: 'device-logs.tar.gz',
      kind: 'device-logs',
      capturedAt: at,
      seq: 0,
      total: 1,
      size: 3,
      sha256: 'a'.repeat(64),
      data: 'YWJj',
    },
  ],
  ['LoginResponse', { success: true, session: { sessionId: 'abc', extra: 1 } }],
  ['SystemInfo', { model: 'Studio X50', serialNumber: 'SN1', uptime: 12, lanStatus: { speedMbps: 1000 }, more: [] }],
  ['SystemStatus', [{ name: 'camera', langtag: 'x', stateList: ['ok'] }]],
  [
    'Microphones',
    [
      { number: 1, state: 'Normal', mute: true },
      { number: 2, mute: 0 },
    ],
  ],
  ['Cameras', [{ cameraIndex: 1, name: 'Main', connected: true }]],
  ['Conferences', [{ id: 3, isActive: true }, { id: 'x' }]],
  ['MediaStats', [{ mediaDirection: 'RX', jitter: 3, packetLoss: 0, percentPacketLoss: 0.5 }]],
  ['Peripherals', [{ deviceCategory: 'CAMERA', serialNumber: 'E70-1', productName: 'Studio E70' }]],
];

const oddValue = fc.oneof(
  fc.constantFrom('', 'x'.repeat(64), 'x'.repeat(2001), 'cmd-1', '2024-02-30T00:00:00Z', 'rest', 'poll-now', 'YWJ'),
  fc.constantFrom(0, -1, 0.5, 1, 2 ** 53, 600_001, 1e300, -0),
  fc.constantFrom(null, true, false, [], {}, [1], { extra: 1 }),
  fc.string({ maxLength: 70 }),
  fc.double(),
  fc.anything({ maxDepth: 2 }),
);
const corpus: fc.Arbitrary<[CheckName, unknown]> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...BASES) },
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(...BASES)
      .chain(([name, base]) =>
        fc
          .tuple(fc.constantFrom(...paths(base)), oddValue, fc.boolean())
          .map(([path, next, remove]): [CheckName, unknown] => [name, setAt(base, path, next, remove)]),
      ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...BASES), fc.string({ maxLength: 12 }), oddValue)
      .map(([[name, base], key, next]): [CheckName, unknown] => [
        name,
        Array.isArray(base) ? [...base, { [key]: next }] : { ...(base as object), [key]: next },
      ]),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...BASES.map(([n]) => n)), fc.anything({ maxDepth: 3 })) },
);

describe('compiled checks (the agent without zod)', () => {
  it('the generated and the run-time forms agree with zod on every check', async () => {
    const generated = await loadGenerated();
    let accepted = 0;
    let total = 0;
    fc.assert(
      fc.property(corpus, ([name, value]) => {
        const zod = CHECKED[name].safeParse(value).success;
        expect(generated(name, value) === undefined, `${name} ${JSON.stringify(value)}`).toBe(zod);
        expect(checkValue(name, value) === undefined).toBe(zod);
        total++;
        if (zod) accepted++;
      }),
      { numRuns: RUNS },
    );
    // the corpus exercises both verdicts (a check that accepts or rejects everything would fail above)
    expect(accepted).toBeGreaterThan(total / 20);
    expect(accepted).toBeLessThan(total);
  });

  it('the generated form names the field of the first issue', async () => {
    const generated = await loadGenerated();
    const cmd = BASES[0]?.[1] as Record<string, unknown>;
    expect(generated('cmd', { ...cmd, timeoutMs: 600_001 })).toEqual(['timeoutMs: must be <= 600000']);
    expect(generated('cmd', { ...cmd, extra: 1 })).toEqual(['extra: unknown field']);
    // a hostile payload's own `__proto__` key (what JSON.parse makes of it) is an unknown field, never a prototype
    const hostile = JSON.parse(JSON.stringify(cmd).replace('{', '{"__proto__":{"polluted":1},'));
    expect(generated('cmd', hostile)).toEqual(['__proto__: unknown field']);
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
    expect(generated('SystemStatus', [{ name: 'x', stateList: [7] }])).toEqual(['[0].stateList[0]: must be string']);
    expect(generated('cmd', cmd)).toBeUndefined();
  });

  it("the agent's decode and encode refuse what messages.ts refuses, with the same codes", () => {
    const cmd = BASES[0]?.[1] as Record<string, unknown>;
    const code = (text: string | undefined) => text?.split(' ')[0];
    for (const payload of [
      JSON.stringify(cmd),
      JSON.stringify({ ...cmd, v: 2 }),
      JSON.stringify({ ...cmd, kind: 'format-disk' }),
      '{"v":1,',
      JSON.stringify({ ...cmd, reason: 'x'.repeat(9000) }),
      `${'['.repeat(40)}${']'.repeat(40)}`,
    ]) {
      expect(code(errorText(() => decodeChecked('cmd', payload))), payload.slice(0, 60)).toBe(
        code(errorText(() => decodeMessage('cmd', payload))),
      );
    }
    expect(decodeChecked('cmd', JSON.stringify(cmd))).toEqual(decodeMessage('cmd', JSON.stringify(cmd)));
    const reply = { v: 1 as const, id: 'cmd-000001', ok: true as const, data: {} };
    expect(encodeChecked('reply', reply)).toBe(encodeMessage('reply', reply));
    const bad = { ...reply, id: 'x' };
    expect(errorText(() => encodeChecked('reply', bad))).toBe(errorText(() => encodeMessage('reply', bad)));
  });
});
