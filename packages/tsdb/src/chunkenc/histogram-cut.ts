// Cutting a series' histogram samples into chunks exactly where a Prometheus 2.x head does
// (memSeries.appendHistogram / appendFloatHistogram with appendPreprocessor, tsdb/head_append.go
// in 2.42): the XOR rule for chunk ends (~120 samples, aligned chunk-range windows), plus a new
// chunk whenever the appender cannot take a sample (counter reset, schema or zero threshold
// change) and recoding when buckets appear.
import type { FloatHistogram, Histogram } from '../histogram/types.js';
import { ChunkEncoding, type EncodedChunk, rangeForTimestamp, SAMPLES_PER_CHUNK } from './chunk.js';
import { FloatHistogramChunk } from './float-histogram.js';
import { HistogramChunk } from './histogram.js';

/** A timestamped integer histogram. */
export interface HistogramSample {
  t: number;
  h: Histogram;
}

/** A timestamped float histogram. */
export interface FloatHistogramSample {
  t: number;
  h: FloatHistogram;
}

// Prometheus 2.x's computeChunkEndTime: predict the end so the window's chunks hold equal counts.
function computeChunkEndTime(start: number, cur: number, max: number): number {
  const n = Math.trunc((max - start) / ((cur - start + 1) * 4));
  if (n <= 1) return max;
  return start + Math.trunc((max - start) / n);
}

interface CutChunk {
  numSamples: number;
  bytes(): Uint8Array;
}

interface CutAppender<S, C extends CutChunk> {
  readonly chunk: C;
  append(
    t: number,
    h: S,
    prev?: CutAppender<S, C> | null,
  ): { chunk: C | null; recoded: boolean; appender: CutAppender<S, C> };
}

function cut<S, C extends CutChunk>(
  samples: readonly { t: number; h: S }[],
  chunkRange: number,
  encoding: ChunkEncoding,
  newAppender: () => CutAppender<S, C>,
): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  let app: CutAppender<S, C> | null = null;
  let minTime = 0;
  let maxTime = Number.NEGATIVE_INFINITY;
  let nextAt = 0;
  const flush = (): void => {
    if (app && app.chunk.numSamples > 0) out.push({ minTime, maxTime, encoding, data: app.chunk.bytes() });
  };
  for (const { t, h } of samples) {
    // Out-of-order and duplicate samples are dropped, as the head drops them.
    if (app && t <= maxTime) continue;
    let prev: CutAppender<S, C> | null = null;
    if (!app) {
      app = newAppender();
      minTime = t;
      nextAt = rangeForTimestamp(t, chunkRange);
    } else {
      const n = app.chunk.numSamples;
      if (n === SAMPLES_PER_CHUNK / 4) nextAt = computeChunkEndTime(minTime, maxTime, nextAt);
      if (t >= nextAt || n >= SAMPLES_PER_CHUNK * 2) {
        flush();
        prev = app;
        app = newAppender();
        minTime = t;
        nextAt = rangeForTimestamp(t, chunkRange);
      }
    }
    const res = app.append(t, h, prev);
    if (res.chunk && !res.recoded) {
      // The appender cut a new chunk for this sample.
      flush();
      minTime = t;
      nextAt = rangeForTimestamp(t, chunkRange);
    }
    app = res.appender;
    maxTime = t;
  }
  flush();
  return out;
}

/**
 * Cuts integer histogram samples (sorted by time) into histogram chunks as a Prometheus 2.x head
 * would; `chunkRange` is the head's chunk range in ms (2h by default in Prometheus).
 */
export function cutHistogramChunks(samples: readonly HistogramSample[], chunkRange: number): EncodedChunk[] {
  return cut(samples, chunkRange, ChunkEncoding.Histogram, () => new HistogramChunk().appender());
}

/** Like cutHistogramChunks, for float histograms (encoding 3). */
export function cutFloatHistogramChunks(samples: readonly FloatHistogramSample[], chunkRange: number): EncodedChunk[] {
  return cut(samples, chunkRange, ChunkEncoding.FloatHistogram, () => new FloatHistogramChunk().appender());
}
