import { XorEncoder } from './xor.js';
import { encodeXorChunk } from './xor-bulk.js';

/** Chunk encodings as stored in segment files (tsdb/chunkenc/chunk.go). */
export const ChunkEncoding = {
  None: 0,
  XOR: 1,
  Histogram: 2,
  FloatHistogram: 3,
} as const;

/** One of the ChunkEncoding values. */
export type ChunkEncoding = (typeof ChunkEncoding)[keyof typeof ChunkEncoding];

/** An encoded chunk with its time range (inclusive), as a block's index lists it. */
export interface EncodedChunk {
  minTime: number;
  maxTime: number;
  encoding: ChunkEncoding;
  data: Uint8Array;
}

/** Prometheus's target samples per chunk (head_append.go). */
export const SAMPLES_PER_CHUNK = 120;

/**
 * Cuts a series' sorted samples into XOR chunks exactly where Prometheus's head would
 * (memSeries.appendPreprocessor in 2.x): a chunk ends at the end of its `chunkRange`-aligned
 * window, at a boundary predicted after 30 samples so chunks hold ~120 samples evenly, or after
 * 240 samples. `chunkRange` is the head's chunk range: promtool's backfill uses twice the block
 * duration. Samples with a timestamp not greater than the previous one are skipped like the head
 * drops them.
 */
export function cutXorChunks(
  timestamps: ArrayLike<number>,
  values: ArrayLike<number>,
  chunkRange: number,
  start = 0,
  end = timestamps.length,
): EncodedChunk[] {
  let increasing = true;
  for (let i = start + 1; i < end; i++) {
    if ((timestamps[i] as number) <= (timestamps[i - 1] as number)) {
      increasing = false;
      break;
    }
  }
  if (increasing) return cutIncreasing(timestamps, values, chunkRange, start, end);
  const chunks: EncodedChunk[] = [];
  const enc = new XorEncoder();
  let minTime = 0;
  let maxTime = Number.NEGATIVE_INFINITY;
  let nextAt = 0;
  const flush = () => {
    if (enc.numSamples > 0) chunks.push({ minTime, maxTime, encoding: ChunkEncoding.XOR, data: enc.bytes() });
  };
  for (let i = start; i < end; i++) {
    const t = timestamps[i] as number;
    if (t <= maxTime) continue;
    const n = enc.numSamples;
    if (n === 0) {
      minTime = t;
      nextAt = rangeForTimestamp(t, chunkRange);
    } else {
      if (n === SAMPLES_PER_CHUNK / 4) nextAt = computeChunkEndTime(minTime, maxTime, nextAt);
      if (t >= nextAt || n >= SAMPLES_PER_CHUNK * 2) {
        flush();
        enc.reset();
        minTime = t;
        nextAt = rangeForTimestamp(t, chunkRange);
      }
    }
    enc.append(t, values[i] as number);
    maxTime = t;
  }
  flush();
  return chunks;
}

// The same cut rule over strictly increasing timestamps: boundaries first, then one bulk encode
// per chunk.
function cutIncreasing(
  timestamps: ArrayLike<number>,
  values: ArrayLike<number>,
  chunkRange: number,
  start: number,
  end: number,
): EncodedChunk[] {
  const chunks: EncodedChunk[] = [];
  let chunkStart = start;
  let minTime = 0;
  let nextAt = 0;
  for (let i = start; i < end; i++) {
    const t = timestamps[i] as number;
    const n = i - chunkStart;
    if (i === start) {
      minTime = t;
      nextAt = rangeForTimestamp(t, chunkRange);
      continue;
    }
    if (n === SAMPLES_PER_CHUNK / 4) nextAt = computeChunkEndTime(minTime, timestamps[i - 1] as number, nextAt);
    if (t >= nextAt || n >= SAMPLES_PER_CHUNK * 2) {
      chunks.push({
        minTime,
        maxTime: timestamps[i - 1] as number,
        encoding: ChunkEncoding.XOR,
        data: encodeXorChunk(timestamps, values, chunkStart, i),
      });
      chunkStart = i;
      minTime = t;
      nextAt = rangeForTimestamp(t, chunkRange);
    }
  }
  if (end > start) {
    chunks.push({
      minTime,
      maxTime: timestamps[end - 1] as number,
      encoding: ChunkEncoding.XOR,
      data: encodeXorChunk(timestamps, values, chunkStart, end),
    });
  }
  return chunks;
}

/** End of the `width`-aligned window holding t (Go's truncating division, as tsdb/db.go). */
export function rangeForTimestamp(t: number, width: number): number {
  return Math.trunc(t / width) * width + width;
}

function computeChunkEndTime(start: number, cur: number, max: number): number {
  const n = Math.trunc((max - start) / ((cur - start + 1) * 4));
  if (n <= 1) return max;
  return start + Math.trunc((max - start) / n);
}
