/**
 * Is dist/ older than the sources it was built from? dist/build-stamp.json lists every source file that went into
 * the bundle (from esbuild's metafile) and when the build started. A file changed or removed since then makes the
 * build stale. A file added but imported by nothing cannot change the bundle; importing it changes a listed file.
 * Shared by build/build.mjs (`--if-stale`) and bin/hezo.js (refuses a stale dist/ when the sources are present).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** null when dist/ is fresh, else one short reason naming the first changed file. */
export function staleReason(root) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(root, 'dist', 'build-stamp.json'), 'utf8'));
  } catch {
    return 'dist/ has no build stamp';
  }
  for (const file of stamp.inputs) {
    let mtime;
    try {
      mtime = statSync(join(root, file)).mtimeMs;
    } catch {
      return `${file} was removed`;
    }
    if (mtime >= stamp.builtAt) return `${file} changed`;
  }
  return null;
}
