/**
 * The synchronous evaluator: walks the AST over an evaluation grid, producing typed columns per
 * series. All samples were fetched before evaluation starts (see planner.ts), so nothing here
 * awaits; cancellation and the timeout are checked at every node and after a fixed amount of work
 * inside the loops over series and steps (see `CHECK_WORK`).
 */
import { isStaleNaN, Labels, METRIC_NAME, type SeriesSamples } from '@thanos-ts/tsdb';
import { goQuote } from '@thanos-ts/tsdb/goformat';
import {
  CounterResetHint,
  copyFloatHistogram,
  detectFloatHistogramReset,
  type FloatHistogram,
  mulFloatHistogram,
} from '@thanos-ts/tsdb/histogram';
import type {
  AggregateExpr,
  BinaryExpr,
  Call,
  Expr,
  MatrixSelector,
  SubqueryExpr,
  VectorSelector,
} from '../parser/ast.js';
import { exprType, inspect } from '../parser/ast.js';
import { aggregateK, aggregateSimple, countValues } from './aggregations.js';
import { type Annotations, annotationText } from './annotations.js';
import { scalarBinop, setBinop, vectorBinop, vectorScalarBinop } from './binary.js';
import { durationMs, durationSeconds } from './duration-expr.js';
import {
  QueryCanceledError,
  QueryEvaluationError,
  QueryTimeoutError,
  TooManySamplesError,
  UnsupportedQueryError,
} from './errors.js';
import { anchoredFirstIndex, extendedRate, extendFloats, smoothedValue } from './functions/extended.js';
import {
  type HistogramProperty,
  histogramFraction,
  histogramProperty,
  histogramQuantile,
} from './functions/histogram.js';
import { type HistogramWindow, histogramRangeStep } from './functions/histogram-range.js';
import { combineInfo } from './functions/info.js';
import { isValidLabelName, labelJoin, labelReplace } from './functions/label.js';
import { elementFunctions } from './functions/math.js';
import { counterResetPrefix, extrapolatedRate } from './functions/rate.js';
import { rangeFunctions } from './functions/registry.js';
import { sortByLabels, sortByValue } from './functions/sort.js';
import { dateFunctions, dateOfSeconds } from './functions/time.js';
import type { FunctionContext, RangeWindow } from './functions/types.js';
import { hashRatioOffset } from './ratio-sampler.js';
import {
  countPresent,
  dropSpareColumns,
  mergeSameLabels,
  newStepSeries,
  recycleStepSeries,
  setHist,
  stepSeriesToRaw,
  withoutStaleMarkers,
} from './series-buffer.js';
import type { EvalValue, Grid, RawSeries, StepSeries } from './types.js';

/** Everything the evaluator needs besides the expression. @internal */
export interface EvaluatorOptions {
  lookbackDelta: number;
  maxSamples: number;
  /** Date.now() value after which evaluation fails with a timeout. */
  deadline: number;
  signal?: AbortSignal;
  /**
   * A stop flag shared with another thread (an evaluation worker's caller): slot 0 becomes
   * `STOP_CANCELED` or `STOP_TIMEOUT` when the query must end. Read with `Atomics.load`.
   */
  stop?: Int32Array;
  /** Samples of every selector node, fetched by the planner. */
  data: Map<VectorSelector, SeriesSamples[]>;
  /** The synthetic selectors of `info()` calls (their info metrics). */
  infoSelectors: Map<Call, VectorSelector>;
  /** Start and end of the whole query, for `@ start()` / `@ end()`. */
  queryStart: number;
  queryEnd: number;
  /** Step of subqueries written without one (`x[5m:]`), ms. */
  noStepSubqueryInterval: number;
  /** Step of the query (0 for instant queries), for `step()` in duration expressions. */
  queryStep: number;
  annos: Annotations;
  /** Subqueries made one series at a time where the expression allows (see `subqueryStream`). */
  streamSubqueries: boolean;
}

/** A range-vector argument, resolved into raw series and a per-step window end. */
interface RangeInput {
  /** Iterated once; a streamed subquery makes each series as it is reached (see `subqueryStream`). */
  series: Iterable<RawSeries>;
  /** Set when `series` is a stream: the samples its inner evaluations have loaded so far. */
  streamed?: { innerSamples: number };
  range: number;
  /** Window end (inclusive) of step i. */
  refs: Float64Array;
  /** The selector, for absent_over_time's labels (undefined for subqueries). */
  selector?: VectorSelector;
  anchored: boolean;
  smoothed: boolean;
}

const ANCHORED_SAFE = ['changes', 'delta', 'increase', 'rate', 'resets'];
const SMOOTHED_SAFE = ['delta', 'increase', 'rate'];

const COUNTER_SUFFIXES = ['_total', '_sum', '_count', '_bucket'];

/** Values of slot 0 of `EvaluatorOptions.stop`. @internal */
export const STOP_NONE = 0;
/** The caller aborted the query. @internal */
export const STOP_CANCELED = 1;
/** The caller's deadline passed. @internal */
export const STOP_TIMEOUT = 2;

/**
 * Units of work (steps or samples visited) between two deadline/cancellation checks. One unit
 * costs roughly 5–50 ns (a step of rate() over a 20-sample window is at the high end), so a check
 * happens at least every few milliseconds, while its own cost (Date.now() plus one atomic load,
 * about 40 ns) stays far below 0.1% of the work. Measured with bench/promql/concurrency-pool.ts,
 * which reports how far past its deadline a query ends.
 */
const CHECK_WORK = 32_768;
/** Step loops over long grids check within a series every this many steps (a power of two, minus one, as a mask). */
const STEP_CHECK_MASK = 0x3fff;

/** Matches no series' values: marks sliding-window scratch as belonging to no series. */
const NO_VALUES = new Float64Array(0);

/** Binary operators that act on each series of a vector against a scalar on its own. */
const ELEMENTWISE_OPS = new Set(['+', '-', '*', '/', '%', '^', 'atan2', '==', '!=', '>', '<', '>=', '<=']);

/**
 * The one selector `e` reads when each output series of `e` comes from one series of that
 * selector alone, with no other series involved (no aggregation, no vector matching, no label
 * rewriting, no subquery): such an expression can be evaluated one input series at a time.
 * Undefined otherwise.
 */
export function seriesLocalSelector(e: Expr): VectorSelector | undefined {
  const isLiteral = (a: Expr): boolean => a.type === 'NumberLiteral' || (a.type === 'ParenExpr' && isLiteral(a.expr));
  switch (e.type) {
    case 'VectorSelector':
      return e;
    case 'ParenExpr':
      return seriesLocalSelector(e.expr);
    case 'UnaryExpr':
      return seriesLocalSelector(e.expr);
    case 'BinaryExpr':
      if (!ELEMENTWISE_OPS.has(e.op)) return undefined;
      if (isLiteral(e.lhs)) return seriesLocalSelector(e.rhs);
      if (isLiteral(e.rhs)) return seriesLocalSelector(e.lhs);
      return undefined;
    case 'Call': {
      const name = e.func.name;
      const range = rangeFunctions[name] !== undefined;
      if (!range && elementFunctions[name] === undefined) return undefined;
      let leaf: VectorSelector | undefined;
      for (const a of e.args) {
        if (isLiteral(a)) continue;
        if (leaf !== undefined) return undefined;
        let m: Expr = a;
        while (m.type === 'ParenExpr') m = m.expr;
        // A nested subquery is left out: its own inner series would all be held at once while
        // this one's are made (see subqueryStream), which streaming could not account the same.
        if (range && m.type === 'MatrixSelector') leaf = m.vectorSelector;
        else if (!range) leaf = seriesLocalSelector(m);
        if (leaf === undefined) return undefined;
      }
      return leaf;
    }
    default:
      return undefined;
  }
}

function gridTime(g: Grid, i: number): number {
  return g.start + i * g.step;
}

/** The synchronous PromQL evaluator. @internal */
export class Evaluator {
  private currentSamples = 0;
  /** Work left before the next check. */
  private budget = CHECK_WORK;
  /** `spend` as a callback, for the aggregation, binary and element loops. */
  private readonly tick = (units: number): void => this.spend(units);
  private readonly noStale = new Map<
    SeriesSamples,
    { ts: Float64Array; vs: Float64Array; hts?: Float64Array; hvs?: FloatHistogram[] }
  >();

  /** Selectors whose histograms get on-the-fly counter reset hints (see histogramStatsSelectors). */
  private statsSelectors: Set<VectorSelector> | undefined;
  private readonly statsViews = new Map<SeriesSamples, SeriesSamples>();
  /** Set when a selector in timestamp mode picked a histogram sample (info() refuses those). */
  private histogramTimestamps = false;
  /** While a streamed subquery evaluates one input series: that series stands for its selector's data. */
  private only: { vs: VectorSelector; series: SeriesSamples } | undefined;
  /** Window ends per grid, `@` and offset: a streamed subquery evaluates its grid once per series. */
  private readonly refsMemo = new WeakMap<Grid, Map<string, Float64Array>>();

  constructor(private readonly opts: EvaluatorOptions) {}

  /** The samples as read for `vs`: with Prometheus's HistogramStatsIterator hints where it applies. */
  private view(vs: VectorSelector, s: SeriesSamples): SeriesSamples {
    const hs = s.histograms;
    if (hs === undefined || hs.timestamps.length === 0 || !this.statsSelectors?.has(vs)) return s;
    let v = this.statsViews.get(s);
    if (v === undefined) {
      v = { ...s, histograms: { timestamps: hs.timestamps, values: statsHints(hs.values) } };
      this.statsViews.set(s, v);
    }
    return v;
  }

  /** Fails with a cancellation or timeout error when due. */
  checkDone(): void {
    if (this.opts.signal?.aborted) throw new QueryCanceledError();
    const stop = this.opts.stop;
    if (stop !== undefined) {
      const reason = Atomics.load(stop, 0);
      if (reason === STOP_CANCELED) throw new QueryCanceledError();
      if (reason === STOP_TIMEOUT) throw new QueryTimeoutError();
    }
    if (Date.now() > this.opts.deadline) throw new QueryTimeoutError();
  }

  /** Counts `units` of work and checks for the end of the query once `CHECK_WORK` have been done. */
  private spend(units: number): void {
    this.budget -= units;
    if (this.budget <= 0) {
      this.budget = CHECK_WORK;
      this.checkDone();
    }
  }

  private addSamples(n: number): void {
    this.currentSamples += n;
    if (this.currentSamples > this.opts.maxSamples) throw new TooManySamplesError();
  }

  private resolveAt(at: number | 'start' | 'end' | undefined): number | undefined {
    if (at === 'start') return this.opts.queryStart;
    if (at === 'end') return this.opts.queryEnd;
    return at;
  }

  /** Window ends (ms) of the grid's steps; shared, never written after it is made. */
  private refs(g: Grid, at: number | 'start' | 'end' | undefined, offset: number): Float64Array {
    const fixed = this.resolveAt(at);
    let memo = this.refsMemo.get(g);
    if (memo === undefined) {
      memo = new Map();
      this.refsMemo.set(g, memo);
    }
    const key = `${fixed}/${offset}`;
    let out = memo.get(key);
    if (out === undefined) {
      out = new Float64Array(g.n);
      for (let i = 0; i < g.n; i++) out[i] = (fixed ?? gridTime(g, i)) - offset;
      memo.set(key, out);
    }
    return out;
  }

  /** The fetched series of a selector (one series while a streamed subquery evaluates it). */
  private selectorData(vs: VectorSelector): SeriesSamples[] {
    const only = this.only;
    if (only !== undefined && only.vs === vs) return [only.series];
    return this.opts.data.get(vs) ?? [];
  }

  /** Evaluates `e` over the grid `g`. */
  eval(e: Expr, g: Grid): EvalValue {
    // The first call is for the whole query: find the selectors read through histogram_count() & co.
    this.statsSelectors ??= histogramStatsSelectors(e);
    this.checkDone();
    const before = this.currentSamples;
    const v = this.evalNode(e, g);
    // Children's samples are released once the parent has its result (Prometheus's accounting).
    this.currentSamples = before;
    if (v.kind === 'vector') {
      let points = 0;
      for (const s of v.series) points += countPresent(s);
      this.addSamples(points);
    } else if (v.kind === 'matrix') {
      let points = 0;
      for (const s of v.series) points += s.ts.length;
      this.addSamples(points);
    }
    return v;
  }

  private evalNode(e: Expr, g: Grid): EvalValue {
    switch (e.type) {
      case 'NumberLiteral':
        return { kind: 'scalar', values: new Float64Array(g.n).fill(e.val) };
      case 'StringLiteral':
        return { kind: 'string', value: e.val };
      case 'ParenExpr':
      case 'StepInvariantExpr':
        return this.eval(e.expr, g);
      case 'DurationExpr':
        return { kind: 'scalar', values: new Float64Array(g.n).fill(this.durationSeconds(e, g)) };
      case 'UnaryExpr': {
        const v = this.eval(e.expr, g);
        if (e.op === '+') return v;
        if (v.kind === 'scalar') return { kind: 'scalar', values: v.values.map((x) => -x) };
        if (v.kind !== 'vector') throw new QueryEvaluationError('unary minus on a non-vector');
        return {
          kind: 'vector',
          series: v.series.map((s) => {
            const o: StepSeries = { ...s, values: s.values.map((x) => -x), dropName: true };
            if (s.hists !== undefined) {
              o.hists = s.hists.map((h) =>
                h === undefined ? undefined : mulFloatHistogram(copyFloatHistogram(h), -1),
              );
            }
            return o;
          }),
        };
      }
      case 'VectorSelector':
        return { kind: 'vector', series: this.vectorSelector(e, g, false) };
      case 'MatrixSelector':
      case 'SubqueryExpr':
        return this.matrixValue(e, g);
      case 'Call':
        return this.call(e, g);
      case 'AggregateExpr':
        return this.aggregate(e, g);
      case 'BinaryExpr':
        return this.binary(e, g);
    }
  }

  /** Duration expressions see the step of the whole query (`step()`). */
  private durationSeconds(e: Expr, _g: Grid): number {
    return durationSeconds(e, this.opts.queryStep);
  }

  private samplesNoStale(s: SeriesSamples): {
    ts: Float64Array;
    vs: Float64Array;
    hts?: Float64Array;
    hvs?: FloatHistogram[];
  } {
    let r = this.noStale.get(s);
    if (r === undefined) {
      r = withoutStaleMarkers(s.timestamps, s.values);
      const hs = s.histograms;
      if (hs !== undefined && hs.timestamps.length > 0) {
        const n = hs.timestamps.length;
        let stale = 0;
        for (let i = 0; i < n; i++) {
          const sum = (hs.values[i] as FloatHistogram).sum;
          if (Number.isNaN(sum) && isStaleNaN(sum)) stale++;
        }
        if (stale === 0) r = { ...r, hts: hs.timestamps, hvs: hs.values as FloatHistogram[] };
        else if (stale < n) {
          // Copies only when there are markers to drop (the columns are never modified).
          const hts = new Float64Array(n - stale);
          const hvs: FloatHistogram[] = [];
          for (let i = 0; i < n; i++) {
            const h = hs.values[i] as FloatHistogram;
            if (Number.isNaN(h.sum) && isStaleNaN(h.sum)) continue;
            hts[hvs.length] = hs.timestamps[i] as number;
            hvs.push(h);
          }
          r = { ...r, hts, hvs };
        }
      }
      this.noStale.set(s, r);
    }
    return r;
  }

  /**
   * An instant vector selector: per step, the latest sample in (ref - lookback, ref], unless it
   * is a staleness marker. With `timestamps`, the value is the sample's timestamp in seconds
   * (for `timestamp()`).
   */
  vectorSelector(vs: VectorSelector, g: Grid, timestamps: boolean): StepSeries[] {
    const data = this.selectorData(vs);
    const refs = this.refs(g, vs.at, durationMs(vs.offsetExpr, vs.offset, this.opts.queryStep));
    const lookback = this.opts.lookbackDelta;
    const out: StepSeries[] = [];
    if (vs.smoothed) return this.smoothedSelector(data, refs, g, timestamps);
    for (const s0 of data) {
      const s = this.view(vs, s0);
      this.spend(g.n + s.timestamps.length);
      const ts = s.timestamps;
      const values = s.values;
      const o = newStepSeries(s.labels, g.n, timestamps);
      const hs = s.histograms;
      if (hs !== undefined && hs.timestamps.length > 0) {
        const points = this.selectWithHistograms(s, hs, refs, g.n, lookback, timestamps, o);
        if (points > 0) {
          this.addSamples(points);
          out.push(o);
        }
        continue;
      }
      let ptr = 0;
      let points = 0;
      for (let i = 0; i < g.n; i++) {
        const ref = refs[i] as number;
        if (i > 0 && ref < (refs[i - 1] as number)) ptr = 0;
        while (ptr < ts.length && (ts[ptr] as number) <= ref) ptr++;
        const j = ptr - 1;
        if (j < 0) continue;
        const t = ts[j] as number;
        if (t <= ref - lookback) continue;
        const v = values[j] as number;
        if (Number.isNaN(v) && isStaleNaN(v)) continue;
        o.present[i] = 1;
        o.values[i] = timestamps ? t / 1000 : v;
        points++;
      }
      if (points > 0) {
        this.addSamples(points);
        out.push(o);
      }
    }
    return out;
  }

  /** The instant selector over a series with histogram samples: per step, the later of both columns. */
  private selectWithHistograms(
    s: SeriesSamples,
    hs: NonNullable<SeriesSamples['histograms']>,
    refs: Float64Array,
    n: number,
    lookback: number,
    timestamps: boolean,
    o: StepSeries,
  ): number {
    const ts = s.timestamps;
    const hts = hs.timestamps;
    let fp = 0;
    let hp = 0;
    let points = 0;
    for (let i = 0; i < n; i++) {
      const ref = refs[i] as number;
      if (i > 0 && ref < (refs[i - 1] as number)) {
        fp = 0;
        hp = 0;
      }
      while (fp < ts.length && (ts[fp] as number) <= ref) fp++;
      while (hp < hts.length && (hts[hp] as number) <= ref) hp++;
      const ft = fp > 0 ? (ts[fp - 1] as number) : Number.NEGATIVE_INFINITY;
      const ht = hp > 0 ? (hts[hp - 1] as number) : Number.NEGATIVE_INFINITY;
      const t = Math.max(ft, ht);
      if (t === Number.NEGATIVE_INFINITY || t <= ref - lookback) continue;
      if (ht > ft) {
        const h = hs.values[hp - 1] as FloatHistogram;
        if (Number.isNaN(h.sum) && isStaleNaN(h.sum)) continue;
        o.present[i] = 1;
        if (timestamps) {
          o.values[i] = t / 1000;
          this.histogramTimestamps = true;
        } else {
          o.hists ??= new Array(n);
          o.hists[i] = h;
        }
      } else {
        const v = s.values[fp - 1] as number;
        if (Number.isNaN(v) && isStaleNaN(v)) continue;
        o.present[i] = 1;
        o.values[i] = timestamps ? t / 1000 : v;
      }
      points++;
    }
    return points;
  }

  /** A `smoothed` instant selector: the value interpolated at each step from neighbouring samples. */
  private smoothedSelector(data: SeriesSamples[], refs: Float64Array, g: Grid, timestamps: boolean): StepSeries[] {
    const lb = this.opts.lookbackDelta;
    const out: StepSeries[] = [];
    for (const s of data) {
      this.spend(g.n + s.timestamps.length);
      const { ts, vs } = this.samplesNoStale(s);
      const o = newStepSeries(s.labels, g.n, timestamps);
      let lo = 0;
      let hi = 0;
      let points = 0;
      for (let i = 0; i < g.n; i++) {
        const ref = refs[i] as number;
        if (i > 0 && ref < (refs[i - 1] as number)) {
          lo = 0;
          hi = 0;
        }
        while (hi < ts.length && (ts[hi] as number) <= ref + lb) hi++;
        while (lo < ts.length && (ts[lo] as number) <= ref - lb) lo++;
        const v = smoothedValue(ts, vs, lo, hi, ref);
        if (v === undefined) continue;
        o.present[i] = 1;
        o.values[i] = timestamps ? ref / 1000 : v;
        points++;
      }
      if (points > 0) {
        this.addSamples(points);
        out.push(o);
      }
    }
    return out;
  }

  /** Resolves a range-vector argument (matrix selector or subquery). */
  /**
   * `stream`: the caller reads the series once, in order, and keeps none of them, so a subquery
   * may make them one at a time.
   */
  private rangeInput(e: Expr, g: Grid, stream = false): RangeInput {
    if (e.type === 'MatrixSelector') return this.matrixSelectorInput(e, g);
    if (e.type === 'SubqueryExpr') return this.subqueryInput(e, g, stream);
    if (e.type === 'ParenExpr' || e.type === 'StepInvariantExpr') return this.rangeInput(e.expr, g, stream);
    throw new QueryEvaluationError(`expected a range vector, got ${e.type}`);
  }

  private matrixSelectorInput(ms: MatrixSelector, g: Grid): RangeInput {
    const vs = ms.vectorSelector;
    const range = durationMs(ms.rangeExpr, ms.range, this.opts.queryStep);
    const data = this.selectorData(vs);
    const series: RawSeries[] = data.map((s0) => {
      const s = this.view(vs, s0);
      const { ts, vs: values, hts, hvs } = this.samplesNoStale(s);
      const r: RawSeries = { labels: s.labels, ts, vs: values, dropName: false };
      if (hts !== undefined) {
        r.hts = hts;
        r.hvs = hvs;
      }
      return r;
    });
    const offset = durationMs(vs.offsetExpr, vs.offset, this.opts.queryStep);
    return {
      series,
      range,
      refs: this.refs(g, vs.at, offset),
      selector: vs,
      anchored: vs.anchored === true,
      smoothed: vs.smoothed === true,
    };
  }

  private subqueryInput(sq: SubqueryExpr, g: Grid, stream: boolean): RangeInput {
    const range = durationMs(sq.rangeExpr, sq.range, this.opts.queryStep);
    const offset = durationMs(sq.offsetExpr, sq.offset, this.opts.queryStep);
    const refs = this.refs(g, sq.at, offset);
    let step = durationMs(sq.stepExpr, sq.step ?? 0, this.opts.queryStep);
    if (!(step > 0)) step = this.opts.noStepSubqueryInterval;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const r of refs) {
      if (r < first) first = r;
      if (r > last) last = r;
    }
    // Inner steps are absolute multiples of the step, strictly inside the first window.
    const rawStart = first - range;
    let start = Math.floor(rawStart / step) * step;
    if (start <= rawStart) start += step;
    const n = last >= start ? Math.floor((last - start) / step) + 1 : 0;
    if (n === 0) return { series: [], range, refs, anchored: false, smoothed: false };
    const inner: Grid = { start, step, n };
    const gridTs = new Float64Array(n);
    for (let i = 0; i < n; i++) gridTs[i] = start + i * step;
    const local = stream && this.opts.streamSubqueries ? seriesLocalSelector(sq.expr) : undefined;
    if (local !== undefined) {
      const streamed = { innerSamples: 0 };
      const series = this.subqueryStream(sq.expr, local, inner, gridTs, streamed);
      return { series, streamed, range, refs, anchored: false, smoothed: false };
    }
    const v = this.eval(sq.expr, inner);
    if (v.kind !== 'vector' && v.kind !== 'scalar')
      throw new QueryEvaluationError('subquery of a non-instant expression');
    const stepSeries =
      v.kind === 'scalar'
        ? [{ labels: Labels.EMPTY, values: v.values, present: new Uint8Array(n).fill(1), dropName: false }]
        : v.series;
    const series = stepSeries.map((s) => this.subquerySeries(s, inner, gridTs));
    return { series, range, refs, anchored: false, smoothed: false };
  }

  /** One inner series of a subquery as raw samples on the inner grid. */
  private subquerySeries(s: StepSeries, inner: Grid, gridTs: Float64Array): RawSeries {
    // The inner series keep their name-removal mark: a top-level subquery drops names at the end.
    // Converting a long inner grid touches its columns (and copies them unless dense).
    this.spend(s.present.length);
    const r = stepSeriesToRaw(s, inner.start, inner.step, gridTs);
    // As Prometheus: explicit (not) reset hints become unknown, since a subquery may skip or
    // repeat the samples they were about.
    if (r.hvs !== undefined) r.hvs = r.hvs.map(unknownResetHint);
    return r;
  }

  /**
   * A subquery whose every inner series comes from one series of `vs` alone, made one input
   * series at a time while the caller consumes them. The answer is the same as evaluating the
   * inner expression once for all series, but only one series' inner columns (a 1 s step over
   * two days is 1.5 MB each) exist at a time instead of all of them: with several heavy queries
   * at once, memory traffic and garbage collection, not arithmetic, were what they competed for.
   *
   * Sample accounting stays as if all inner series were evaluated first: an inner evaluation
   * does not see the samples the caller has added for earlier series, and the caller checks its
   * per-series peaks against the final inner total at the end (`streamed.innerSamples`).
   */
  private *subqueryStream(
    expr: Expr,
    vs: VectorSelector,
    inner: Grid,
    gridTs: Float64Array,
    streamed: { innerSamples: number },
  ): Generator<RawSeries> {
    const base = this.currentSamples;
    try {
      for (const series of this.selectorData(vs)) {
        // What the caller added since the stream began is set aside during the inner evaluation.
        const lent = this.currentSamples - base - streamed.innerSamples;
        this.currentSamples -= lent;
        const prev = this.only;
        this.only = { vs, series };
        let v: EvalValue;
        try {
          v = this.eval(expr, inner);
        } finally {
          this.only = prev;
        }
        streamed.innerSamples = this.currentSamples - base;
        this.currentSamples += lent;
        if (v.kind !== 'vector') throw new QueryEvaluationError('subquery of a non-instant expression');
        for (const s of v.series) {
          yield this.subquerySeries(s, inner, gridTs);
          // The caller is done with it (it asked for the next): its columns serve the next series.
          recycleStepSeries(s);
        }
      }
    } finally {
      dropSpareColumns();
    }
  }

  /** A range vector as a value: only valid for a single evaluation step (instant queries). */
  private matrixValue(e: MatrixSelector | SubqueryExpr, g: Grid): EvalValue {
    if (g.n !== 1) throw new QueryEvaluationError('cannot do range evaluation of matrix selector');
    const input = this.rangeInput(e, g);
    const ref = input.refs[0] as number;
    const startT = ref - input.range;
    const series: RawSeries[] = [];
    if (input.anchored || input.smoothed) {
      const lb = this.opts.lookbackDelta;
      const high = input.smoothed ? ref + lb : ref;
      for (const s of input.series) {
        let lo = 0;
        while (lo < s.ts.length && (s.ts[lo] as number) <= startT - lb) lo++;
        let hi = lo;
        while (hi < s.ts.length && (s.ts[hi] as number) <= high) hi++;
        if (hi === lo) continue;
        const ext = extendFloats(s.ts.subarray(lo, hi), s.vs.subarray(lo, hi), startT, ref, input.smoothed);
        if (ext.ts.length === 0) continue;
        series.push({ labels: s.labels, ts: ext.ts, vs: ext.vs, dropName: false });
      }
      return { kind: 'matrix', series };
    }
    for (const s of input.series) {
      let lo = 0;
      while (lo < s.ts.length && (s.ts[lo] as number) <= startT) lo++;
      let hi = lo;
      while (hi < s.ts.length && (s.ts[hi] as number) <= ref) hi++;
      const r: RawSeries = { labels: s.labels, ts: s.ts.slice(lo, hi), vs: s.vs.slice(lo, hi), dropName: s.dropName };
      if (s.hts !== undefined) {
        const hts = s.hts;
        let hlo = 0;
        while (hlo < hts.length && (hts[hlo] as number) <= startT) hlo++;
        let hhi = hlo;
        while (hhi < hts.length && (hts[hhi] as number) <= ref) hhi++;
        if (hhi > hlo) {
          r.hts = hts.slice(hlo, hhi);
          r.hvs = (s.hvs as FloatHistogram[]).slice(hlo, hhi);
        }
      }
      if (hi === lo && r.hts === undefined) continue;
      series.push(r);
    }
    return { kind: 'matrix', series };
  }

  private scalarArg(e: Expr, g: Grid): Float64Array {
    const v = this.eval(e, g);
    if (v.kind !== 'scalar') throw new QueryEvaluationError(`expected a scalar argument, got ${v.kind}`);
    return v.values;
  }

  private vectorArg(e: Expr, g: Grid): StepSeries[] {
    const v = this.eval(e, g);
    if (v.kind !== 'vector') throw new QueryEvaluationError(`expected an instant vector argument, got ${v.kind}`);
    return v.series;
  }

  private stringArg(e: Expr): string {
    let x = e;
    while (x.type === 'ParenExpr' || x.type === 'StepInvariantExpr') x = x.expr;
    if (x.type !== 'StringLiteral') throw new QueryEvaluationError('expected a string literal argument');
    return x.val;
  }

  private call(e: Call, g: Grid): EvalValue {
    const name = e.func.name;
    const rangeFn = rangeFunctions[name];
    if (rangeFn !== undefined || name === 'absent_over_time') return this.rangeCall(e, g);
    const elementFn = elementFunctions[name];
    if (elementFn !== undefined) {
      const input = this.vectorArg(e.args[0] as Expr, g);
      const params = e.args.slice(1).map((a) => this.scalarArg(a, g));
      return { kind: 'vector', series: mapElements(input, params, g.n, elementFn, this.tick) };
    }
    const dateFn = dateFunctions[name];
    if (dateFn !== undefined) {
      if (e.args.length === 0) {
        const o = newStepSeries(Labels.EMPTY, g.n);
        for (let i = 0; i < g.n; i++) {
          o.present[i] = 1;
          o.values[i] = dateFn(dateOfSeconds(Math.trunc(gridTime(g, i) / 1000)));
        }
        return { kind: 'vector', series: [o] };
      }
      const input = this.vectorArg(e.args[0] as Expr, g);
      return { kind: 'vector', series: mapElements(input, [], g.n, (v) => dateFn(dateOfSeconds(v)), this.tick) };
    }
    switch (name) {
      case 'time': {
        const values = new Float64Array(g.n);
        for (let i = 0; i < g.n; i++) values[i] = gridTime(g, i) / 1000;
        return { kind: 'scalar', values };
      }
      case 'pi':
        return { kind: 'scalar', values: new Float64Array(g.n).fill(Math.PI) };
      case 'vector': {
        const values = this.scalarArg(e.args[0] as Expr, g);
        return {
          kind: 'vector',
          series: [{ labels: Labels.EMPTY, values, present: new Uint8Array(g.n).fill(1), dropName: false }],
        };
      }
      case 'scalar': {
        const input = this.vectorArg(e.args[0] as Expr, g);
        const values = new Float64Array(g.n);
        for (let i = 0; i < g.n; i++) {
          let found = 0;
          let value = Number.NaN;
          for (const s of input) {
            if (s.present[i] === 0 || s.hists?.[i] !== undefined) continue;
            found++;
            value = s.values[i] as number;
          }
          values[i] = found === 1 ? value : Number.NaN;
        }
        return { kind: 'scalar', values };
      }
      case 'timestamp': {
        let arg = e.args[0] as Expr;
        while (arg.type === 'StepInvariantExpr' || arg.type === 'ParenExpr') arg = arg.expr;
        if (arg.type === 'VectorSelector') return { kind: 'vector', series: this.vectorSelector(arg, g, true) };
        const input = this.vectorArg(arg, g);
        return {
          kind: 'vector',
          series: input.map((s) => {
            const o = newStepSeries(s.labels, g.n, true);
            for (let i = 0; i < g.n; i++) {
              if (s.present[i] === 0) continue;
              o.present[i] = 1;
              o.values[i] = gridTime(g, i) / 1000;
            }
            return o;
          }),
        };
      }
      case 'absent': {
        const arg = e.args[0] as Expr;
        const input = this.vectorArg(arg, g);
        const o = newStepSeries(absentLabels(arg), g.n);
        let any = false;
        for (let i = 0; i < g.n; i++) {
          if (input.some((s) => s.present[i] !== 0)) continue;
          o.present[i] = 1;
          o.values[i] = 1;
          any = true;
        }
        return { kind: 'vector', series: any ? [o] : [] };
      }
      case 'label_replace': {
        const input = this.vectorArg(e.args[0] as Expr, g);
        const [dst, repl, src, regex] = e.args.slice(1).map((a) => this.stringArg(a)) as [
          string,
          string,
          string,
          string,
        ];
        return { kind: 'vector', series: mergeSameLabels(labelReplace(input, dst, repl, src, regex), g.n) };
      }
      case 'label_join': {
        const input = this.vectorArg(e.args[0] as Expr, g);
        const [dst, sep, ...srcs] = e.args.slice(1).map((a) => this.stringArg(a)) as [string, string, ...string[]];
        return { kind: 'vector', series: mergeSameLabels(labelJoin(input, dst, sep, srcs), g.n) };
      }
      case 'sort':
      case 'sort_desc': {
        const input = floatsOnly(this.vectorArg(e.args[0] as Expr, g));
        return { kind: 'vector', series: g.n === 1 ? sortByValue(input, 0, name === 'sort_desc') : input };
      }
      case 'sort_by_label':
      case 'sort_by_label_desc': {
        const input = this.vectorArg(e.args[0] as Expr, g);
        const names = e.args.slice(1).map((a) => this.stringArg(a));
        return {
          kind: 'vector',
          series: g.n === 1 ? sortByLabels(input, names, name === 'sort_by_label_desc') : input,
        };
      }
      case 'histogram_quantile': {
        const q = this.scalarArg(e.args[0] as Expr, g);
        const input = this.vectorArg(e.args[1] as Expr, g);
        return { kind: 'vector', series: histogramQuantile(q, input, g.n, this.opts.annos) };
      }
      case 'histogram_fraction': {
        const lower = this.scalarArg(e.args[0] as Expr, g);
        const upper = this.scalarArg(e.args[1] as Expr, g);
        const input = this.vectorArg(e.args[2] as Expr, g);
        return { kind: 'vector', series: histogramFraction(lower, upper, input, g.n, this.opts.annos) };
      }
      case 'histogram_count':
      case 'histogram_sum':
      case 'histogram_avg':
      case 'histogram_stddev':
      case 'histogram_stdvar': {
        const input = this.vectorArg(e.args[0] as Expr, g);
        const prop = name.slice('histogram_'.length) as HistogramProperty;
        return { kind: 'vector', series: histogramProperty(prop, input, g.n) };
      }
      case 'info': {
        const base = this.vectorArg(e.args[0] as Expr, g);
        const selector = this.opts.infoSelectors.get(e);
        // The info series' values are the original sample timestamps (for picking the latest).
        this.histogramTimestamps = false;
        const info = selector === undefined ? [] : this.vectorSelector(selector, g, true);
        if (this.histogramTimestamps) throw new QueryEvaluationError('info sample should be float');
        for (const s of info) for (let i = 0; i < g.n; i++) s.values[i] = (s.values[i] as number) * 1000;
        const arg = e.args[1];
        const matchers = arg?.type === 'VectorSelector' ? arg.matchers : undefined;
        return { kind: 'vector', series: combineInfo(base, info, matchers, g.n) };
      }
    }
    throw new UnsupportedQueryError(`function ${name}()`);
  }

  private rangeCall(e: Call, g: Grid): EvalValue {
    const name = e.func.name;
    const matrixIndex = e.args.findIndex((a) => exprType(a) === 'matrix');
    if (matrixIndex < 0) throw new QueryEvaluationError(`${name}() needs a range vector argument`);
    const params = e.args.filter((_, i) => i !== matrixIndex).map((a) => this.scalarArg(a, g));
    const input = this.rangeInput(e.args[matrixIndex] as Expr, g, name !== 'absent_over_time');
    if (input.anchored && !ANCHORED_SAFE.includes(name)) {
      throw new QueryEvaluationError(
        `anchored modifier can only be used with: ${ANCHORED_SAFE.join(', ')} - not with ${name}`,
      );
    }
    if (input.smoothed && !SMOOTHED_SAFE.includes(name)) {
      throw new QueryEvaluationError(
        `smoothed modifier can only be used with: ${SMOOTHED_SAFE.join(', ')} - not with ${name}`,
      );
    }
    if (name === 'absent_over_time') return this.absentOverTime(e, input, g);
    const fn = rangeFunctions[name] as NonNullable<(typeof rangeFunctions)[string]>;
    const dropName = name !== 'last_over_time' && name !== 'first_over_time';
    const window: RangeWindow = {
      ts: new Float64Array(0),
      vs: new Float64Array(0),
      lo: 0,
      hi: 0,
      rangeStart: 0,
      rangeEnd: 0,
      range: input.range,
      stepTime: 0,
    };
    const stepParams = new Float64Array(params.length);
    const ctx: FunctionContext = { annos: this.opts.annos, metricName: '', params: stepParams };
    const out: StepSeries[] = [];
    const counterCheck = name === 'rate' || name === 'increase';
    const extended = input.anchored || input.smoothed;
    // Anchored and smoothed windows reach one lookback delta further back (and forward).
    const extraBefore = extended ? this.opts.lookbackDelta : 0;
    const extraAfter = input.smoothed ? this.opts.lookbackDelta : 0;
    const isCounter = name !== 'delta';
    const isRate = name === 'rate';
    const rateFamily = name === 'rate' || name === 'increase' || name === 'delta';
    const extendedRateFn = extended && rateFamily;
    // rate()/increase()/delta() are called directly rather than through `fn`: the `fn` call site
    // sees every range function and V8 inlines none of them there; the commonest ones called
    // here evaluate rate subqueries 7–13% faster (bench/promql/range-functions.ts).
    const plainRateFn = !extended && rateFamily;
    // Where the range function writes each step's value (see RangeFunction).
    const slot = new Float64Array(1);
    // A streamed input: the largest of (samples held + window peak − inner samples so far), for
    // the check against the final inner total below.
    const streamed = input.streamed;
    let heldBeyondInner = Number.NEGATIVE_INFINITY;
    const holdPeak = (peak: number): void => {
      this.addSamples(peak);
      if (streamed !== undefined)
        heldBeyondInner = Math.max(heldBeyondInner, this.currentSamples - streamed.innerSamples);
      this.currentSamples -= peak;
    };
    for (const s of input.series) {
      // A stream may hand the next series in reused columns: no window state carries over.
      if (ctx.slide !== undefined) ctx.slide.vs = NO_VALUES;
      if (ctx.window !== undefined) ctx.window.vs = NO_VALUES;
      // The steps of a short grid count here; long grids also count inside the step loop.
      this.spend(s.ts.length + (g.n & STEP_CHECK_MASK));
      const ts = s.ts;
      window.ts = ts;
      window.vs = s.vs;
      ctx.metricName = s.labels.get(METRIC_NAME);
      // Counter corrections as prefix sums, when windows are long enough to profit.
      const span = ts.length > 1 ? (ts[ts.length - 1] as number) - (ts[0] as number) : 0;
      const perWindow = span > 0 ? (ts.length * input.range) / span : 0;
      ctx.resetPrefix = counterCheck && !extended && perWindow >= 64 ? counterResetPrefix(s.vs) : undefined;
      const o = newStepSeries(s.labels, g.n, dropName);
      let lo = 0;
      let hi = 0;
      let points = 0;
      let peak = 0;
      const hts = s.hts;
      if (hts !== undefined && !extended) {
        const hw: HistogramWindow = { ts: hts, hs: s.hvs as FloatHistogram[], lo: 0, hi: 0 };
        for (let i = 0; i < g.n; i++) {
          if ((i & STEP_CHECK_MASK) === STEP_CHECK_MASK) this.spend(STEP_CHECK_MASK + 1 + peak);
          const ref = input.refs[i] as number;
          const startT = ref - input.range;
          if (i > 0 && ref < (input.refs[i - 1] as number)) {
            lo = 0;
            hi = 0;
            hw.lo = 0;
            hw.hi = 0;
          }
          while (hi < ts.length && (ts[hi] as number) <= ref) hi++;
          while (lo < ts.length && (ts[lo] as number) <= startT) lo++;
          while (hw.hi < hts.length && (hts[hw.hi] as number) <= ref) hw.hi++;
          while (hw.lo < hts.length && (hts[hw.lo] as number) <= startT) hw.lo++;
          if (hi < lo) hi = lo;
          if (hw.hi < hw.lo) hw.hi = hw.lo;
          const size = hi - lo + hw.hi - hw.lo;
          if (size === 0) continue;
          if (size > peak) peak = size;
          window.lo = lo;
          window.hi = hi;
          window.rangeStart = startT;
          window.rangeEnd = ref;
          window.stepTime = gridTime(g, i);
          for (let p = 0; p < params.length; p++) stepParams[p] = (params[p] as Float64Array)[i] as number;
          const v = histogramRangeStep(name, window, hw, fn, ctx);
          if (v === undefined) continue;
          if (v.h !== undefined) setHist(o, i, v.h);
          else {
            o.present[i] = 1;
            o.values[i] = v.f;
          }
          points++;
        }
        if (peak > 0) holdPeak(peak);
        if (points === 0) continue;
        this.addSamples(points);
        out.push(o);
        if (counterCheck && ts.length > 0) this.nonCounterInfo(ctx.metricName);
        continue;
      }
      for (let i = 0; i < g.n; i++) {
        // Each step may scan a whole window, so long grids check within the series too.
        if ((i & STEP_CHECK_MASK) === STEP_CHECK_MASK) this.spend(STEP_CHECK_MASK + 1 + peak);
        const ref = input.refs[i] as number;
        const startT = ref - input.range;
        if (i > 0 && ref < (input.refs[i - 1] as number)) {
          lo = 0;
          hi = 0;
        }
        while (hi < ts.length && (ts[hi] as number) <= ref + extraAfter) hi++;
        while (lo < ts.length && (ts[lo] as number) <= startT - extraBefore) lo++;
        if (hi <= lo) continue;
        if (hi - lo > peak) peak = hi - lo;
        window.lo = lo;
        window.hi = hi;
        window.rangeStart = startT;
        window.rangeEnd = ref;
        window.stepTime = gridTime(g, i);
        for (let p = 0; p < params.length; p++) stepParams[p] = (params[p] as Float64Array)[i] as number;
        if (extendedRateFn) {
          const v = extendedRate(window, input.smoothed, isCounter, isRate);
          if (v === undefined) continue;
          slot[0] = v;
        } else if (plainRateFn) {
          if (!extrapolatedRate(window, isCounter, isRate, ctx, slot)) continue;
        } else {
          if (input.anchored) {
            const first = anchoredFirstIndex(window);
            if (first === undefined) continue;
            window.lo = first;
          }
          if (!fn(window, ctx, slot)) continue;
        }
        o.present[i] = 1;
        o.values[i] = slot[0] as number;
        points++;
      }
      // The window's samples are held while the series is processed.
      if (peak > 0) holdPeak(peak);
      if (points === 0) continue;
      this.addSamples(points);
      out.push(o);
      if (counterCheck && ts.length > 0) this.nonCounterInfo(ctx.metricName);
    }
    // Evaluated all at once, the inner series would all have been held during every peak above.
    if (streamed !== undefined && heldBeyondInner + streamed.innerSamples > this.opts.maxSamples)
      throw new TooManySamplesError();
    return { kind: 'vector', series: out };
  }

  /** rate()/increase() over floats of a metric whose name does not look like a counter's. */
  private nonCounterInfo(metricName: string): void {
    if (metricName !== '' && !COUNTER_SUFFIXES.some((suffix) => metricName.endsWith(suffix))) {
      this.opts.annos.info(annotationText.possibleNonCounter(metricName));
    }
  }

  private absentOverTime(e: Call, input: RangeInput, g: Grid): EvalValue {
    const found = new Uint8Array(g.n);
    for (const s of input.series) {
      this.spend(g.n + s.ts.length);
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < g.n; i++) {
        const ref = input.refs[i] as number;
        const startT = ref - input.range;
        if (i > 0 && ref < (input.refs[i - 1] as number)) {
          lo = 0;
          hi = 0;
        }
        while (hi < s.ts.length && (s.ts[hi] as number) <= ref) hi++;
        while (lo < s.ts.length && (s.ts[lo] as number) <= startT) lo++;
        if (hi > lo) found[i] = 1;
        else if (s.hts !== undefined) {
          for (const t of s.hts) {
            if (t > startT && t <= ref) {
              found[i] = 1;
              break;
            }
          }
        }
      }
    }
    const arg = e.args[0] as Expr;
    const o = newStepSeries(absentLabels(arg), g.n, true);
    let any = false;
    for (let i = 0; i < g.n; i++) {
      if (found[i] !== 0) continue;
      o.present[i] = 1;
      o.values[i] = 1;
      any = true;
    }
    return { kind: 'vector', series: any ? [o] : [] };
  }

  private aggregate(e: AggregateExpr, g: Grid): EvalValue {
    const grouping = [...new Set(e.grouping)];
    if (e.op === 'count_values') {
      const valueLabel = this.stringArg(e.param as Expr);
      if (!isValidLabelName(valueLabel)) throw new QueryEvaluationError(`invalid label name ${goQuote(valueLabel)}`);
      const input = this.vectorArg(e.expr, g);
      return { kind: 'vector', series: countValues(input, grouping, e.without, valueLabel, g.n) };
    }
    const param = e.param !== undefined ? this.scalarArg(e.param, g) : undefined;
    const input = this.vectorArg(e.expr, g);
    switch (e.op) {
      case 'topk':
      case 'bottomk':
      case 'limitk':
      case 'limit_ratio':
        return {
          kind: 'vector',
          series: aggregateK(
            e.op,
            input,
            grouping,
            e.without,
            param as Float64Array,
            g.n,
            this.opts.annos,
            hashRatioOffset,
          ),
        };
      default:
        return {
          kind: 'vector',
          series: aggregateSimple(e.op, input, grouping, e.without, param, g.n, this.opts.annos, this.tick),
        };
    }
  }

  private binary(e: BinaryExpr, g: Grid): EvalValue {
    const l = this.eval(e.lhs, g);
    const r = this.eval(e.rhs, g);
    if (l.kind === 'scalar' && r.kind === 'scalar')
      return { kind: 'scalar', values: scalarBinop(e.op, l.values, r.values) };
    if (l.kind === 'vector' && r.kind === 'scalar') {
      return {
        kind: 'vector',
        series: vectorScalarBinop(e.op, l.series, r.values, false, e.returnBool, this.tick, this.opts.annos),
      };
    }
    if (l.kind === 'scalar' && r.kind === 'vector') {
      return {
        kind: 'vector',
        series: vectorScalarBinop(e.op, r.series, l.values, true, e.returnBool, this.tick, this.opts.annos),
      };
    }
    if (l.kind === 'vector' && r.kind === 'vector') {
      const matching = e.matching ?? {
        card: e.op === 'and' || e.op === 'or' || e.op === 'unless' ? 'many-to-many' : 'one-to-one',
        on: false,
        labels: [],
        include: [],
      };
      if (e.op === 'and' || e.op === 'or' || e.op === 'unless') {
        return { kind: 'vector', series: setBinop(e.op, l.series, r.series, matching, g.n) };
      }
      return {
        kind: 'vector',
        series: vectorBinop(e.op, l.series, r.series, matching, e.returnBool, g.n, this.tick, this.opts.annos),
      };
    }
    throw new QueryEvaluationError(`binary operator ${e.op} between ${l.kind} and ${r.kind}`);
  }
}

function mapElements(
  input: StepSeries[],
  params: Float64Array[],
  n: number,
  fn: (v: number, p: Float64Array) => number | undefined,
  tick: (units: number) => void,
): StepSeries[] {
  const p = new Float64Array(params.length);
  const out: StepSeries[] = [];
  for (const s of input) {
    tick(n);
    const o = newStepSeries(s.labels, n, true);
    let any = false;
    const hists = s.hists;
    for (let i = 0; i < n; i++) {
      // Element-wise functions read floats only; histogram samples are dropped.
      if (s.present[i] === 0 || (hists !== undefined && hists[i] !== undefined)) continue;
      for (let k = 0; k < params.length; k++) p[k] = (params[k] as Float64Array)[i] as number;
      const v = fn(s.values[i] as number, p);
      if (v === undefined) continue;
      o.present[i] = 1;
      o.values[i] = v;
      any = true;
    }
    if (any) out.push(o);
  }
  return out;
}

function unknownResetHint(h: FloatHistogram): FloatHistogram {
  if (h.counterResetHint === CounterResetHint.CounterReset || h.counterResetHint === CounterResetHint.NotCounterReset) {
    return { ...h, counterResetHint: CounterResetHint.Unknown };
  }
  return h;
}

/**
 * Prometheus's detectHistogramStatsDecoding: selectors under histogram_count, histogram_sum or
 * histogram_avg (and not under a subquery or a function needing buckets) are read through the
 * HistogramStatsIterator, which detects counter resets as it goes.
 */
function histogramStatsSelectors(root: Expr): Set<VectorSelector> {
  const out = new Set<VectorSelector>();
  inspect(root, (node, path) => {
    if (node.type !== 'VectorSelector') return;
    let skip = false;
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i] as Expr;
      if (p.type === 'SubqueryExpr') {
        skip = false;
        break;
      }
      if (p.type === 'Call') {
        const f = p.func.name;
        if (f === 'histogram_count' || f === 'histogram_sum' || f === 'histogram_avg') skip = true;
        else if (f === 'histogram_quantile' || f === 'histogram_quantiles' || f === 'histogram_fraction') {
          skip = false;
          break;
        }
      }
    }
    if (skip) out.add(node);
  });
  return out;
}

/** The hints the HistogramStatsIterator gives: an unknown hint becomes reset or not_reset by comparison with the previous sample. */
function statsHints(hs: readonly FloatHistogram[]): FloatHistogram[] {
  const out: FloatHistogram[] = [];
  let last: FloatHistogram | undefined;
  for (const h of hs) {
    if (Number.isNaN(h.sum) && isStaleNaN(h.sum)) {
      out.push(h);
      continue;
    }
    let hint = h.counterResetHint;
    if (hint === CounterResetHint.Unknown && last !== undefined) {
      hint = detectFloatHistogramReset(h, last) ? CounterResetHint.CounterReset : CounterResetHint.NotCounterReset;
    }
    out.push(hint === h.counterResetHint ? h : { ...h, counterResetHint: hint });
    last = h;
  }
  return out;
}

/** The series without their histogram samples (functions that read floats only). */
function floatsOnly(input: StepSeries[]): StepSeries[] {
  const out: StepSeries[] = [];
  for (const s of input) {
    if (s.hists === undefined) {
      out.push(s);
      continue;
    }
    const present = s.present.slice();
    let any = false;
    for (let i = 0; i < present.length; i++) {
      if (s.hists[i] !== undefined) present[i] = 0;
      else if (present[i] !== 0) any = true;
    }
    if (any) out.push({ labels: s.labels, values: s.values, present, dropName: s.dropName });
  }
  return out;
}

/** Labels of absent()'s output: the selector's equality matchers, except `__name__`. */
function absentLabels(argIn: Expr): Labels {
  // Prometheus unwraps parentheses around call arguments before evaluation.
  let arg = argIn;
  while (arg.type === 'ParenExpr' || arg.type === 'StepInvariantExpr') arg = arg.expr;
  let vs: VectorSelector | undefined;
  if (arg.type === 'VectorSelector') vs = arg;
  else if (arg.type === 'MatrixSelector') vs = arg.vectorSelector;
  if (vs === undefined) return Labels.EMPTY;
  const set = new Map<string, string>();
  // Only equality matchers mark a name as seen; any later matcher on it removes the label.
  const has = new Set<string>();
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=' && !has.has(m.name)) {
      set.set(m.name, m.value);
      has.add(m.name);
    } else set.delete(m.name);
  }
  return Labels.from([...set.entries()]);
}
