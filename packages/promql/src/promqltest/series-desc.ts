/**
 * Fallback reader of promqltest series lines (`name{a="b"} 1+2x3 _ stale _x3`), used until the
 * parser exposes `parseSeriesDesc`. Labels go through the PromQL selector parser; the value
 * notation is expanded here: `_` missing, `_xN` N missing, `v` one value, `vxN` N+1 copies,
 * `a+bxN`/`a-bxN` N+1 values stepping by ±b, `stale` the staleness marker, `{{…}}` a native
 * histogram (flagged, not decoded).
 */
import { Labels, STALE_NAN } from '@thanos-ts/tsdb';
import {
  addFloatHistograms,
  copyFloatHistogram,
  type FloatHistogram,
  subFloatHistograms,
} from '@thanos-ts/tsdb/histogram';
import { parseMetricSelector } from '../parser/parser.js';
import { type HistogramLiteral, parseHistogramLiteral } from './histogram-literal.js';

/** One expanded point of a series line. */
export interface SeriesPoint {
  value: number;
  omitted: boolean;
  histogram: boolean;
  /** The native histogram sample, when `histogram`. */
  h?: FloatHistogram;
  /** Whether the literal named its counter reset hint (an expected value then compares it). */
  hintSet?: boolean;
}

/** `base`, then `times` more values, each `combine`d from the previous one and `inc` (parse.go's histogramsSeries). */
function histogramSeries(base: HistogramLiteral, inc: HistogramLiteral, times: number, sub: boolean): SeriesPoint[] {
  const out: SeriesPoint[] = [{ value: 0, omitted: false, histogram: true, h: base.h, hintSet: base.hintSet }];
  let cur = base.h;
  for (let k = 1; k <= times; k++) {
    if (cur.schema > inc.h.schema) {
      throw new Error(`error combining histograms: cannot merge from schema ${inc.h.schema} to ${cur.schema}`);
    }
    const next = copyFloatHistogram(cur);
    if (sub) subFloatHistograms(next, inc.h);
    else addFloatHistograms(next, inc.h);
    cur = next;
    out.push({ value: 0, omitted: false, histogram: true, h: cur, hintSet: inc.hintSet });
  }
  return out;
}

function parseNum(s: string): number {
  if (/^[+-]?inf$/i.test(s)) return s.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^[+-]?nan$/i.test(s)) return Number.NaN;
  if (/^[+-]?0x[0-9a-f]+$/i.test(s)) return Number.parseInt(s, 16);
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new Error(`invalid number ${JSON.stringify(s)}`);
  return v;
}

/** Splits a series line into its metric part and value items. */
function split(line: string): [string, string] {
  let i = 0;
  let depth = 0;
  let quote = '';
  for (; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (depth === 0 && (c === ' ' || c === '\t')) break;
  }
  return [line.slice(0, i), line.slice(i).trim()];
}

/** Parses one series line. */
export function readSeriesLine(line: string): { labels: Labels; values: SeriesPoint[] } {
  const [metric, rest] = split(line.trim());
  const labels = Labels.from(parseMetricSelector(metric).map((m) => [m.name, m.value] as const));
  const values: SeriesPoint[] = [];
  // Histogram literals may contain spaces: replace each `{{…}}` by a placeholder first.
  const literals: HistogramLiteral[] = [];
  const items = rest
    .replace(/\{\{(.*?)\}\}/g, (_, body: string) => {
      literals.push(parseHistogramLiteral(body));
      return `HISTOGRAM${literals.length - 1}.`;
    })
    .split(/\s+/)
    .filter((x) => x !== '');
  for (const item of items) {
    if (item === '_') {
      values.push({ value: 0, omitted: true, histogram: false });
      continue;
    }
    const blank = /^_x(\d+)$/.exec(item);
    if (blank) {
      for (let k = 0; k < Number(blank[1]); k++) values.push({ value: 0, omitted: true, histogram: false });
      continue;
    }
    if (item === 'stale') {
      values.push({ value: STALE_NAN, omitted: false, histogram: false });
      continue;
    }
    if (item.startsWith('HISTOGRAM')) {
      const m = /^HISTOGRAM(\d+)\.(?:([+-])HISTOGRAM(\d+)\.)?(?:x(\d+))?$/.exec(item);
      if (!m) throw new Error(`invalid histogram series item ${JSON.stringify(item)}`);
      const base = literals[Number(m[1])] as HistogramLiteral;
      const times = m[4] === undefined ? 0 : Number(m[4]);
      if (m[3] !== undefined) {
        values.push(...histogramSeries(base, literals[Number(m[3])] as HistogramLiteral, times, m[2] === '-'));
        continue;
      }
      for (let k = 0; k <= times; k++) {
        values.push({ value: 0, omitted: false, histogram: true, h: base.h, hintSet: base.hintSet });
      }
      continue;
    }
    const m = /^([+-]?(?:[^+\-x]|[eE][+-])+)(?:([+-])((?:[^x]|[eE][+-])+))?x(\d+)$/.exec(item);
    if (m) {
      const start = parseNum(m[1] as string);
      const incr = m[3] === undefined ? 0 : parseNum(m[3]) * (m[2] === '-' ? -1 : 1);
      const times = Number(m[4]);
      let v = start;
      for (let k = 0; k <= times; k++) {
        values.push({ value: v, omitted: false, histogram: false });
        v += incr;
      }
      continue;
    }
    values.push({ value: parseNum(item), omitted: false, histogram: false });
  }
  return { labels, values };
}
