/**
 * `npm run bench [-- --full | --tiny] [B1 B3 ...]`: runs the scenarios, writes bench/results/<id>.json and
 * bench/results/summary.md, prints the Markdown table with baselines, ratios and targets.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, markdownTable, type Profile, type Scenario, type ScenarioResult } from './harness.ts';
import { SCENARIOS } from './scenarios.ts';

export async function runScenarios(
  ids: readonly string[],
  profile: Profile,
  onResult: (r: ScenarioResult) => void = () => {},
): Promise<ScenarioResult[]> {
  const selected: Scenario[] = [];
  for (const load of SCENARIOS) {
    const scenario = await load();
    if (ids.length === 0 || ids.includes(scenario.id)) selected.push(scenario);
  }
  const results: ScenarioResult[] = [];
  for (const scenario of selected) {
    const t0 = performance.now();
    const load0 = loadavg()[0]!.toFixed(1);
    let body: Omit<ScenarioResult, 'id' | 'title' | 'profile'>;
    try {
      body = await scenario.run(profile);
    } catch (err) {
      body = { figures: [], notes: [`FAILED: ${(err as Error).stack ?? String(err)}`] };
    }
    const result = { id: scenario.id, title: scenario.title, profile, ...body };
    result.notes.push(
      `wall ${Math.round(performance.now() - t0)} ms; machine load average (1 min) ${load0} before, ${loadavg()[0]!.toFixed(1)} after`,
    );
    results.push(result);
    onResult(result);
  }
  return results;
}

/** summary.md from every `<id>.json` in the folder, so running some scenarios keeps the others' latest figures. */
function summaryOfAllResults(outDir: string, info: Record<string, unknown>): string {
  const all = readdirSync(outDir)
    .filter((f) => /^B\d+\.json$/.test(f))
    .map((f) => JSON.parse(readFileSync(resolve(outDir, f), 'utf8')) as ScenarioResult)
    .sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
  const profiles = [...new Set(all.map((r) => r.profile))].join(', ');
  const notes = all.flatMap((r) => r.notes.map((n) => `- ${r.id}: ${n}`)).join('\n');
  return `# Benchmarks (${profiles})\n\nMachine: \`${JSON.stringify(info)}\`\n\n${markdownTable(all)}\n\n${notes}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { full: { type: 'boolean' }, tiny: { type: 'boolean' }, out: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const profile: Profile = values.full ? 'full' : values.tiny ? 'tiny' : 'quick';
  const outDir = resolve(values.out ?? resolve(import.meta.dirname, 'results'));
  mkdirSync(outDir, { recursive: true });
  const info = machine();
  process.stdout.write(`hezo-watch benchmarks, profile ${profile}, machine ${JSON.stringify(info)}\n`);
  const results = await runScenarios(positionals, profile, (r) => {
    writeFileSync(resolve(outDir, `${r.id}.json`), `${JSON.stringify({ machine: info, ...r }, null, 2)}\n`);
    process.stdout.write(`${r.id} ${r.title}: done (${r.figures.length} figures)\n`);
  });
  const table = markdownTable(results);
  const notes = results.flatMap((r) => r.notes.map((n) => `- ${r.id}: ${n}`)).join('\n');
  writeFileSync(resolve(outDir, 'summary.md'), summaryOfAllResults(outDir, info));
  process.stdout.write(`\n${table}\n\n${notes}\n`);
  return results.some((r) => r.notes.some((n) => n.startsWith('FAILED'))) ? 1 : 0;
}
