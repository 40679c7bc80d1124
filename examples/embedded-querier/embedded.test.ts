import { join } from 'node:path';
import { uploadTsdbBlocks } from '@thanos-ts/core/block';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, makeTempDir, programAvailable, removeTempDir } from '@thanos-ts/testing';
import { describe, expect, it } from 'vitest';
import { startMetricsService } from './service.js';

describe.skipIf(!programAvailable('promtool'))('example: embedded querier and store gateway', () => {
  it('answers its own endpoint and the mounted Prometheus API from blocks in a bucket', async () => {
    const work = await makeTempDir('embedded-example-');
    try {
      const start = 1_700_000_000_000;
      const made = await blocksFromOpenMetrics({
        seed: 5,
        metrics: 4,
        seriesPerMetric: 3,
        startMs: start,
        durationMs: 3600_000,
        churn: 0,
        gapProbability: 0,
      });
      const bucketDir = join(work, 'bucket');
      const bucket = createFilesystemBucket({ directory: bucketDir });
      // The same data as two HA replicas: the querier must count each series once.
      await uploadTsdbBlocks(bucket, made.dir, { labels: { replica: 'a' }, source: 'example' });
      const again = await blocksFromOpenMetrics({
        seed: 5,
        metrics: 4,
        seriesPerMetric: 3,
        startMs: start,
        durationMs: 3600_000,
        churn: 0,
        gapProbability: 0,
      });
      await uploadTsdbBlocks(bucket, again.dir, { labels: { replica: 'b' }, source: 'example' });

      const service = await startMetricsService({ bucketDir, cacheDir: join(work, 'cache') });
      try {
        const at = (start + 1800_000) / 1000;
        const perJob = (await (await fetch(`${service.url}/series-per-job?time=${at}`)).json()) as {
          perJob: Record<string, number>;
        };
        const expected: Record<string, number> = {};
        for (const s of made.data) {
          const job = s.labels.job as string;
          expected[job] = (expected[job] ?? 0) + 1;
        }
        expect(perJob.perJob).toEqual(expected);
        const prom = (await (
          await fetch(`${service.url}/prom/api/v1/query?query=count(gen_counter_0_total)&time=${at}`)
        ).json()) as { data: { result: { value: [number, string] }[] } };
        expect(prom.data.result[0]?.value[1]).toBe('3');
      } finally {
        await service.close();
      }
      await removeTempDir(made.dir);
      await removeTempDir(again.dir);
    } finally {
      await removeTempDir(work);
    }
  });
});
