/**
 * Peak memory of the compactor as the number of blocks it merges grows: the compactor must stay
 * bounded whatever the block count (issue 16: ≤ 2 GB per compaction worker).
 * Run: node --import tsx bench/compact-memory.ts [--series=2000] [--blocks=4,16] [--scrape-s=15]
 *
 * Data ("medium"): `series` series (10 metric families, half counters, half random-walk gauges)
 * scraped every `scrape-s` seconds, written as 2h blocks by the tsdb writer and uploaded to a
 * filesystem bucket as a sidecar would. For each N in --blocks, a fresh child process runs one
 * compactor iteration over the first N + 1 blocks (the newest is left alone by the planner, so N
 * blocks are merged, four at a time into 8h blocks) and reports wall time, the number of
 * compactions, peak RSS (getrusage; Node itself included) and the highest heap + external +
 * array buffer bytes sampled every 20 ms.
 */
import { spawnSync } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadBlock } from '../packages/core/src/block/upload.js';
import { createCompactor } from '../packages/core/src/compact/index.js';
import { createFilesystemBucket } from '../packages/objstore/src/index.js';
import { makeTempDir } from '../packages/testing/src/index.js';
import { readBlockMeta } from '../packages/tsdb/src/block/meta.js';
import { Labels, writeBlock } from '../packages/tsdb/src/index.js';

const arg = (name: string, def: string) => process.argv.find((x) => x.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const H = 3_600_000;
const T0 = 1_700_006_400_000; // 8h-aligned

if (process.argv[2] === '--child') {
  const [bucketDir, dataDir] = process.argv.slice(3) as [string, string];
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed + m.external + m.arrayBuffers);
  };
  const timer = setInterval(sample, 20);
  const compactor = createCompactor({
    bucket: createFilesystemBucket({ directory: bucketDir }),
    dataDir,
    consistencyDelayMs: 0,
    deleteDelayMs: 48 * H,
    downsamplingDisable: true,
  });
  const t0 = process.hrtime.bigint();
  const result = await compactor.runOnce();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  sample();
  clearInterval(timer);
  console.log(
    JSON.stringify({
      ms,
      maxRssKb: process.resourceUsage().maxRSS,
      peakHeap,
      compacted: result.compacted.length,
      errors: result.errors,
    }),
  );
  process.exit(0);
}

const seriesCount = Number(arg('series', '2000'));
const ns = arg('blocks', '4,16')
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const scrapeMs = Number(arg('scrape-s', '15')) * 1000;
const maxN = ns.at(-1) as number;
const srcDir = await makeTempDir('bench-compact-mem-src-');
const dirs: string[] = [];
const perBlock = (2 * H) / scrapeMs;
// 10 metric families × seriesCount/10 instances; values are random walks (gauges) and
// monotonic counters, so chunks compress like real data.
let rnd = 1;
const random = () => {
  rnd = (rnd * 48271) % 2147483647;
  return rnd / 2147483647;
};
for (let i = 0; i <= maxN; i++) {
  const minTime = T0 + i * 2 * H;
  const series = function* () {
    for (let k = 0; k < seriesCount; k++) {
      const family = k % 10;
      const timestamps = Array.from({ length: perBlock }, (_, j) => minTime + j * scrapeMs + ((k * 37) % 1000));
      let v = (k * 13) % 1000;
      const values = Array.from({ length: perBlock }, () => {
        v = family < 5 ? v + Math.floor(random() * 10) : v + (random() - 0.5) * 10;
        return v;
      });
      yield {
        labels: Labels.from({
          __name__: `bench_metric_${family}`,
          instance: `host-${String(Math.floor(k / 10)).padStart(5, '0')}`,
          job: 'bench',
        }),
        timestamps,
        values,
      };
    }
  };
  // Label order: by metric name, then instance.
  const sorted = [...series()].sort((a, b) => (a.labels.toString() < b.labels.toString() ? -1 : 1));
  const b = await writeBlock(sorted, { outDir: srcDir, minTime, maxTime: minTime + 2 * H });
  if (!b) throw new Error('empty block');
  dirs.push(b.ulid);
}
console.log(
  `data: ${seriesCount} series at ${scrapeMs / 1000}s, ${dirs.length} blocks of 2h (${((seriesCount * perBlock) / 1e6).toFixed(2)}M samples per block), written by the tsdb writer`,
);
const gen = { dir: srcDir };
for (const n of ns) {
  const bucketDir = await makeTempDir('bench-compact-mem-');
  const bucket = createFilesystemBucket({ directory: bucketDir });
  let inputBytes = 0;
  for (const [i, d] of dirs.slice(0, n + 1).entries()) {
    const meta = await readBlockMeta(join(gen.dir, d));
    meta.maxTime = meta.minTime - (meta.minTime % (2 * H)) + 2 * H;
    const up = await uploadBlock(bucket, join(gen.dir, d), { labels: { cluster: 'bench' }, source: 'sidecar', meta });
    if (i < n) inputBytes += (up.thanos?.files ?? []).reduce((s, f) => s + (f.size_bytes ?? 0), 0);
  }
  const copy = await makeTempDir('bench-compact-mem-run-');
  await cp(bucketDir, copy, { recursive: true });
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, '--child', copy, await makeTempDir('bench-compact-mem-data-')],
    { encoding: 'utf8', env: { ...process.env, TSX_DISABLE_CACHE: '1' } },
  );
  if (child.status !== 0) throw new Error(`child failed: ${child.stderr}`);
  const res = JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as {
    ms: number;
    maxRssKb: number;
    peakHeap: number;
    compacted: number;
    errors: unknown[];
  };
  if (res.errors.length > 0) throw new Error(`compaction errors: ${JSON.stringify(res.errors)}`);
  console.log(
    `${n} blocks merged (${(inputBytes / 1048576).toFixed(1)} MiB of chunks + index) into ${res.compacted} block(s): ${(res.ms / 1000).toFixed(1)} s, peak RSS ${(res.maxRssKb / 1024).toFixed(0)} MiB, peak heap+external ${(res.peakHeap / 1048576).toFixed(0)} MiB`,
  );
}
