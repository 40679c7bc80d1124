import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

// One entry per subpath in package.json's "exports" (".": src/index.ts, "./testing": src/testing/index.ts, …).
const { exports } = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };
const entry = Object.fromEntries(
  Object.keys(exports).map((k) =>
    k === '.' ? ['index', 'src/index.ts'] : [`${k.slice(2)}/index`, `src/${k.slice(2)}/index.ts`],
  ),
);

export default defineConfig({
  entry,
  format: ['esm'],
  target: 'node22',
  dts: true,
  sourcemap: true,
  clean: true,
});
