/**
 * The native histogram notation of promqltest scripts (Prometheus's histogram series
 * descriptions): `{{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:1
 * n_buckets:[1] n_offset:0 custom_values:[1 2] counter_reset_hint:gauge}}`. Every key is optional;
 * each bucket list becomes one span starting at its offset.
 */
import { CounterResetHint, type FloatHistogram } from '@thanos-ts/tsdb/histogram';

/** A parsed histogram literal and whether it named its counter reset hint (tests then compare it). */
export interface HistogramLiteral {
  h: FloatHistogram;
  hintSet: boolean;
}

const HINTS: Record<string, CounterResetHint> = {
  unknown: CounterResetHint.Unknown,
  reset: CounterResetHint.CounterReset,
  not_reset: CounterResetHint.NotCounterReset,
  gauge: CounterResetHint.Gauge,
};

function num(s: string): number {
  if (/^[+-]?inf$/i.test(s)) return s.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^[+-]?nan$/i.test(s)) return Number.NaN;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new Error(`invalid number ${JSON.stringify(s)} in histogram description`);
  return v;
}

function int(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`invalid integer ${JSON.stringify(s)} in histogram description`);
  return Number(s);
}

/** Parses the text between `{{` and `}}`. */
export function parseHistogramLiteral(body: string): HistogramLiteral {
  const h: FloatHistogram = {
    counterResetHint: CounterResetHint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: [],
    negativeBuckets: [],
  };
  let hintSet = false;
  let offset = 0;
  let nOffset = 0;
  const seen = new Set<string>();
  const re = /([a-z_]+):\s*(\[[^\]]*\]|[^\s\]]+)/g;
  const rest = body.replace(re, (_, key: string, value: string) => {
    if (seen.has(key)) throw new Error(`duplicate key "${key}" in histogram`);
    seen.add(key);
    const list = (): number[] =>
      value
        .slice(1, -1)
        .split(/\s+/)
        .filter((x) => x !== '')
        .map(num);
    switch (key) {
      case 'schema':
        h.schema = int(value);
        break;
      case 'sum':
        h.sum = num(value);
        break;
      case 'count':
        h.count = num(value);
        break;
      case 'z_bucket':
        h.zeroCount = num(value);
        break;
      case 'z_bucket_w':
        h.zeroThreshold = num(value);
        break;
      case 'buckets':
        h.positiveBuckets = list();
        break;
      case 'n_buckets':
        h.negativeBuckets = list();
        break;
      case 'offset':
        offset = int(value);
        break;
      case 'n_offset':
        nOffset = int(value);
        break;
      case 'custom_values':
        h.customValues = list();
        break;
      case 'counter_reset_hint': {
        const hint = HINTS[value];
        if (hint === undefined) throw new Error(`error parsing counter_reset_hint: unknown value ${value}`);
        h.counterResetHint = hint;
        hintSet = true;
        break;
      }
      default:
        throw new Error(`unknown histogram description key ${JSON.stringify(key)}`);
    }
    return ' ';
  });
  if (rest.trim() !== '') throw new Error(`unexpected ${JSON.stringify(rest.trim())} in histogram description`);
  if (h.positiveBuckets.length > 0) h.positiveSpans = [{ offset, length: h.positiveBuckets.length }];
  if (h.negativeBuckets.length > 0) h.negativeSpans = [{ offset: nOffset, length: h.negativeBuckets.length }];
  return { h, hintSet };
}
