/**
 * Counter and gauge rate functions over range vectors: rate, increase, delta, irate, idelta,
 * deriv, predict_linear, resets, changes (Prometheus's functions.go, float samples).
 */
import { kahanSumInc } from '../kahan.js';
import { type FunctionContext, put, type RangeFunction, type RangeWindow, type WindowFacts } from './types.js';

/** Windows at least this long take counter-reset corrections from the prefix sums. */
const PREFIX_MIN_WINDOW = 64;

/** Running sums of counter-reset corrections of a whole series (see FunctionContext.resetPrefix). */
export function counterResetPrefix(vs: Float64Array): Float64Array {
  const out = new Float64Array(vs.length);
  for (let i = 1; i < vs.length; i++) {
    const prev = vs[i - 1] as number;
    out[i] = (out[i - 1] as number) + ((vs[i] as number) < prev ? prev : 0);
  }
  return out;
}

/** The counter-corrected increase of the window's samples (last − first plus every reset's drop). */
function counterIncrease(vs: Float64Array, lo: number, hi: number, prefix: Float64Array | undefined): number {
  const first = vs[lo] as number;
  let result = (vs[hi - 1] as number) - first;
  if (prefix !== undefined && hi - lo >= PREFIX_MIN_WINDOW) {
    // Long windows (e.g. rate(x[1h]) at a fine step) overlap heavily: O(1) per window.
    return result + ((prefix[hi - 1] as number) - (prefix[lo] as number));
  }
  let prev = first;
  for (let i = lo + 1; i < hi; i++) {
    const cur = vs[i] as number;
    if (cur < prev) result += prev;
    prev = cur;
  }
  return result;
}

function windowFacts(
  ts: Float64Array,
  vs: Float64Array,
  lo: number,
  hi: number,
  isCounter: boolean,
  prefix: Float64Array | undefined,
  out: WindowFacts,
): void {
  const first = vs[lo] as number;
  const result = isCounter ? counterIncrease(vs, lo, hi, prefix) : (vs[hi - 1] as number) - first;
  const sampledInterval = ((ts[hi - 1] as number) - (ts[lo] as number)) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (hi - lo - 1);
  out.result = result;
  out.sampledInterval = sampledInterval;
  out.averageDurationBetweenSamples = averageDurationBetweenSamples;
  out.extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  out.durationToZero =
    isCounter && result > 0 && first >= 0 ? sampledInterval * (first / result) : Number.POSITIVE_INFINITY;
}

/**
 * rate(), increase() (`isCounter`) or delta() of one window (see RangeFunction). Exported for the
 * evaluator's window loop, which calls the commonest range functions directly rather than through
 * the call site every range function shares; with the value slot, rate subqueries evaluate 7–13%
 * faster (bench/promql/range-functions.ts).
 */
export function extrapolatedRate(
  w: RangeWindow,
  isCounter: boolean,
  isRate: boolean,
  ctx: FunctionContext,
  out: Float64Array,
): boolean {
  const { ts, vs, lo, hi } = w;
  if (hi - lo < 2) return false;
  // A step finer than the samples' spacing (a subquery at 1s over a 15s scrape) asks for the
  // same samples several times in a row: what depends on them alone is computed once, by the
  // same operations in the same order, so every value is the one a fresh computation gives.
  let f = ctx.window;
  if (f === undefined || f.vs !== vs || f.lo !== lo || f.hi !== hi) {
    f ??= {
      vs,
      lo,
      hi,
      result: 0,
      sampledInterval: 0,
      averageDurationBetweenSamples: 0,
      extrapolationThreshold: 0,
      durationToZero: 0,
    };
    f.vs = vs;
    f.lo = lo;
    f.hi = hi;
    windowFacts(ts, vs, lo, hi, isCounter, ctx.resetPrefix, f);
    ctx.window = f;
  }
  let durationToStart = ((ts[lo] as number) - w.rangeStart) / 1000;
  let durationToEnd = (w.rangeEnd - (ts[hi - 1] as number)) / 1000;
  // Extrapolate to the window's edges only when a sample would be expected there (within 110%
  // of the average spacing); otherwise assume the series starts/ends half a spacing away.
  if (durationToStart >= f.extrapolationThreshold) durationToStart = f.averageDurationBetweenSamples / 2;
  // A counter cannot go below zero: never extrapolate further back than its zero point.
  if (f.durationToZero < durationToStart) durationToStart = f.durationToZero;
  if (durationToEnd >= f.extrapolationThreshold) durationToEnd = f.averageDurationBetweenSamples / 2;
  let factor = (f.sampledInterval + durationToStart + durationToEnd) / f.sampledInterval;
  if (isRate) factor /= w.range / 1000;
  return put(out, f.result * factor);
}

/** `rate(v range-vector)`: per-second increase of a counter, extrapolated to the window. */
export const rate: RangeFunction = (w, ctx, out) => extrapolatedRate(w, true, true, ctx, out);
/** `increase(v range-vector)`. */
export const increase: RangeFunction = (w, ctx, out) => extrapolatedRate(w, true, false, ctx, out);
/** `delta(v range-vector)`: for gauges. */
export const delta: RangeFunction = (w, ctx, out) => extrapolatedRate(w, false, false, ctx, out);

function instantValue(w: RangeWindow, isRate: boolean, out: Float64Array): boolean {
  const { ts, vs, hi } = w;
  if (hi - w.lo < 2) return false;
  const last = vs[hi - 1] as number;
  const prev = vs[hi - 2] as number;
  const sampledInterval = (ts[hi - 1] as number) - (ts[hi - 2] as number);
  if (sampledInterval === 0) return false;
  let result: number;
  // A counter reset between the last two samples: the last value is the increase.
  if (isRate && last < prev) result = last;
  else result = last - prev;
  if (isRate) result /= sampledInterval / 1000;
  return put(out, result);
}

/** `irate(v range-vector)`: per-second rate from the last two samples. */
export const irate: RangeFunction = (w, _ctx, out) => instantValue(w, true, out);
/** `idelta(v range-vector)`: difference of the last two samples. */
export const idelta: RangeFunction = (w, _ctx, out) => instantValue(w, false, out);

const regScratch = new Float64Array(8);

/** Least-squares slope and intercept of the window's samples, x in seconds relative to `interceptTime`. */
function linearRegression(w: RangeWindow, interceptTime: number, out: Float64Array): void {
  const { ts, vs, lo, hi } = w;
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = vs[lo] as number;
  let constY = true;
  const k = regScratch;
  for (let i = lo; i < hi; i++) {
    const y = vs[i] as number;
    if (constY && i > lo && y !== initY) constY = false;
    n += 1;
    const x = ((ts[i] as number) - interceptTime) / 1e3;
    sumX = kahanSumInc(x, sumX, cX, k, 0);
    cX = k[0] as number;
    sumY = kahanSumInc(y, sumY, cY, k, 0);
    cY = k[0] as number;
    sumXY = kahanSumInc(x * y, sumXY, cXY, k, 0);
    cXY = k[0] as number;
    sumX2 = kahanSumInc(x * x, sumX2, cX2, k, 0);
    cX2 = k[0] as number;
  }
  if (constY) {
    if (initY === Number.POSITIVE_INFINITY || initY === Number.NEGATIVE_INFINITY) {
      out[0] = Number.NaN;
      out[1] = Number.NaN;
    } else {
      out[0] = 0;
      out[1] = initY;
    }
    return;
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  out[0] = slope;
  out[1] = sumY / n - (slope * sumX) / n;
}

const slopeIntercept = new Float64Array(2);

/** `deriv(v range-vector)`: per-second derivative by simple linear regression. */
export const deriv: RangeFunction = (w, _ctx, out) => {
  if (w.hi - w.lo < 2) return false;
  linearRegression(w, w.ts[w.lo] as number, slopeIntercept);
  return put(out, slopeIntercept[0] as number);
};

/** `predict_linear(v range-vector, t scalar)`: the regression's value `t` seconds after the step. */
export const predictLinear: RangeFunction = (w, ctx, out) => {
  if (w.hi - w.lo < 2) return false;
  linearRegression(w, w.stepTime, slopeIntercept);
  return put(out, (slopeIntercept[0] as number) * (ctx.params[0] as number) + (slopeIntercept[1] as number));
};

/** `resets(v range-vector)`: how often the value decreased. */
export const resets: RangeFunction = (w, _ctx, out) => {
  const { vs, lo, hi } = w;
  if (hi <= lo) return false;
  let n = 0;
  for (let i = lo + 1; i < hi; i++) if ((vs[i] as number) < (vs[i - 1] as number)) n++;
  return put(out, n);
};

/** `changes(v range-vector)`: how often the value changed (NaN to NaN is no change). */
export const changes: RangeFunction = (w, _ctx, out) => {
  const { vs, lo, hi } = w;
  if (hi <= lo) return false;
  let n = 0;
  for (let i = lo + 1; i < hi; i++) {
    const cur = vs[i] as number;
    const prev = vs[i - 1] as number;
    if (cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) n++;
  }
  return put(out, n);
};
