// Native histogram samples of a series as the Queryable contract carries them: a timestamp column
// and FloatHistograms (integer histograms converted, as Prometheus's engine reads them).
import { ChunkEncoding } from '../chunkenc/chunk.js';
import { FloatHistogramIterator } from '../chunkenc/float-histogram.js';
import { HistogramIterator } from '../chunkenc/histogram.js';
import type { FloatHistogram } from '../histogram/types.js';
import type { HistogramSamples } from '../storage/queryable.js';
import type { Interval } from './tombstones.js';

/** A chunk as far as histogram decoding needs it: encoding, bytes and a position for errors. */
export interface HistogramChunkRef {
  encoding?: ChunkEncoding;
  data?: Uint8Array;
  /** Chunk reference (segment and offset) or byte offset, named in CorruptionErrors. */
  ref: number;
}

/** Whether a chunk encoding holds native histograms (integer or float). */
export function isHistogramEncoding(e: ChunkEncoding | undefined): boolean {
  return e === ChunkEncoding.Histogram || e === ChunkEncoding.FloatHistogram;
}

/**
 * Decodes the histogram and float histogram chunks among `chunks` into sorted columns limited to
 * [mint, maxt] without the samples `dels` covers; XOR chunks are skipped. Overlapping chunks are
 * merged by time, the first chunk's sample winning. Returns undefined when no histogram sample is
 * left. Throws CorruptionError (naming `file` and the chunk's ref) for malformed chunks. The
 * samples of one chunk share their spans arrays (read-only, as Prometheus's chunk iterators hand
 * them out); decoding a chunk stops at its first sample after `maxt` (samples are in time order).
 */
export function decodeHistogramChunks(
  chunks: readonly HistogramChunkRef[],
  mint: number,
  maxt: number,
  dels: readonly Interval[] | undefined,
  file = 'block',
): HistogramSamples | undefined {
  const ts: number[] = [];
  const hs: FloatHistogram[] = [];
  let sorted = true;
  let hit: HistogramIterator | undefined;
  let fit: FloatHistogramIterator | undefined;
  for (const c of chunks) {
    if (!c.data) continue;
    const before = ts.length;
    if (c.encoding === ChunkEncoding.Histogram) {
      if (hit) hit.reset(c.data, file, c.ref);
      else hit = new HistogramIterator(c.data, file, c.ref);
      while (hit.next()) {
        const t = hit.t;
        if (t > maxt) break;
        if (t < mint || (dels && deleted(t, dels))) continue;
        ts.push(t);
        hs.push(hit.atFloatHistogram(true));
      }
    } else if (c.encoding === ChunkEncoding.FloatHistogram) {
      if (fit) fit.reset(c.data, file, c.ref);
      else fit = new FloatHistogramIterator(c.data, file, c.ref);
      while (fit.next()) {
        const t = fit.t;
        if (t > maxt) break;
        if (t < mint || (dels && deleted(t, dels))) continue;
        ts.push(t);
        hs.push(fit.atFloatHistogram(true));
      }
    } else continue;
    if (before > 0 && ts.length > before && (ts[before] as number) <= (ts[before - 1] as number)) sorted = false;
  }
  if (ts.length === 0) return undefined;
  if (!sorted) return sortDedupeHistograms(ts, hs);
  return { timestamps: Float64Array.from(ts), values: hs };
}

function deleted(t: number, dels: readonly Interval[]): boolean {
  for (const d of dels) if (t >= d.minTime && t <= d.maxTime) return true;
  return false;
}

// Stable sort by time, the earlier chunk's sample winning a timestamp (as sortDedupe for floats).
function sortDedupeHistograms(ts: readonly number[], hs: readonly FloatHistogram[]): HistogramSamples {
  const idx = Array.from({ length: ts.length }, (_, i) => i).sort(
    (a, b) => (ts[a] as number) - (ts[b] as number) || a - b,
  );
  const ot: number[] = [];
  const ov: FloatHistogram[] = [];
  for (const i of idx) {
    if (ot.length > 0 && ot[ot.length - 1] === ts[i]) continue;
    ot.push(ts[i] as number);
    ov.push(hs[i] as FloatHistogram);
  }
  return { timestamps: Float64Array.from(ot), values: ov };
}

/**
 * Merges histogram columns by timestamp; where several hold the same timestamp the earliest part
 * wins (Prometheus's chained series merge, as mergeSampleColumns for floats). Parts may be
 * undefined (series without histograms); returns undefined when none has samples.
 */
export function mergeHistogramSamples(parts: readonly (HistogramSamples | undefined)[]): HistogramSamples | undefined {
  let only: HistogramSamples | undefined;
  let count = 0;
  for (const p of parts) {
    if (p && p.timestamps.length > 0) {
      only = p;
      count++;
    }
  }
  if (count <= 1) return only;
  const ps = parts.filter((p): p is HistogramSamples => p !== undefined && p.timestamps.length > 0);
  const pos = new Array<number>(ps.length).fill(0);
  const ot: number[] = [];
  const ov: FloatHistogram[] = [];
  for (;;) {
    let best = -1;
    let bestT = Number.POSITIVE_INFINITY;
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i] as HistogramSamples;
      const j = pos[i] as number;
      if (j < p.timestamps.length && (p.timestamps[j] as number) < bestT) {
        bestT = p.timestamps[j] as number;
        best = i;
      }
    }
    if (best < 0) break;
    ot.push(bestT);
    ov.push((ps[best] as HistogramSamples).values[pos[best] as number] as FloatHistogram);
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i] as HistogramSamples;
      const j = pos[i] as number;
      if (j < p.timestamps.length && p.timestamps[j] === bestT) pos[i] = j + 1;
    }
  }
  return { timestamps: Float64Array.from(ot), values: ov };
}

/**
 * Removes from `h` the samples whose timestamp `floats` also holds, so the two columns of a merged
 * series never share a timestamp (the Queryable contract). Floats win: a series holding both at
 * one time only happens across overlapping blocks or replicas, where Prometheus's chained merge
 * keeps whichever sample it meets first; we keep the float, a documented difference.
 */
export function withoutFloatTimestamps(
  h: HistogramSamples | undefined,
  floats: Float64Array,
): HistogramSamples | undefined {
  if (!h || floats.length === 0) return h;
  let i = 0;
  let clash = false;
  for (let j = 0; j < h.timestamps.length && !clash; j++) {
    const t = h.timestamps[j] as number;
    while (i < floats.length && (floats[i] as number) < t) i++;
    if (i < floats.length && floats[i] === t) clash = true;
  }
  if (!clash) return h;
  const ot: number[] = [];
  const ov: FloatHistogram[] = [];
  i = 0;
  for (let j = 0; j < h.timestamps.length; j++) {
    const t = h.timestamps[j] as number;
    while (i < floats.length && (floats[i] as number) < t) i++;
    if (i < floats.length && floats[i] === t) continue;
    ot.push(t);
    ov.push(h.values[j] as FloatHistogram);
  }
  return ot.length === 0 ? undefined : { timestamps: Float64Array.from(ot), values: ov };
}
