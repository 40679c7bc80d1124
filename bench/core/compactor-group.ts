/**
 * The compactor compacting one group of 4×2h blocks through a filesystem bucket: sync, plan,
 * download, compact, upload, mark. Run: node --import tsx bench/core/compactor-group.ts
 * [--series-per-metric=24] [--runs=3]
 *
 * Data: the testing generator's shape at a 15 s scrape interval over 10h (with 24 label sets per
 * family: 1,392 series, 3.2M samples), cut into 2h blocks by `promtool tsdb create-blocks-from
 * openmetrics` and uploaded as a sidecar would (meta maxTime at the 2h window end); the planner
 * then merges the first four (8h window) and leaves the fifth. Each run is a fresh child process
 * on a fresh copy of the bucket: wall and CPU time of `runOnce()` and the process's peak RSS
 * (getrusage, Node itself included). Downsampling is off (8h blocks are too short anyway).
 */
import { spawnSync } from 'node:child_process';
import { cp, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadBlock } from '../../packages/core/src/block/upload.js';
import { createCompactor } from '../../packages/core/src/compact/index.js';
import { createFilesystemBucket } from '../../packages/objstore/src/index.js';
import { blocksFromOpenMetrics, makeTempDir, requireProgram } from '../../packages/testing/src/index.js';
import { readBlockMeta } from '../../packages/tsdb/src/block/meta.js';

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : def;
};
const H = 3_600_000;
const T0 = 1_700_006_400_000; // 8h-aligned

if (process.argv[2] === '--child') {
  const [bucketDir, dataDir] = process.argv.slice(3) as [string, string];
  const bucket = createFilesystemBucket({ directory: bucketDir });
  const compactor = createCompactor({
    bucket,
    dataDir,
    consistencyDelayMs: 0,
    deleteDelayMs: 48 * H,
    downsamplingDisable: true,
  });
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const result = await compactor.runOnce();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  console.log(
    JSON.stringify({
      ms,
      cpuMs: (c.user + c.system) / 1000,
      maxRssKb: process.resourceUsage().maxRSS,
      compacted: result.compacted,
      errors: result.errors,
    }),
  );
  process.exit(0);
}

requireProgram('promtool');
const perMetric = arg('series-per-metric', 24);
const runs = arg('runs', 3);
const gen = await blocksFromOpenMetrics({
  seed: 1,
  seriesPerMetric: perMetric,
  startMs: T0,
  durationMs: 10 * H,
  scrapeIntervalMs: 15_000,
});
const source = await makeTempDir('bench-compactor-bucket-');
const bucket = createFilesystemBucket({ directory: source });
let inputBytes = 0;
const dirs = (await readdir(gen.dir)).filter((d) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(d)).sort();
for (const [i, d] of dirs.entries()) {
  const dir = join(gen.dir, d);
  const meta = await readBlockMeta(dir);
  meta.maxTime = meta.minTime - (meta.minTime % (2 * H)) + 2 * H;
  const up = await uploadBlock(bucket, dir, { labels: { cluster: 'bench' }, source: 'sidecar', meta });
  if (i < 4) inputBytes += (up.thanos?.files ?? []).reduce((s, f) => s + (f.size_bytes ?? 0), 0);
}
console.log(
  `input: ${gen.series} series, ${gen.samples} samples in ${dirs.length} blocks; the 4 planned blocks hold ${(inputBytes / 1048576).toFixed(1)} MiB`,
);
const results: Array<{ ms: number; cpuMs: number; maxRssKb: number }> = [];
for (let r = 0; r < runs; r++) {
  const copy = await makeTempDir('bench-compactor-run-');
  await cp(source, copy, { recursive: true });
  const data = await makeTempDir('bench-compactor-data-');
  const child = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', copy, data], {
    encoding: 'utf8',
    env: { ...process.env, TSX_DISABLE_CACHE: '1' },
  });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  if (child.status !== 0) throw new Error(`child failed: ${child.stderr}`);
  const res = JSON.parse(line) as {
    ms: number;
    cpuMs: number;
    maxRssKb: number;
    compacted: string[];
    errors: unknown[];
  };
  if (res.compacted.length !== 1 || res.errors.length > 0) throw new Error(`unexpected result ${line}`);
  const out = join(copy, res.compacted[0] as string);
  let outBytes = 0;
  for (const f of await readdir(join(out, 'chunks'))) outBytes += (await stat(join(out, 'chunks', f))).size;
  outBytes += (await stat(join(out, 'index'))).size;
  results.push(res);
  console.log(
    `run ${r + 1}: ${res.ms.toFixed(0)} ms wall, ${res.cpuMs.toFixed(0)} ms CPU, peak RSS ${(res.maxRssKb / 1024).toFixed(0)} MiB, output ${(outBytes / 1048576).toFixed(1)} MiB`,
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(
  `median: ${median(results.map((r) => r.ms)).toFixed(0)} ms wall, ${median(results.map((r) => r.cpuMs)).toFixed(0)} ms CPU, peak RSS ${(median(results.map((r) => r.maxRssKb)) / 1024).toFixed(0)} MiB`,
);
