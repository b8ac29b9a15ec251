/**
 * The layout rule of architecture.md: `agent -> protocols <- hub`, `dashboards -> protocols`,
 * `simulator -> protocols`; protocols imports no project code. Scans every import line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

const ALLOWED: Record<string, readonly string[]> = {
  protocols: ['protocols'],
  agent: ['agent', 'protocols'],
  hub: ['hub', 'protocols'],
  dashboards: ['dashboards', 'protocols'],
  simulator: ['simulator', 'protocols'],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'static') continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|mts|js)$/.test(name)) out.push(full);
  }
  return out;
}

const IMPORT = /(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every relative import of a file, as the top-level folder it lands in. */
function importedFolders(file: string, text: string): string[] {
  const folders: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2];
    if (spec === undefined || !spec.startsWith('.')) continue;
    const target = relative(root, resolve(file, '..', spec));
    folders.push(target.split(sep)[0] ?? '');
  }
  return folders;
}

function forbiddenEdges(): string[] {
  const edges: string[] = [];
  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    for (const file of sourceFiles(join(root, folder))) {
      const text = readFileSync(file, 'utf8');
      for (const target of importedFolders(file, text)) {
        if (!allowed.includes(target)) edges.push(`${relative(root, file)} -> ${target}/`);
      }
    }
  }
  return edges;
}

describe('import boundaries (architecture.md)', () => {
  it('no forbidden edge between agent, hub, protocols, dashboards and simulator', () => {
    expect(forbiddenEdges()).toEqual([]);
  });

  it('detects a forbidden edge when one exists', () => {
    const fakeAgentFile = join(root, 'agent', 'x.ts');
    expect(importedFolders(fakeAgentFile, "import { createHub } from '../hub/hub.ts';")).toEqual(['hub']);
    expect(importedFolders(fakeAgentFile, "const m = await import('../hub/main.ts');")).toEqual(['hub']);
    expect(importedFolders(fakeAgentFile, "import type { X } from '../protocols/health.ts';")).toEqual(['protocols']);
    expect(importedFolders(join(root, 'protocols', 'x.ts'), "export { a } from '../agent/a.ts';")).toEqual(['agent']);
  });
});
