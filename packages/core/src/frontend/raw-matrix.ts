import { formatTimestamp } from '../http/json.js';
import { JSONBytes } from '../http/json-bytes.js';
import {
  extractStats,
  MATRIX_START,
  type MatrixResponse,
  type MatrixSeries,
  type MatrixStats,
  mergeStats,
  metricKey,
  pushDistinct,
  sortByMetric,
  writeHistograms,
  writeMatrixEnd,
} from './matrix.js';

/**
 * The float samples of one downstream body, cache entry or rebuilt answer, as columns. Sample i is
 * the bytes [starts[i], ends[i]) of `buf`: the JSON text `[<seconds>,"<value>"]` exactly as
 * encodeMatrixResponse writes it, at ts[i] ms. Consecutive samples of one series are adjacent with
 * a single comma between them, so any run of them is one byte range that the encoder copies.
 */
export interface SampleColumn {
  readonly buf: Uint8Array;
  /**
   * Sample timestamps, ms; NaN where not read from the bytes yet (a cache entry's column, whose
   * timestamps a hit mostly never needs). Read them with {@link sampleTime}.
   */
  readonly ts: Float64Array;
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
}

/**
 * The timestamp (ms) of sample i of `col`, read from its text on first use. A cache hit looks at
 * a few timestamps per series (where runs are cut and joined) out of thousands: parsing every one
 * when the entry was read was most of a hit's CPU for answers of raw samples.
 */
export function sampleTime(col: SampleColumn, i: number): number {
  const t = col.ts[i] as number;
  if (!Number.isNaN(t)) return t;
  const parsed = timestampAt(col.buf, (col.starts[i] as number) + 1);
  col.ts[i] = parsed;
  return parsed;
}

/** The ms of a timestamp written by formatTimestamp at p (`-?\d+(\.\d{3})?`), followed by a comma. */
function timestampAt(b: Uint8Array, p: number): number {
  const neg = b[p] === 0x2d;
  if (neg) p++;
  let sec = 0;
  let digits = 0;
  for (let c = b[p] as number; c >= 0x30 && c <= 0x39; c = b[++p] as number, digits++) sec = sec * 10 + (c - 0x30);
  if (digits === 0 || digits > 15) throw new Error('sample timestamp out of place');
  let ms = sec * 1000;
  if (b[p] === 0x2e) {
    const d1 = (b[p + 1] as number) - 0x30;
    const d2 = (b[p + 2] as number) - 0x30;
    const d3 = (b[p + 3] as number) - 0x30;
    if (!(d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9 && d3 >= 0 && d3 <= 9))
      throw new Error('sample timestamp out of place');
    ms += d1 * 100 + d2 * 10 + d3;
    p += 4;
  }
  if (b[p] !== 0x2c) throw new Error('sample timestamp out of place');
  return neg ? -ms : ms;
}

/** Samples [from, to) of a column (from < to), all of one series, in time order. */
export interface SampleRun {
  col: SampleColumn;
  from: number;
  to: number;
}

/** One series of a {@link RawMatrix}: float samples as runs over columns, in time order. */
export interface RawSeries {
  metric: Record<string, string>;
  /** Runs in time order, each later than the one before (never empty runs). */
  runs: SampleRun[];
  /** Native histograms, [ms, histogram object], in time order (Prometheus's `histograms`). */
  histograms: [number, unknown][];
}

/**
 * A range query answer as the frontend carries it from the downstream through the results cache
 * to the client: a {@link MatrixResponse} whose float samples stay the downstream's bytes, so
 * merging split pieces and cache extents joins runs and encoding copies bytes (the per-sample
 * strings of the plain form made the frontend slower than the querier behind it).
 */
export interface RawMatrix {
  series: RawSeries[];
  warnings: string[];
  infos: string[];
  /** As MatrixResponse.stats. */
  stats?: MatrixStats;
}

/** Builds a column sample by sample or run by run, series after series. */
export class ColumnBuilder {
  private readonly w: JSONBytes;
  private ts: Float64Array;
  private starts: Uint32Array;
  private ends: Uint32Array;
  private n = 0;
  /** The current series has a sample, so the next one is preceded by a comma. */
  private open = false;

  /** `samples` and `bytes`: expected sizes (the builder grows past them). */
  constructor(samples = 1024, bytes = 64 * 1024) {
    this.w = new JSONBytes(bytes);
    this.ts = new Float64Array(Math.max(16, samples));
    this.starts = new Uint32Array(this.ts.length);
    this.ends = new Uint32Array(this.ts.length);
  }

  /** Samples written so far: the index the next one gets. */
  get count(): number {
    return this.n;
  }

  private grow(extra: number): void {
    if (this.n + extra <= this.ts.length) return;
    const cap = Math.max(2 * this.ts.length, this.n + extra);
    const ts = new Float64Array(cap);
    ts.set(this.ts.subarray(0, this.n));
    const starts = new Uint32Array(cap);
    starts.set(this.starts.subarray(0, this.n));
    const ends = new Uint32Array(cap);
    ends.set(this.ends.subarray(0, this.n));
    this.ts = ts;
    this.starts = starts;
    this.ends = ends;
  }

  /** Appends a sample from its timestamp (ms) and value text. */
  sample(t: number, value: string): void {
    this.grow(1);
    if (this.open) this.w.byte(0x2c);
    const start = this.w.length;
    this.w.ascii('[');
    this.w.ascii(formatTimestamp(t));
    this.w.ascii(',');
    this.w.quoted(value);
    this.w.ascii(']');
    this.ts[this.n] = t;
    this.starts[this.n] = start;
    this.ends[this.n] = this.w.length;
    this.n++;
    this.open = true;
  }

  /** Appends samples [from, to) of `col`, which are adjacent there, as one byte copy. */
  copy(col: SampleColumn, from: number, to: number): void {
    if (from >= to) return;
    this.grow(to - from);
    if (this.open) this.w.byte(0x2c);
    const src = col.starts[from] as number;
    const delta = this.w.length - src;
    this.w.raw(col.buf, src, col.ends[to - 1] as number);
    // Unread timestamps (NaN) stay unread: the bytes they come from are copied along.
    for (let i = from; i < to; i++) {
      this.ts[this.n] = col.ts[i] as number;
      this.starts[this.n] = (col.starts[i] as number) + delta;
      this.ends[this.n] = (col.ends[i] as number) + delta;
      this.n++;
    }
    this.open = true;
  }

  /** Ends the current series: its next sample starts a new one (no comma before it). */
  endSeries(): void {
    this.open = false;
  }

  /** The column; the builder must not be used after. */
  finish(): SampleColumn {
    return {
      buf: this.w.bytes(),
      ts: this.ts.subarray(0, this.n),
      starts: this.starts.subarray(0, this.n),
      ends: this.ends.subarray(0, this.n),
    };
  }
}

/** Points runs made while `b` was still being written at its finished column. */
function finishRuns(b: ColumnBuilder, pending: SampleRun[]): void {
  if (pending.length === 0) return;
  const col = b.finish();
  for (const r of pending) r.col = col;
}

/**
 * The column of a run until its builder or scan finishes. A real column object (not undefined),
 * so every run has one shape: a field that changed from undefined to an object made V8 discard
 * the scanner's optimized loop at every body.
 */
export const PENDING_COLUMN: SampleColumn = {
  buf: new Uint8Array(0),
  ts: new Float64Array(0),
  starts: new Uint32Array(0),
  ends: new Uint32Array(0),
};

/** The raw form of a plain answer (the samples written once into a new column). */
export function rawFromMatrix(m: MatrixResponse): RawMatrix {
  let samples = 0;
  for (const s of m.series) samples += s.timestamps.length;
  const b = new ColumnBuilder(samples, 32 * samples + 64);
  const pending: SampleRun[] = [];
  const series = m.series.map((s): RawSeries => {
    const from = b.count;
    for (let i = 0; i < s.timestamps.length; i++) b.sample(s.timestamps[i] as number, s.values[i] as string);
    b.endSeries();
    const runs: SampleRun[] = [];
    if (b.count > from) {
      const run = { col: PENDING_COLUMN, from, to: b.count };
      pending.push(run);
      runs.push(run);
    }
    return { metric: s.metric, runs, histograms: s.histograms };
  });
  finishRuns(b, pending);
  const out: RawMatrix = { series, warnings: m.warnings, infos: m.infos };
  if (m.stats) out.stats = m.stats;
  return out;
}

/** The value text of sample i (the JSON string after the timestamp, unquoted). */
function sampleValue(col: SampleColumn, i: number): string {
  const text = Buffer.from(col.buf.buffer, col.buf.byteOffset, col.buf.byteLength).toString(
    'utf8',
    col.starts[i],
    col.ends[i],
  );
  return String((JSON.parse(text) as [number, unknown])[1]);
}

/** The plain form of a raw answer (a string per sample: for tests and small answers only). */
export function matrixFromRaw(r: RawMatrix): MatrixResponse {
  const series = r.series.map((s): MatrixSeries => {
    const timestamps: number[] = [];
    const values: string[] = [];
    for (const run of s.runs)
      for (let i = run.from; i < run.to; i++) {
        timestamps.push(sampleTime(run.col, i));
        values.push(sampleValue(run.col, i));
      }
    return { metric: s.metric, timestamps, values, histograms: s.histograms };
  });
  const out: MatrixResponse = { series, warnings: r.warnings, infos: r.infos };
  if (r.stats) out.stats = r.stats;
  return out;
}

/** Number of float samples of a series. */
export function sampleCount(s: RawSeries): number {
  let n = 0;
  for (const r of s.runs) n += r.to - r.from;
  return n;
}

/** First index in [from, to) of `col` whose timestamp is greater than `t`. */
function firstAfter(col: SampleColumn, from: number, to: number, t: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sampleTime(col, mid) > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Samples of `pts` after `t` (binary search; `pts` is in time order). */
function histogramsAfter(pts: [number, unknown][], t: number): [number, unknown][] {
  let lo = 0;
  let hi = pts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((pts[mid] as [number, unknown])[0] > t) hi = mid;
    else lo = mid + 1;
  }
  return pts.slice(lo);
}

/** The earliest sample of an answer (Infinity when it has none), to order merge parts. */
export function rawFirstTime(r: RawMatrix): number {
  let min = Number.POSITIVE_INFINITY;
  for (const s of r.series) {
    const run = s.runs[0];
    const h = s.histograms[0];
    if (run && sampleTime(run.col, run.from) < min) min = sampleTime(run.col, run.from);
    if (h && h[0] < min) min = h[0];
  }
  return min;
}

/**
 * mergeMatrices over raw answers: series joined by their labels, runs appended in time order with
 * samples at a timestamp already present skipped, warnings and infos kept once each, series in
 * Prometheus's order. Joins runs; copies no sample.
 */
export function mergeRawMatrices(parts: readonly RawMatrix[], opts: { shards?: boolean } = {}): RawMatrix {
  const ordered = [...parts].sort((a, b) => rawFirstTime(a) - rawFirstTime(b));
  const out = new Map<string, RawSeries>();
  const warnings: string[] = [];
  const infos: string[] = [];
  const seenW = new Set<string>();
  const seenI = new Set<string>();
  for (const p of ordered) {
    pushDistinct(warnings, p.warnings, seenW);
    pushDistinct(infos, p.infos, seenI);
    for (const s of p.series) {
      const key = metricKey(s.metric);
      const have = out.get(key);
      if (!have) {
        out.set(key, { metric: s.metric, runs: s.runs.slice(), histograms: [...s.histograms] });
        continue;
      }
      const lastRun = have.runs.at(-1);
      if (!lastRun) have.runs.push(...s.runs);
      else {
        const last = sampleTime(lastRun.col, lastRun.to - 1);
        for (const run of s.runs) {
          const from = firstAfter(run.col, run.from, run.to, last);
          if (from === run.from) have.runs.push(run);
          else if (from < run.to) have.runs.push({ col: run.col, from, to: run.to });
        }
      }
      const lastH = have.histograms.at(-1);
      have.histograms.push(...(lastH ? histogramsAfter(s.histograms, lastH[0]) : s.histograms));
    }
  }
  const series = sortByMetric([...out.values()], (x) => x.metric);
  const stats = mergeStats(parts, opts.shards ?? false);
  return stats ? { series, warnings, infos, stats } : { series, warnings, infos };
}

/**
 * extractMatrix over a raw answer: the samples in [start, end] and, when `step` > 0, only those on
 * the step grid from `start`. Runs are cut where they can be; samples off the grid are left out
 * by copying the kept ones into a new column.
 */
export function extractRawMatrix(r: RawMatrix, start: number, end: number, step = 0): RawMatrix {
  const keep = (t: number) => t >= start && t <= end && (step <= 0 || (t - start) % step === 0);
  const series: RawSeries[] = [];
  let b: ColumnBuilder | undefined;
  const pending: SampleRun[] = [];
  for (const s of r.series) {
    const runs: SampleRun[] = [];
    let thinned = false;
    for (const run of s.runs) {
      const col = run.col;
      const lo = firstAfter(col, run.from, run.to, start - 1);
      const hi = firstAfter(col, lo, run.to, end);
      if (lo >= hi) continue;
      let onGrid = true;
      if (step > 0)
        for (let i = lo; i < hi; i++)
          if ((sampleTime(col, i) - start) % step !== 0) {
            onGrid = false;
            break;
          }
      if (onGrid && !thinned) {
        runs.push(lo === run.from && hi === run.to ? run : { col: run.col, from: lo, to: hi });
        continue;
      }
      // Off-grid samples: the kept ones of this and every later run of the series are copied.
      if (!b) b = new ColumnBuilder(hi - lo, 32 * (hi - lo));
      if (!thinned) {
        b.endSeries();
        thinned = true;
        runs.push({ col: PENDING_COLUMN, from: b.count, to: b.count });
        pending.push(runs.at(-1) as SampleRun);
      }
      for (let i = lo; i < hi; i++) if ((sampleTime(col, i) - start) % step === 0) b.copy(col, i, i + 1);
      (runs.at(-1) as SampleRun).to = b.count;
    }
    if (thinned && (runs.at(-1) as SampleRun).from === (runs.at(-1) as SampleRun).to) {
      runs.pop();
      pending.pop();
    }
    const histograms = s.histograms.filter((p) => keep(p[0]));
    if (runs.length > 0 || histograms.length > 0) series.push({ metric: s.metric, runs, histograms });
  }
  if (b) finishRuns(b, pending);
  if (!r.stats) return { series, warnings: r.warnings, infos: r.infos };
  return { series, warnings: r.warnings, infos: r.infos, stats: extractStats(r.stats, keep) };
}

/** Runs of at least this many bytes go to the socket where they lie (see encodeRawMatrixParts). */
const ZERO_COPY_BYTES = 16 * 1024;

/**
 * The Prometheus JSON body of a raw answer, byte for byte what encodeMatrixResponse writes for its
 * plain form, as parts to write one after another: long runs are views of the downstream bodies
 * or cache entries they came from, everything else is copied into a few new buffers. A week of
 * minutely samples is megabytes; copying them into fresh memory (page faults included) was the
 * larger part of encoding.
 */
export function encodeRawMatrixParts(r: RawMatrix, withStats = false): Uint8Array[] {
  let size = 1024;
  for (const s of r.series) {
    size += 256;
    for (const run of s.runs) {
      const len = (run.col.ends[run.to - 1] as number) - (run.col.starts[run.from] as number) + 1;
      if (len < ZERO_COPY_BYTES) size += len;
    }
  }
  const parts: Uint8Array[] = [];
  const w = new JSONBytes(size);
  let mark = 0;
  const flush = () => {
    if (w.length > mark) parts.push(w.bytes().subarray(mark));
    mark = w.length;
  };
  w.ascii(MATRIX_START);
  for (let i = 0; i < r.series.length; i++) {
    const s = r.series[i] as RawSeries;
    w.ascii(i ? ',{"metric":' : '{"metric":');
    w.text(JSON.stringify(s.metric));
    if (s.runs.length > 0) {
      w.ascii(',"values":[');
      for (let j = 0; j < s.runs.length; j++) {
        const run = s.runs[j] as SampleRun;
        if (j) w.byte(0x2c);
        const from = run.col.starts[run.from] as number;
        const to = run.col.ends[run.to - 1] as number;
        if (to - from < ZERO_COPY_BYTES) w.raw(run.col.buf, from, to);
        else {
          flush();
          parts.push(run.col.buf.subarray(from, to));
        }
      }
      w.ascii(']');
    }
    writeHistograms(w, s.histograms);
    w.ascii('}');
  }
  writeMatrixEnd(w, r, withStats);
  flush();
  return parts;
}

/** {@link encodeRawMatrixParts} as one buffer. */
export function encodeRawMatrix(r: RawMatrix, withStats = false): Buffer {
  const parts = encodeRawMatrixParts(r, withStats);
  const one = parts[0] as Uint8Array;
  if (parts.length === 1) return Buffer.from(one.buffer, one.byteOffset, one.byteLength);
  return Buffer.concat(parts);
}
