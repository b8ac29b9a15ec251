/**
 * Every benchmark scenario runs once at the `tiny` profile (seconds, tiny load) so the harness cannot rot.
 * No timing assertions: each scenario must produce figures and no FAILED note.
 */
import { describe, expect, it } from 'vitest';
import { runScenarios } from '../../bench/run.ts';

const IDS = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B11', 'B12'];

describe('bench smoke (tiny profile)', () => {
  it('runs every scenario and each produces figures', { timeout: 300_000 }, async () => {
    const results = await runScenarios(IDS, 'tiny');
    expect(results.map((r) => r.id)).toEqual(IDS);
    for (const r of results) {
      const failed = r.notes.filter((n) => n.startsWith('FAILED'));
      expect(failed, `${r.id}: ${failed.join('\n')}`).toEqual([]);
      expect(r.figures.length, `${r.id} figures`).toBeGreaterThan(0);
      for (const f of r.figures) expect(typeof f.value, `${r.id} ${f.name}`).toBe('number');
    }
  });
});
