/**
 * Reading one replica's chunks when the series holds native histograms, raw or downsampled, the
 * way Thanos's querier does (pkg/query/iter.go chunkSeries.Iterator over
 * pkg/compact/downsample's iterators):
 *
 *   aggregates        per chunk                            across chunks
 *   [COUNTER]         counter sub-chunk (or raw)           ApplyCounterResetsSeriesIterator
 *   [COUNT, SUM]      sum / count (AverageChunkIterator)   chunkSeriesIterator
 *   [SUM], [COUNT],…  that sub-chunk (or raw)              chunkSeriesIterator
 *
 * A histogram aggregate chunk (written by the compactor, tsdb's downsampleRawHistograms) holds
 * count (XOR floats: histograms per window), sum (gauge float histograms: the window's histograms
 * added up) and counter (float histograms with the window's counter resets folded in); it has no
 * min or max. So `rate(h[1h])` reads the counter histograms, `sum_over_time(h[1h])` the window
 * sums, `count_over_time(h[1h])` the window counts (floats), and any other function the average
 * histogram sum / count. Thanos applies no counter-reset correction to histogram samples
 * (ApplyCounterResetsSeriesIterator passes them through: "Counter resets do not need to be handled
 * for non-float sample types"); the PromQL engine detects resets between counter chunks from the
 * histograms themselves, as Prometheus's rate does.
 */
import { decodeXorInto, type HistogramSamples, xorNumSamples } from '@thanos-ts/tsdb';
import {
  copyFloatHistogram,
  divFloatHistogram,
  type FloatHistogram,
  FloatHistogramIterator,
  HistogramIterator,
} from '@thanos-ts/tsdb/histogram';
import type { Aggr, AggrChunk, Chunk } from '../storeapi/store-api.js';
import type { MixedSamples } from './dedup.js';

/** A chunk's samples in time order: a value is a float sample or a histogram sample. */
interface ChunkSamples {
  readonly t: number[];
  readonly v: (number | FloatHistogram)[];
}

/** How a chain's aggregate chunks are read, from the aggregates the request asked for. */
type ReadMode = { kind: 'counter' } | { kind: 'average' } | { kind: 'pick'; order: readonly Aggr[] };

function readMode(aggregates: readonly Aggr[]): ReadMode {
  if (aggregates.length === 1 && aggregates[0] === 'COUNTER') return { kind: 'counter' };
  // Thanos's querier takes SUM and COUNT, in either order, as the average.
  if (aggregates.includes('COUNT') && aggregates.includes('SUM')) return { kind: 'average' };
  return { kind: 'pick', order: aggregates };
}

/** The chunk of `c` in the slot of aggregate `aggr` (raw for RAW), if present. */
export function pickChunk(c: AggrChunk, aggr: Aggr): Chunk | undefined {
  switch (aggr) {
    case 'RAW':
      return c.raw;
    case 'COUNT':
      return c.count;
    case 'SUM':
      return c.sum;
    case 'MIN':
      return c.min;
    case 'MAX':
      return c.max;
    case 'COUNTER':
      return c.counter;
  }
}

/**
 * Appends every sample of one chunk (XOR, HISTOGRAM or FLOAT_HISTOGRAM) to `out`, integer
 * histograms converted to float histograms as Prometheus's engine reads them. Throws
 * CorruptionError naming `where` for malformed bytes.
 */
export function appendChunkSamples(
  chunk: Chunk,
  where: string,
  out: { t: number[]; v: (number | FloatHistogram)[] },
): void {
  if (chunk.type === 'XOR') {
    const cap = xorNumSamples(chunk.data);
    const ts = new Float64Array(cap);
    const vs = new Float64Array(cap);
    const n = decodeXorInto(chunk.data, ts, vs, 0);
    for (let i = 0; i < n; i++) {
      out.t.push(ts[i] as number);
      out.v.push(vs[i] as number);
    }
    return;
  }
  const it =
    chunk.type === 'HISTOGRAM'
      ? new HistogramIterator(chunk.data, where, 0)
      : new FloatHistogramIterator(chunk.data, where, 0);
  while (it.next()) {
    out.t.push(it.t);
    out.v.push(it.atFloatHistogram());
  }
}

/**
 * Thanos's AverageChunkIterator over one aggregate chunk: each window's sum divided by its count,
 * a float for float sums and a float histogram (Prometheus's FloatHistogram.Div, a gauge like the
 * sum it comes from) for histogram sums. Windows are paired by position; a count and sum of
 * different lengths keep the shorter (Thanos errors "sum and count iterator not aligned"; the
 * float path here has always kept the shorter, and only corrupt data gets there).
 */
function averageSamples(count: Chunk, sum: Chunk, where: string): ChunkSamples {
  const cnt: ChunkSamples = { t: [], v: [] };
  const s: ChunkSamples = { t: [], v: [] };
  appendChunkSamples(count, `${where} count`, cnt);
  appendChunkSamples(sum, `${where} sum`, s);
  const n = Math.min(cnt.t.length, s.t.length);
  const out: ChunkSamples = { t: s.t.slice(0, n), v: new Array(n) };
  for (let i = 0; i < n; i++) {
    const c = cnt.v[i] as number;
    const x = s.v[i] as number | FloatHistogram;
    out.v[i] = typeof x === 'number' ? x / c : divFloatHistogram(copyFloatHistogram(x), c);
  }
  return out;
}

/** One chunk's samples as the request's aggregates read them; undefined when it has none of them. */
function chunkSamples(
  c: AggrChunk,
  mode: ReadMode,
  where: string,
): { samples: ChunkSamples; counterChunk: boolean } | undefined {
  const one = (ch: Chunk, name: string): ChunkSamples => {
    const out: ChunkSamples = { t: [], v: [] };
    appendChunkSamples(ch, name, out);
    return out;
  };
  if (c.raw) return { samples: one(c.raw, where), counterChunk: false };
  switch (mode.kind) {
    case 'counter':
      return c.counter ? { samples: one(c.counter, `${where} counter`), counterChunk: true } : undefined;
    case 'average':
      if (c.count && c.sum) return { samples: averageSamples(c.count, c.sum, where), counterChunk: false };
      // Only part of the average is there: read what is, as the float path does.
      for (const a of ['COUNT', 'SUM'] as const) {
        const ch = pickChunk(c, a);
        if (ch) return { samples: one(ch, `${where} ${a.toLowerCase()}`), counterChunk: false };
      }
      return undefined;
    case 'pick':
      for (const a of mode.order) {
        const ch = pickChunk(c, a);
        if (ch) return { samples: one(ch, `${where} ${a.toLowerCase()}`), counterChunk: a === 'COUNTER' };
      }
      return undefined;
  }
}

/**
 * Decodes a chain of non-overlapping chunks of one replica (raw chunks, float aggregates and
 * native histogram aggregates alike) into float and histogram columns bounded to [mint, maxt],
 * reading aggregate chunks as Thanos's querier does for `aggregates` (see the file comment).
 *
 * Counter aggregates of floats accumulate across counter resets exactly as the float path's
 * decodeChainInto (Thanos's ApplyCounterResetsSeriesIterator, its duplicated last sample carrying
 * the true last raw value); counter histograms pass through as they are, as in Thanos. Moving to
 * the next chunk skips samples not after the last one returned (the iterators' Seek(lastT+1)).
 * Throws CorruptionError (naming `name`, the chunk's position and its aggregate) for a malformed
 * chunk. Pure; safe to call concurrently.
 */
export function decodeChainMixed(
  chunks: readonly AggrChunk[],
  aggregates: readonly Aggr[],
  mint: number,
  maxt: number,
  name = 'series',
): MixedSamples {
  const mode = readMode(aggregates);
  const ft: number[] = [];
  const fv: number[] = [];
  const ht: number[] = [];
  const hv: FloatHistogram[] = [];
  // The last timestamp returned (both iterators share it between floats and histograms) and
  // ApplyCounterResetsSeriesIterator's float state.
  let lastT = Number.NEGATIVE_INFINITY;
  let counted = 0;
  let lastV = 0;
  let totalV = 0;
  const emit = (t: number, v: number | FloatHistogram): void => {
    if (t < mint || t > maxt) return;
    if (typeof v === 'number') {
      ft.push(t);
      fv.push(v);
    } else {
      ht.push(t);
      hv.push(v);
    }
  };
  chunks.forEach((c, k) => {
    if (c.maxTime < mint || c.minTime > maxt) return;
    const got = chunkSamples(c, mode, `${name} chunk ${k}`);
    if (!got) return;
    const { t, v } = got.samples;
    const first = lastT;
    for (let i = 0; i < t.length; i++) {
      const ti = t[i] as number;
      const vi = v[i] as number | FloatHistogram;
      if (got.counterChunk && typeof vi === 'number') {
        // ApplyCounterResetsSeriesIterator.Next for floats (NaNs are dropped there).
        if (Number.isNaN(vi)) continue;
        if (counted === 0) {
          totalV = vi;
        } else if (ti > lastT) {
          totalV += vi >= lastV ? vi - lastV : vi;
        } else {
          // The duplicated last sample: the true last raw value, used for the next chunk's
          // reset check; anything further back in time is ignored.
          if (ti === lastT) lastV = vi;
          continue;
        }
        counted++;
        lastT = ti;
        lastV = vi;
        emit(ti, totalV);
        continue;
      }
      // A later chunk starts after the last sample returned (chunkSeriesIterator's Seek).
      if (ti <= first) continue;
      lastT = ti;
      emit(ti, vi);
    }
  });
  const out = { timestamps: Float64Array.from(ft), values: Float64Array.from(fv) };
  if (ht.length === 0) return out;
  const histograms: HistogramSamples = { timestamps: Float64Array.from(ht), values: hv };
  return { ...out, histograms };
}

/**
 * Whether any chunk of the series holds native histograms: a raw HISTOGRAM or FLOAT_HISTOGRAM
 * chunk, or a histogram aggregate (sum or counter of a downsampled histogram series). A count
 * aggregate alone is floats even for histogram series, so those series decode as floats.
 */
export function hasHistogramSlots(chunks: readonly AggrChunk[]): boolean {
  for (const c of chunks) {
    if (c.raw !== undefined) {
      if (c.raw.type !== 'XOR') return true;
      continue;
    }
    if (c.sum !== undefined && c.sum.type !== 'XOR') return true;
    if (c.counter !== undefined && c.counter.type !== 'XOR') return true;
    if (c.count !== undefined && c.count.type !== 'XOR') return true;
    if (c.min !== undefined && c.min.type !== 'XOR') return true;
    if (c.max !== undefined && c.max.type !== 'XOR') return true;
  }
  return false;
}
