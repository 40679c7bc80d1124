// Rewriting chunks that hold native histograms (or a mix of floats and histograms) when a
// compaction must re-encode them: overlapping chunks of a series (vertical compaction) and chunks
// a tombstone touches. Floats-only rewrites keep their own faster column path (merge.ts,
// block-series.ts); these functions take over as soon as a histogram chunk is involved.
import { ChunkEncoding, type EncodedChunk } from '../chunkenc/chunk.js';
import { FloatHistogramChunk, FloatHistogramIterator } from '../chunkenc/float-histogram.js';
import { HistogramChunk, HistogramIterator } from '../chunkenc/histogram.js';
import { XorEncoder } from '../chunkenc/xor.js';
import { ThanosError } from '../errors.js';
import { CounterResetHint, type FloatHistogram, type Histogram } from '../histogram/types.js';
import type { Labels } from '../labels/labels.js';
import { decodeChunk } from './block-series.js';
import { GoHeap } from './go-heap.js';

/** One sample of a chunk being rewritten: a float, an integer histogram or a float histogram. */
export type RewriteSample =
  | { readonly t: number; readonly kind: typeof ChunkEncoding.XOR; readonly v: number }
  | { readonly t: number; readonly kind: typeof ChunkEncoding.Histogram; readonly h: Histogram }
  | { readonly t: number; readonly kind: typeof ChunkEncoding.FloatHistogram; readonly h: FloatHistogram };

/** Where a chunk comes from, for error messages. */
export interface RewriteWhere {
  labels: Labels;
  block: string;
}

/**
 * Every sample of one chunk, in order, with the counter reset hints Prometheus's chunk iterators
 * give (Unknown for a chunk's first sample, NotCounterReset after it, Gauge in gauge chunks).
 * Throws for an encoding that is neither XOR nor a native histogram one.
 */
export function decodeChunkSamples(c: EncodedChunk, where: RewriteWhere): RewriteSample[] {
  const out: RewriteSample[] = [];
  switch (c.encoding) {
    case ChunkEncoding.XOR: {
      const d = decodeChunk(c, where);
      for (let i = 0; i < d.n; i++)
        out.push({ t: d.timestamps[i] as number, kind: ChunkEncoding.XOR, v: d.values[i] as number });
      return out;
    }
    case ChunkEncoding.Histogram: {
      const it = new HistogramIterator(c.data, where.block);
      while (it.next()) out.push({ t: it.t, kind: ChunkEncoding.Histogram, h: it.atHistogram() });
      return out;
    }
    case ChunkEncoding.FloatHistogram: {
      const it = new FloatHistogramIterator(c.data, where.block);
      while (it.next()) out.push({ t: it.t, kind: ChunkEncoding.FloatHistogram, h: it.atFloatHistogram() });
      return out;
    }
    default:
      throw new ThanosError(
        'ERR_UNSUPPORTED_CHUNK_ENCODING',
        `${where.block}: series ${where.labels.toString()}: chunk [${c.minTime}, ${c.maxTime}] has encoding ${c.encoding}, which cannot be rewritten`,
      );
  }
}

class Cursor {
  private i = -1;
  constructor(private readonly s: readonly RewriteSample[]) {}
  next(): boolean {
    if (this.i < this.s.length) this.i++;
    return this.i < this.s.length;
  }
  get t(): number {
    return (this.s[this.i] as RewriteSample).t;
  }
  at(): RewriteSample {
    return this.s[this.i] as RewriteSample;
  }
}

/**
 * Prometheus's chainSampleIterator (storage/merge.go) over chunks of any encoding: the same heap
 * moves as merge.ts's chainSamples, so the sample kept for a duplicated timestamp is the one
 * Prometheus keeps. A counter histogram that does not come from the same iterator as the sample
 * before it loses its NotCounterReset/CounterReset hint (becomes Unknown), as the chain iterator's
 * AtHistogram does when the samples are not consecutive: the appender then detects resets itself.
 */
export function chainChunkSamples(chunks: readonly EncodedChunk[], where: RewriteWhere): RewriteSample[] {
  const cursors = chunks.map((c) => new Cursor(decodeChunkSamples(c, where)));
  const out: RewriteSample[] = [];
  const heap = new GoHeap<Cursor>((a, b) => a.t < b.t);
  let curr: Cursor | undefined = cursors[0];
  for (const c of cursors.slice(1)) if (c.next()) heap.push(c);
  let lastT = Number.NEGATIVE_INFINITY;
  let first = true;
  while (curr) {
    let currT = 0;
    let done = false;
    let changed = first;
    first = false;
    for (;;) {
      if (curr.next()) {
        currT = curr.t;
        if (currT === lastT) continue;
        const top = heap.peek();
        if (!top || currT < top.t) break;
        heap.push(curr);
      } else if (heap.length === 0) {
        done = true;
        break;
      }
      curr = heap.pop() as Cursor;
      changed = true;
      currT = curr.t;
      if (currT !== lastT) break;
    }
    if (done) break;
    lastT = currT;
    let s = curr.at();
    if (changed && s.kind !== ChunkEncoding.XOR && s.h.counterResetHint !== CounterResetHint.Gauge) {
      s = { ...s, h: { ...s.h, counterResetHint: CounterResetHint.Unknown } } as RewriteSample;
    }
    out.push(s);
  }
  return out;
}

// The histogram appenders' common shape (HistogramAppender, FloatHistogramAppender).
interface HistAppender {
  append(
    t: number,
    h: Histogram | FloatHistogram,
    prev: null,
    appendOnly: boolean,
  ): { chunk: { bytes(): Uint8Array; numSamples: number } | null; recoded: boolean; appender: HistAppender };
}

/**
 * Encodes samples (sorted by time, one per timestamp) into chunks as Prometheus's
 * seriesToChunkEncoder does (storage/series.go): a new chunk whenever the sample type changes or
 * after `split` samples (Prometheus: 120 when merging; Infinity for a tombstone rewrite, as its
 * populateChunksFromIterable), and whenever the histogram appender cannot take a sample (counter
 * reset, schema or zero threshold change: the appender's new chunk carries the detected counter
 * reset header); an appender that recodes (new buckets) keeps the chunk. Integer histograms stay
 * integer (encoding 2), float histograms float (3).
 */
export function encodeChunkSamples(
  samples: readonly RewriteSample[],
  split = Number.POSITIVE_INFINITY,
): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  let kind: ChunkEncoding | undefined;
  let chunk: { bytes(): Uint8Array; numSamples: number } | undefined;
  let xor: XorEncoder | undefined;
  let hApp: HistAppender | undefined;
  let minTime = 0;
  let maxTime = 0;
  let n = 0;
  const flush = (): void => {
    if (chunk && kind !== undefined && chunk.numSamples > 0)
      out.push({ minTime, maxTime, encoding: kind, data: chunk.bytes() });
    chunk = undefined;
  };
  for (const s of samples) {
    if (s.kind !== kind || n >= split || !chunk) {
      flush();
      kind = s.kind;
      n = 0;
      minTime = s.t;
      if (s.kind === ChunkEncoding.XOR) {
        xor = new XorEncoder();
        chunk = xor;
      } else {
        const c = s.kind === ChunkEncoding.Histogram ? new HistogramChunk() : new FloatHistogramChunk();
        chunk = c;
        hApp = c.appender() as unknown as HistAppender;
      }
    }
    if (s.kind === ChunkEncoding.XOR) (xor as XorEncoder).append(s.t, s.v);
    else {
      const res = (hApp as HistAppender).append(s.t, s.h, null, false);
      if (res.chunk) {
        if (!res.recoded) {
          // The appender started a new chunk for this sample (counter reset or layout change).
          flush();
          minTime = s.t;
          n = 0;
        }
        chunk = res.chunk;
      }
      hApp = res.appender;
    }
    maxTime = s.t;
    n++;
  }
  flush();
  return out;
}
