/**
 * PromQL over native histograms, and the float path for comparison (issue 19).
 *
 *   npx tsx bench/promql-histograms.ts [--series=10000] [--minutes=30] [--runs=5] [--floats-only]
 *
 * Native part: `--series` native histogram series (schema 3, 20 populated buckets in two spans
 * plus a zero bucket, counters growing every 15 s scrape) over `--minutes`, in the in-memory
 * storage. Queries: histogram_quantile(0.99, sum by (le) (rate(x[5m]))) as an instant query at
 * the end and as a range query over the last 30 minutes at a 1m step, plus histogram_count(rate)
 * and sum(rate) alone. Samples of a series are drawn from a pool of shared FloatHistogram objects
 * so that 10k series fit in memory; the engine never modifies its inputs, so sharing is safe.
 *
 * Float part: 2,000 counter series and 2,000 classic histogram bucket series (15 s, 6 h), range
 * queries over 6 h at a 30 s step — run it before and after an engine change to see the cost of
 * the histogram checks on the float path (`--floats-only` skips the native part).
 * Timings are the median of `--runs` runs of the engine call (fetch from memory + evaluation).
 *
 * Against Prometheus 2.42 (`--vs-prometheus`, needs the prometheus binary): the same native
 * histogram series are written as one block with our block writer (float histogram chunks cut as
 * a 2.x head cuts them), and the block is queried both by us (openBlock + createBlockQueryable +
 * the engine, in this process: index lookup, chunk decode, evaluation) and by Prometheus 2.42
 * started with --enable-feature=native-histograms on a data dir holding a copy of the block.
 * Prometheus's figure is its own `stats=all` execTotalTime (queue, select, decode, evaluation;
 * no JSON or HTTP), the HTTP round trip is shown beside it. Float histograms are used because
 * 2.42's rate over integer histograms answers 0 (it would skip the work we do); both sides read
 * the same chunks and the answers are compared. The float part is skipped then.
 */

import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createEngine, createMemoryStorage } from '../packages/promql/src/index.js';
import { makeTempDir, programAvailable, removeTempDir, startPrometheus } from '../packages/testing/src/index.js';
import { createBlockQueryable } from '../packages/tsdb/src/block/queryable.js';
import { openBlock } from '../packages/tsdb/src/block/reader.js';
import { writeBlock } from '../packages/tsdb/src/block/writer.js';
import type { EncodedChunk } from '../packages/tsdb/src/chunkenc/chunk.js';
import {
  CounterResetHint,
  cutFloatHistogramChunks,
  type FloatHistogram,
} from '../packages/tsdb/src/histogram/index.js';
import { compareLabels, Labels } from '../packages/tsdb/src/index.js';

const arg = (name: string, def: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? def : Number(a.split('=')[1]);
};
const SERIES = arg('series', 10_000);
const MINUTES = arg('minutes', 30);
const RUNS = arg('runs', 5);
const floatsOnly = process.argv.includes('--floats-only');
const vsPrometheus = process.argv.includes('--vs-prometheus');
const START = 1_700_000_000_000;
const SCRAPE = 15_000;

let seed = 7;
const rnd = (): number => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function time(label: string, fn: () => Promise<unknown>, extra = ''): Promise<void> {
  await fn(); // warm-up
  const ms: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  console.log(`  ${label.padEnd(58)} ${median(ms).toFixed(1).padStart(9)} ms${extra}`);
}

const engine = createEngine({ maxSamples: 500_000_000, timeout: 600_000 });

if (!floatsOnly) {
  const steps = Math.floor((MINUTES * 60_000) / SCRAPE) + 1;
  const VARIANTS = 16;
  // pool[step][variant]: cumulative histograms, each variant growing at its own pace.
  const pool: FloatHistogram[][] = [];
  const rates = Array.from({ length: VARIANTS }, () => Array.from({ length: 20 }, () => Math.floor(rnd() * 20)));
  for (let i = 0; i < steps; i++) {
    const row: FloatHistogram[] = [];
    for (let v = 0; v < VARIANTS; v++) {
      const buckets = (rates[v] as number[]).map((r) => r * (i + 1));
      const zero = 3 * (i + 1);
      const count = buckets.reduce((a, b) => a + b, zero);
      row.push({
        counterResetHint: i === 0 ? CounterResetHint.Unknown : CounterResetHint.NotCounterReset,
        schema: 3,
        zeroThreshold: 1e-128,
        zeroCount: zero,
        count,
        sum: count * 0.37,
        positiveSpans: [
          { offset: -10, length: 12 },
          { offset: 6, length: 8 },
        ],
        positiveBuckets: buckets,
        negativeSpans: [],
        negativeBuckets: [],
      });
    }
    pool.push(row);
  }
  const seriesLabels = (s: number): Labels =>
    Labels.from([
      ['__name__', 'http_request_duration_seconds'],
      ['instance', `i${s % 500}`],
      ['job', `job${s % 20}`],
      ['pod', `p${s}`],
    ]);
  const end = START + (steps - 1) * SCRAPE;
  const q99 = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds[5m])))';
  const rangeStart = Math.max(START + 300_000, end - 30 * 60_000);
  if (vsPrometheus) await compareWithPrometheus();

  async function compareWithPrometheus(): Promise<void> {
    if (!programAvailable('prometheus')) {
      console.log('SKIPPING --vs-prometheus: prometheus is not installed');
      return;
    }
    // Series of one variant have the same samples, hence the same chunk bytes: encode once each.
    const chunksOf: EncodedChunk[][] = [];
    for (let v = 0; v < VARIANTS; v++)
      chunksOf.push(
        cutFloatHistogramChunks(
          pool.map((row, i) => ({ t: START + i * SCRAPE, h: row[v] as FloatHistogram })),
          2 * 3600_000,
        ),
      );
    const order = Array.from({ length: SERIES }, (_, s) => ({ s, labels: seriesLabels(s) })).sort((a, b) =>
      compareLabels(a.labels, b.labels),
    );
    const dir = await makeTempDir('bench-hist-block-');
    const block = await writeBlock(
      order.map(({ s, labels }) => ({
        labels,
        timestamps: [],
        values: [],
        histogramChunks: chunksOf[s % VARIANTS] as EncodedChunk[],
      })),
      { outDir: dir },
    );
    if (!block) throw new Error('no block written');
    console.log(
      `block ${block.ulid}: ${block.meta.stats.numSeries} series, ${block.meta.stats.numChunks} float histogram chunks, ${block.meta.stats.numSamples} samples`,
    );
    const dataDir = join(dir, 'prometheus-data');
    await mkdir(dataDir, { recursive: true });
    await cp(block.dir, join(dataDir, block.ulid), { recursive: true });
    const prom = await startPrometheus({ dataDir, extraArgs: ['--enable-feature=native-histograms'] });
    const reader = await openBlock(block.dir);
    const queryable = createBlockQueryable([reader]);
    try {
      type Stats = { status: string; data: { result: unknown[]; stats?: { timings: { execTotalTime: number } } } };
      const promQuery = async (path: string, params: Record<string, string>) => {
        const t = performance.now();
        const res = (await (
          await fetch(`${prom.url}${path}?${new URLSearchParams({ ...params, stats: 'all' })}`)
        ).json()) as Stats;
        if (res.status !== 'success') throw new Error(`prometheus: ${JSON.stringify(res).slice(0, 300)}`);
        return { http: performance.now() - t, exec: (res.data.stats?.timings.execTotalTime ?? Number.NaN) * 1000, res };
      };
      const cases: { name: string; ours: () => Promise<unknown>; theirs: () => ReturnType<typeof promQuery> }[] = [
        {
          name: `instant ${q99}`,
          ours: () => engine.instantQuery(queryable, q99, end),
          theirs: () => promQuery('/api/v1/query', { query: q99, time: String(end / 1000) }),
        },
        {
          name: `range ${Math.round((end - rangeStart) / 60_000)}m step 1m: ${q99}`,
          ours: () => engine.rangeQuery(queryable, q99, rangeStart, end, 60_000),
          theirs: () =>
            promQuery('/api/v1/query_range', {
              query: q99,
              start: String(rangeStart / 1000),
              end: String(end / 1000),
              step: '60',
            }),
        },
      ];
      console.log(
        `vs Prometheus 2.42 on the same block (median of ${RUNS}; Prometheus: execTotalTime, HTTP in brackets)`,
      );
      for (const c of cases) {
        await c.ours();
        await c.theirs();
        const ours: number[] = [];
        const exec: number[] = [];
        const http: number[] = [];
        for (let r = 0; r < RUNS; r++) {
          const t = performance.now();
          await c.ours();
          ours.push(performance.now() - t);
          const p = await c.theirs();
          exec.push(p.exec);
          http.push(p.http);
        }
        console.log(
          `  ${c.name}\n    ours ${median(ours).toFixed(1)} ms   prometheus ${median(exec).toFixed(1)} ms (${median(http).toFixed(1)} ms)   ratio ${(median(ours) / median(exec)).toFixed(2)}`,
        );
      }
      // Same answer (one bucket of quantile interpolation apart: 3.x exponential, 2.42 linear).
      const mine = (await engine.instantQuery(queryable, q99, end)) as unknown as {
        result: { samples?: { f?: number }[] };
      };
      const theirs = (await promQuery('/api/v1/query', { query: q99, time: String(end / 1000) })).res.data.result as {
        value: [number, string];
      }[];
      console.log(
        `  answers: ours ${(mine.result.samples ?? []).map((x) => x.f).join(', ')}, prometheus ${theirs.map((r) => r.value[1]).join(', ')}`,
      );
    } finally {
      await prom.stop();
      await reader.close();
      await removeTempDir(dir);
    }
  }

  const storage = createMemoryStorage();
  const t0 = performance.now();
  for (let s = 0; s < SERIES; s++) {
    const labels = seriesLabels(s);
    const v = s % VARIANTS;
    for (let i = 0; i < steps; i++)
      storage.appendHistogram(labels, START + i * SCRAPE, (pool[i] as FloatHistogram[])[v] as FloatHistogram);
  }
  // The first query sorts the series; load time includes that.
  await engine.instantQuery(storage, 'count(http_request_duration_seconds)', end);
  console.log(
    `native histograms: ${SERIES} series × ${steps} samples (20 buckets + zero bucket), loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const windowHistograms = SERIES * 21; // samples in a 5m window at 15 s
  await time(`instant ${q99}`, () => engine.instantQuery(storage, q99, end), `  (${windowHistograms} histograms read)`);
  await time('instant sum(rate(x[5m]))', () =>
    engine.instantQuery(storage, 'sum(rate(http_request_duration_seconds[5m]))', end),
  );
  await time('instant histogram_count(rate(x[5m]))', () =>
    engine.instantQuery(storage, 'histogram_count(rate(http_request_duration_seconds[5m]))', end),
  );
  await time(
    `range ${Math.round((end - rangeStart) / 60_000)}m step 1m: ${q99}`,
    () => engine.rangeQuery(storage, q99, rangeStart, end, 60_000),
    `  (${Math.floor((end - rangeStart) / 60_000) + 1} steps)`,
  );
}

if (!vsPrometheus) {
  const FLOAT_SERIES = 2_000;
  const steps = (6 * 3600_000) / SCRAPE + 1;
  const storage = createMemoryStorage();
  const les = ['0.1', '0.5', '1', '5', '+Inf'];
  for (let s = 0; s < FLOAT_SERIES; s++) {
    const ts = new Float64Array(steps);
    const vs = new Float64Array(steps);
    let v = 0;
    for (let i = 0; i < steps; i++) {
      ts[i] = START + i * SCRAPE;
      v += Math.floor(rnd() * 10);
      vs[i] = v;
    }
    storage.load([
      { labels: { __name__: 'req_total', instance: `i${s % 100}`, pod: `p${s}` }, timestamps: ts, values: vs },
    ]);
    const le = les[s % les.length] as string;
    storage.load([
      {
        labels: {
          __name__: 'lat_bucket',
          instance: `i${Math.floor(s / les.length) % 100}`,
          pod: `p${Math.floor(s / les.length)}`,
          le,
        },
        timestamps: ts,
        values: vs.map((x) => x * (les.indexOf(le) + 1)),
      },
    ]);
  }
  const end = START + (steps - 1) * SCRAPE;
  console.log(
    `floats: ${FLOAT_SERIES} counters + ${FLOAT_SERIES} classic buckets × ${steps} samples; range 6h step 30s`,
  );
  const queries: Record<string, string> = {
    rate: 'rate(req_total[5m])',
    'sum by': 'sum by (instance) (rate(req_total[5m]))',
    'classic histogram_quantile': 'histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))',
    'vector * scalar': 'req_total * 2',
    'one-to-one join': 'rate(req_total[5m]) / on(instance, pod) rate(req_total[5m])',
    topk: 'topk(5, req_total)',
    abs: 'abs(req_total)',
  };
  for (const [name, q] of Object.entries(queries)) {
    await time(name, () => engine.rangeQuery(storage, q, START, end, 30_000));
  }
}
