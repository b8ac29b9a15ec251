/**
 * The agent's health check as build-time generated code (the 'health' check of build/compiled-checks-standalone.ts,
 * ajv standalone, loaded in place of protocols/compiled-checks.ts in the agent bundle) gives the same verdict as the
 * hub's run-time compiled validator (protocols/health-validator.ts) and as zod's HealthRecord (the source of truth) on
 * a corpus: valid records, records with one field set to a value near or over its limits or of the wrong type, with a
 * field removed or added, and arbitrary values. The agent bundle carries no ajv compiler; encodeHealth
 * (health-encode.ts) keeps the errors.
 */
import { readFileSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CheckName, checkValue } from '../../protocols/compiled-checks.ts';
import { HealthRecord } from '../../protocols/health.ts';
import { encodeHealth } from '../../protocols/health-encode.ts';
import { healthValidator } from '../../protocols/health-validator.ts';
import { encodeMessage } from '../../protocols/messages.ts';
import { errorText } from '../helpers/error-text.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { paths, setAt } from '../helpers/mutate.ts';

const RUNS = Number(process.env.HEZO_FUZZ_RUNS ?? 1000);

/**
 * protocols/compiled-checks.ts bundled exactly as the agent bundle gets it (build/build.mjs: the generated code, its
 * ajv run-time helpers, esbuild's module interop inside this `"type": "module"` package), loaded from dist/.
 */
async function loadGenerated(): Promise<(value: unknown) => boolean> {
  // @ts-expect-error plain ESM build script without types
  const { bundleOne } = await import('../../build/build.mjs');
  const file = (await bundleOne('protocols/compiled-checks.ts', `test-health-check-${process.pid}.mjs`)) as string;
  try {
    expect(readFileSync(file, 'utf8')).toMatch(/"validate\d+"/); // the generated function, not the run-time compile
    const generated = (await import(pathToFileURL(file).href)) as { checkValue: typeof checkValue };
    return (value) => generated.checkValue('health' satisfies CheckName, value) === undefined;
  } finally {
    rmSync(file, { force: true });
    rmSync(`${file}.map`, { force: true });
  }
}

const bases = [
  makeHealthRecord(),
  makeHealthRecord({ reachable: false }),
  makeHealthRecord({ serial: 'S'.repeat(64), model: 'G7500', seq: 2 ** 53 - 1 }, {
    call: { inCall: true, activeCalls: 1, packetLossPct: 0.5, jitterMs: 3, latencyMs: 40 },
    evidence: [{ field: 'components', source: 'rest', path: '/rest/system/status', value: 'ok' }],
  } as Partial<HealthRecord>),
];
const oddValue = fc.oneof(
  fc.constantFrom('', 'x'.repeat(64), 'x'.repeat(65), '😀'.repeat(33), '2024-02-30T00:00:00Z', 'rest', 'ok'),
  fc.constantFrom(0, -1, 0.5, 1, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e300, -0),
  fc.constantFrom(null, true, false, [], {}, [1], { extra: 1 }),
  fc.string({ maxLength: 140 }),
  fc.double(),
  fc.anything({ maxDepth: 2 }),
);
const corpus = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...bases) },
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(...bases)
      .chain((base) =>
        fc
          .tuple(fc.constantFrom(...paths(base)), oddValue, fc.boolean())
          .map(([path, next, remove]) => setAt(base, path, next, remove)),
      ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...bases), fc.string({ maxLength: 12 }), oddValue)
      .map(([base, key, next]) => ({ ...base, [key]: next })),
  },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
);

describe('health check generated at build time (agent bundle)', () => {
  it('agrees with the run-time compiled validator and with zod', async () => {
    const generated = await loadGenerated();
    let accepted = 0;
    let total = 0;
    fc.assert(
      fc.property(corpus, (value) => {
        const zod = HealthRecord.safeParse(value).success;
        expect(generated(value), JSON.stringify(value)).toBe(zod);
        expect(healthValidator()(value)).toBe(zod);
        expect(checkValue('health', value) === undefined).toBe(zod);
        total++;
        if (zod) accepted++;
      }),
      { numRuns: RUNS },
    );
    // the corpus exercises both verdicts (a check that accepts or rejects everything would fail above)
    expect(accepted).toBeGreaterThan(total / 20);
    expect(accepted).toBeLessThan(total);
  });

  it("encodeHealth (health-encode.ts) gives health-validator's text and zod's errors", () => {
    const good = makeHealthRecord();
    expect(encodeHealth(good)).toBe(JSON.stringify(good));
    const bad = { ...good, seq: -1 } as HealthRecord;
    expect(errorText(() => encodeHealth(bad))).toBeDefined();
    expect(errorText(() => encodeHealth(bad))).toBe(errorText(() => encodeMessage('health', bad)));
  });

  it('the agent bundle holds the generated check, not the ajv compiler', async () => {
    // @ts-expect-error plain ESM build script without types
    const { bundleOne } = await import('../../build/build.mjs');
    const file = (await bundleOne('build/agent-entry.ts', `test-agent-health-check-${process.pid}.mjs`)) as string;
    try {
      const text = readFileSync(file, 'utf8');
      // ajv's code generator (its own error text survives minification) is not in the agent
      expect(text).not.toContain('CodeGen: name must be a valid identifier');
      // ...while the generated check is (its function keeps ajv's name: keepNames)
      expect(text).toMatch(/"validate\d+"/);
    } finally {
      rmSync(file, { force: true });
      rmSync(`${file}.map`, { force: true });
    }
  });
});
