/**
 * Differential test against the real Prometheus 2.42: the same generated series go into real
 * blocks (promtool) served by Prometheus and into the in-memory storage; every query is run as an
 * instant and as a range query on both and the answers must agree within 1e-6 relative.
 *
 * Prometheus 2 closes range and lookback windows on the left, Prometheus 3 (and this engine)
 * leaves them open. Samples are jittered off the 15s grid and queries run at times 7s off any
 * sample's nominal time, so no sample ever sits on a window's edge and both semantics agree.
 */
import {
  blocksFromOpenMetrics,
  type GeneratedBlocks,
  programAvailable,
  type RunningPrometheus,
  startPrometheus,
} from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, createMemoryStorage, type MemoryStorage, type QueryValue } from '../src/index.js';

const START = 1_700_000_000_000; // generator default
const INSTANT_TIMES = [START + 3_607_000, START + 5_407_000];
const RANGE = { start: START + 607_000, end: START + 6_607_000, step: 60_000 };

const counters = ['gen_counter_0_total', 'gen_counter_3_total', 'gen_counter_9_total'];
const gauges = ['gen_gauge_1', 'gen_gauge_4', 'gen_gauge_7'];
const histograms = ['gen_histogram_2', 'gen_histogram_5'];
// Gauges with special values (NaN, ±Inf, 1e300, subnormals) live on shards s%7==3; aggregations
// across them are compared too, but only where both engines sum in the same order of magnitude.
const plainGauge = (g: string | undefined) => `${g}{shard!~"3|10|17|24|31|38"}`;

function queries(): string[] {
  const q: string[] = [];
  for (const c of counters) {
    q.push(
      c,
      `rate(${c}[5m])`,
      `rate(${c}[1h])`,
      `irate(${c}[5m])`,
      `increase(${c}[10m])`,
      `resets(${c}[30m])`,
      `changes(${c}[30m])`,
      `sum(rate(${c}[5m]))`,
      `sum by (job) (rate(${c}[5m]))`,
      `sum without (shard) (rate(${c}[5m]))`,
      `avg by (instance) (rate(${c}[2m]))`,
      `max by (job) (${c})`,
      `min(${c})`,
      `count(${c})`,
      `topk(3, rate(${c}[5m]))`,
      `bottomk(2, ${c})`,
      `quantile(0.9, rate(${c}[5m]))`,
      `rate(${c}[5m] offset 10m)`,
      `rate(${c}[5m] offset -5m)`,
      `deriv(${c}[10m])`,
      `predict_linear(${c}[10m], 600)`,
      `timestamp(${c})`,
      `${c} > 100`,
      `${c} > bool 100`,
      `rate(${c}[5m]) * 60`,
      `max_over_time(rate(${c}[2m])[10m:1m])`,
      `avg_over_time(rate(${c}[2m])[15m:])`,
      `count_values("v", ceil(rate(${c}[5m])))`,
      `stddev(rate(${c}[5m]))`,
      `group by (job) (${c})`,
      `label_replace(rate(${c}[5m]), "host", "$1", "instance", "(.*):.*")`,
    );
  }
  for (const g of gauges) {
    q.push(
      g,
      `delta(${g}[10m])`,
      `idelta(${g}[5m])`,
      `avg_over_time(${plainGauge(g)}[10m])`,
      `min_over_time(${g}[10m])`,
      `max_over_time(${g}[10m])`,
      `sum_over_time(${plainGauge(g)}[10m])`,
      `count_over_time(${g}[10m])`,
      `last_over_time(${g}[10m])`,
      `present_over_time(${g}[10m])`,
      `quantile_over_time(0.3, ${g}[20m])`,
      `stddev_over_time(${plainGauge(g)}[20m])`,
      `stdvar_over_time(${plainGauge(g)}[20m])`,
      `abs(${g})`,
      `clamp(${g}, -10, 10)`,
      `clamp_min(${g}, 0)`,
      `round(${g}, 0.5)`,
      `sgn(${g})`,
      `-${g}`,
      `${g} offset 1h`,
      `${g} @ ${(START + 1_807_000) / 1000}`,
      `sort_desc(${g})`,
      `scalar(max(${plainGauge(g)}))`,
      `${g} - on(instance, job, shard) group_left ${g} offset 5m`,
      `${g} / ignoring(shard) group_left max without (shard) (${plainGauge(g)})`,
      `sum by (job) (${plainGauge(g)})`,
      `stdvar by (job) (${plainGauge(g)})`,
      `changes(${g}[1h])`,
      `absent_over_time(${g}{shard="no-such"}[5m])`,
      `exp(${g} / 1e6)`,
    );
  }
  for (const h of histograms) {
    q.push(
      `histogram_quantile(0.9, rate(${h}_bucket[5m]))`,
      `histogram_quantile(0.5, sum by (le) (rate(${h}_bucket[5m])))`,
      `histogram_quantile(0.99, sum by (le, job) (rate(${h}_bucket[10m])))`,
      `histogram_quantile(0.1, ${h}_bucket)`,
      `rate(${h}_sum[5m]) / rate(${h}_count[5m])`,
      `sum(rate(${h}_count[5m])) by (instance)`,
      `${h}_count and on(instance) ${h}_sum > 0`,
      `${h}_count unless on(shard) ${h}_count offset 1h`,
      `${h}_count or ${h}_sum`,
      `topk by (le) (1, ${h}_bucket)`,
    );
  }
  q.push(
    'time()',
    'vector(1) + vector(2)',
    '1 + 2 * 3 ^ 2 % 5',
    'pi()',
    'hour()',
    'minute(timestamp(gen_gauge_1))',
    'day_of_week()',
    'year(vector(time()))',
    'days_in_month()',
    'absent(nonexistent_metric{job="x"})',
    'absent(gen_gauge_1)',
    `sum(${counters[0]}) + sum(${counters[1]})`,
    `count(${counters[0]} > ${counters[1]})`,
    `${counters[0]} / on(instance, shard) group_left ${counters[1]}`,
    `sum by (instance) (${counters[2]}) / on(instance) group_left sum by (instance) (${counters[0]})`,
    `sqrt(abs(${gauges[0]}))`,
    `ln(${counters[0]})`,
    `log2(${counters[0]} + 1)`,
    `log10(${counters[0]} + 1)`,
    `floor(rate(${counters[0]}[5m]))`,
    `label_join(${gauges[0]}, "id", "/", "job", "shard")`,
    `max_over_time(max(${counters[0]})[30m:5m])`,
    `rate(sum(${counters[0]})[10m:30s])`,
    `sum(rate(${counters[2]}[5m] @ ${(START + 3_000_000) / 1000}))`,
    `${counters[1]} @ ${(START + 600_000) / 1000} offset 1m`,
    // Prometheus 2 keeps the metric name on `atan2` (Prometheus 3 drops it): multiply first.
    `(${gauges[2]} * 1) atan2 10`,
    `cos(${gauges[2]} / 100)`,
    `deg(vector(pi()))`,
    `rad(vector(180))`,
    // Nesting, subquery offsets and @, set operations across families.
    `max_over_time(sum by (job) (rate(${counters[0]}[5m]))[1h:5m])`,
    `sum_over_time(rate(${counters[1]}[5m])[30m:2m] offset 10m)`,
    `avg_over_time(max_over_time(${gauges[1]}[5m])[20m:1m])`,
    `quantile_over_time(0.5, rate(${counters[2]}[2m])[20m:30s])`,
    `deriv(sum(${counters[0]})[30m:1m])`,
    `max_over_time(rate(${counters[0]}[5m])[10m:1m] @ ${(START + 2_400_000) / 1000})`,
    `rate(${counters[1]}[5m] @ ${(START + 1_200_000) / 1000} offset -2m)`,
    `count by (job) (${counters[2]} > bool 500)`,
    `${counters[0]} > on(instance, shard) ${counters[1]}`,
    `${counters[0]} > bool on(instance, shard) ${counters[1]}`,
    `${gauges[0]} unless on(shard) ${gauges[1]} > 0`,
    `(${gauges[0]} > 0) or on(shard) ${gauges[1]}`,
    `count(count by (le) (${histograms[0]}_bucket))`,
    `sum without (le) (${histograms[1]}_bucket) / on(instance, job, shard) group_left ${histograms[1]}_count`,
    `absent_over_time(${gauges[0]}{shard="0"}[10m])`,
    `changes(${gauges[2]}[30m:1m])`,
    `resets(sum(${counters[0]})[1h:1m])`,
    `irate(${counters[1]}[10m:15s])`,
    `last_over_time(${gauges[0]}[10m] offset 30m)`,
    `sum(${gauges[1]} offset 20m) by (job)`,
    `topk(1, sum by (job, instance) (rate(${counters[2]}[5m])))`,
    `bottomk by (job) (1, rate(${counters[0]}[5m]))`,
    `quantile by (job) (0.25, ${plainGauge(gauges[2])})`,
    `count_values by (job) ("bucket", ${histograms[0]}_bucket{le="+Inf"} > 0)`,
    `group(${gauges[0]}) by (instance)`,
    `-sum(rate(${counters[0]}[5m]))`,
    `scalar(sum(rate(${counters[0]}[5m]))) * ${counters[0]}`,
    `vector(scalar(count(${gauges[0]})))`,
    `timestamp(rate(${counters[0]}[5m]))`,
    `label_replace(${gauges[0]}, "shard_x", "s-$1", "shard", "([0-9])")`,
  );
  return q;
}

interface PromSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

async function promQuery(url: string, path: string, params: Record<string, string>): Promise<QueryValue> {
  const res = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data: { resultType: string; result: PromSeries[] | [number, string] };
  };
  if (body.status !== 'success') throw new Error(`prometheus: ${body.error}`);
  const num = (s: string) => (s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s));
  const { resultType, result } = body.data;
  if (resultType === 'scalar') {
    const [t, v] = result as [number, string];
    return { type: 'scalar', t: t * 1000, v: num(v) };
  }
  const series = result as PromSeries[];
  if (resultType === 'vector') {
    return {
      type: 'vector',
      samples: series.map((s) => ({
        metric: labelsOf(s.metric),
        t: (s.value as [number, string])[0] * 1000,
        f: num((s.value as [number, string])[1]),
      })),
    };
  }
  return {
    type: 'matrix',
    series: series.map((s) => ({
      metric: labelsOf(s.metric),
      timestamps: Float64Array.from(s.values ?? [], (p) => Math.round(p[0] * 1000)),
      values: Float64Array.from(s.values ?? [], (p) => num(p[1])),
    })),
  };
}

import { Labels } from '@thanos-ts/tsdb';

function labelsOf(m: Record<string, string>): Labels {
  return Labels.from(m);
}

function close(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
}

/** A normalised, order-insensitive text form of a result, with values to compare separately. */
function flatten(v: QueryValue): Map<string, number> {
  const out = new Map<string, number>();
  if (v.type === 'scalar') out.set(`scalar@${v.t}`, v.v);
  else if (v.type === 'vector') for (const s of v.samples) out.set(`${s.metric.toString()}@${s.t}`, s.f);
  else if (v.type === 'matrix') {
    for (const s of v.series) {
      for (let i = 0; i < s.timestamps.length; i++)
        out.set(`${s.metric.toString()}@${s.timestamps[i]}`, s.values[i] as number);
    }
  }
  return out;
}

function diff(ours: QueryValue, theirs: QueryValue): string | undefined {
  if (ours.type !== theirs.type) return `type ${ours.type} vs ${theirs.type}`;
  const a = flatten(ours);
  const b = flatten(theirs);
  for (const [k, v] of b) {
    if (!a.has(k)) return `missing ${k} (prometheus has ${v}); we have ${a.size} points, prometheus ${b.size}`;
    if (!close(a.get(k) as number, v)) return `${k}: ours ${a.get(k)} prometheus ${v}`;
  }
  for (const k of a.keys()) if (!b.has(k)) return `extra ${k} = ${a.get(k)}`;
  return undefined;
}

describe.skipIf(!programAvailable('prometheus') || !programAvailable('promtool'))(
  'differential vs Prometheus 2.42',
  () => {
    let blocks: GeneratedBlocks;
    let prom: RunningPrometheus;
    let storage: MemoryStorage;
    // Subqueries without a step use the evaluation interval: 15s in startPrometheus's default config.
    const engine = createEngine({ noStepSubqueryInterval: 15_000 });

    beforeAll(async () => {
      blocks = await blocksFromOpenMetrics({ seed: 7, jitterMs: 2000, durationMs: 2 * 3600_000, seriesPerMetric: 8 });
      prom = await startPrometheus({ dataDir: blocks.dir });
      storage = createMemoryStorage();
      storage.load(blocks.data.map((s) => ({ labels: s.labels, timestamps: s.timestamps, values: s.values })));
    });

    afterAll(async () => {
      await prom?.stop();
    });

    it('has at least 150 queries', () => {
      expect(queries().length).toBeGreaterThanOrEqual(150);
    });

    it('agrees on every query, instant and range', async () => {
      const problems: string[] = [];
      let nonEmpty = 0;
      for (const q of queries()) {
        try {
          for (const t of INSTANT_TIMES) {
            const theirs = await promQuery(prom.url, '/api/v1/query', { query: q, time: String(t / 1000) });
            const ours = (await engine.instantQuery(storage, q, t)).result;
            const d = diff(ours, theirs);
            if (d) problems.push(`instant ${q} @${t}: ${d}`);
          }
          const theirs = await promQuery(prom.url, '/api/v1/query_range', {
            query: q,
            start: String(RANGE.start / 1000),
            end: String(RANGE.end / 1000),
            step: String(RANGE.step / 1000),
          });
          const ours = (await engine.rangeQuery(storage, q, RANGE.start, RANGE.end, RANGE.step)).result;
          if (flatten(theirs).size > 0) nonEmpty++;
          const d = diff(ours, theirs);
          if (d) problems.push(`range ${q}: ${d}`);
        } catch (err) {
          problems.push(`${q}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      expect(problems).toEqual([]);
      // The comparison is meaningful: nearly every query returns data.
      expect(nonEmpty).toBeGreaterThanOrEqual(queries().length - 5);
    });
  },
);
