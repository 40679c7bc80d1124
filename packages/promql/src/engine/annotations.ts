import { formatGoFloat as goFloat, goQuote } from '@thanos-ts/tsdb/goformat';

/**
 * Warnings and infos a query produces alongside its result, with Prometheus 3.9's exact wording
 * (`util/annotations`). Duplicates collapse, as in Prometheus's map of annotations.
 */
export class Annotations {
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();

  /** Adds a `PromQL warning: …` annotation; `text` is what follows the prefix. */
  warn(text: string): void {
    this.warnings.add(`PromQL warning: ${text}`);
  }

  /** Adds a `PromQL info: …` annotation; `text` is what follows the prefix. */
  info(text: string): void {
    this.infos.add(`PromQL info: ${text}`);
  }
}

function forMetric(metricName: string): string {
  return metricName === '' ? '' : ` for metric name ${goQuote(metricName)}`;
}

/** Messages of the annotations this engine emits. */
export const annotationText = {
  invalidQuantile: (q: number) => `quantile value should be between 0 and 1, got ${goFloat(q)}`,
  invalidRatio: (r: number, to: number) =>
    `ratio value should be between -1 and 1, got ${goFloat(r)}, capping to ${goFloat(to)}`,
  badBucketLabel: (metricName: string, le: string) =>
    `bucket label "le" is missing or has a malformed value of ${goQuote(le)}${forMetric(metricName)}`,
  possibleNonCounter: (metricName: string) =>
    `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${goQuote(metricName)}`,
  mixedClassicNative: (metricName: string) =>
    `vector contains a mix of classic and native histograms${forMetric(metricName)}`,
  quantileNaNResult: (metricName: string) =>
    `input to histogram_quantile has NaN observations, result is NaN${forMetric(metricName)}`,
  quantileNaNSkew: (metricName: string) =>
    `input to histogram_quantile has NaN observations, result is skewed higher${forMetric(metricName)}`,
  fractionNaNs: (metricName: string) =>
    `input to histogram_fraction has NaN observations, which are excluded from all fractions${forMetric(metricName)}`,
  mixedFloatsHistograms: (metricName: string) =>
    `encountered a mix of histograms and floats for metric name ${goQuote(metricName)}`,
  mixedFloatsHistogramsAgg: () => 'encountered a mix of histograms and floats for aggregation',
  histogramNotCounter: (metricName: string) => `this native histogram metric is not a counter: ${goQuote(metricName)}`,
  histogramNotGauge: (metricName: string) => `this native histogram metric is not a gauge: ${goQuote(metricName)}`,
  mixedExponentialCustom: (metricName: string) =>
    `vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${goQuote(metricName)}`,
  incompatibleBucketLayout: (op: string) => `incompatible bucket layout encountered for binary operator ${op}`,
  incompatibleTypesInBinOp: (lhs: string, op: string, rhs: string) =>
    `incompatible sample types encountered for binary operator ${goQuote(op)}: ${lhs} ${op} ${rhs}`,
  histogramIgnoredInAggregation: (agg: string) => `ignored histogram in ${agg} aggregation`,
  histogramIgnoredInMixedRange: (metricName: string) =>
    `ignored histograms in a range containing both floats and histograms for metric name ${goQuote(metricName)}`,
  counterResetCollision: (op: 'addition' | 'subtraction' | 'aggregation') =>
    `conflicting counter resets during histogram ${op}`,
  mismatchedCustomBuckets: (op: 'addition' | 'subtraction' | 'aggregation') =>
    `mismatched custom buckets were reconciled during ${op}`,
  forcedMonotonicity: (metricName: string) =>
    `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)${forMetric(metricName)}`,
};
