/**
 * Aggregations over time: `*_over_time`, plus double_exponential_smoothing (Prometheus's
 * functions.go, float samples).
 */
import { annotationText } from '../annotations.js';
import { QueryEvaluationError } from '../errors.js';
import { kahanSumInc } from '../kahan.js';
import { quantile } from '../quantile.js';
import { put, type RangeFunction } from './types.js';

const k = new Float64Array(2);

/** `avg_over_time`: Kahan-summed mean, switching to an incremental mean when the sum overflows. */
export const avgOverTime: RangeFunction = (w, _ctx, out) => {
  const { vs, lo, hi } = w;
  if (hi <= lo) return false;
  let sum = vs[lo] as number;
  let count = 1;
  let mean = 0;
  let c = 0;
  let incremental = false;
  for (let i = lo + 1; i < hi; i++) {
    const f = vs[i] as number;
    count = i - lo + 1;
    if (!incremental) {
      const newSum = kahanSumInc(f, sum, c, k, 0);
      if (newSum !== Number.POSITIVE_INFINITY && newSum !== Number.NEGATIVE_INFINITY) {
        sum = newSum;
        c = k[0] as number;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const q = (count - 1) / count;
    mean = kahanSumInc(f / count, q * mean, q * c, k, 0);
    c = k[0] as number;
  }
  if (incremental) return put(out, mean + c);
  return put(out, sum / count + c / count);
};

/** `count_over_time`. */
export const countOverTime: RangeFunction = (w, _ctx, out) => w.hi > w.lo && put(out, w.hi - w.lo);

/** `last_over_time`. */
export const lastOverTime: RangeFunction = (w, _ctx, out) => w.hi > w.lo && put(out, w.vs[w.hi - 1] as number);

/** `first_over_time` (experimental). */
export const firstOverTime: RangeFunction = (w, _ctx, out) => w.hi > w.lo && put(out, w.vs[w.lo] as number);

/** `ts_of_first_over_time` (experimental): timestamp in seconds. */
export const tsOfFirstOverTime: RangeFunction = (w, _ctx, out) =>
  w.hi > w.lo && put(out, (w.ts[w.lo] as number) / 1000);

/** `ts_of_last_over_time` (experimental). */
export const tsOfLastOverTime: RangeFunction = (w, _ctx, out) =>
  w.hi > w.lo && put(out, (w.ts[w.hi - 1] as number) / 1000);

function compareOverTime(better: (cur: number, best: number) => boolean, returnTimestamp: boolean): RangeFunction {
  return (w, _ctx, out) => {
    const { ts, vs, lo, hi } = w;
    if (hi <= lo) return false;
    let best = vs[lo] as number;
    let bestT = ts[lo] as number;
    for (let i = lo; i < hi; i++) {
      const f = vs[i] as number;
      if (better(f, best)) {
        best = f;
        bestT = ts[i] as number;
      }
    }
    return put(out, returnTimestamp ? bestT / 1000 : best);
  };
}

/** Windows shorter than this are scanned; longer ones use the sliding extreme (see below). */
const SLIDE_MIN_WINDOW = 32;

/**
 * max_over_time / min_over_time: the extreme of the window's numbers (NaN loses to any number,
 * the first of equal extremes is kept, so `-0` before `0` stays `-0`, as Prometheus's scan), NaN
 * when the window holds only NaNs. Long windows that slide forward step by step (a subquery at a
 * fine resolution: `max_over_time(rate(x[5m])[6h:1s])` has 21,600 points per window) keep a
 * monotonic queue across steps instead of rescanning each window: linear in the series'
 * points instead of points × steps.
 */
function extremeOverTime(max: boolean): RangeFunction {
  const scan = compareOverTime(
    max ? (cur, best) => cur > best || Number.isNaN(best) : (cur, best) => cur < best || Number.isNaN(best),
    false,
  );
  return (w, ctx, out) => {
    const { vs, lo, hi } = w;
    if (hi <= lo) return false;
    if (hi - lo < SLIDE_MIN_WINDOW) return scan(w, ctx, out);
    let st = ctx.slide;
    if (st === undefined || st.vs !== vs || st.max !== max || lo < st.lo || hi < st.hi) {
      // Another series, or a window that moved back: start over from this window.
      st = {
        vs,
        max,
        lo,
        hi: lo,
        queue: st !== undefined && st.queue.length >= vs.length ? st.queue : new Int32Array(vs.length),
        head: 0,
        tail: 0,
      };
      ctx.slide = st;
    }
    const q = st.queue;
    for (let i = Math.max(st.hi, lo); i < hi; i++) {
      const f = vs[i] as number;
      if (Number.isNaN(f)) continue;
      // Strictly worse candidates leave from the back: the first of equal extremes stays in front.
      if (max) while (st.tail > st.head && (vs[q[st.tail - 1] as number] as number) < f) st.tail--;
      else while (st.tail > st.head && (vs[q[st.tail - 1] as number] as number) > f) st.tail--;
      q[st.tail++] = i;
    }
    st.lo = lo;
    st.hi = hi;
    while (st.head < st.tail && (q[st.head] as number) < lo) st.head++;
    return put(out, st.head < st.tail ? (vs[q[st.head] as number] as number) : Number.NaN);
  };
}

/** `max_over_time`: NaN loses to any number. */
export const maxOverTime = extremeOverTime(true);
/** `min_over_time`. */
export const minOverTime = extremeOverTime(false);
/** `ts_of_max_over_time` (experimental): the latest timestamp of the maximum. */
export const tsOfMaxOverTime = compareOverTime((cur, best) => cur >= best || Number.isNaN(best), true);
/** `ts_of_min_over_time` (experimental). */
export const tsOfMinOverTime = compareOverTime((cur, best) => cur <= best || Number.isNaN(best), true);

/** `sum_over_time`: Kahan-compensated. */
export const sumOverTime: RangeFunction = (w, _ctx, out) => {
  const { vs, lo, hi } = w;
  if (hi <= lo) return false;
  let sum = 0;
  let c = 0;
  for (let i = lo; i < hi; i++) {
    sum = kahanSumInc(vs[i] as number, sum, c, k, 0);
    c = k[0] as number;
  }
  if (sum === Number.POSITIVE_INFINITY || sum === Number.NEGATIVE_INFINITY) return put(out, sum);
  return put(out, sum + c);
};

let scratch = new Float64Array(64);
function copyWindow(vs: Float64Array, lo: number, hi: number): Float64Array {
  const n = hi - lo;
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  scratch.set(vs.subarray(lo, hi));
  return scratch;
}

/** `quantile_over_time(φ, v)`. */
export const quantileOverTime: RangeFunction = (w, ctx, out) => {
  const { vs, lo, hi } = w;
  if (hi <= lo) return false;
  const q = ctx.params[0] as number;
  if (Number.isNaN(q) || q < 0 || q > 1) ctx.annos.warn(annotationText.invalidQuantile(q));
  return put(out, quantile(q, copyWindow(vs, lo, hi), hi - lo));
};

/** `mad_over_time` (experimental): median absolute deviation. */
export const madOverTime: RangeFunction = (w, _ctx, out) => {
  const { vs, lo, hi } = w;
  if (hi <= lo) return false;
  const n = hi - lo;
  const median = quantile(0.5, copyWindow(vs, lo, hi), n);
  const buf = copyWindow(vs, lo, hi);
  for (let i = 0; i < n; i++) buf[i] = Math.abs((buf[i] as number) - median);
  return put(out, quantile(0.5, buf, n));
};

function variance(w: { vs: Float64Array; lo: number; hi: number }): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = w.lo; i < w.hi; i++) {
    const f = w.vs[i] as number;
    count++;
    const d = f - (mean + cMean);
    mean = kahanSumInc(d / count, mean, cMean, k, 0);
    cMean = k[0] as number;
    aux = kahanSumInc(d * (f - (mean + cMean)), aux, cAux, k, 0);
    cAux = k[0] as number;
  }
  return (aux + cAux) / count;
}

/** `stdvar_over_time`. */
export const stdvarOverTime: RangeFunction = (w, _ctx, out) => w.hi > w.lo && put(out, variance(w));
/** `stddev_over_time`. */
export const stddevOverTime: RangeFunction = (w, _ctx, out) => w.hi > w.lo && put(out, Math.sqrt(variance(w)));

/** `present_over_time`: 1 for every series with a sample in the window. */
export const presentOverTime: RangeFunction = (w, _ctx, out) => w.hi > w.lo && put(out, 1);

function goFixed6(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  return f.toFixed(6);
}

/** `double_exponential_smoothing(v, sf, tf)` (experimental; Holt-Winters before Prometheus 3). */
export const doubleExponentialSmoothing: RangeFunction = (w, ctx, out) => {
  const sf = ctx.params[0] as number;
  const tf = ctx.params[1] as number;
  if (sf <= 0 || sf >= 1) {
    throw new QueryEvaluationError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${goFixed6(sf)}`);
  }
  if (tf <= 0 || tf >= 1) {
    throw new QueryEvaluationError(`invalid trend factor. Expected: 0 < tf < 1, got: ${goFixed6(tf)}`);
  }
  const { vs, lo, hi } = w;
  const l = hi - lo;
  if (l < 2) return false;
  let s0 = 0;
  let s1 = vs[lo] as number;
  let b = (vs[lo + 1] as number) - (vs[lo] as number);
  for (let i = 1; i < l; i++) {
    const x = sf * (vs[lo + i] as number);
    // Trend: blend of the latest level change and the previous trend (none before the 2nd step).
    if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return put(out, s1);
};
