/**
 * vitest globalSetup: builds dist/ when it is older than the sources, so every test that spawns `bin/hezo.js`
 * (CLI, e2e) runs the built bundle, never a stale one (bin/hezo.js refuses a stale dist/).
 */
// @ts-expect-error plain ESM build script without types
import { runBuild } from '../build/build.mjs';

export default async function setup(): Promise<void> {
  await runBuild({ ifStale: true });
}
