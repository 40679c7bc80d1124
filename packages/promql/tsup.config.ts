import { packageConfig } from '../../tsup.shared.js';

// The evaluation worker is its own file next to index.js: the pool starts it by path
// (src/engine/pool/evaluation-pool.ts, resolveWorker).
export default packageConfig({ entry: { 'evaluation-worker': 'src/engine/pool/evaluation-worker.ts' } });
