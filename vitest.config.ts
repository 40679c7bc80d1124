import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// Tests import sibling packages from source, so `npm test` never depends on a stale dist/.
export default defineConfig({
  resolve: {
    // `@thanos-ts/<pkg>` → packages/<pkg>/src/index.ts; `@thanos-ts/<pkg>/<sub>` → packages/<pkg>/src/<sub>/index.ts.
    alias: [
      { find: /^@thanos-ts\/([a-z-]+)$/, replacement: `${src('$1')}/src/index.ts` },
      { find: /^@thanos-ts\/([a-z-]+)\/([a-z-]+)$/, replacement: `${src('$1')}/src/$2/index.ts` },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/**/*.test.ts'],
    benchmark: { include: ['bench/**/*.bench.ts', 'packages/*/bench/**/*.bench.ts'] },
    reporters: ['default', './scripts/summary-reporter.ts'],
    setupFiles: ['./scripts/test-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
