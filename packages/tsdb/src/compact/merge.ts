import { ChunkEncoding, cutXorChunks, type EncodedChunk } from '../chunkenc/chunk.js';
import { encodeXorChunk } from '../chunkenc/xor-bulk.js';
import type { Labels } from '../labels/labels.js';
import { decodeChunk } from './block-series.js';
import { GoHeap } from './go-heap.js';
import { chainChunkSamples, encodeChunkSamples } from './rewrite.js';

/** Prometheus's seriesToChunkEncoderSplit: merged samples are cut into chunks of 120. */
export const MERGED_CHUNK_SAMPLES = 120;

/** How merged (re-encoded) samples are cut into chunks. */
export interface MergeChunkOptions {
  /**
   * When set, cut merged samples with the head's rule (cutXorChunks with this chunk range, ms)
   * instead of Prometheus's fixed 120-sample split.
   */
  chunkRange?: number;
  /** For error messages: the series and where it came from. */
  where: { labels: Labels; block: string };
}

interface ChunkCursor {
  /** Advances; false at the end. */
  next(): boolean;
  /** The current chunk, valid after next() returned true. */
  at(): EncodedChunk;
}

class ListCursor implements ChunkCursor {
  private i = -1;
  constructor(private readonly chunks: readonly EncodedChunk[]) {}
  next(): boolean {
    this.i++;
    return this.i < this.chunks.length;
  }
  at(): EncodedChunk {
    return this.chunks[this.i] as EncodedChunk;
  }
}

const chunkLess = (a: ChunkCursor, b: ChunkCursor): boolean => {
  const x = a.at();
  const y = b.at();
  return x.minTime === y.minTime ? x.maxTime < y.maxTime : x.minTime < y.minTime;
};

/**
 * Merges the chunk lists of one series found in several blocks (given in the order Prometheus's
 * merge series set hands them over) into one time-ordered list, as Prometheus's
 * compactChunkIterator with ChainedSeriesMerge (storage/merge.go): chunks that overlap no other
 * are kept byte for byte, exact duplicates (same range and bytes) are dropped, and each run of
 * overlapping chunks is decoded, merged by timestamp keeping one sample per timestamp, and
 * re-encoded in chunks of 120 samples whose tail goes back into the merge. Native histogram chunks
 * (integer and float) merge the same way, with floats and histograms in one series chained by
 * timestamp and cut into a new chunk at each change of sample type (rewrite.ts).
 */
export function mergeSeriesChunks(
  lists: readonly (readonly EncodedChunk[])[],
  opts: MergeChunkOptions,
): EncodedChunk[] {
  const heap = new GoHeap<ChunkCursor>(chunkLess);
  for (const l of lists) {
    const c = new ListCursor(l);
    if (c.next()) heap.push(c);
  }
  const out: EncodedChunk[] = [];
  for (;;) {
    const it = heap.pop();
    if (!it) break;
    let curr = it.at();
    if (it.next()) heap.push(it);
    const overlapping: EncodedChunk[] = [];
    let oMaxTime = curr.maxTime;
    let prev = curr;
    for (let top = heap.peek(); top; top = heap.peek()) {
      const next = top.at();
      if (next.minTime > oMaxTime) break;
      if (!(next.minTime === prev.minTime && next.maxTime === prev.maxTime && sameBytes(next.data, prev.data))) {
        overlapping.push(next);
        if (next.maxTime > oMaxTime) oMaxTime = next.maxTime;
        prev = next;
      }
      heap.pop();
      if (top.next()) heap.push(top);
    }
    if (overlapping.length === 0) {
      out.push(curr);
      continue;
    }
    // Prometheus passes the overlapping chunks first and the popped one last.
    overlapping.push(curr);
    // Floats only: the column path. With a native histogram chunk among them, the sample-typed
    // path, which keeps integer and float histograms in their encodings and cuts 120-sample
    // chunks (also when a head chunk range is asked for; Prometheus's head rule is for floats).
    const merged = new ListCursor(
      overlapping.every((c) => c.encoding === ChunkEncoding.XOR)
        ? encodeMerged(chainSamples(overlapping, opts.where), opts.chunkRange)
        : encodeChunkSamples(chainChunkSamples(overlapping, opts.where), MERGED_CHUNK_SAMPLES),
    );
    if (!merged.next()) continue;
    curr = merged.at();
    out.push(curr);
    if (merged.next()) heap.push(merged);
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

class SampleCursor {
  private i = -1;
  constructor(
    readonly ts: Float64Array,
    readonly vs: Float64Array,
    private readonly n: number,
  ) {}
  next(): boolean {
    if (this.i < this.n) this.i++;
    return this.i < this.n;
  }
  get t(): number {
    return this.ts[this.i] as number;
  }
  get v(): number {
    return this.vs[this.i] as number;
  }
}

/**
 * Prometheus's chainSampleIterator over the chunks' samples, step for step: the first chunk is
 * the current cursor, the others wait in a heap by timestamp, and a sample whose timestamp equals
 * the last one emitted is skipped. Which of several samples with one timestamp survives depends
 * on heap order only ("one sample from random overlapped ones is kept"): replaying the same heap
 * moves makes it the one Prometheus keeps.
 */
export function chainSamples(
  chunks: readonly EncodedChunk[],
  where: MergeChunkOptions['where'],
): { timestamps: Float64Array; values: Float64Array } {
  let total = 0;
  const cursors = chunks.map((c) => {
    const d = decodeChunk(c, where);
    total += d.n;
    return new SampleCursor(d.timestamps, d.values, d.n);
  });
  const outT = new Float64Array(total);
  const outV = new Float64Array(total);
  let n = 0;
  const heap = new GoHeap<SampleCursor>((a, b) => a.t < b.t);
  let curr: SampleCursor | undefined = cursors[0];
  for (const c of cursors.slice(1)) if (c.next()) heap.push(c);
  let lastT = Number.NEGATIVE_INFINITY;
  while (curr) {
    let currT = 0;
    let done = false;
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
      curr = heap.pop() as SampleCursor;
      currT = curr.t;
      if (currT !== lastT) break;
    }
    if (done) break;
    lastT = currT;
    outT[n] = currT;
    outV[n] = curr.v;
    n++;
  }
  return { timestamps: outT.subarray(0, n), values: outV.subarray(0, n) };
}

function encodeMerged(s: { timestamps: Float64Array; values: Float64Array }, chunkRange?: number): EncodedChunk[] {
  const n = s.timestamps.length;
  if (chunkRange !== undefined) return cutXorChunks(s.timestamps, s.values, chunkRange);
  const out: EncodedChunk[] = [];
  for (let i = 0; i < n; i += MERGED_CHUNK_SAMPLES) {
    const end = Math.min(n, i + MERGED_CHUNK_SAMPLES);
    out.push({
      minTime: s.timestamps[i] as number,
      maxTime: s.timestamps[end - 1] as number,
      encoding: ChunkEncoding.XOR,
      data: encodeXorChunk(s.timestamps, s.values, i, end),
    });
  }
  return out;
}
