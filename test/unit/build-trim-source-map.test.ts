/**
 * build/trim-source-map.mjs: the agent's source map keeps every position of the repo's own sources (file, line,
 * column, name) and maps the bundled packages' code to nothing (never to the code before it), so a stack frame in a
 * package shows its dist position instead of a wrong source line.
 */
import { SourceMap } from 'node:module';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM build script without types
import { trimSourceMap } from '../../build/trim-source-map.mjs';

const ROOT = resolve(import.meta.dirname, '../..');

interface RawMap {
  version: number;
  sources: string[];
  names: string[];
  mappings: string;
}
type Trim = (map: RawMap, keep: (source: string) => boolean) => RawMap;

describe('agent source map without the packages', () => {
  it('keeps own positions exactly, maps package code to nothing', async () => {
    const out = await build({
      entryPoints: [resolve(ROOT, 'build/agent-entry.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      minify: true,
      keepNames: true,
      sourcemap: 'external',
      sourcesContent: false,
      outdir: resolve(ROOT, 'dist-test-unused'),
      write: false,
      external: ['better-sqlite3', 'net-snmp', 'snmp-native', 'pino', 'ssh2', 'node-ssh', 'cpu-features'],
      logLevel: 'silent',
    });
    const js = out.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '';
    const raw = JSON.parse(out.outputFiles.find((f) => f.path.endsWith('.map'))?.text ?? '{}') as RawMap;
    const keep = (source: string) => !source.includes('node_modules/');
    const trimmed = (trimSourceMap as Trim)(raw, keep);
    expect(trimmed.mappings.length).toBeLessThan(raw.mappings.length / 3);
    expect(trimmed.sources.every(keep)).toBe(true);
    expect(trimmed.sources.some((s) => s.includes('agent/agent.ts'))).toBe(true);

    const before = new SourceMap(raw as never);
    const after = new SourceMap(trimmed as never);
    let own = 0;
    let packages = 0;
    const lines = js.split('\n');
    for (let line = 0; line < lines.length; line++) {
      for (let column = 0; column < (lines[line]?.length ?? 0); column += 23) {
        const a = before.findEntry(line, column) as { originalSource?: string };
        const b = after.findEntry(line, column) as { originalSource?: string };
        if (a.originalSource !== undefined && keep(a.originalSource)) {
          own++;
          expect(b, `${line}:${column}`).toEqual(a);
        } else {
          packages++;
          expect(b.originalSource, `${line}:${column} (${a.originalSource})`).toBeUndefined();
        }
      }
    }
    expect(own).toBeGreaterThan(1000);
    expect(packages).toBeGreaterThan(1000);
  });
});
