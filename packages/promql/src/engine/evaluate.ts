/**
 * The synchronous half of a query: evaluates an expression over already fetched samples and
 * shapes the result. Shared by the in-thread engine and the evaluation worker, so both give the
 * same answers.
 */
import { compareLabels, Labels, METRIC_NAME, type SeriesSamples } from '@thanos-ts/tsdb';
import type { FloatHistogram } from '@thanos-ts/tsdb/histogram';
import type { Call, Expr, VectorSelector } from '../parser/ast.js';
import { Annotations } from './annotations.js';
import { QueryEvaluationError } from './errors.js';
import { Evaluator } from './evaluator.js';
import { DUPLICATE_LABELSET, mergeSameLabels, stepSeriesToRaw } from './series-buffer.js';
import type { EvalValue, Grid, QueryResult, QueryValue, Sample, Series, StepSeries } from './types.js';

/** Everything one evaluation needs besides the expression. Times in ms. @internal */
export interface EvaluateInput {
  expr: Expr;
  grid: Grid;
  /** An instant query (a grid of one whose result is a vector or scalar, not a matrix). */
  instant: boolean;
  /**
   * The requested end of a range query, ms, which `@ end()` refers to even when it is not on a
   * step (Prometheus uses the requested end). Default: the grid's last step.
   */
  queryEnd?: number;
  /** Samples of every selector node, fetched by the planner. */
  data: Map<VectorSelector, SeriesSamples[]>;
  /** The synthetic selectors of `info()` calls. */
  infoSelectors: Map<Call, VectorSelector>;
  lookbackDelta: number;
  maxSamples: number;
  noStepSubqueryInterval: number;
  /** Date.now() value after which evaluation fails with a timeout. */
  deadline: number;
  /** Cancellation seen by the evaluator in this thread. */
  signal?: AbortSignal;
  /** A stop flag set from another thread (see `Evaluator`'s `stop`). */
  stop?: Int32Array;
  /** Subqueries made one series at a time where possible (default true; tests compare both). */
  streamSubqueries?: boolean;
}

/** Evaluates `input.expr` synchronously and returns the query result with its annotations. @internal */
export function evaluate(input: EvaluateInput): QueryResult {
  const { grid, instant } = input;
  const start = grid.start;
  const end = grid.start + (grid.n - 1) * grid.step;
  const annos = new Annotations();
  const evaluator = new Evaluator({
    lookbackDelta: input.lookbackDelta,
    maxSamples: input.maxSamples,
    deadline: input.deadline,
    signal: input.signal,
    stop: input.stop,
    data: input.data,
    infoSelectors: input.infoSelectors,
    queryStart: start,
    queryEnd: input.queryEnd ?? end,
    noStepSubqueryInterval: input.noStepSubqueryInterval,
    queryStep: instant ? 0 : grid.step,
    annos,
    streamSubqueries: input.streamSubqueries ?? true,
  });
  const value = evaluator.eval(input.expr, grid);
  const result = toResult(value, grid, instant);
  return { result, warnings: [...annos.warnings], infos: [...annos.infos] };
}

/** Labels removed together with the metric name (Prometheus's schema metadata labels). */
const METADATA_LABELS = [METRIC_NAME, '__type__', '__unit__'];

/** Merges range-vector series whose labels became equal; two samples at one time are an error. */
function mergeRawSeries(series: Series[]): Series[] {
  const byKey = new Map<string, Series[]>();
  for (const s of series) {
    const list = byKey.get(s.metric.key());
    if (list === undefined) byKey.set(s.metric.key(), [s]);
    else list.push(s);
  }
  if (byKey.size === series.length) return series;
  const out: Series[] = [];
  for (const list of byKey.values()) {
    if (list.length === 1) {
      out.push(list[0] as Series);
      continue;
    }
    const points: [number, number][] = [];
    for (const s of list)
      for (let i = 0; i < s.timestamps.length; i++) points.push([s.timestamps[i] as number, s.values[i] as number]);
    points.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < points.length; i++) {
      if ((points[i] as [number, number])[0] === (points[i - 1] as [number, number])[0])
        throw new QueryEvaluationError(DUPLICATE_LABELSET);
    }
    const hpoints: [number, FloatHistogram][] = [];
    for (const s of list) {
      const hs = s.histograms;
      if (hs !== undefined)
        for (let i = 0; i < hs.timestamps.length; i++)
          hpoints.push([hs.timestamps[i] as number, hs.values[i] as FloatHistogram]);
    }
    hpoints.sort((a, b) => a[0] - b[0]);
    const times = new Set(points.map((p) => p[0]));
    for (let i = 0; i < hpoints.length; i++) {
      const t = (hpoints[i] as [number, FloatHistogram])[0];
      if (times.has(t) || (i > 0 && (hpoints[i - 1] as [number, FloatHistogram])[0] === t)) {
        throw new QueryEvaluationError(DUPLICATE_LABELSET);
      }
    }
    const merged: Series = {
      metric: (list[0] as Series).metric,
      timestamps: Float64Array.from(points, (p) => p[0]),
      values: Float64Array.from(points, (p) => p[1]),
    };
    out.push(
      hpoints.length === 0
        ? merged
        : {
            ...merged,
            histograms: { timestamps: Float64Array.from(hpoints, (p) => p[0]), values: hpoints.map((p) => p[1]) },
          },
    );
  }
  return out;
}

/** Delayed name removal: drop `__name__` where marked, then merge equal label sets. */
function cleanup(series: StepSeries[], n: number): StepSeries[] {
  const renamed = series.map((s) =>
    s.dropName ? { ...s, labels: s.labels.without(METADATA_LABELS), dropName: false } : s,
  );
  return mergeSameLabels(renamed, n);
}

function toResult(value: EvalValue, grid: Grid, instant: boolean): QueryValue {
  switch (value.kind) {
    case 'string':
      return { type: 'string', t: grid.start, v: value.value };
    case 'scalar':
      if (instant) return { type: 'scalar', t: grid.start, v: value.values[0] as number };
      return {
        type: 'matrix',
        series: [{ metric: Labels.EMPTY, timestamps: gridTimes(grid), values: Float64Array.from(value.values) }],
      };
    case 'matrix': {
      const series = mergeRawSeries(
        value.series.map((s) => {
          const out: Series = {
            metric: s.dropName ? s.labels.without(METADATA_LABELS) : s.labels,
            timestamps: s.ts,
            values: s.vs,
          };
          if (s.hts === undefined || s.hts.length === 0) return out;
          return { ...out, histograms: { timestamps: s.hts, values: s.hvs as FloatHistogram[] } };
        }),
      );
      series.sort((a, b) => compareLabels(a.metric, b.metric));
      return { type: 'matrix', series };
    }
    case 'vector': {
      const cleaned = cleanup(value.series, grid.n);
      if (instant) {
        const samples: Sample[] = [];
        for (const s of cleaned) {
          if (s.present[0] === 0) continue;
          const h = s.hists?.[0];
          if (h !== undefined) samples.push({ metric: s.labels, t: grid.start, f: 0, h });
          else samples.push({ metric: s.labels, t: grid.start, f: s.values[0] as number });
        }
        return { type: 'vector', samples };
      }
      const series: Series[] = [];
      for (const s of cleaned) {
        let count = 0;
        for (let i = 0; i < grid.n; i++) count += s.present[i] as number;
        if (count === 0) continue;
        if (s.hists !== undefined) {
          const r = stepSeriesToRaw(s, grid.start, grid.step);
          const out: Series = { metric: s.labels, timestamps: r.ts, values: r.vs };
          series.push(
            r.hts === undefined
              ? out
              : { ...out, histograms: { timestamps: r.hts, values: r.hvs as FloatHistogram[] } },
          );
          continue;
        }
        const timestamps = new Float64Array(count);
        const values = new Float64Array(count);
        let j = 0;
        for (let i = 0; i < grid.n; i++) {
          if (s.present[i] === 0) continue;
          timestamps[j] = grid.start + i * grid.step;
          values[j] = s.values[i] as number;
          j++;
        }
        series.push({ metric: s.labels, timestamps, values });
      }
      series.sort((a, b) => compareLabels(a.metric, b.metric));
      return { type: 'matrix', series };
    }
  }
}

function gridTimes(g: Grid): Float64Array {
  const out = new Float64Array(g.n);
  for (let i = 0; i < g.n; i++) out[i] = g.start + i * g.step;
  return out;
}
