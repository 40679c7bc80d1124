import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
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
