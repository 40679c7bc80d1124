/**
 * histogram_quantile and histogram_fraction over classic histograms (series with an `le`
 * label). Native-histogram samples do not exist in this engine's storage contract yet, so the
 * native-only functions (histogram_count, _sum, _avg, _stddev, _stdvar) see no input.
 */
import { type Labels, METRIC_NAME } from '@thanos-ts/tsdb';
import { type Annotations, annotationText } from '../annotations.js';
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
  members: number[];
  bounds: number[];
}

function groupBuckets(input: StepSeries[], annos: Annotations): BucketGroup[] {
  const groups = new Map<string, BucketGroup>();
  input.forEach((s, i) => {
    const le = s.labels.get('le');
    const ub = parseGoFloat(le);
    if (ub === undefined) {
      if (s.present.includes(1)) annos.warn(annotationText.badBucketLabel(s.labels.get(METRIC_NAME), le));
      return;
    }
    const labels = s.labels.without(['le']);
    const key = labels.key();
    let g = groups.get(key);
    if (g === undefined) {
      g = { labels, members: [], bounds: [] };
      groups.set(key, g);
    }
    g.members.push(i);
    g.bounds.push(ub);
  });
  return [...groups.values()];
}

function perGroupStep(
  input: StepSeries[],
  n: number,
  annos: Annotations,
  fn: (buckets: Bucket[], step: number, group: BucketGroup) => number,
): StepSeries[] {
  const out: StepSeries[] = [];
  for (const g of groupBuckets(input, annos)) {
    const o = newStepSeries(g.labels, n, true);
    let any = false;
    for (let i = 0; i < n; i++) {
      const buckets: Bucket[] = [];
      for (let m = 0; m < g.members.length; m++) {
        const s = input[g.members[m] as number] as StepSeries;
        if (s.present[i] === 0) continue;
        buckets.push({ upperBound: g.bounds[m] as number, count: s.values[i] as number });
      }
      if (buckets.length === 0) continue;
      o.present[i] = 1;
      o.values[i] = fn(buckets, i, g);
      any = true;
    }
    if (any) out.push(o);
  }
  return out;
}

/** histogram_quantile(φ, buckets) with Prometheus's monotonicity fix and its info annotation. */
export function histogramQuantile(q: Float64Array, input: StepSeries[], n: number, annos: Annotations): StepSeries[] {
  const warned = false;
  for (let i = 0; i < n && !warned; i++) {
    const v = q[i] as number;
    if (Number.isNaN(v) || v < 0 || v > 1) {
      // Prometheus warns at every step; one message per distinct φ is what survives dedup.
      annos.warn(annotationText.invalidQuantile(v));
    }
  }
  return perGroupStep(input, n, annos, (buckets, i, g) => {
    const r = bucketQuantile(q[i] as number, buckets);
    if (r.forcedMonotonicity) annos.info(annotationText.forcedMonotonicity(g.labels.get(METRIC_NAME)));
    return r.value;
  });
}

/** histogram_fraction(lower, upper, buckets) for classic histograms. */
export function histogramFraction(
  lower: Float64Array,
  upper: Float64Array,
  input: StepSeries[],
  n: number,
  annos: Annotations,
): StepSeries[] {
  return perGroupStep(input, n, annos, (buckets, i) => bucketFraction(lower[i] as number, upper[i] as number, buckets));
}
