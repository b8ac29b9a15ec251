/**
 * Top functions of a V8 CPU profile by self time, for "what limits it":
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bin/bench.js B1
 *   node --import tsx bench/load/profile-top.ts /tmp/prof/<file>.cpuprofile [30] [--by-file]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by function (default) or by package/file (`byFile`), idle excluded from the percentages. */
export function topFunctions(profile: CpuProfile, limit = 30, byFile = false): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (node === undefined || node.callFrame.functionName === '(idle)') return;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.replace(/^.*\/(node_modules\/)?/, '');
    if (functionName === '(idle)') return;
    const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const key = byFile
      ? (pkg ?? (where || functionName))
      : `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
  });
  return [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, us]) => `${((us / total) * 100).toFixed(1).padStart(5)} %  ${key}`);
}

if (process.argv[1]?.endsWith('profile-top.ts')) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: profile-top.ts <file.cpuprofile> [limit]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byFile = process.argv.includes('--by-file');
  process.stdout.write(`${topFunctions(profile, Number(process.argv[3] ?? 30), byFile).join('\n')}\n`);
}
