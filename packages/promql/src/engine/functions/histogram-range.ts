/**
 * Range functions over windows that hold native histogram samples (Prometheus's functions.go):
 * rate/increase/delta and irate/idelta produce histograms, sum/avg/last/first_over_time
 * aggregate them, count/present/ts_of_*, resets and changes count them, and the float-only
 * functions skip them with an info annotation. A window mixing floats and histograms gives no
 * value (with a warning) where Prometheus refuses to combine them.
 */
import {
  addFloatHistograms,
  CounterResetHint,
  compactFloatHistogram,
  copyFloatHistogram,
  copyToSchema,
  detectFloatHistogramReset,
  divFloatHistogram,
  type FloatHistogram,
  floatHistogramEquals,
  IncompatibleSchemaError,
  isCustomBucketsSchema,
  mulFloatHistogram,
  subFloatHistograms,
} from '@thanos-ts/tsdb/histogram';
import { type Annotations, annotationText } from '../annotations.js';
import type { FunctionContext, RangeFunction, RangeWindow } from './types.js';

/** The histogram samples of one window: indices `[lo, hi)` of `ts`/`hs`. */
export interface HistogramWindow {
  ts: Float64Array;
  hs: readonly FloatHistogram[];
  lo: number;
  hi: number;
}

/** A value of one step: a float or a histogram; undefined for none. */
export type StepValue = { f: number; h?: undefined } | { f?: undefined; h: FloatHistogram } | undefined;

/** Functions of floats only: histograms in the window are skipped (with info when floats remain). */
const FLOAT_ONLY = new Set([
  'max_over_time',
  'min_over_time',
  'ts_of_max_over_time',
  'ts_of_min_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'mad_over_time',
  'predict_linear',
  'double_exponential_smoothing',
]);

const floatSlot = new Float64Array(1);

/** The float implementation's value for the window's floats, as a step value. */
function floatStep(fn: RangeFunction, fw: RangeWindow, ctx: FunctionContext): StepValue {
  return fn(fw, ctx, floatSlot) ? { f: floatSlot[0] as number } : undefined;
}

/**
 * One step of range function `name` over a window with histogram samples. `fw` is the float
 * window (possibly empty), `fn` the float implementation for float-only functions.
 */
export function histogramRangeStep(
  name: string,
  fw: RangeWindow,
  hw: HistogramWindow,
  fn: RangeFunction,
  ctx: FunctionContext,
): StepValue {
  const nf = fw.hi - fw.lo;
  const nh = hw.hi - hw.lo;
  if (nf + nh === 0) return undefined;
  const annos = ctx.annos;
  const metric = ctx.metricName;
  if (FLOAT_ONLY.has(name)) {
    if (nf === 0) return undefined;
    if (nh > 0) annos.info(annotationText.histogramIgnoredInMixedRange(metric));
    return floatStep(fn, fw, ctx);
  }
  switch (name) {
    case 'deriv': {
      if (nf < 2) {
        if (nf === 1 && nh > 0) annos.info(annotationText.histogramIgnoredInMixedRange(metric));
        return undefined;
      }
      if (nh > 0) annos.info(annotationText.histogramIgnoredInMixedRange(metric));
      return floatStep(fn, fw, ctx);
    }
    case 'count_over_time':
      return { f: nf + nh };
    case 'present_over_time':
      return { f: 1 };
    case 'last_over_time': {
      const ft = nf > 0 ? (fw.ts[fw.hi - 1] as number) : Number.NEGATIVE_INFINITY;
      if (nh === 0 || (nf > 0 && (hw.ts[hw.hi - 1] as number) < ft)) return { f: fw.vs[fw.hi - 1] as number };
      return { h: hw.hs[hw.hi - 1] as FloatHistogram };
    }
    case 'first_over_time': {
      if (nh === 0 || (nf > 0 && (fw.ts[fw.lo] as number) < (hw.ts[hw.lo] as number))) {
        return { f: fw.vs[fw.lo] as number };
      }
      return { h: hw.hs[hw.lo] as FloatHistogram };
    }
    case 'ts_of_last_over_time': {
      const tf = nf > 0 ? (fw.ts[fw.hi - 1] as number) : 0;
      const th = nh > 0 ? (hw.ts[hw.hi - 1] as number) : 0;
      return { f: Math.max(tf, th) / 1000 };
    }
    case 'ts_of_first_over_time': {
      const tf = nf > 0 ? (fw.ts[fw.lo] as number) : Number.POSITIVE_INFINITY;
      const th = nh > 0 ? (hw.ts[hw.lo] as number) : Number.POSITIVE_INFINITY;
      return { f: Math.min(tf, th) / 1000 };
    }
    case 'resets':
    case 'changes':
      return { f: countTransitions(name, fw, hw) };
    case 'sum_over_time':
    case 'avg_over_time': {
      if (nf > 0 && nh > 0) {
        annos.warn(annotationText.mixedFloatsHistograms(metric));
        return undefined;
      }
      if (nh === 0) {
        return floatStep(fn, fw, ctx);
      }
      const h = sumHistograms(hw, annos, metric);
      if (h === undefined) return undefined;
      if (name === 'avg_over_time') divFloatHistogram(h, nh);
      return { h: compactFloatHistogram(h) };
    }
    case 'rate':
    case 'increase':
    case 'delta': {
      if (nf > 0 && nh > 0) {
        annos.warn(annotationText.mixedFloatsHistograms(metric));
        return undefined;
      }
      if (nh === 0) {
        return floatStep(fn, fw, ctx);
      }
      if (nh < 2) return undefined;
      const isCounter = name !== 'delta';
      const h = histogramRate(hw, isCounter, annos, metric);
      if (h === undefined) return undefined;
      const first = hw.hs[hw.lo] as FloatHistogram;
      const factor = extrapolationFactor(
        hw.ts[hw.lo] as number,
        hw.ts[hw.hi - 1] as number,
        nh - 1,
        fw.rangeStart,
        fw.rangeEnd,
        isCounter && h.count > 0 && first.count >= 0 ? first.count / h.count : undefined,
      );
      mulFloatHistogram(h, name === 'rate' ? factor / (fw.range / 1000) : factor);
      return { h };
    }
    case 'irate':
    case 'idelta':
      return instantHistogram(name === 'irate', fw, hw, annos, metric);
    default:
      // Other functions read floats only, without an annotation.
      if (nf === 0) return undefined;
      {
        return floatStep(fn, fw, ctx);
      }
  }
}

/** Prometheus's extrapolation of a rate to the window edges; `zeroShare` is first/result for counters. */
function extrapolationFactor(
  firstT: number,
  lastT: number,
  intervals: number,
  rangeStart: number,
  rangeEnd: number,
  zeroShare: number | undefined,
): number {
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const avg = sampledInterval / intervals;
  const threshold = avg * 1.1;
  if (durationToStart >= threshold) durationToStart = avg / 2;
  if (zeroShare !== undefined) {
    const durationToZero = sampledInterval * zeroShare;
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = avg / 2;
  return sampledInterval === 0 ? 1 : (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
}

function sumHistograms(hw: HistogramWindow, annos: Annotations, metric: string): FloatHistogram | undefined {
  let reset = false;
  let notReset = false;
  let reconciled = false;
  const track = (h: FloatHistogram): void => {
    if (h.counterResetHint === CounterResetHint.CounterReset) reset = true;
    else if (h.counterResetHint === CounterResetHint.NotCounterReset) notReset = true;
  };
  const sum = copyFloatHistogram(hw.hs[hw.lo] as FloatHistogram);
  track(sum);
  try {
    for (let i = hw.lo + 1; i < hw.hi; i++) {
      const h = hw.hs[i] as FloatHistogram;
      track(h);
      if (addFloatHistograms(sum, h).nhcbBoundsReconciled) reconciled = true;
    }
  } catch (err) {
    if (!(err instanceof IncompatibleSchemaError)) throw err;
    annos.warn(annotationText.mixedExponentialCustom(metric));
    return undefined;
  } finally {
    if (reset && notReset) annos.warn(annotationText.counterResetCollision('aggregation'));
    if (reconciled) annos.info(annotationText.mismatchedCustomBuckets('aggregation'));
  }
  return sum;
}

/** The increase (or delta) over the window's histograms with counter resets corrected (histogramRate). */
function histogramRate(
  hw: HistogramWindow,
  isCounter: boolean,
  annos: Annotations,
  metric: string,
): FloatHistogram | undefined {
  let prev = hw.hs[hw.lo] as FloatHistogram;
  const last = hw.hs[hw.hi - 1] as FloatHistogram;
  let custom = isCustomBucketsSchema(prev.schema);
  if (
    isCounter &&
    (prev.counterResetHint === CounterResetHint.Gauge || last.counterResetHint === CounterResetHint.Gauge)
  ) {
    annos.warn(annotationText.histogramNotCounter(metric));
  }
  if (isCounter) {
    const second = hw.hs[hw.lo + 1] as FloatHistogram;
    if (detectFloatHistogramReset(second, prev)) {
      prev = {
        counterResetHint: CounterResetHint.Unknown,
        schema: second.schema,
        zeroThreshold: 0,
        zeroCount: 0,
        count: 0,
        sum: 0,
        positiveSpans: [],
        negativeSpans: [],
        positiveBuckets: [],
        negativeBuckets: [],
        ...(second.customValues === undefined ? {} : { customValues: second.customValues }),
      };
      custom = isCustomBucketsSchema(second.schema);
    }
  }
  if (isCustomBucketsSchema(last.schema) !== custom) {
    annos.warn(annotationText.mixedExponentialCustom(metric));
    return undefined;
  }
  let minSchema = Math.min(last.schema, prev.schema);
  for (let i = hw.lo + 1; i < hw.hi - 1; i++) {
    if (!isCounter) continue;
    const cur = hw.hs[i] as FloatHistogram;
    if (cur.counterResetHint === CounterResetHint.Gauge) annos.warn(annotationText.histogramNotCounter(metric));
    if (cur.schema < minSchema) minSchema = cur.schema;
    if (isCustomBucketsSchema(cur.schema) !== custom) {
      annos.warn(annotationText.mixedExponentialCustom(metric));
      return undefined;
    }
  }
  const h = custom ? copyFloatHistogram(last) : copyToSchema(last, minSchema);
  try {
    if (subFloatHistograms(h, prev).nhcbBoundsReconciled)
      annos.info(annotationText.mismatchedCustomBuckets('subtraction'));
    if (isCounter) {
      for (let i = hw.lo + 1; i < hw.hi; i++) {
        const cur = hw.hs[i] as FloatHistogram;
        if (detectFloatHistogramReset(cur, prev)) {
          if (addFloatHistograms(h, prev).nhcbBoundsReconciled) {
            annos.info(annotationText.mismatchedCustomBuckets('addition'));
          }
        }
        prev = cur;
      }
    } else if (
      (hw.hs[hw.lo] as FloatHistogram).counterResetHint !== CounterResetHint.Gauge ||
      last.counterResetHint !== CounterResetHint.Gauge
    ) {
      annos.warn(annotationText.histogramNotGauge(metric));
    }
  } catch (err) {
    if (!(err instanceof IncompatibleSchemaError)) throw err;
    annos.warn(annotationText.mixedExponentialCustom(metric));
    return undefined;
  }
  h.counterResetHint = CounterResetHint.Gauge;
  return compactFloatHistogram(h);
}

/** irate/idelta from the last two samples of either kind (Prometheus's instantValue). */
function instantHistogram(
  isRate: boolean,
  fw: RangeWindow,
  hw: HistogramWindow,
  annos: Annotations,
  metric: string,
): StepValue {
  type P = { t: number; f: number; h?: FloatHistogram };
  const ss: P[] = [];
  for (let i = Math.max(fw.lo, fw.hi - 2); i < fw.hi; i++) ss.push({ t: fw.ts[i] as number, f: fw.vs[i] as number });
  for (let i = Math.max(hw.lo, hw.hi - 2); i < hw.hi; i++) {
    const s: P = { t: hw.ts[i] as number, f: 0, h: hw.hs[i] as FloatHistogram };
    if (ss.length === 0) ss.push(s);
    else if (ss.length === 1) {
      if (s.t < (ss[0] as P).t) ss.unshift(s);
      else ss.push(s);
    } else if (s.t < (ss[0] as P).t) {
      // Older than both.
    } else if (s.t > (ss[1] as P).t) {
      ss[0] = ss[1] as P;
      ss[1] = s;
    } else ss[0] = s;
  }
  if (ss.length < 2) return undefined;
  const a = ss[0] as P;
  const b = ss[1] as P;
  const interval = b.t - a.t;
  if (interval === 0) return undefined;
  if (a.h === undefined && b.h === undefined) {
    let f = b.f;
    if (!isRate || !(b.f < a.f)) f = b.f - a.f;
    if (isRate) f /= interval / 1000;
    return { f };
  }
  if (a.h === undefined || b.h === undefined) {
    annos.warn(annotationText.mixedFloatsHistograms(metric));
    return undefined;
  }
  const h = copyFloatHistogram(b.h);
  if (isRate && (b.h.counterResetHint === CounterResetHint.Gauge || a.h.counterResetHint === CounterResetHint.Gauge)) {
    annos.warn(annotationText.histogramNotCounter(metric));
  }
  if (!isRate && (b.h.counterResetHint !== CounterResetHint.Gauge || a.h.counterResetHint !== CounterResetHint.Gauge)) {
    annos.warn(annotationText.histogramNotGauge(metric));
  }
  if (!isRate || !detectFloatHistogramReset(b.h, a.h)) {
    try {
      if (subFloatHistograms(h, a.h).nhcbBoundsReconciled)
        annos.info(annotationText.mismatchedCustomBuckets('subtraction'));
    } catch (err) {
      if (!(err instanceof IncompatibleSchemaError)) throw err;
      annos.warn(annotationText.mixedExponentialCustom(metric));
      return undefined;
    }
  }
  h.counterResetHint = CounterResetHint.Gauge;
  compactFloatHistogram(h);
  if (isRate) divFloatHistogram(h, interval / 1000);
  return { h };
}

/** resets() and changes() over floats and histograms in time order. */
function countTransitions(name: 'resets' | 'changes', fw: RangeWindow, hw: HistogramWindow): number {
  let i = fw.lo;
  let j = hw.lo;
  let n = 0;
  let prev: { f: number; h?: FloatHistogram } | undefined;
  while (i < fw.hi || j < hw.hi) {
    let cur: { f: number; h?: FloatHistogram };
    if (j >= hw.hi || (i < fw.hi && (fw.ts[i] as number) < (hw.ts[j] as number))) cur = { f: fw.vs[i++] as number };
    else cur = { f: 0, h: hw.hs[j++] as FloatHistogram };
    if (prev !== undefined) {
      if (prev.h === undefined && cur.h === undefined) {
        if (name === 'resets') {
          if (cur.f < prev.f) n++;
        } else if (cur.f !== prev.f && !(Number.isNaN(cur.f) && Number.isNaN(prev.f))) n++;
      } else if (prev.h === undefined || cur.h === undefined) n++;
      else if (name === 'resets' ? detectFloatHistogramReset(cur.h, prev.h) : !floatHistogramEquals(cur.h, prev.h)) n++;
    }
    prev = cur;
  }
  return n;
}
