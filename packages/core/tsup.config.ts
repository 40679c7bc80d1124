import { cpSync } from 'node:fs';
import { packageConfig } from '../../tsup.shared.js';

// The receiver's ingest worker is its own file next to the bundles: the ingest pool starts it
// by path (src/receive/ingest-pool.ts, resolveIngestWorker) and decodes on the main thread when
// it is missing.
export default packageConfig({
  entry: { 'ingest-worker': 'src/receive/ingest-worker.ts' },
  // The StoreAPI's .proto files are loaded at runtime; ship them next to the bundle, where
  // storeapi/protos.ts looks for them (./proto relative to the dist/ chunks).
  onSuccess: async () => {
    cpSync('src/storeapi/proto', 'dist/proto', { recursive: true });
    // The ruler's thanos.Rules proto lives beside its code and is loaded the same way.
    cpSync('src/rule/proto', 'dist/proto', { recursive: true });
    // Metadata, Targets and Exemplars protos (sidecar services, querier fan-out).
    cpSync('src/infoapis/proto', 'dist/proto', { recursive: true });
  },
});
