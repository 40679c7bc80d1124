/**
 * histogram_quantile and histogram_fraction over classic histograms (series with an `le`
 * label) and native histogram samples, and the native-only histogram_count, _sum, _avg,
 * _stddev and _stdvar.
 */
import { type Labels, METRIC_NAME } from '@thanos-ts/tsdb';
import type { FloatHistogram } from '@thanos-ts/tsdb/histogram';
import { type Annotations, annotationText } from '../annotations.js';
import {
  type NativeHistogramNote,
  nativeHistogramFraction,
  nativeHistogramQuantile,
  nativeHistogramVariance,
} from '../native-quantile.js';
import { type Bucket, bucketFraction, bucketQuantile } from '../quantile.js';
import { newStepSeries } from '../series-buffer.js';
import type { StepSeries } from '../types.js';

/** Go's strconv.ParseFloat for the forms that appear in `le` labels; undefined when invalid. */
export function parseGoFloat(s: string): number | undefined {
  const t = s.replaceAll('_', '');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^[+-]?nan$/i.test(t)) return Number.NaN;
  if (
    !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) &&
    !/^[+-]?0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?\d+$/.test(t)
  ) {
    return undefined;
  }
  if (/[xX]/.test(t)) {
    const neg = t.startsWith('-');
    const body = t.replace(/^[+-]/, '').slice(2);
    const [mant, exp] = body.split(/[pP]/) as [string, string];
    const [ip, fp = ''] = mant.split('.') as [string, string?];
    const v = Number.parseInt(ip + fp || '0', 16) * 2 ** (Number(exp) - 4 * fp.length);
    return neg ? -v : v;
  }
  return Number(t);
}

interface BucketGroup {
  labels: Labels;
  key: string;
  members: number[];
  bounds: number[];
}

function groupBuckets(input: StepSeries[], annos: Annotations): BucketGroup[] {
  const groups = new Map<string, BucketGroup>();
  input.forEach((s, i) => {
    const le = s.labels.get('le');
    const ub = parseGoFloat(le);
    if (ub === undefined) {
      if (hasFloat(s)) annos.warn(annotationText.badBucketLabel(s.labels.get(METRIC_NAME), le));
      return;
    }
    const labels = s.labels.without(['le']);
    const key = labels.key();
    let g = groups.get(key);
    if (g === undefined) {
      g = { labels, key, members: [], bounds: [] };
      groups.set(key, g);
    }
    g.members.push(i);
    g.bounds.push(ub);
  });
  return [...groups.values()];
}

function hasFloat(s: StepSeries): boolean {
  for (let i = 0; i < s.present.length; i++) if (s.present[i] !== 0 && s.hists?.[i] === undefined) return true;
  return false;
}

/**
 * Applies `classic` to the `le`-bucket groups of float samples and `native` to histogram samples,
 * step by step (Prometheus's resetHistograms): where a native histogram and classic buckets share
 * their labels at a step, neither is evaluated and a warning says why.
 */
function perStep(
  input: StepSeries[],
  n: number,
  annos: Annotations,
  classic: (buckets: Bucket[], step: number, group: BucketGroup) => number,
  native: (h: FloatHistogram, step: number, metricName: string) => number,
): StepSeries[] {
  const groups = groupBuckets(input, annos);
  const out = new Map<string, StepSeries>();
  const output = (labels: Labels, key: string): StepSeries => {
    let o = out.get(key);
    if (o === undefined) {
      o = newStepSeries(labels, n, true);
      out.set(key, o);
    }
    return o;
  };
  const nativeSeries = input.filter((s) => s.hists !== undefined);
  const nativeKeys = nativeSeries.map((s) => s.labels.key());
  const byKey = new Map(groups.map((g) => [g.key, g]));
  for (let i = 0; i < n; i++) {
    const conflicted = new Set<string>();
    for (let k = 0; k < nativeSeries.length; k++) {
      const s = nativeSeries[k] as StepSeries;
      const h = s.hists?.[i];
      if (h === undefined || s.present[i] === 0) continue;
      const key = nativeKeys[k] as string;
      const g = byKey.get(key);
      if (g?.members.some((m) => floatAt(input[m] as StepSeries, i))) {
        annos.warn(annotationText.mixedClassicNative(s.labels.get(METRIC_NAME)));
        conflicted.add(key);
        continue;
      }
      const o = output(s.labels, key);
      o.present[i] = 1;
      o.values[i] = native(h, i, s.labels.get(METRIC_NAME));
    }
    for (const g of groups) {
      if (conflicted.has(g.key)) continue;
      const buckets: Bucket[] = [];
      for (let m = 0; m < g.members.length; m++) {
        const s = input[g.members[m] as number] as StepSeries;
        if (!floatAt(s, i)) continue;
        buckets.push({ upperBound: g.bounds[m] as number, count: s.values[i] as number });
      }
      if (buckets.length === 0) continue;
      const o = output(g.labels, g.key);
      o.present[i] = 1;
      o.values[i] = classic(buckets, i, g);
    }
  }
  return [...out.values()];
}

function floatAt(s: StepSeries, i: number): boolean {
  return s.present[i] !== 0 && s.hists?.[i] === undefined;
}

function noteNative(annos: Annotations, note: NativeHistogramNote, metricName: string): void {
  if (note === 'nan-result') annos.info(annotationText.quantileNaNResult(metricName));
  else if (note === 'nan-skew') annos.info(annotationText.quantileNaNSkew(metricName));
  else if (note === 'fraction-nans') annos.info(annotationText.fractionNaNs(metricName));
}

/** histogram_quantile(φ, buckets) over classic and native histograms, with Prometheus's annotations. */
export function histogramQuantile(q: Float64Array, input: StepSeries[], n: number, annos: Annotations): StepSeries[] {
  for (let i = 0; i < n; i++) {
    const v = q[i] as number;
    // Prometheus warns at every step; one message per distinct φ is what survives dedup.
    if (Number.isNaN(v) || v < 0 || v > 1) annos.warn(annotationText.invalidQuantile(v));
  }
  return perStep(
    input,
    n,
    annos,
    (buckets, i, g) => {
      const r = bucketQuantile(q[i] as number, buckets);
      if (r.forcedMonotonicity) annos.info(annotationText.forcedMonotonicity(g.labels.get(METRIC_NAME)));
      return r.value;
    },
    (h, i, metricName) => {
      const r = nativeHistogramQuantile(q[i] as number, h);
      noteNative(annos, r.note, metricName);
      return r.value;
    },
  );
}

/** histogram_fraction(lower, upper, buckets) over classic and native histograms. */
export function histogramFraction(
  lower: Float64Array,
  upper: Float64Array,
  input: StepSeries[],
  n: number,
  annos: Annotations,
): StepSeries[] {
  return perStep(
    input,
    n,
    annos,
    (buckets, i) => bucketFraction(lower[i] as number, upper[i] as number, buckets),
    (h, i, metricName) => {
      const r = nativeHistogramFraction(lower[i] as number, upper[i] as number, h);
      noteNative(annos, r.note, metricName);
      return r.value;
    },
  );
}

/** Which property histogram_count/_sum/_avg/_stddev/_stdvar read. */
export type HistogramProperty = 'count' | 'sum' | 'avg' | 'stddev' | 'stdvar';

/** histogram_count() and friends: a float per histogram sample; float samples are dropped. */
export function histogramProperty(prop: HistogramProperty, input: StepSeries[], n: number): StepSeries[] {
  const out: StepSeries[] = [];
  for (const s of input) {
    if (s.hists === undefined) continue;
    const o = newStepSeries(s.labels, n, true);
    let any = false;
    for (let i = 0; i < n; i++) {
      const h = s.hists[i];
      if (h === undefined || s.present[i] === 0) continue;
      let v: number;
      switch (prop) {
        case 'count':
          v = h.count;
          break;
        case 'sum':
          v = h.sum;
          break;
        case 'avg':
          v = h.sum / h.count;
          break;
        case 'stddev':
          v = Math.sqrt(nativeHistogramVariance(h));
          break;
        case 'stdvar':
          v = nativeHistogramVariance(h);
          break;
      }
      o.present[i] = 1;
      o.values[i] = v;
      any = true;
    }
    if (any) out.push(o);
  }
  return out;
}
