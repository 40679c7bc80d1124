import { createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir } from '@thanos-ts/testing';
import { matcher } from '@thanos-ts/tsdb';
import { NOP_LOGGER } from '../../packages/core/src/store/logger.js';
import { createStoreGateway } from '../../packages/core/src/store/store-gateway.js';
import { ensureBenchData } from './store-data.js';
const { bucketDir } = await ensureBenchData(100000, 10);
const g = createStoreGateway({ bucket: createFilesystemBucket({ directory: bucketDir }), dataDir: await makeTempDir('x'), logger: NOP_LOGGER });
await g.start();
for (let r = 0; r < 3; r++) {
  const t = performance.now();
  const b = g.requests.getRange;
  let n = 0, c = 0;
  for await (const s of g.series({ minTime: 0, maxTime: 4e12, matchers: [matcher('=', 'job', 'job-3')] })) if (s.type === 'series') { n++; c += s.series.chunks.length; }
  console.log('series', n, 'chunks', c, (performance.now() - t).toFixed(1), 'ms GETs', g.requests.getRange - b);
}
await g.close();
