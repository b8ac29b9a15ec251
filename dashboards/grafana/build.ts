/**
 * `npm run dashboards:build`: generate the Grafana dashboards' JSON into dashboards/grafana/json/.
 * `renderDashboards()` is also used by the test that fails when the committed JSON is stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCallQuality } from './call-quality.ts';
import { buildDevice } from './device.ts';
import { buildFleetOverview } from './fleet-overview.ts';
import { buildSla } from './sla.ts';

export const JSON_DIR = fileURLToPath(new URL('./json/', import.meta.url));

/** File name -> JSON text (2-space indent, trailing newline). */
export function renderDashboards(): Record<string, string> {
  const boards = {
    'fleet-overview.json': buildFleetOverview(),
    'device.json': buildDevice(),
    'sla-performance.json': buildSla(),
    'call-quality.json': buildCallQuality(),
  };
  return Object.fromEntries(
    Object.entries(boards).map(([file, board]) => [file, `${JSON.stringify(board, null, 2)}\n`]),
  );
}

function main(): void {
  mkdirSync(JSON_DIR, { recursive: true });
  for (const [file, text] of Object.entries(renderDashboards())) writeFileSync(resolve(JSON_DIR, file), text);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
