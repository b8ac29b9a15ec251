#!/usr/bin/env node
// `npm run chaos [-- --short]`: the chaos suite's long rounds (HEZO_CHAOS_LONG=1), then ONE table of what
// survived (test/chaos/*.test.ts write one row each to HEZO_CHAOS_RESULTS).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hezo-chaos-results-'));
const results = join(dir, 'results.jsonl');
const isShort = process.argv.includes('--short');
const run = spawnSync(
  process.execPath,
  [join(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'chaos', '--reporter=dot'],
  {
    cwd: repo,
    stdio: 'inherit',
    env: { ...process.env, HEZO_CHAOS_RESULTS: results, ...(isShort ? {} : { HEZO_CHAOS_LONG: '1' }) },
  },
);
let rows = [];
try {
  rows = readFileSync(results, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
} catch {
  // no rows: every test failed before recording
}
rmSync(dir, { recursive: true, force: true });
const cell = (v) => (v === undefined ? '-' : String(v));
const header = [
  'fault kind',
  'rounds survived',
  'produced',
  'delivered',
  'dropped by policy',
  'lost',
  'duplicates',
  'integrity failures',
  'peak RSS MB',
  'worst detection ms',
  'note',
];
const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
for (const r of rows) {
  lines.push(
    `| ${[
      r.kind,
      `${r.survived}/${r.rounds}`,
      cell(r.produced),
      cell(r.delivered),
      cell(r.droppedByPolicy),
      cell(r.lost),
      cell(r.duplicates),
      cell(r.integrityFailures),
      cell(r.peakRssMb),
      cell(r.worstDetectionMs),
      cell(r.note),
    ].join(' | ')} |`,
  );
}
const sum = (key) => rows.reduce((n, r) => n + (r[key] ?? 0), 0);
lines.push(
  `| **total** | ${sum('survived')}/${sum('rounds')} | ${sum('produced')} | ${sum('delivered')} | ${sum('droppedByPolicy')} | ${sum('lost')} | ${sum('duplicates')} | ${sum('integrityFailures')} | ${Math.max(0, ...rows.map((r) => r.peakRssMb ?? 0))} | ${Math.max(0, ...rows.map((r) => r.worstDetectionMs ?? 0))} | vitest exit ${run.status} |`,
);
process.stdout.write(`\nhezo-watch chaos suite (${isShort ? 'short' : 'long'} rounds)\n${lines.join('\n')}\n`);
process.exitCode = run.status ?? 1;
