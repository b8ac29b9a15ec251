#!/usr/bin/env node
// The `hezo` command. Runs the built bundle dist/cli.js (`npm run build`) with source maps. In a development checkout
// without dist/, or with HEZO_FROM_SOURCE=1, it runs the TypeScript sources through tsx (a dev dependency).
// A dist/ older than the sources next to it is refused with a clear line (exit 1), never run silently.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(new URL('../dist/cli.js', import.meta.url));
const sources = existsSync(new URL('../cli/main.ts', import.meta.url));

if (process.env.HEZO_FROM_SOURCE !== '1' && built) {
  if (sources) {
    const { staleReason } = await import('../build/stamp.mjs');
    const reason = staleReason(root);
    if (reason !== null) {
      process.stderr.write(
        `hezo: dist/ is older than the sources (${reason}): run \`npm run build\`, or set HEZO_FROM_SOURCE=1\n`,
      );
      process.exit(1);
    }
  }
  process.setSourceMapsEnabled(true);
  await import('../dist/cli.js');
} else if (sources) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
} else {
  process.stderr.write('hezo: no dist/ here: run `npm run build` first\n');
  process.exit(1);
}
