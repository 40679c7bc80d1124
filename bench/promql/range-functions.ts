/**
 * Range functions in the evaluator's window loop, on the calling thread: dashboard-shaped range
 * queries over in-memory counters (no fetch, no pool), medians of `--runs`.
 *
 *   npx tsx bench/promql/range-functions.ts [--series=110] [--runs=25]
 *
 * Data: `--series` counters over 2.3 days at 15 s (13,248 samples each), 11 metric names, 3
 * clusters. Queries: 2 days at a 5 m step, the shapes of the query isolation bench (a rate
 * subquery under max_over_time) and plain range functions over raw samples. The rate subqueries
 * evaluate one rate() window per subquery step and series (518,000 for the first), so they show
 * the cost of the call per window itself.
 */

import { createEngine, createMemoryStorage } from '../../packages/promql/src/index.js';
import { numberArg } from '../args.js';

const SERIES = numberArg('series', 110);
const RUNS = numberArg('runs', 25);
const MIN = 60_000;
const DAY = 1440 * MIN;
const END = 3 * DAY;
const START = END - 2.3 * DAY;

const QUERIES = [
  'sum by (cluster) (max_over_time(rate({__name__=~"http_.+"}[5m])[6h:30s]))',
  'sum by (cluster) (max_over_time(increase({__name__=~"http_.+"}[5m])[1h:15s]))',
  'sum by (cluster) (avg_over_time({__name__=~"http_.+"}[10m]))',
  'sum by (cluster) (irate({__name__=~"http_.+"}[5m]))',
  'sum(count_over_time({__name__=~"http_.+"}[1h]))',
  'sum by (cluster) (quantile_over_time(0.9, {__name__=~"http_.+"}[30m]))',
];

const storage = createMemoryStorage();
const n = Math.round((END - START) / 15_000);
const ts = Float64Array.from({ length: n }, (_, p) => START + p * 15_000);
for (let i = 0; i < SERIES; i++) {
  let c = 0;
  const vs = Float64Array.from({ length: n }, (_, p) => (c += (i % 5) + (p % 3)));
  storage.load([
    { labels: { __name__: `http_x${i % 11}`, i: String(i), cluster: `c${i % 3}` }, timestamps: ts, values: vs },
  ]);
}
const engine = createEngine({ maxSamples: 1e9 });

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

console.log(`${SERIES} series × ${n} samples, 2 days at step 5m, ${RUNS} runs on the calling thread`);
console.log('| query | median ms | min ms |');
console.log('| --- | --- | --- |');
for (const q of QUERIES) {
  const times: number[] = [];
  for (let r = 0; r < RUNS + 3; r++) {
    const began = performance.now();
    await engine.rangeQuery(storage, q, END - 2 * DAY, END, 5 * MIN);
    // The first runs compile the code paths: not counted.
    if (r >= 3) times.push(performance.now() - began);
  }
  console.log(`| \`${q}\` | ${median(times).toFixed(1)} | ${Math.min(...times).toFixed(1)} |`);
}
