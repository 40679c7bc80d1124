import type { Labels } from '@thanos-ts/tsdb';
import type { EngineValue } from '../query/engine.js';

/**
 * A float as Prometheus's API writes sample values: Go's strconv.FormatFloat(v, 'f', -1, 64)
 * (shortest exact digits, never an exponent), with +Inf, -Inf and NaN spelled that way.
 */
export function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  // Expand JS's exponent form (beyond 1e21 or below 1e-6) into plain digits.
  const neg = s.startsWith('-');
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const intLen = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = `0.${'0'.repeat(-intLen)}${digits}`;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  return neg ? `-${out}` : out;
}

/** A ms timestamp as Prometheus writes it: seconds with exactly the ms digits needed (jsonutil.MarshalTimestamp). */
export function formatTimestamp(t: number): string {
  const neg = t < 0;
  const a = Math.abs(t);
  const sec = Math.floor(a / 1000);
  const frac = a - sec * 1000;
  let s = String(sec);
  if (frac !== 0) s += `.${String(frac).padStart(3, '0')}`;
  return neg ? `-${s}` : s;
}

/** Labels as a JSON object text. */
export function labelsJSON(l: Labels): string {
  const f = l.toFlat();
  let s = '{';
  for (let i = 0; i < f.length; i += 2) {
    if (i > 0) s += ',';
    s += `${JSON.stringify(f[i])}:${JSON.stringify(f[i + 1])}`;
  }
  return `${s}}`;
}

/**
 * The `data` of a query response as JSON text: {"resultType":…,"result":…}, written piecewise so
 * large matrices don't go through intermediate objects.
 */
export function queryDataJSON(v: EngineValue, stats?: unknown): string {
  const parts: string[] = [`{"resultType":"${v.type}","result":`];
  switch (v.type) {
    case 'scalar':
      parts.push(`[${formatTimestamp(v.t)},"${formatSampleValue(v.v)}"]`);
      break;
    case 'string':
      parts.push(`[${formatTimestamp(v.t)},${JSON.stringify(v.v)}]`);
      break;
    case 'vector': {
      parts.push('[');
      v.samples.forEach((s, i) => {
        parts.push(
          `${i ? ',' : ''}{"metric":${labelsJSON(s.metric)},"value":[${formatTimestamp(s.t)},"${formatSampleValue(s.f)}"]}`,
        );
      });
      parts.push(']');
      break;
    }
    case 'matrix': {
      parts.push('[');
      v.series.forEach((s, i) => {
        parts.push(`${i ? ',' : ''}{"metric":${labelsJSON(s.metric)},"values":[`);
        const n = s.timestamps.length;
        for (let j = 0; j < n; j++) {
          parts.push(
            `${j ? ',' : ''}[${formatTimestamp(s.timestamps[j] as number)},"${formatSampleValue(s.values[j] as number)}"]`,
          );
        }
        parts.push(']}');
      });
      parts.push(']');
      break;
    }
  }
  if (stats !== undefined) parts.push(`,"stats":${JSON.stringify(stats)}`);
  parts.push('}');
  return parts.join('');
}
