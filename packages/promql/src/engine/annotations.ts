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

/** `"x"` quoting like Go's %q for the label values and names that appear in messages. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Go's %g for the numbers that appear in annotation messages. */
export function goFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Number.POSITIVE_INFINITY) return '+Inf';
  if (f === Number.NEGATIVE_INFINITY) return '-Inf';
  const exp = f === 0 ? 0 : Math.floor(Math.log10(Math.abs(f)));
  if (exp < -4 || exp >= 6) {
    // Go's shortest %g switches to exponent form from 1e+06 on.
    const [mant, e] = f.toExponential().split('e') as [string, string];
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(f);
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
  forcedMonotonicity: (metricName: string) =>
    `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)${forMetric(metricName)}`,
};
