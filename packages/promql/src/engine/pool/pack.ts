/**
 * Compact, transferable forms of what crosses a worker boundary: series (labels and sample
 * columns), the parsed expression, and errors. Big arrays never go through structured cloning:
 * samples are copied once into fresh buffers that are then transferred (moved, not copied), and
 * labels become indices into one table of distinct strings.
 */
import { type HistogramSamples, Labels, Matcher } from '@thanos-ts/tsdb';
import {
  QueryCanceledError,
  QueryEvaluationError,
  QueryTimeoutError,
  TooManyPointsError,
  TooManySamplesError,
  UnsupportedQueryError,
} from '../errors.js';
import { type PackedHistograms, startHistogramPack, unpackHistograms } from './pack-histograms.js';

/** One series as packed or unpacked: labels and parallel sample columns. @internal */
export interface SeriesColumns {
  labels: Labels;
  timestamps: Float64Array;
  values: Float64Array;
  /** Native histogram samples, when the series has a histogram column. */
  histograms?: HistogramSamples;
}

/**
 * Many series in seven flat pieces. Series `i`'s labels are the (name, value) symbol indices
 * `labelRefs[labelEnds[i-1] .. labelEnds[i]]` and its samples `timestamps/values[sampleEnds[i-1]
 * .. sampleEnds[i]]` (with `-1` read as 0). @internal
 */
export interface PackedSeries {
  /** Every distinct label name and value, concatenated (one flat string clones as one copy). */
  symbols: string;
  /** End offset, in UTF-16 code units, of each symbol in `symbols`. */
  symbolEnds: Uint32Array;
  labelRefs: Uint32Array;
  labelEnds: Uint32Array;
  sampleEnds: Float64Array;
  timestamps: Float64Array;
  values: Float64Array;
  /** The series' histogram columns; absent when no series has one (the float-only wire format). */
  histograms?: PackedHistograms;
}

/**
 * A packing in progress: labels are packed and the column buffers allocated; `copy` fills the
 * columns a slice at a time, so a caller on a busy event loop can yield between slices.
 */
export interface PackJob {
  readonly packed: PackedSeries;
  /** Copies up to `maxSamples` more samples; returns true once every sample is copied. */
  copy(maxSamples: number): boolean;
}

/**
 * Starts packing `series` into fresh buffers and appends those buffers to `transfer`. The
 * inputs are copied, never transferred: they may be views into a store's memory (memory storage
 * hands out subarrays of its columns). Nothing may change the inputs until the job is done.
 */
export function startPack(series: readonly SeriesColumns[], transfer: ArrayBuffer[]): PackJob {
  const symbolIndex = new Map<string, number>();
  const symbolList: string[] = [];
  let labelCount = 0;
  let sampleCount = 0;
  for (const s of series) {
    labelCount += s.labels.size * 2;
    sampleCount += s.timestamps.length;
  }
  const labelRefs = new Uint32Array(labelCount);
  const labelEnds = new Uint32Array(series.length);
  const sampleEnds = new Float64Array(series.length);
  const timestamps = new Float64Array(sampleCount);
  const values = new Float64Array(sampleCount);
  let l = 0;
  let o = 0;
  for (let i = 0; i < series.length; i++) {
    const s = series[i] as SeriesColumns;
    for (const sym of s.labels.toFlat()) {
      let ref = symbolIndex.get(sym);
      if (ref === undefined) {
        ref = symbolList.length;
        symbolIndex.set(sym, ref);
        symbolList.push(sym);
      }
      labelRefs[l++] = ref;
    }
    labelEnds[i] = l;
    o += s.timestamps.length;
    sampleEnds[i] = o;
  }
  const symbolEnds = new Uint32Array(symbolList.length);
  let end = 0;
  symbolList.forEach((sym, i) => {
    end += sym.length;
    symbolEnds[i] = end;
  });
  transfer.push(
    symbolEnds.buffer,
    labelRefs.buffer,
    labelEnds.buffer,
    sampleEnds.buffer,
    timestamps.buffer,
    values.buffer,
  );
  const histogramJob = startHistogramPack(
    series.map((s) => s.histograms),
    transfer,
  );
  const packed: PackedSeries = {
    symbols: symbolList.join(''),
    symbolEnds,
    labelRefs,
    labelEnds,
    sampleEnds,
    timestamps,
    values,
    ...(histogramJob === undefined ? {} : { histograms: histogramJob.packed }),
  };
  // Copy position: series `next`, sample `within` of it, written at `at`.
  let next = 0;
  let within = 0;
  let at = 0;
  return {
    packed,
    copy(maxSamples: number): boolean {
      let left = maxSamples;
      while (next < series.length && left > 0) {
        const s = series[next] as SeriesColumns;
        const n = Math.min(s.timestamps.length - within, left);
        if (within === 0 && n === s.timestamps.length) {
          timestamps.set(s.timestamps, at);
          values.set(s.values, at);
        } else {
          timestamps.set(s.timestamps.subarray(within, within + n), at);
          values.set(s.values.subarray(within, within + n), at);
        }
        at += n;
        left -= n;
        within += n;
        if (within === s.timestamps.length) {
          next++;
          within = 0;
        }
      }
      // Series without samples (labels-only selects) need no copying.
      while (next < series.length && (series[next] as SeriesColumns).timestamps.length === 0) next++;
      if (next < series.length) return false;
      return histogramJob === undefined || histogramJob.copy(Math.max(left, 1));
    },
  };
}

/** Packs `series` at once (see `startPack`). */
export function packSeries(series: readonly SeriesColumns[], transfer: ArrayBuffer[]): PackedSeries {
  const job = startPack(series, transfer);
  job.copy(Number.POSITIVE_INFINITY);
  return job.packed;
}

/** Unpacks series; sample columns are views into the packed buffers (no copy). */
export function unpackSeries(p: PackedSeries): SeriesColumns[] {
  const symbols: string[] = new Array(p.symbolEnds.length);
  let start = 0;
  for (let i = 0; i < p.symbolEnds.length; i++) {
    const end = p.symbolEnds[i] as number;
    symbols[i] = p.symbols.slice(start, end);
    start = end;
  }
  const histograms = p.histograms === undefined ? undefined : unpackHistograms(p.histograms);
  const out: SeriesColumns[] = new Array(p.labelEnds.length);
  let l = 0;
  let o = 0;
  for (let i = 0; i < p.labelEnds.length; i++) {
    const lend = p.labelEnds[i] as number;
    const flat: string[] = new Array(lend - l);
    for (let k = 0; l < lend; l++, k++) flat[k] = symbols[p.labelRefs[l] as number] as string;
    const oend = p.sampleEnds[i] as number;
    out[i] = {
      // Labels were sorted and unique where they were packed.
      labels: flat.length === 0 ? Labels.EMPTY : Labels.fromSortedFlat(flat),
      timestamps: p.timestamps.subarray(o, oend),
      values: p.values.subarray(o, oend),
    };
    const h = histograms?.[i];
    if (h !== undefined) (out[i] as SeriesColumns).histograms = h;
    o = oend;
  }
  return out;
}

/** Marks a matcher in a cloneable expression graph. */
const MATCHER_TAG = '__thanosTsMatcher';

interface TaggedMatcher {
  [MATCHER_TAG]: true;
  type: Matcher['type'];
  name: string;
  value: string;
}

/**
 * Copies an expression graph (or several roots sharing nodes) into plain data that structured
 * cloning accepts. Matchers, which hold compiled regular expressions, become tagged records.
 * Shared nodes stay shared: `memo` maps each original object to its copy, and structured cloning
 * keeps identity within one message, so the evaluator's selector-keyed maps still line up.
 */
export function toCloneable(value: unknown, memo: Map<object, unknown>): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function') throw new TypeError('an expression node holds a function');
    return value;
  }
  const seen = memo.get(value);
  if (seen !== undefined) return seen;
  if (value instanceof Matcher) {
    const tagged: TaggedMatcher = { [MATCHER_TAG]: true, type: value.type, name: value.name, value: value.value };
    memo.set(value, tagged);
    return tagged;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    memo.set(value, copy);
    for (const v of value) copy.push(toCloneable(v, memo));
    return copy;
  }
  const copy: Record<string, unknown> = {};
  memo.set(value, copy);
  for (const [k, v] of Object.entries(value)) copy[k] = toCloneable(v, memo);
  return copy;
}

/** Turns the tagged matchers of a cloned graph back into `Matcher`s, in place. */
export function rehydrateMatchers(root: unknown): void {
  const visited = new Set<object>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || visited.has(node)) return;
    visited.add(node);
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const v = record[key];
      if (v !== null && typeof v === 'object' && MATCHER_TAG in v) {
        const t = v as TaggedMatcher;
        record[key] = new Matcher(t.type, t.name, t.value);
      } else visit(v);
    }
  };
  visit(root);
}

/** An error as it crosses the worker boundary. @internal */
export interface ErrorRecord {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/** Records an error thrown in a worker. */
export function recordError(err: unknown): ErrorRecord {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.stack !== undefined ? { stack: err.stack } : {}),
    };
  }
  return { name: 'Error', message: String(err) };
}

const suffixAfter = (message: string, prefix: string): string =>
  message.startsWith(prefix) ? message.slice(prefix.length) : message;

/**
 * Rebuilds the engine's own error classes from a record, so callers can match on class or `code`
 * exactly as with in-thread evaluation. Anything else becomes a plain Error with the worker's
 * stack.
 */
export function reviveError(r: ErrorRecord): Error {
  switch (r.code) {
    case 'PROMQL_TIMEOUT':
      return new QueryTimeoutError(suffixAfter(r.message, 'query timed out in '));
    case 'PROMQL_CANCELED':
      return new QueryCanceledError(suffixAfter(r.message, 'query was canceled in '));
    case 'PROMQL_TOO_MANY_SAMPLES':
      return new TooManySamplesError(
        suffixAfter(r.message, 'query processing would load too many samples into memory in '),
      );
    case 'PROMQL_TOO_MANY_POINTS':
      return new TooManyPointsError();
    case 'PROMQL_UNSUPPORTED': {
      const suffix = ' is not supported by this engine';
      return new UnsupportedQueryError(r.message.endsWith(suffix) ? r.message.slice(0, -suffix.length) : r.message);
    }
  }
  if (r.code !== undefined && r.name.endsWith('Error') && r.code.startsWith('PROMQL_'))
    return new QueryEvaluationError(r.message, r.code);
  const e = new Error(r.message);
  e.name = r.name;
  if (r.stack !== undefined) e.stack = r.stack;
  return e;
}
