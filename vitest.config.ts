import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

// Tests import sibling packages from source, so `npm test` never depends on a stale dist/.
export default defineConfig({
  resolve: {
    alias: {
      '@thanos-ts/tsdb': pkg('tsdb'),
      '@thanos-ts/promql': pkg('promql'),
      '@thanos-ts/objstore': pkg('objstore'),
      '@thanos-ts/core': pkg('core'),
      '@thanos-ts/cli': pkg('cli'),
      '@thanos-ts/testing': pkg('testing'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/**/*.test.ts'],
    benchmark: { include: ['bench/**/*.bench.ts', 'packages/*/bench/**/*.bench.ts'] },
    reporters: ['default', './scripts/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
