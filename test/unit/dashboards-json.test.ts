/**
 * The committed Grafana JSON (dashboards/grafana/json) is what `npm run dashboards:build` generates now:
 * a change to a board or to protocols/metrics-schema.ts without a rebuild fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JSON_DIR, renderDashboards } from '../../dashboards/grafana/build.ts';
import { METRICS } from '../../protocols/metrics-schema.ts';

describe('Grafana dashboards as code', () => {
  const rendered = renderDashboards();

  it('committed JSON equals a fresh build (run `npm run dashboards:build`)', () => {
    const committed = readdirSync(JSON_DIR).filter((f) => f.endsWith('.json'));
    expect(committed.sort()).toEqual(Object.keys(rendered).sort());
    for (const [file, text] of Object.entries(rendered)) {
      expect(readFileSync(join(JSON_DIR, file), 'utf8'), `${file} is stale`).toBe(text);
    }
  });

  it('every panel has a raw InfluxQL target on the provisioned datasource, querying only schema measurements', () => {
    const names = new Set<string>(Object.values(METRICS).map((m) => m.name));
    for (const [file, text] of Object.entries(rendered)) {
      const board = JSON.parse(text) as {
        uid: string;
        panels: Array<{
          id: number;
          type: string;
          targets?: Array<{ query: string; rawQuery: boolean; datasource: { uid: string } }>;
        }>;
      };
      expect(board.uid).toMatch(/^hezo-/);
      const ids = board.panels.filter((p) => p.type !== 'row').map((p) => p.id);
      expect(new Set(ids).size, `${file}: unique panel ids`).toBe(ids.length);
      for (const panel of board.panels.filter((p) => p.type !== 'row')) {
        for (const target of panel.targets ?? []) {
          expect(target.rawQuery).toBe(true);
          expect(target.datasource.uid).toBe('hezo-influxdb');
          for (const match of target.query.matchAll(/FROM "([a-z_]+)"/g)) expect(names).toContain(match[1]);
        }
      }
    }
  });
});
