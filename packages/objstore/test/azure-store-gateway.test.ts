import { randomBytes } from 'node:crypto';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import {
  blocksFromOpenMetrics,
  type GeneratedBlocks,
  makeTempDir,
  programAvailable,
  type RunningAzurite,
  removeTempDir,
  startAzurite,
} from '@thanos-ts/testing';
import { Labels, matcher } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// End to end across packages: core's uploader and store gateway over an Azure bucket on Azurite.
import { uploadTsdbBlocks } from '../../core/src/block/upload-blocks.js';
import { NOP_LOGGER } from '../../core/src/log/logger.js';
import { createShipper } from '../../core/src/sidecar/shipper.js';
import { collectSeries } from '../../core/src/store/collect-series.test-util.js';
import { createStoreGateway } from '../../core/src/store/store-gateway.js';
import { type Bucket, createBucketFromConfig } from '../src/index.js';

const START = 1_700_000_000_000;
const HOURS = 3600_000;
const EXT = { cluster: 'aks', replica: 'a' };

describe.skipIf(!programAvailable('promtool'))(
  'store gateway over Azure (Azurite), blocks uploaded by the shipper path',
  () => {
    let az: RunningAzurite;
    let gen: GeneratedBlocks;
    let bucket: Bucket;
    const dirs: string[] = [];

    beforeAll(async () => {
      [az, gen] = await Promise.all([
        startAzurite(),
        blocksFromOpenMetrics({
          metrics: 4,
          seriesPerMetric: 5,
          durationMs: 6 * HOURS,
          startMs: START,
          scrapeIntervalMs: 15_000,
        }),
      ]);
      dirs.push(gen.dir);
      bucket = await createBucketFromConfig(
        `type: AZURE\nconfig:\n  storage_account: ${az.accountName}\n  storage_connection_string: "${az.connectionString}"\n  container: blocks-${randomBytes(4).toString('hex')}\n`,
      );
    }, 120_000);
    afterAll(async () => {
      await bucket?.close();
      await az?.stop();
      for (const d of dirs) await removeTempDir(d);
    });

    it('uploads promtool blocks, then serves exactly their samples with the external labels', async () => {
      const ids = await uploadTsdbBlocks(bucket, gen.dir, { labels: EXT, source: 'sidecar' });
      expect(ids.length).toBeGreaterThan(1);
      for (const id of ids) {
        expect(await bucket.exists(`${id}/meta.json`)).toBe(true);
        expect(await bucket.exists(`${id}/index`)).toBe(true);
      }
      const dataDir = await makeTempDir('azure-store-');
      dirs.push(dataDir);
      const store = createStoreGateway({ bucket, dataDir, logger: NOP_LOGGER, syncIntervalMs: 0 });
      await store.start();
      try {
        const got = await collectSeries(store, {
          minTime: 0,
          maxTime: START + 10 * HOURS,
          matchers: [matcher('=~', '__name__', '.+')],
        });
        const want = new Map<string, { t: number[]; v: number[] }>();
        for (const s of gen.data)
          want.set(Labels.from({ ...s.labels, ...EXT }).toString(), { t: s.timestamps, v: s.values });
        expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
        for (const [k, w] of want) {
          const g = got.get(k) as { t: number[]; v: number[] };
          expect(g.t, k).toEqual(w.t);
          expect(g.v.map(String), k).toEqual(w.v.map(String));
        }
        const info = await store.info();
        expect(JSON.stringify(info)).toContain('aks');
      } finally {
        await store.close();
      }
    });

    it("ships each block once with the sidecar's shipper, and the store gateway serves them", async () => {
      const tsdb = await makeTempDir('azure-shipper-');
      dirs.push(tsdb);
      await cp(gen.dir, join(tsdb, 'tsdb'), { recursive: true });
      const shipped = await createBucketFromConfig(
        `type: AZURE\nconfig:\n  storage_account: ${az.accountName}\n  storage_connection_string: "${az.connectionString}"\n  container: shipper-${randomBytes(4).toString('hex')}\n`,
      );
      try {
        const shipper = createShipper({
          bucket: shipped,
          dir: join(tsdb, 'tsdb'),
          labels: () => EXT,
          logger: NOP_LOGGER,
        });
        const first = await shipper.sync();
        expect(first.uploaded.length).toBeGreaterThan(1);
        expect((await shipper.sync()).uploaded).toEqual([]);
        expect([...(await shipper.uploadedBlocks())].sort()).toEqual([...first.uploaded].sort());
        const top: string[] = [];
        for await (const n of shipped.iter('')) top.push(n);
        expect(top).toEqual([...first.uploaded].sort().map((id) => `${id}/`));
        const dataDir = await makeTempDir('azure-store-');
        dirs.push(dataDir);
        const store = createStoreGateway({ bucket: shipped, dataDir, logger: NOP_LOGGER, syncIntervalMs: 0 });
        await store.start();
        try {
          const got = await collectSeries(store, {
            minTime: 0,
            maxTime: START + 10 * HOURS,
            matchers: [matcher('=~', '__name__', '.+')],
          });
          expect(got.size).toBe(gen.data.length);
        } finally {
          await store.close();
        }
      } finally {
        await shipped.close();
      }
    });
  },
);
