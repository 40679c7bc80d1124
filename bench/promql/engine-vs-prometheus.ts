/**
 * Range-query latency of the thanos-ts PromQL engine over in-memory data vs the real
 * Prometheus 2.42 over the same data (promtool blocks), through its HTTP API.
 *
 *   npx tsx bench/promql/engine-vs-prometheus.ts [--series-per-metric=240] [--hours=6] [--runs=5]
 *
 * Default data: 9 generated families (3 counters, 3 gauges, 3 classic histograms) with 240 label
 * sets each (one gauge family 4x) = 10,080 series, 6h at 15s = 1,440 samples per series.
 * Queries run over the full 6h with a 30s step (721 points per series). Our timing is the
 * engine call (fetch from memory + evaluation); Prometheus's is the HTTP round trip including
 * its JSON encoding, which we do not do — see docs/benchmarks.md.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blocksFromOpenMetrics, generateSeries, startPrometheus } from '@thanos-ts/testing';
import { createEngine, createMemoryStorage } from '../../packages/promql/src/index.js';

const arg = (name: string, def: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? def : Number(a.split('=')[1]);
};
const perMetric = arg('series-per-metric', 240);
const hours = arg('hours', 6);
const runs = arg('runs', 7);
const START = 1_700_000_000_000;
const STEP = 30_000;

const QUERIES: Record<string, string> = {
  rate: 'rate(gen_counter_0_total[5m])',
  'rate 1h window': 'rate(gen_counter_0_total[1h])',
  'sum by': 'sum by (job, instance) (rate(gen_histogram_2_bucket[5m]))',
  histogram_quantile: 'histogram_quantile(0.9, sum by (le, job) (rate(gen_histogram_2_bucket[5m])))',
  topk: 'topk(5, gen_gauge_4)',
  'one-to-many join': 'rate(gen_counter_3_total[5m]) * on(instance) group_left max by (instance) (gen_gauge_1)',
  subquery: 'max_over_time(rate(gen_counter_6_total[5m])[30m:1m])',
  'all histograms': 'sum(rate({__name__=~"gen_histogram_.*_bucket"}[5m]))',
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const t0 = Date.now();
const genOpts = {
  seed: 11,
  metrics: 9,
  seriesPerMetric: perMetric,
  durationMs: hours * 3600_000,
  scrapeIntervalMs: 15_000,
  startMs: START,
};
// promtool takes minutes for 14M samples: keep the blocks between runs (the generator is deterministic).
const blocksDir = join(tmpdir(), `thanos-ts-promql-bench-${perMetric}x${hours}h`);
if (!existsSync(join(blocksDir, '.complete'))) {
  await blocksFromOpenMetrics({ ...genOpts, dir: blocksDir });
  writeFileSync(join(blocksDir, '.complete'), '');
}
const data = generateSeries(genOpts);
const samples = data.reduce((n, s) => n + s.timestamps.length, 0);
const blocks = { dir: blocksDir, series: data.length, samples };
console.error(`${blocks.series} series, ${blocks.samples} samples, data ready in ${(Date.now() - t0) / 1000}s`);

const storage = createMemoryStorage();
storage.load(data.map((s) => ({ labels: s.labels, timestamps: s.timestamps, values: s.values })));
// The generator's arrays are no longer needed: free them before measuring.
data.length = 0;
const engine = createEngine({ noStepSubqueryInterval: 15_000 });
const prom = await startPrometheus({ dataDir: blocks.dir });
const end = START + hours * 3600_000;
const rows: string[] = [];
try {
  for (const [name, q] of Object.entries(QUERIES)) {
    const ours: number[] = [];
    const theirs: number[] = [];
    const theirsExec: number[] = [];
    let seriesOut = 0;
    // Warm-up (JIT, page cache), then alternate.
    for (let i = 0; i < 3; i++) await engine.rangeQuery(storage, q, START, end, STEP);
    await fetch(
      `${prom.url}/api/v1/query_range?${new URLSearchParams({ query: q, start: String(START / 1000), end: String(end / 1000), step: '30' })}`,
    ).then((r) => r.arrayBuffer());
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const r = await engine.rangeQuery(storage, q, START, end, STEP);
      ours.push(performance.now() - t);
      if (r.result.type === 'matrix') seriesOut = r.result.series.length;
      t = performance.now();
      const res = await fetch(
        `${prom.url}/api/v1/query_range?${new URLSearchParams({ query: q, start: String(START / 1000), end: String(end / 1000), step: '30', stats: 'all' })}`,
      );
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { stats?: { timings?: { execTotalTime?: number } } };
      };
      theirs.push(performance.now() - t);
      // Prometheus's own measure of the query (queue, preparation, evaluation, sorting), no HTTP/JSON.
      theirsExec.push((body.data?.stats?.timings?.execTotalTime ?? Number.NaN) * 1000);
      if (body.status !== 'success') throw new Error(`prometheus failed ${q}: ${body.error}`);
    }
    const a = median(ours);
    const b = median(theirs);
    const c = median(theirsExec);
    rows.push(
      `| ${name} | \`${q}\` | ${seriesOut} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${c.toFixed(0)} | ${(a / b).toFixed(2)} | ${(a / c).toFixed(2)} |`,
    );
    console.error(rows[rows.length - 1]);
  }
} finally {
  await prom.stop();
}
console.log(
  `${blocks.series} series, ${blocks.samples} samples, ${hours}h at 15s, range queries over ${hours}h at 30s step, median of ${runs}`,
);
console.log(
  '| query | expression | series out | thanos-ts ms | Prometheus 2.42 HTTP ms | Prometheus 2.42 exec ms | ratio to HTTP | ratio to exec |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
