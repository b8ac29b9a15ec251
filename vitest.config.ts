import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Builds dist/ when stale: tests that spawn bin/hezo.js run the built output.
    globalSetup: ['test/global-build.ts'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Attacks against the real hub and agent, plus fast-check fuzzing of every door
        // (HEZO_FUZZ_RUNS cases per door: 1,000 in `npm test`, 10,000 in `npm run fuzz`).
        test: {
          name: 'security',
          include: ['test/security/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Short chaos rounds (kill, cut, fill, skew); `npm run chaos` runs the long ones.
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
