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
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i] as string;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x07) out += '\\a';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0b) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0xdc80 && c <= 0xdcff && !(i > 0 && isHighSurrogate(s.charCodeAt(i - 1)))) {
      // The parser keeps an invalid UTF-8 byte as a lone surrogate; Go prints it as \xNN.
      out += `\\x${(c - 0xdc00).toString(16).padStart(2, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
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
