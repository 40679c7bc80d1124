import { defineConfig } from 'tsup';

export default defineConfig({
  // The evaluation worker is its own file next to index.js: the pool starts it by path
  // (src/engine/pool/evaluation-pool.ts, resolveWorker).
  entry: { index: 'src/index.ts', 'evaluation-worker': 'src/engine/pool/evaluation-worker.ts' },
  format: ['esm'],
  target: 'node22',
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
});
