/**
 * Builds the store gateway benchmark's blocks once into .bench-data/store/tsdb (git-ignored):
 * BLOCKS consecutive 2h blocks, each holding the same SERIES series (so SERIES × BLOCKS series
 * live in loaded blocks), one sample per minute, written with @thanos-ts/tsdb's chunk segment and
 * index writers (the formats Prometheus reads). Then uploads them to a filesystem bucket at
 * .bench-data/store/bucket with a thanos meta section, as a sidecar would.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { ChunkSegmentWriter, compareLabels, cutXorChunks, IndexWriter, Labels, writeBlockMeta } from '@thanos-ts/tsdb';
import { uploadTsdbBlocks } from '../../packages/core/src/block/upload-blocks.js';

export const BLOCK_MS = 2 * 3600_000;
export const T0 = 1_700_000_000_000 - (1_700_000_000_000 % BLOCK_MS);
export const METRICS = 200;
const SCRAPE_MS = 60_000;

/** Where a dataset of this shape lives. */
export function benchDir(series: number, blocks: number): string {
  return join(process.cwd(), '.bench-data', 'store', `${series}x${blocks}`);
}

function ulidFor(ms: number, n: number): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = ms;
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  let r = n + 1;
  for (let i = 0; i < 16; i++) {
    rand = alphabet[r % 32] + rand;
    r = Math.floor(r / 32);
  }
  return time + rand;
}

/** Labels of series `i`: 200 metric names × unique ids, 500 instances, 10 jobs. */
export function seriesLabels(i: number): Labels {
  return Labels.from({
    __name__: `bench_metric_${i % METRICS}`,
    instance: `host-${Math.floor(i / METRICS) % 500}:9100`,
    job: `job-${i % 10}`,
    id: String(i),
  });
}

/** Builds (if missing) and returns the TSDB dir and bucket dir of a dataset. */
export async function ensureBenchData(
  series: number,
  blocks: number,
  log = console.log,
): Promise<{ tsdbDir: string; bucketDir: string }> {
  const root = benchDir(series, blocks);
  const tsdbDir = join(root, 'tsdb');
  const bucketDir = join(root, 'bucket');
  if (existsSync(join(root, 'DONE'))) return { tsdbDir, bucketDir };
  await rm(root, { recursive: true, force: true });
  await mkdir(tsdbDir, { recursive: true });
  const started = Date.now();
  const labels = Array.from({ length: series }, (_, i) => ({ i, l: seriesLabels(i) }));
  labels.sort((a, b) => compareLabels(a.l, b.l));
  const perChunk = BLOCK_MS / SCRAPE_MS;
  const ts = new Float64Array(perChunk);
  const vs = new Float64Array(perChunk);
  for (let b = 0; b < blocks; b++) {
    const minTime = T0 + b * BLOCK_MS;
    const ulid = ulidFor(minTime + BLOCK_MS, b);
    const dir = join(tsdbDir, ulid);
    await mkdir(join(dir, 'chunks'), { recursive: true });
    const chunkWriter = new ChunkSegmentWriter(join(dir, 'chunks'));
    const index = await IndexWriter.create(join(dir, 'index'));
    let numChunks = 0;
    for (const { i, l } of labels) {
      for (let k = 0; k < perChunk; k++) {
        ts[k] = minTime + k * SCRAPE_MS;
        // A counter with a per-series slope, restarting its count at each block's start value.
        vs[k] = (b * perChunk + k) * (1 + (i % 7)) + (i % 13);
      }
      const chunks = cutXorChunks(ts, vs, BLOCK_MS * 2);
      const refs = await chunkWriter.writeChunks(chunks);
      numChunks += chunks.length;
      index.addSeries(
        l,
        chunks.map((c, j) => ({ minTime: c.minTime, maxTime: c.maxTime, ref: refs[j] as number })),
      );
    }
    await chunkWriter.close();
    await index.close();
    await writeBlockMeta(dir, {
      ulid,
      minTime,
      maxTime: minTime + BLOCK_MS,
      stats: { numSamples: series * perChunk, numSeries: series, numChunks },
      compaction: { level: 1, sources: [ulid] },
      version: 1,
    });
    log(
      `built block ${b + 1}/${blocks} ${ulid} (${series} series) after ${((Date.now() - started) / 1000).toFixed(1)}s`,
    );
  }
  await mkdir(bucketDir, { recursive: true });
  await uploadTsdbBlocks(createFilesystemBucket({ directory: bucketDir }), tsdbDir, {
    labels: { cluster: 'bench' },
    source: 'bench',
  });
  await writeFile(join(root, 'DONE'), new Date().toISOString());
  log(`dataset ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return { tsdbDir, bucketDir };
}
