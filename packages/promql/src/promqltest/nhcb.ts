/**
 * `load_with_nhcb`: classic histogram series (`x_bucket{le=…}`, `x_count`, `x_sum`) also loaded
 * as native histograms with custom buckets named `x`, one per timestamp (Prometheus's
 * util/convertnhcb as promqltest uses it).
 */
import { Labels, METRIC_NAME } from '@thanos-ts/tsdb';
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA, type FloatHistogram } from '@thanos-ts/tsdb/histogram';
import { parseGoFloat } from '../engine/functions/histogram.js';

interface TempHistogram {
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
  hasCount: boolean;
  failed: boolean;
}

function setBucketCount(h: TempHistogram, le: number, count: number): void {
  if (h.failed) return;
  if (Number.isNaN(le) || count < 0) {
    h.failed = true;
    return;
  }
  const b = h.buckets;
  const last = b[b.length - 1];
  if (last === undefined) b.push({ le, count });
  else if (last.le < le) {
    if (count < last.count) h.failed = true;
    else b.push({ le, count });
  } else if (last.le !== le) {
    let i = 0;
    while (i < b.length && (b[i] as { le: number }).le < le) i++;
    if ((b[i] as { le: number }).le === le) return;
    if ((i > 0 && count < (b[i - 1] as { count: number }).count) || count > (b[i] as { count: number }).count) {
      h.failed = true;
      return;
    }
    b.splice(i, 0, { le, count });
  }
}

/** The native histogram of one timestamp, or undefined when the classic data is inconsistent. */
function convert(t: TempHistogram): FloatHistogram | undefined {
  if (t.failed) return undefined;
  const buckets = t.buckets.slice();
  let count = t.count;
  if (!t.hasCount && buckets.length > 0) count = (buckets[buckets.length - 1] as { count: number }).count;
  if (buckets.length === 0 || (buckets[buckets.length - 1] as { le: number }).le !== Number.POSITIVE_INFINITY) {
    buckets.push({ le: Number.POSITIVE_INFINITY, count });
  }
  if (count !== (buckets[buckets.length - 1] as { count: number }).count) return undefined;
  const positiveBuckets: number[] = [];
  const customValues: number[] = [];
  let prev = 0;
  for (const b of buckets) {
    positiveBuckets.push(b.count - prev);
    prev = b.count;
    if (b.le !== Number.POSITIVE_INFINITY) customValues.push(b.le);
  }
  return {
    counterResetHint: CounterResetHint.Unknown,
    schema: CUSTOM_BUCKETS_SCHEMA,
    zeroThreshold: 0,
    zeroCount: 0,
    count,
    sum: t.sum,
    positiveSpans: [{ offset: 0, length: positiveBuckets.length }],
    negativeSpans: [],
    positiveBuckets,
    negativeBuckets: [],
    customValues,
  };
}

/** One loaded series: labels and its samples (time ms, value). */
export interface LoadedSeries {
  labels: Labels;
  samples: { t: number; v: number }[];
}

/** The custom-bucket histogram series that `load_with_nhcb` adds for the classic histograms among `series`. */
export function classicToNhcb(
  series: LoadedSeries[],
): { labels: Labels; samples: { t: number; h: FloatHistogram }[] }[] {
  const byMetric = new Map<string, { labels: Labels; byT: Map<number, TempHistogram> }>();
  for (const s of series) {
    const name = s.labels.get(METRIC_NAME);
    let suffix: 'bucket' | 'sum' | 'count' | undefined;
    for (const x of ['bucket', 'sum', 'count'] as const) if (name.endsWith(`_${x}`)) suffix ??= x;
    if (suffix === undefined) continue;
    let le = 0;
    if (suffix === 'bucket') {
      const v = parseGoFloat(s.labels.get('le'));
      if (v === undefined || Number.isNaN(v)) continue;
      le = v;
    }
    const base = Labels.from(
      [...s.labels]
        .filter((l) => l.name !== 'le')
        .map((l) => [l.name, l.name === METRIC_NAME ? name.slice(0, -suffix.length - 1) : l.value] as const),
    );
    const key = base.key();
    let m = byMetric.get(key);
    if (m === undefined) {
      m = { labels: base, byT: new Map() };
      byMetric.set(key, m);
    }
    for (const { t, v } of s.samples) {
      let h = m.byT.get(t);
      if (h === undefined) {
        h = { buckets: [], count: 0, sum: 0, hasCount: false, failed: false };
        m.byT.set(t, h);
      }
      if (suffix === 'bucket') setBucketCount(h, le, v);
      else if (suffix === 'count') {
        if (v < 0) h.failed = true;
        h.count = v;
        h.hasCount = true;
      } else h.sum = v;
    }
  }
  const out: { labels: Labels; samples: { t: number; h: FloatHistogram }[] }[] = [];
  for (const m of byMetric.values()) {
    const samples: { t: number; h: FloatHistogram }[] = [];
    for (const [t, temp] of m.byT) {
      const h = convert(temp);
      if (h !== undefined) samples.push({ t, h });
    }
    samples.sort((a, b) => a.t - b.t);
    out.push({ labels: m.labels, samples });
  }
  return out;
}
