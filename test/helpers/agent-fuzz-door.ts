/**
 * One fuzzed door of the agent (device REST answers, SNMP varbinds, SSH CLI outputs, the config file):
 * HEZO_FUZZ_RUNS cases (default 1,000; `npm run fuzz`: 10,000) through fast-check, each either accepted or
 * rejected with a clear error; anything else is a crash (the property fails with its counterexample). Unhandled
 * rejections during the door count as crashes too. Peak RSS is sampled after every case and printed in a
 * one-line summary per door: `[fuzz] agent-rest: 1000 cases, 0 crashes, 0 unhandled, peak RSS 180 MiB (+12)`.
 */
import fc from 'fast-check';

export const FUZZ_RUNS = Number(process.env.HEZO_FUZZ_RUNS ?? 1000);
const MiB = 1024 * 1024;

/** How the agent treated the input; a batch of several cases (one SSH session, say) reports counts. */
export type CaseOutcome = 'accepted' | 'rejected' | { accepted: number; rejected: number };

export interface DoorSummary {
  door: string;
  cases: number;
  accepted: number;
  rejected: number;
  crashes: number;
  unhandled: number;
  peakRssMiB: number;
  growthMiB: number;
}

/**
 * Run `runCase` on FUZZ_RUNS values of `arb`. `runCase` returns how the agent treated the input and throws only
 * for a crash (an unexpected error type, an invalid output, a missing or unclear error message).
 */
export async function fuzzDoor<T>(
  door: string,
  arb: fc.Arbitrary<T>,
  runCase: (value: T, index: number) => Promise<CaseOutcome>,
  options: { runs?: number; seed?: number } = {},
): Promise<DoorSummary> {
  const runs = options.runs ?? FUZZ_RUNS;
  const summary: DoorSummary = {
    door,
    cases: 0,
    accepted: 0,
    rejected: 0,
    crashes: 0,
    unhandled: 0,
    peakRssMiB: 0,
    growthMiB: 0,
  };
  const onUnhandled = () => {
    summary.unhandled++;
  };
  process.on('unhandledRejection', onUnhandled);
  const baseRss = process.memoryUsage().rss;
  let peakRss = baseRss;
  try {
    await fc.assert(
      fc.asyncProperty(arb, async (value) => {
        const index = summary.cases;
        try {
          const outcome = await runCase(value, index);
          if (typeof outcome === 'string') {
            summary.cases++;
            summary[outcome]++;
          } else {
            summary.cases += outcome.accepted + outcome.rejected;
            summary.accepted += outcome.accepted;
            summary.rejected += outcome.rejected;
          }
        } catch (err) {
          summary.cases++;
          summary.crashes++;
          throw err;
        } finally {
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }
      }),
      { numRuns: runs, endOnFailure: true, ...(options.seed === undefined ? {} : { seed: options.seed }) },
    );
    // let a late rejection of the last case surface before counting
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', onUnhandled);
    summary.peakRssMiB = Math.round(peakRss / MiB);
    summary.growthMiB = Math.round((peakRss - baseRss) / MiB);
    process.stdout.write(
      `[fuzz] ${door}: ${summary.cases} cases (${summary.accepted} accepted, ${summary.rejected} rejected), ` +
        `${summary.crashes} crashes, ${summary.unhandled} unhandled, peak RSS ${summary.peakRssMiB} MiB (+${summary.growthMiB})\n`,
    );
  }
  return summary;
}

/** A clear error: an Error with a non-empty, single-paragraph message of bounded length. */
export function assertClearError(err: unknown, what: string): asserts err is Error {
  if (!(err instanceof Error)) throw new Error(`${what}: threw a non-Error ${String(err)}`);
  if (err.message.trim().length === 0) throw new Error(`${what}: empty error message`);
  if (err.message.length > 20_000) throw new Error(`${what}: error message of ${err.message.length} characters`);
}

/** Fuzzed JSON-ish values shaped like `sample`: fields kept, dropped, retyped or replaced by any JSON. */
export function shaped(sample: unknown, depth = 0): fc.Arbitrary<unknown> {
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  if (Array.isArray(sample)) {
    const item = sample[0] === undefined ? anyJson : shaped(sample[0], depth + 1);
    return fc.oneof({ weight: 5, arbitrary: fc.array(item, { maxLength: 6 }) }, { weight: 1, arbitrary: anyJson });
  }
  if (sample !== null && typeof sample === 'object') {
    const fields: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [key, value] of Object.entries(sample)) fields[key] = shaped(value, depth + 1);
    const record = fc.record(fields, { requiredKeys: [] });
    return fc.oneof({ weight: 6, arbitrary: record }, { weight: 1, arbitrary: anyJson });
  }
  const same: fc.Arbitrary<unknown> =
    typeof sample === 'number'
      ? fc.oneof(
          fc.constant(sample),
          fc.integer(),
          fc.double({ noNaN: true }),
          fc.constantFrom(-1, 0, 1e308, -1e308, 2 ** 53),
        )
      : typeof sample === 'boolean'
        ? fc.boolean()
        : typeof sample === 'string'
          ? fc.oneof(
              fc.constant(sample),
              fc.string({ maxLength: 40 }),
              fc.string({ unit: 'binary', maxLength: 40 }),
              fc.string({ minLength: 1990, maxLength: 2100 }),
            )
          : anyJson;
  return fc.oneof({ weight: 4, arbitrary: same }, { weight: 1, arbitrary: anyJson });
}

/** Raw bodies a broken or hostile peer sends instead of the JSON it should. */
export function hostileBody(json: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 8, arbitrary: json.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.constant(Buffer.from('<html><body>502 Bad Gateway</body></html>')) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1000, max: 200_000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)),
    },
    { weight: 1, arbitrary: json.map((v) => Buffer.from((JSON.stringify(v) ?? 'null').slice(0, 7))) },
  );
}
