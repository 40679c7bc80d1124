/**
 * Store gateway benchmark on SERIES series × BLOCKS 2h blocks (SERIES×BLOCKS series in loaded
 * blocks) in a filesystem bucket:
 *   1. resident memory per million series with every block's index loaded (fresh child process,
 *      --expose-gc), and with blocks synced but not yet queried (lazy loading);
 *   2. time to first query after a cold start (no index-headers on disk) and a warm restart;
 *   3. a heavy PromQL query set through store gateway + querier (in-process, @thanos-ts/promql's
 *      engine) vs Prometheus 2.42 serving the same blocks (HTTP /api/v1/query_range), median ratio;
 *   4. object-storage requests (ranged GETs) per query, cold and with the in-memory index cache warm.
 * Run: npx tsx bench/core/store.ts [--series=100000] [--blocks=10] [--runs=5]
 * The dataset is built once into .bench-data/store/ (see store-data.ts).
 */
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createQuerier, createStoreGateway, NOP_LOGGER, type StoreGateway } from '@thanos-ts/core';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { createEngine } from '@thanos-ts/promql';
import { makeTempDir, startPrometheus } from '@thanos-ts/testing';
import { matcher } from '@thanos-ts/tsdb';
import { numberArg } from '../args.js';
import { processCpuMs } from '../proc.js';
import { BLOCK_MS, ensureBenchData, T0 } from './store-data.js';

const SERIES = numberArg('series', 100_000);
const BLOCKS = numberArg('blocks', 10);
const RUNS = numberArg('runs', 5);
const MB = 1024 * 1024;

const QUERIES = [
  'sum(rate(bench_metric_7[5m]))',
  'sum by (job) (rate({__name__=~"bench_metric_1[0-9]"}[10m]))',
  'max by (instance) (bench_metric_42)',
  'count({job="job-3"})',
  'avg_over_time(bench_metric_99{instance=~"host-1.*"}[30m])',
  'topk(5, rate(bench_metric_3[10m]))',
  'sum by (instance) (increase(bench_metric_150[1h]))',
];

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
}

async function childMemory(bucketDir: string, dataDir: string): Promise<void> {
  gc();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  const g = createStoreGateway({
    bucket: createFilesystemBucket({ directory: bucketDir }),
    dataDir,
    logger: NOP_LOGGER,
    idleUnloadAfterMs: 0,
  });
  await g.start();
  gc();
  const rssSynced = process.memoryUsage().rss;
  // One tiny query that touches every block opens every index reader.
  for await (const _ of g.series({ minTime: 0, maxTime: 4e12, matchers: [matcher('=', 'id', '1')] }));
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const mem = process.memoryUsage();
  process.stdout.write(
    JSON.stringify({
      rss0,
      rssSynced,
      rssLoaded: mem.rss,
      heap0,
      heapLoaded: mem.heapUsed,
      loaded: g.blocks().filter((b) => b.loaded).length,
    }),
  );
  await g.close();
}

const ourCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function main(): Promise<void> {
  const { tsdbDir, bucketDir } = await ensureBenchData(SERIES, BLOCKS);
  if (process.argv.includes('--child=memory')) {
    await childMemory(bucketDir, process.argv.find((a) => a.startsWith('--data-dir='))?.slice(11) as string);
    return;
  }
  const total = SERIES * BLOCKS;
  console.log(`dataset: ${SERIES} series × ${BLOCKS} blocks = ${total} series in blocks; node ${process.version}`);
  const dataDir = await makeTempDir('bench-store-');

  // 2. Cold start: no index-headers on disk; then a warm restart reusing them.
  const start = T0 + 3600_000 + 7000;
  const end = T0 + BLOCKS * BLOCK_MS - 7000;
  const step = 300_000;
  const firstQuery = async (g: StoreGateway) => {
    const q = createQuerier({ endpoints: [g], engine: createEngine() });
    await q.start();
    await q.rangeQuery(QUERIES[0] as string, start, end, step);
    await q.close();
  };
  let t = performance.now();
  let g = createStoreGateway({ bucket: createFilesystemBucket({ directory: bucketDir }), dataDir, logger: NOP_LOGGER });
  await g.start();
  const coldSync = performance.now() - t;
  await firstQuery(g);
  const coldFirst = performance.now() - t;
  const coldRequests = g.requests.getRange;
  await g.close();
  t = performance.now();
  g = createStoreGateway({ bucket: createFilesystemBucket({ directory: bucketDir }), dataDir, logger: NOP_LOGGER });
  await g.start();
  const warmSync = performance.now() - t;
  await firstQuery(g);
  const warmFirst = performance.now() - t;
  await g.close();
  console.log(
    `cold start: sync ${(coldSync / 1000).toFixed(2)}s (${coldRequests} ranged GETs incl. first query), first query answered after ${(coldFirst / 1000).toFixed(2)}s`,
  );
  console.log(
    `warm restart (index-headers on disk): sync ${(warmSync / 1000).toFixed(2)}s, first query answered after ${(warmFirst / 1000).toFixed(2)}s`,
  );

  // 1. Memory in a fresh process (index-headers already on disk from the step above).
  const out = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      'bench/core/store.ts',
      `--series=${SERIES}`,
      `--blocks=${BLOCKS}`,
      '--child=memory',
      `--data-dir=${dataDir}`,
    ],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  const m = JSON.parse(out) as {
    rss0: number;
    rssSynced: number;
    rssLoaded: number;
    heap0: number;
    heapLoaded: number;
    loaded: number;
  };
  const perM = (bytes: number) => ((bytes / MB) * 1e6) / total;
  console.log(
    `memory: synced, nothing loaded +${((m.rssSynced - m.rss0) / MB).toFixed(0)} MB RSS; all ${m.loaded} blocks loaded +${((m.rssLoaded - m.rss0) / MB).toFixed(0)} MB RSS = ${perM(m.rssLoaded - m.rss0).toFixed(0)} MB RSS per 1M series (heap +${((m.heapLoaded - m.heap0) / MB).toFixed(0)} MB = ${perM(m.heapLoaded - m.heap0).toFixed(0)} MB per 1M series)`,
  );

  // 3 + 4. Heavy queries vs Prometheus.
  const prom = await startPrometheus({
    dataDir: tsdbDir,
    extraArgs: [
      '--storage.tsdb.min-block-duration=2h',
      '--storage.tsdb.max-block-duration=2h',
      '--query.max-samples=500000000',
    ],
  });
  g = createStoreGateway({ bucket: createFilesystemBucket({ directory: bucketDir }), dataDir, logger: NOP_LOGGER });
  await g.start();
  const querier = createQuerier({ endpoints: [g], engine: createEngine({ maxSamples: 500_000_000 }) });
  await querier.start();
  const promQuery = async (expr: string) => {
    const url = `${prom.url}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${start / 1000}&end=${end / 1000}&step=${step / 1000}`;
    const res = await fetch(url);
    const body = (await res.json()) as { status: string; error?: string; data: { result: unknown[] } };
    if (body.status !== 'success') throw new Error(`prometheus ${expr}: ${body.error}`);
    return body.data.result.length;
  };
  console.log(
    '| query | series out | ours p50 ms | Prometheus p50 ms | ratio | ours CPU ms | Prometheus CPU ms | CPU ratio | GETs cold | GETs warm |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (const expr of QUERIES) {
    const before = g.requests.getRange;
    const first = await querier.rangeQuery(expr, start, end, step);
    const coldGets = g.requests.getRange - before;
    await promQuery(expr);
    const ours: number[] = [];
    const theirs: number[] = [];
    const oursCpu: number[] = [];
    const theirsCpu: number[] = [];
    let warmGets = 0;
    for (let i = 0; i < RUNS; i++) {
      const b = g.requests.getRange;
      let t0 = performance.now();
      let c0 = ourCpuMs();
      await querier.rangeQuery(expr, start, end, step);
      ours.push(performance.now() - t0);
      oursCpu.push(ourCpuMs() - c0);
      warmGets = g.requests.getRange - b;
      t0 = performance.now();
      c0 = processCpuMs(prom.pid);
      await promQuery(expr);
      theirs.push(performance.now() - t0);
      theirsCpu.push(processCpuMs(prom.pid) - c0);
    }
    const ratio = median(ours) / median(theirs);
    ratios.push(ratio);
    // Prometheus's CPU is counted in 10 ms ticks: floor it at one tick.
    const cpuRatio = median(oursCpu) / Math.max(10, median(theirsCpu));
    cpuRatios.push(cpuRatio);
    const n = first.result.type === 'matrix' ? first.result.series.length : 1;
    const cells = [median(ours), median(theirs)].map((x) => x.toFixed(0));
    const cpuCells = [median(oursCpu), median(theirsCpu)].map((x) => x.toFixed(0));
    console.log(
      `| \`${expr}\` | ${n} | ${cells.join(' | ')} | ${ratio.toFixed(2)} | ${cpuCells.join(' | ')} | ${cpuRatio.toFixed(2)} | ${coldGets} | ${warmGets} |`,
    );
  }
  console.log(
    `median ratio (ours / Prometheus): wall ${median(ratios).toFixed(2)}, CPU ${median(cpuRatios).toFixed(2)}`,
  );
  await querier.close();
  await g.close();
  await prom.stop();
  await rm(dataDir, { recursive: true, force: true });
}

await main();
