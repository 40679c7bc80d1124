import { packageConfig } from '../../tsup.shared.js';

// The WAL replay worker is its own file next to index.js: the replay reader starts it by path
// (src/wal/replay-reader.ts), and decodes on the main thread when the file is missing.
export default packageConfig({ entry: { 'replay-worker': 'src/wal/replay-worker.ts' } });
