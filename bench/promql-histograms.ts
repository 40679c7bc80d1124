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
 */

import { createEngine, createMemoryStorage } from '../packages/promql/src/index.js';
import { CounterResetHint, type FloatHistogram } from '../packages/tsdb/src/histogram/index.js';
import { Labels } from '../packages/tsdb/src/index.js';

const arg = (name: string, def: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? def : Number(a.split('=')[1]);
};
const SERIES = arg('series', 10_000);
const MINUTES = arg('minutes', 30);
const RUNS = arg('runs', 5);
const floatsOnly = process.argv.includes('--floats-only');
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
  const storage = createMemoryStorage();
  const t0 = performance.now();
  for (let s = 0; s < SERIES; s++) {
    const labels = Labels.from([
      ['__name__', 'http_request_duration_seconds'],
      ['instance', `i${s % 500}`],
      ['job', `job${s % 20}`],
      ['pod', `p${s}`],
    ]);
    const v = s % VARIANTS;
    for (let i = 0; i < steps; i++)
      storage.appendHistogram(labels, START + i * SCRAPE, (pool[i] as FloatHistogram[])[v] as FloatHistogram);
  }
  const end = START + (steps - 1) * SCRAPE;
  // The first query sorts the series; load time includes that.
  await engine.instantQuery(storage, 'count(http_request_duration_seconds)', end);
  console.log(
    `native histograms: ${SERIES} series × ${steps} samples (20 buckets + zero bucket), loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const windowHistograms = SERIES * 21; // samples in a 5m window at 15 s
  const q99 = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds[5m])))';
  await time(`instant ${q99}`, () => engine.instantQuery(storage, q99, end), `  (${windowHistograms} histograms read)`);
  await time('instant sum(rate(x[5m]))', () =>
    engine.instantQuery(storage, 'sum(rate(http_request_duration_seconds[5m]))', end),
  );
  await time('instant histogram_count(rate(x[5m]))', () =>
    engine.instantQuery(storage, 'histogram_count(rate(http_request_duration_seconds[5m]))', end),
  );
  const rangeStart = Math.max(START + 300_000, end - 30 * 60_000);
  await time(
    `range ${Math.round((end - rangeStart) / 60_000)}m step 1m: ${q99}`,
    () => engine.rangeQuery(storage, q99, rangeStart, end, 60_000),
    `  (${Math.floor((end - rangeStart) / 60_000) + 1} steps)`,
  );
}

{
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
