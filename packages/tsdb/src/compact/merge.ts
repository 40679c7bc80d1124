import { ChunkEncoding, cutXorChunks, type EncodedChunk } from '../chunkenc/chunk.js';
import { decodeXorInto, decodeXorRange, xorNumSamples } from '../chunkenc/xor.js';
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

// Scratch columns reused by every chainSamples call (compaction is single-threaded per process):
// the inputs decoded back to back, and the merged output.
let inT = new Float64Array(4096);
let inV = new Float64Array(4096);
let outT = new Float64Array(4096);
let outV = new Float64Array(4096);
// Per input chunk: its current sample (index into inT/inV) and end; the heap of input numbers.
let pos = new Int32Array(16);
let end = new Int32Array(16);
let heap = new Int32Array(16);

/**
 * Prometheus's chainSampleIterator over the chunks' samples, step for step: the first chunk is
 * the current cursor, the others wait in a heap by timestamp, and a sample whose timestamp equals
 * the last one emitted is skipped. Which of several samples with one timestamp survives depends
 * on heap order only ("one sample from random overlapped ones is kept"): replaying the same heap
 * moves (Go's container/heap, as GoHeap) makes it the one Prometheus keeps. The chunks are decoded
 * into shared columns and the cursors are indices, so a merge allocates nothing per sample or per
 * chunk. The returned columns are views into scratch space, valid until the next call.
 */
export function chainSamples(
  chunks: readonly EncodedChunk[],
  where: MergeChunkOptions['where'],
): { timestamps: Float64Array; values: Float64Array } {
  const k = chunks.length;
  let total = 0;
  for (let i = 0; i < k; i++) {
    const c = chunks[i] as EncodedChunk;
    if (c.encoding !== ChunkEncoding.XOR) return chainSamplesSlow(chunks, where);
    total += xorNumSamples(c.data);
  }
  reserveChain(total, k);
  let at = 0;
  for (let i = 0; i < k; i++) {
    pos[i] = at - 1;
    at += decodeXorInto((chunks[i] as EncodedChunk).data, inT, inV, at, where.block);
    end[i] = at;
  }
  const n = chainDecoded(k, outT, outV);
  return { timestamps: outT.subarray(0, n), values: outV.subarray(0, n) };
}

/**
 * Internal: chainSamples over the XOR chunks whose data are bytes `[from[i], to[i])` of `src[i]`
 * for i < k, with the merged samples written to `oT`/`oV` (room for every input sample needed:
 * the sum of the chunks' sample counts). Returns the number of merged samples.
 */
export function chainXorRanges(
  k: number,
  src: readonly Uint8Array[],
  from: Int32Array,
  to: Int32Array,
  oT: Float64Array,
  oV: Float64Array,
  file: string,
): number {
  let total = 0;
  for (let i = 0; i < k; i++) {
    const b = src[i] as Uint8Array;
    const f = from[i] as number;
    if ((to[i] as number) - f >= 2) total += ((b[f] as number) << 8) | (b[f + 1] as number);
  }
  reserveChain(total, k);
  let at = 0;
  for (let i = 0; i < k; i++) {
    pos[i] = at - 1;
    at += decodeXorRange(src[i] as Uint8Array, from[i] as number, to[i] as number, inT, inV, at, file);
    end[i] = at;
  }
  return chainDecoded(k, oT, oV);
}

// Makes the scratch columns hold `total` samples of `k` inputs.
function reserveChain(total: number, k: number): void {
  if (inT.length < total) {
    const cap = Math.max(total, inT.length * 2);
    inT = new Float64Array(cap);
    inV = new Float64Array(cap);
    outT = new Float64Array(cap);
    outV = new Float64Array(cap);
  }
  if (pos.length < k) {
    pos = new Int32Array(k * 2);
    end = new Int32Array(k * 2);
    heap = new Int32Array(k * 2);
  }
}

// The chain over k inputs decoded into inT/inV (input i: samples pos[i]+1 … end[i]-1), written to
// oT/oV; returns the count.
function chainDecoded(k: number, oT: Float64Array, oV: Float64Array): number {
  const ts = inT;
  const vs = inV;
  if (k === 2) return chainTwo(ts, vs, 0, end[0] as number, end[0] as number, end[1] as number, oT, oV);
  const h = heap;
  let hn = 0;
  // Go's heap.Push for each other chunk that has a sample.
  for (let i = 1; i < k; i++) {
    const p = (pos[i] as number) + 1;
    if (p >= (end[i] as number)) continue;
    pos[i] = p;
    hn = heapPush(h, hn, i, ts);
  }
  let n = 0;
  let curr = 0;
  let lastT = Number.NEGATIVE_INFINITY;
  for (;;) {
    let currT = 0;
    let done = false;
    for (;;) {
      // curr.next()
      const p = (pos[curr] as number) + 1;
      if (p < (end[curr] as number)) {
        pos[curr] = p;
        currT = ts[p] as number;
        if (currT === lastT) continue;
        if (hn === 0 || currT < (ts[pos[h[0] as number] as number] as number)) break;
        hn = heapPush(h, hn, curr, ts);
      } else {
        pos[curr] = end[curr] as number;
        if (hn === 0) {
          done = true;
          break;
        }
      }
      // curr = heap.Pop()
      hn--;
      const top = h[0] as number;
      h[0] = h[hn] as number;
      h[hn] = top;
      heapDown(h, hn, ts);
      curr = top;
      currT = ts[pos[curr] as number] as number;
      if (currT !== lastT) break;
    }
    if (done) break;
    lastT = currT;
    oT[n] = currT;
    oV[n] = vs[pos[curr] as number] as number;
    n++;
  }
  return n;
}

/**
 * chainSamples' loop for exactly two inputs, [a0, a1) current and [b0, b1) in the heap: the heap
 * then holds at most one cursor, and Go's push-then-pop of two elements returns the one already
 * in the heap unless the pushed one is strictly smaller. So the current input keeps going while
 * its timestamp is strictly below the other's and the two swap otherwise (a tie goes to the
 * waiting one), exactly the heap moves of the general loop without a heap. Returns the count.
 */
function chainTwo(
  ts: Float64Array,
  vs: Float64Array,
  a0: number,
  a1: number,
  b0: number,
  b1: number,
  oT: Float64Array,
  oV: Float64Array,
): number {
  let pc = a0 - 1;
  let ec = a1;
  let po = b0;
  let eo = b1;
  let waiting = po < eo;
  let n = 0;
  let lastT = Number.NEGATIVE_INFINITY;
  for (;;) {
    let currT = 0;
    for (;;) {
      if (pc + 1 < ec) {
        pc++;
        currT = ts[pc] as number;
        if (currT === lastT) continue;
        if (!waiting || currT < (ts[po] as number)) break;
        // Push the current, pop the waiting one: they swap.
        const p = pc;
        const e = ec;
        pc = po;
        ec = eo;
        po = p;
        eo = e;
      } else {
        if (!waiting) return n;
        pc = po;
        ec = eo;
        waiting = false;
      }
      currT = ts[pc] as number;
      if (currT !== lastT) break;
    }
    lastT = currT;
    oT[n] = currT;
    oV[n] = vs[pc] as number;
    n++;
  }
}

// Go's heap.Push (append, then up) over input numbers keyed by their current timestamp.
function heapPush(h: Int32Array, n: number, x: number, ts: Float64Array): number {
  h[n] = x;
  let j = n;
  for (;;) {
    const i = Math.trunc((j - 1) / 2);
    if (i === j) break;
    const hj = h[j] as number;
    const hi = h[i] as number;
    if (!((ts[pos[hj] as number] as number) < (ts[pos[hi] as number] as number))) break;
    h[i] = hj;
    h[j] = hi;
    j = i;
  }
  return n + 1;
}

// Go's heap down(0, n).
function heapDown(h: Int32Array, n: number, ts: Float64Array): void {
  let i = 0;
  for (;;) {
    const j1 = 2 * i + 1;
    if (j1 >= n) break;
    let j = j1;
    const j2 = j1 + 1;
    if (j2 < n && (ts[pos[h[j2] as number] as number] as number) < (ts[pos[h[j1] as number] as number] as number))
      j = j2;
    const hj = h[j] as number;
    const hi = h[i] as number;
    if (!((ts[pos[hj] as number] as number) < (ts[pos[hi] as number] as number))) break;
    h[i] = hj;
    h[j] = hi;
    i = j;
  }
}

// chainSamples for a chunk that is not XOR: decodeChunk gives the error naming block and series.
function chainSamplesSlow(
  chunks: readonly EncodedChunk[],
  where: MergeChunkOptions['where'],
): { timestamps: Float64Array; values: Float64Array } {
  for (const c of chunks) decodeChunk(c, where);
  throw new Error('unreachable: decodeChunk accepts only XOR chunks');
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
