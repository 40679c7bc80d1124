import type { Labels } from '@thanos-ts/tsdb';
import { formatGoFloat } from '@thanos-ts/tsdb/goformat';
import type { EngineValue } from '../query/engine.js';

/**
 * A float as Prometheus's API writes sample values: Go's strconv.FormatFloat(v, 'f', -1, 64)
 * (shortest exact digits, never an exponent), with +Inf, -Inf and NaN spelled that way.
 */
export function formatSampleValue(v: number): string {
  return formatGoFloat(v, 'f');
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
