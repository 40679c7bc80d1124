import { cpSync, readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

// One entry per subpath in package.json's "exports" (".": src/index.ts, "./query": src/query/index.ts, …).
const { exports } = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };
const entry = Object.fromEntries(
  Object.keys(exports).map((k) => (k === '.' ? ['index', 'src/index.ts'] : [`${k.slice(2)}/index`, `src/${k.slice(2)}/index.ts`])),
);

export default defineConfig({
  entry,
  format: ['esm'],
  target: 'node22',
  dts: true,
  sourcemap: true,
  clean: true,
  // The StoreAPI's .proto files are loaded at runtime; ship them next to the bundle, where
  // storeapi/protos.ts looks for them (./proto relative to dist/index.js).
  onSuccess: async () => {
    cpSync('src/storeapi/proto', 'dist/proto', { recursive: true });
  },
});
