/**
 * Summarise a V8 heap snapshot (bench/b8-probe.ts --heap-snapshot): self size by constructor (objects) or by node
 * type (code, strings, arrays...), biggest first.   node --import tsx bench/load/heap-summary.ts FILE [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '30' } },
  allowPositionals: true,
});
const file = positionals[0];
if (!file) throw new Error('usage: heap-summary.ts FILE [--top N]');
const snap = JSON.parse(readFileSync(file, 'utf8')) as {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
};
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const iType = fields.indexOf('type');
const iName = fields.indexOf('name');
const iSize = fields.indexOf('self_size');
const bySize = new Map<string, { bytes: number; count: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + iType] as number] as string;
  const name = type === 'object' ? (snap.strings[snap.nodes[i + iName] as number] as string) : `(${type})`;
  const bytes = snap.nodes[i + iSize] as number;
  total += bytes;
  const entry = bySize.get(name) ?? { bytes: 0, count: 0 };
  entry.bytes += bytes;
  entry.count += 1;
  bySize.set(name, entry);
}
const mb = (b: number) => (b / 2 ** 20).toFixed(2);
process.stdout.write(`total ${mb(total)} MB\n`);
for (const [name, { bytes, count }] of [...bySize]
  .sort((a, b) => b[1].bytes - a[1].bytes)
  .slice(0, Number(values.top))) {
  process.stdout.write(`${mb(bytes).padStart(8)} MB ${String(count).padStart(8)}  ${name.slice(0, 90)}\n`);
}
