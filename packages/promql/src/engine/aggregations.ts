/**
 * Aggregation operators (sum, avg, count, min, max, group, stddev, stdvar, quantile, topk,
 * bottomk, limitk, limit_ratio, count_values) with `by`/`without`, following Prometheus's
 * engine.go (aggregation, aggregationK, aggregationCountValues). Groups are resolved once per
 * series; values are folded step by step over typed columns.
 */
import { type Labels, METRIC_NAME } from '@thanos-ts/tsdb';
import { formatGoFloat as goFloat } from '@thanos-ts/tsdb/goformat';
import {
  addFloatHistograms,
  CounterResetHint,
  compactFloatHistogram,
  copyFloatHistogram,
  divFloatHistogram,
  type FloatHistogram,
  formatFloatHistogram,
  IncompatibleSchemaError,
} from '@thanos-ts/tsdb/histogram';
import type { AggregateOp } from '../parser/ast.js';
import { type Annotations, annotationText } from './annotations.js';
import { QueryEvaluationError } from './errors.js';
import { kahanSumInc } from './kahan.js';
import { quantile } from './quantile.js';
import { newStepSeries, SeriesCollector, setHist } from './series-buffer.js';
import type { StepSeries } from './types.js';

/** The labels of the output group of `labels`. */
export function groupingLabels(labels: Labels, grouping: readonly string[], without: boolean): Labels {
  if (without) return labels.without([...grouping, METRIC_NAME]);
  if (grouping.length === 0) return labels.keepOnly([]);
  return labels.keepOnly(grouping);
}

interface Groups {
  /** Group index of each input series. */
  of: Int32Array;
  labels: Labels[];
}

function assignGroups(input: StepSeries[], grouping: readonly string[], without: boolean): Groups {
  const byKey = new Map<string, number>();
  const of = new Int32Array(input.length);
  const labels: Labels[] = [];
  input.forEach((s, i) => {
    const g = groupingLabels(s.labels, grouping, without);
    const key = g.key();
    let idx = byKey.get(key);
    if (idx === undefined) {
      idx = labels.length;
      byKey.set(key, idx);
      labels.push(g);
    }
    of[i] = idx;
  });
  return { of, labels };
}

const kahanOut = new Float64Array(1);

/**
 * sum, avg, count, min, max, group, stddev, stdvar and quantile. `param` is quantile's φ per
 * step.
 */
export function aggregateSimple(
  op: AggregateOp,
  input: StepSeries[],
  grouping: readonly string[],
  without: boolean,
  param: Float64Array | undefined,
  n: number,
  annos: Annotations,
  tick?: (units: number) => void,
): StepSeries[] {
  const { of, labels } = assignGroups(input, grouping, without);
  const g = labels.length;
  const size = g * n;
  const value = new Float64Array(size);
  const comp = new Float64Array(size);
  const mean = new Float64Array(size);
  const count = new Float64Array(size);
  const seen = new Uint8Array(size);
  const incremental = op === 'avg' ? new Uint8Array(size) : undefined;
  const dropName = new Uint8Array(g);
  if (op === 'quantile' && param !== undefined) {
    let max = Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    let nan = false;
    for (const q of param) {
      if (Number.isNaN(q)) nan = true;
      else {
        if (q > max) max = q;
        if (q < min) min = q;
      }
    }
    // Go's math.Max/Min turn NaN into the extreme, so with a NaN only the NaN warning is left.
    if (nan) annos.warn(annotationText.invalidQuantile(Number.NaN));
    else {
      if (max > 1) annos.warn(annotationText.invalidQuantile(max));
      if (min < 0) annos.warn(annotationText.invalidQuantile(min));
    }
  }
  // quantile collects the values of each group and step.
  const lists: number[][] | undefined = op === 'quantile' ? [] : undefined;
  const hs = input.some((s) => s.hists !== undefined) ? new HistogramGroups(size) : undefined;
  for (let si = 0; si < input.length; si++) {
    tick?.(n);
    const s = input[si] as StepSeries;
    const gi = of[si] as number;
    if (s.dropName) dropName[gi] = 1;
    const base = gi * n;
    const vals = s.values;
    const pres = s.present;
    const hists = s.hists;
    for (let i = 0; i < n; i++) {
      if (pres[i] === 0) continue;
      const f = vals[i] as number;
      const at = base + i;
      if (hs !== undefined) {
        const h = hists?.[i];
        if (h !== undefined) {
          if (op === 'sum' || op === 'avg') {
            if (seen[at] === 0) {
              seen[at] = 1;
              count[at] = 1;
              value[at] = 0;
              comp[at] = 0;
            } else count[at] = (count[at] as number) + 1;
            hs.add(at, h, annos, s.labels.get(METRIC_NAME));
            continue;
          }
          if (op === 'min' || op === 'max' || op === 'stddev' || op === 'stdvar' || op === 'quantile') {
            annos.info(annotationText.histogramIgnoredInAggregation(op));
            continue;
          }
        } else if (op === 'sum' || op === 'avg') {
          (hs.hasFloat as Uint8Array)[at] = 1;
          if (seen[at] !== 0 && hs.hasHist[at] === 1) {
            // Floats after histograms: the group is invalid; keep counting only.
            continue;
          }
        }
      }
      if (seen[at] === 0) {
        seen[at] = 1;
        value[at] = f;
        mean[at] = f;
        count[at] = 1;
        comp[at] = 0;
        switch (op) {
          case 'stddev':
          case 'stdvar':
            value[at] =
              Number.isNaN(f) || f === Number.POSITIVE_INFINITY || f === Number.NEGATIVE_INFINITY ? Number.NaN : 0;
            break;
          case 'group':
            value[at] = 1;
            break;
          case 'quantile':
            (lists as number[][])[at] = [f];
            break;
        }
        continue;
      }
      switch (op) {
        case 'sum':
          value[at] = kahanSumInc(f, value[at] as number, comp[at] as number, kahanOut, 0);
          comp[at] = kahanOut[0] as number;
          break;
        case 'avg': {
          const c = (count[at] as number) + 1;
          count[at] = c;
          const inc = incremental as Uint8Array;
          if (inc[at] === 0) {
            const nv = kahanSumInc(f, value[at] as number, comp[at] as number, kahanOut, 0);
            if (nv !== Number.POSITIVE_INFINITY && nv !== Number.NEGATIVE_INFINITY) {
              value[at] = nv;
              comp[at] = kahanOut[0] as number;
              break;
            }
            // The sum overflowed: continue with an incremental mean.
            inc[at] = 1;
            mean[at] = (value[at] as number) / (c - 1);
            comp[at] = (comp[at] as number) / (c - 1);
          }
          const q = (c - 1) / c;
          mean[at] = kahanSumInc(f / c, q * (mean[at] as number), q * (comp[at] as number), kahanOut, 0);
          comp[at] = kahanOut[0] as number;
          break;
        }
        case 'max': {
          const cur = value[at] as number;
          if (cur < f || Number.isNaN(cur)) value[at] = f;
          break;
        }
        case 'min': {
          const cur = value[at] as number;
          if (cur > f || Number.isNaN(cur)) value[at] = f;
          break;
        }
        case 'count':
          count[at] = (count[at] as number) + 1;
          break;
        case 'group':
          break;
        case 'stddev':
        case 'stdvar': {
          const c = (count[at] as number) + 1;
          count[at] = c;
          const d = f - (mean[at] as number);
          mean[at] = (mean[at] as number) + d / c;
          value[at] = (value[at] as number) + d * (f - (mean[at] as number));
          break;
        }
        case 'quantile':
          ((lists as number[][])[at] as number[]).push(f);
          break;
        default:
          throw new QueryEvaluationError(`expected aggregation operator but got "${op}"`);
      }
    }
  }
  const out: StepSeries[] = [];
  for (let gi = 0; gi < g; gi++) {
    const o = newStepSeries(labels[gi] as Labels, n, dropName[gi] === 1);
    let any = false;
    for (let i = 0; i < n; i++) {
      const at = gi * n + i;
      if (seen[at] === 0) continue;
      if (hs !== undefined && (op === 'sum' || op === 'avg')) {
        const r = hs.result(at, op, count[at] as number, annos);
        if (r === null) continue;
        if (r !== undefined) {
          any = true;
          setHist(o, i, r);
          continue;
        }
      }
      any = true;
      o.present[i] = 1;
      let v = value[at] as number;
      switch (op) {
        case 'sum':
          v += comp[at] as number;
          break;
        case 'avg':
          v =
            (incremental as Uint8Array)[at] === 1
              ? (mean[at] as number) + (comp[at] as number)
              : v / (count[at] as number) + (comp[at] as number) / (count[at] as number);
          break;
        case 'count':
          v = count[at] as number;
          break;
        case 'stdvar':
          v /= count[at] as number;
          break;
        case 'stddev':
          v = Math.sqrt(v / (count[at] as number));
          break;
        case 'quantile':
          v = quantile((param as Float64Array)[i] as number, (lists as number[][])[at] as number[]);
          break;
      }
      o.values[i] = v;
    }
    if (any) out.push(o);
  }
  return out;
}

/**
 * Running histogram sums of sum/avg groups (per group and step), with Prometheus's bookkeeping:
 * floats mixed with histograms, incompatible schemas and counter-reset hint collisions.
 */
class HistogramGroups {
  readonly value: (FloatHistogram | undefined)[];
  readonly hasHist: Uint8Array;
  readonly hasFloat: Uint8Array;
  private readonly incompatible: Uint8Array;
  private readonly resetSeen: Uint8Array;
  private readonly notResetSeen: Uint8Array;

  constructor(size: number) {
    this.value = new Array(size);
    this.hasHist = new Uint8Array(size);
    this.hasFloat = new Uint8Array(size);
    this.incompatible = new Uint8Array(size);
    this.resetSeen = new Uint8Array(size);
    this.notResetSeen = new Uint8Array(size);
  }

  add(at: number, h: FloatHistogram, annos: Annotations, metricName: string): void {
    if (this.incompatible[at] === 1) return;
    if (h.counterResetHint === CounterResetHint.CounterReset) this.resetSeen[at] = 1;
    else if (h.counterResetHint === CounterResetHint.NotCounterReset) this.notResetSeen[at] = 1;
    if (this.hasFloat[at] === 1 && this.hasHist[at] === 0) {
      // The group began with floats: it is invalid anyway.
      this.hasHist[at] = 1;
      return;
    }
    const cur = this.value[at];
    this.hasHist[at] = 1;
    if (cur === undefined) {
      this.value[at] = copyFloatHistogram(h);
      return;
    }
    try {
      const r = addFloatHistograms(cur, h);
      if (r.nhcbBoundsReconciled) annos.info(annotationText.mismatchedCustomBuckets('aggregation'));
    } catch (err) {
      if (!(err instanceof IncompatibleSchemaError)) throw err;
      annos.warn(annotationText.mixedExponentialCustom(metricName));
      this.incompatible[at] = 1;
    }
  }

  /** The group's histogram result; null for no output; undefined when the group holds floats only. */
  result(at: number, op: 'sum' | 'avg', count: number, annos: Annotations): FloatHistogram | null | undefined {
    if (this.hasHist[at] === 0) return undefined;
    if (this.hasFloat[at] === 1) {
      annos.warn(annotationText.mixedFloatsHistogramsAgg());
      return null;
    }
    if (this.incompatible[at] === 1) return null;
    if (this.resetSeen[at] === 1 && this.notResetSeen[at] === 1) {
      annos.warn(annotationText.counterResetCollision('aggregation'));
    }
    const h = this.value[at] as FloatHistogram;
    if (op === 'avg') divFloatHistogram(h, count);
    return compactFloatHistogram(h);
  }
}

/** A binary heap of series indices ordered like Go's container/heap over Prometheus's value heaps. */
class IndexHeap {
  readonly items: number[] = [];
  constructor(private readonly less: (a: number, b: number) => boolean) {}

  push(x: number): void {
    this.items.push(x);
    this.up(this.items.length - 1);
  }

  fix(i: number): void {
    if (!this.down(i, this.items.length)) this.up(i);
  }

  private up(j: number): void {
    const h = this.items;
    for (;;) {
      const i = Math.trunc((j - 1) / 2);
      if (i === j || !this.less(h[j] as number, h[i] as number)) break;
      [h[i], h[j]] = [h[j] as number, h[i] as number];
      j = i;
    }
  }

  private down(i0: number, n: number): boolean {
    const h = this.items;
    let i = i0;
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= n) break;
      let j = j1;
      const j2 = j1 + 1;
      if (j2 < n && this.less(h[j2] as number, h[j1] as number)) j = j2;
      if (!this.less(h[j] as number, h[i] as number)) break;
      [h[i], h[j]] = [h[j] as number, h[i] as number];
      i = j;
    }
    return i > i0;
  }
}

const MAX_INT64 = 2 ** 63;
const MIN_INT64 = -(2 ** 63);

/**
 * topk, bottomk, limitk and limit_ratio: select input series per group and step, keeping their
 * labels. For a single step (instant query) the output order is Prometheus's: groups in order
 * of appearance, topk/bottomk sorted by value.
 */
export function aggregateK(
  op: AggregateOp,
  input: StepSeries[],
  grouping: readonly string[],
  without: boolean,
  param: Float64Array,
  n: number,
  annos: Annotations,
  ratioOffset: (labels: Labels) => number,
): StepSeries[] {
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  let nan = false;
  for (const p of param) {
    if (Number.isNaN(p)) nan = true;
    else {
      if (p > max) max = p;
      if (p < min) min = p;
    }
  }
  if (nan) {
    // As Go's math.Max/Min: a NaN parameter makes both extremes NaN.
    max = Number.NaN;
    min = Number.NaN;
  }
  if (op === 'limit_ratio') {
    if (max === 0 && min === 0) return [];
    if (nan) throw new QueryEvaluationError('Ratio value is NaN');
    if (max > 1) annos.warn(annotationText.invalidRatio(max, 1));
    if (min < -1) annos.warn(annotationText.invalidRatio(min, -1));
  } else {
    if (max < 1) return [];
    if (nan) throw new QueryEvaluationError('Parameter value is NaN');
    if (min <= MIN_INT64) throw new QueryEvaluationError(`Scalar value ${goFloat(min)} underflows int64`);
    if (max >= MAX_INT64) throw new QueryEvaluationError(`Scalar value ${goFloat(max)} overflows int64`);
  }
  const { of, labels } = assignGroups(input, grouping, without);
  const out = new SeriesCollector(n);
  const offsets = op === 'limit_ratio' ? input.map((s) => ratioOffset(s.labels)) : undefined;
  let step = 0;
  const valueAt = (si: number): number => (input[si] as StepSeries).values[step] as number;
  const topLess = (a: number, b: number): boolean => {
    const va = valueAt(a);
    return Number.isNaN(va) || va < valueAt(b);
  };
  const bottomLess = (a: number, b: number): boolean => {
    const va = valueAt(a);
    return Number.isNaN(va) || va > valueAt(b);
  };
  for (step = 0; step < n; step++) {
    const p = param[step] as number;
    let k = 0;
    let r = 0;
    if (op === 'limit_ratio') {
      if (p === 0) continue;
      r = Math.min(1, Math.max(-1, p));
    } else {
      k = Math.min(Math.trunc(p), input.length);
      if (k < 1) continue;
    }
    const heaps: (IndexHeap | undefined)[] = new Array(labels.length);
    for (let si = 0; si < input.length; si++) {
      const s = input[si] as StepSeries;
      if (s.present[step] === 0) continue;
      if ((op === 'topk' || op === 'bottomk') && s.hists?.[step] !== undefined) {
        annos.info(annotationText.histogramIgnoredInAggregation(op));
        continue;
      }
      const gi = of[si] as number;
      let h = heaps[gi];
      if (h === undefined) {
        h = new IndexHeap(op === 'bottomk' ? bottomLess : topLess);
        heaps[gi] = h;
      }
      const f = s.values[step] as number;
      switch (op) {
        case 'topk': {
          if (h.items.length < k) h.push(si);
          else {
            const root = valueAt(h.items[0] as number);
            if (root < f || (Number.isNaN(root) && !Number.isNaN(f))) {
              h.items[0] = si;
              if (k > 1) h.fix(0);
            }
          }
          break;
        }
        case 'bottomk': {
          if (h.items.length < k) h.push(si);
          else {
            const root = valueAt(h.items[0] as number);
            if (root > f || (Number.isNaN(root) && !Number.isNaN(f))) {
              h.items[0] = si;
              if (k > 1) h.fix(0);
            }
          }
          break;
        }
        case 'limitk':
          if (h.items.length < k) h.push(si);
          break;
        case 'limit_ratio': {
          const offset = (offsets as number[])[si] as number;
          // Prometheus's HashRatioSampler: a stable per-series offset decides membership.
          const keep = r >= 0 ? offset < r : offset >= 1 + r;
          if (keep) h.push(si);
          break;
        }
      }
    }
    for (const h of heaps) {
      if (h === undefined) continue;
      const items = h.items.slice();
      if (op === 'topk' || op === 'bottomk') {
        const less = op === 'topk' ? topLess : bottomLess;
        // sort.Reverse of the heap order; a stable sort matches Go's insertion sort for small k.
        items.sort((a, b) => (less(b, a) ? -1 : less(a, b) ? 1 : 0));
      }
      for (const si of items) {
        const s = input[si] as StepSeries;
        const hv = s.hists?.[step];
        if (hv !== undefined) out.setHistogram(out.get(s.labels, s.dropName), step, hv);
        else out.set(out.get(s.labels, s.dropName), step, s.values[step] as number);
      }
    }
  }
  return out.series;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent. */
export function formatFloatPlain(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Number.POSITIVE_INFINITY) return '+Inf';
  if (f === Number.NEGATIVE_INFINITY) return '-Inf';
  const s = String(f);
  if (!s.includes('e')) return s;
  const neg = f < 0;
  const [mant, expStr] = (neg ? s.slice(1) : s).split('e') as [string, string];
  const exp = Number(expStr);
  const [intPart, frac = ''] = mant.split('.') as [string, string?];
  const digits = intPart + frac;
  const point = intPart.length + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return neg ? `-${out}` : out;
}

/** count_values("label", v): counts series per distinct value, the value becoming a label. */
export function countValues(
  input: StepSeries[],
  grouping: readonly string[],
  without: boolean,
  valueLabel: string,
  n: number,
): StepSeries[] {
  const groupingWithLabel = without ? grouping : [...grouping, valueLabel];
  const out = new SeriesCollector(n);
  const cache = new Map<string, Labels>();
  for (let i = 0; i < n; i++) {
    const counts = new Map<StepSeries, number>();
    for (const s of input) {
      if (s.present[i] === 0) continue;
      const hv = s.hists?.[i];
      const text = hv !== undefined ? formatFloatHistogram(hv) : formatFloatPlain(s.values[i] as number);
      const ck = `${s.labels.key()}\u0000${text}`;
      let g = cache.get(ck);
      if (g === undefined) {
        g = groupingLabels(s.labels.with(valueLabel, text), groupingWithLabel, without);
        cache.set(ck, g);
      }
      const o = out.get(g, false);
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    for (const [o, c] of counts) out.set(o, i, c);
  }
  return out.series;
}
