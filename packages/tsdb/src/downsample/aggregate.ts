import { ChunkEncoding, type EncodedChunk } from '../chunkenc/chunk.js';
import { decodeXorInto, XorEncoder, xorNumSamples } from '../chunkenc/xor.js';
import { isStaleNaN } from '../storage/stale.js';
import { type AggrPart, AggrType, aggrChunkPart, aggrNumSamples, CHUNK_ENC_AGGR, encodeAggrChunk } from './aggr.js';

/** Resolution of raw data, ms. */
export const RES_LEVEL_0 = 0;
/** The first downsampling resolution: 5 minutes, ms. */
export const RES_LEVEL_1 = 300_000;
/** The second downsampling resolution: 1 hour, ms. */
export const RES_LEVEL_2 = 3_600_000;
/** Raw blocks are downsampled to 5m once they span at least this long, ms (40h, Thanos's ResLevel1DownsampleRange). */
export const RES_LEVEL_1_DOWNSAMPLE_RANGE = 40 * 3_600_000;
/** 5m blocks are downsampled to 1h once they span at least this long, ms (10d, Thanos's ResLevel2DownsampleRange). */
export const RES_LEVEL_2_DOWNSAMPLE_RANGE = 10 * 24 * 3_600_000;

/** A growable pair of sample columns. */
export class SampleBuffer {
  t = new Float64Array(256);
  v = new Float64Array(256);
  n = 0;
  reserve(extra: number): void {
    if (this.n + extra <= this.t.length) return;
    let cap = this.t.length * 2;
    while (cap < this.n + extra) cap *= 2;
    const t = new Float64Array(cap);
    const v = new Float64Array(cap);
    t.set(this.t.subarray(0, this.n));
    v.set(this.v.subarray(0, this.n));
    this.t = t;
    this.v = v;
  }
  push(t: number, v: number): void {
    if (this.n === this.t.length) this.reserve(1);
    this.t[this.n] = t;
    this.v[this.n] = v;
    this.n++;
  }
}

let scratchT = new Float64Array(512);
let scratchV = new Float64Array(512);

/** Decodes an XOR chunk into the shared scratch columns; returns the sample count. */
function decodeScratch(data: Uint8Array, file: string): number {
  const cap = xorNumSamples(data);
  if (scratchT.length < cap) {
    scratchT = new Float64Array(cap);
    scratchV = new Float64Array(cap);
  }
  return decodeXorInto(data, scratchT, scratchV, 0, file);
}

/**
 * Thanos's expandXorChunkIterator: appends a chunk's samples to `buf`, skipping staleness markers
 * and any sample that goes back in time. The time check starts at 0 for every chunk, so samples
 * before the epoch are dropped too, as in Thanos.
 */
export function expandXorChunk(data: Uint8Array, buf: SampleBuffer, file = 'chunk'): void {
  const n = decodeScratch(data, file);
  buf.reserve(n);
  let lastT = 0;
  for (let i = 0; i < n; i++) {
    const t = scratchT[i] as number;
    const v = scratchV[i] as number;
    if (isStaleNaN(v)) continue;
    if (t >= lastT) {
      buf.t[buf.n] = t;
      buf.v[buf.n] = v;
      buf.n++;
      lastT = t;
    }
  }
}

/** The end (inclusive) of the `r`-aligned window `t` falls into (Thanos's currentWindow). */
export function currentWindow(t: number, r: number): number {
  return t - (t % r) + r - 1;
}

/**
 * How many chunks to cut a downsampled series into (Thanos's targetChunkCount): the expected
 * output samples, scaled by how densely the input fills [mint, maxt] at `inRes`, split so each
 * chunk holds at most ~140 samples.
 */
export function targetChunkCount(mint: number, maxt: number, inRes: number, outRes: number, count: number): number {
  const maxSamples = Math.trunc((maxt - mint) / outRes);
  const fullness = Math.min(1, count / ((maxt - mint) / inRes));
  const expSamples = Math.trunc(maxSamples * fullness) + 1;
  let x = 1;
  while (Math.trunc(expSamples / x) > 140) x++;
  return x;
}

/** Running statistics of one window plus the counter state since the first sample (Thanos's floatAggregator). */
class FloatAggregator {
  total = 0;
  count = 0;
  sum = 0;
  min = Number.MAX_VALUE;
  max = -Number.MAX_VALUE;
  counter = 0;
  last = 0;
  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.min = Number.MAX_VALUE;
    this.max = -Number.MAX_VALUE;
  }
  add(v: number): void {
    if (this.total > 0) {
      // A drop is a counter reset: the new value is all increase since it.
      this.counter += v < this.last ? v : v - this.last;
    } else {
      this.counter = v;
    }
    this.last = v;
    this.sum += v;
    this.count++;
    this.total++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }
}

/**
 * Thanos's downsampleBatch: aggregates samples [from, to) window by window and calls `add` with
 * each window's timestamp, its end, but never past the batch's last sample (so a later batch
 * cannot overlap). Returns the timestamp of the last window.
 */
function downsampleBatch(
  ts: Float64Array,
  vs: Float64Array,
  from: number,
  to: number,
  resolution: number,
  add: (t: number, a: FloatAggregator) => void,
): number {
  const a = new FloatAggregator();
  const lastT = ts[to - 1] as number;
  let nextT = -1;
  for (let i = from; i < to; i++) {
    const t = ts[i] as number;
    if (t > nextT) {
      if (nextT !== -1) add(nextT, a);
      a.reset();
      nextT = Math.min(currentWindow(t, resolution), lastT);
    }
    a.add(vs[i] as number);
  }
  if (a.total > 0) add(nextT, a);
  return nextT;
}

const xorPart = (e: XorEncoder): AggrPart => ({ encoding: ChunkEncoding.XOR, data: e.bytes() });

/**
 * One aggregate chunk from raw samples (Thanos's downsampleFloatBatch). The counter sub-chunk
 * starts with the first raw sample and ends with the last raw value repeated at the last window's
 * timestamp, so counter resets between chunks can be found later (ApplyCounterResetsSeriesIterator).
 * The chunk's time range is that of its windows.
 */
function downsampleFloatBatch(ts: Float64Array, vs: Float64Array, n: number, resolution: number): EncodedChunk {
  const enc = [new XorEncoder(), new XorEncoder(), new XorEncoder(), new XorEncoder(), new XorEncoder()] as const;
  let mint = Number.POSITIVE_INFINITY;
  let maxt = Number.NEGATIVE_INFINITY;
  enc[AggrType.Counter].append(ts[0] as number, vs[0] as number);
  const lastT = downsampleBatch(ts, vs, 0, n, resolution, (t, a) => {
    if (t < mint) mint = t;
    if (t > maxt) maxt = t;
    enc[AggrType.Sum].append(t, a.sum);
    enc[AggrType.Min].append(t, a.min);
    enc[AggrType.Max].append(t, a.max);
    enc[AggrType.Count].append(t, a.count);
    enc[AggrType.Counter].append(t, a.counter);
  });
  enc[AggrType.Counter].append(lastT, vs[n - 1] as number);
  return {
    minTime: mint,
    maxTime: maxt,
    encoding: CHUNK_ENC_AGGR as ChunkEncoding,
    data: encodeAggrChunk(enc.map(xorPart)),
  };
}

/**
 * Thanos's DownsampleRaw: raw samples of one series (sorted, staleness markers removed) to
 * aggregate chunks of `resolution`. Samples are split into batches of about equal size, each
 * extended to the end of its window; NaN samples are left out of the aggregates.
 */
export function downsampleRaw(buf: SampleBuffer, resolution: number): EncodedChunk[] {
  const n = buf.n;
  if (n === 0) return [];
  const ts = buf.t;
  const vs = buf.v;
  // Thanos assumes a raw scrape interval of one minute for the chunk count heuristic.
  const numChunks = targetChunkCount(ts[0] as number, ts[n - 1] as number, 60_000, resolution, n);
  const batchSize = Math.trunc(n / numChunks) + 1;
  const out: EncodedChunk[] = [];
  const batch = new SampleBuffer();
  let pos = 0;
  while (pos < n) {
    let j = Math.min(pos + batchSize, n);
    const curW = currentWindow(ts[j - 1] as number, resolution);
    // Take the rest of the window too, so windows never straddle two chunks.
    while (j < n && (ts[j] as number) <= curW) j++;
    batch.n = 0;
    batch.reserve(j - pos);
    for (let i = pos; i < j; i++) {
      const v = vs[i] as number;
      if (Number.isNaN(v)) continue;
      batch.t[batch.n] = ts[i] as number;
      batch.v[batch.n] = v;
      batch.n++;
    }
    pos = j;
    if (batch.n === 0) continue;
    out.push(downsampleFloatBatch(batch.t, batch.v, batch.n, resolution));
  }
  return out;
}

/**
 * Thanos's ApplyCounterResetsSeriesIterator over the counter sub-chunks of consecutive aggregate
 * chunks: yields a monotonic series (each drop counted as a reset), using the repeated last sample
 * of a chunk as the true last raw value to detect a reset between chunks. Samples going back in
 * time are skipped (overlaps), NaN too. Returns the samples and the last raw value seen.
 */
export function applyCounterResets(parts: readonly Uint8Array[], file = 'chunk'): { out: SampleBuffer; lastV: number } {
  const out = new SampleBuffer();
  let total = 0;
  let lastT = 0;
  let lastV = 0;
  let totalV = 0;
  for (const data of parts) {
    const n = decodeScratch(data, file);
    for (let i = 0; i < n; i++) {
      const t = scratchT[i] as number;
      const v = scratchV[i] as number;
      if (Number.isNaN(v)) continue;
      if (total === 0) {
        total++;
        lastT = t;
        lastV = v;
        totalV = v;
      } else if (t > lastT) {
        totalV += v >= lastV ? v - lastV : v;
        lastT = t;
        lastV = v;
        total++;
      } else {
        // The same timestamp again is the chunk's true last raw value; earlier ones are overlaps.
        if (t === lastT) lastV = v;
        continue;
      }
      // expandXorChunkIterator then drops anything before the epoch.
      if (t >= (out.n > 0 ? (out.t[out.n - 1] as number) : 0)) out.push(t, totalV);
    }
  }
  return { out, lastV };
}

type Pick = (a: FloatAggregator) => number;
const GENERIC: ReadonlyArray<[AggrType, Pick]> = [
  // The count of an already downsampled count chunk is the sum of its counts.
  [AggrType.Count, (a) => a.sum],
  [AggrType.Sum, (a) => a.sum],
  [AggrType.Min, (a) => a.min],
  [AggrType.Max, (a) => a.max],
];

function subChunks(chunks: readonly EncodedChunk[], type: AggrType, file: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) {
    const p = aggrChunkPart(c.data, type, file);
    if (!p) continue;
    if (p.encoding !== ChunkEncoding.XOR) throw new Error(`aggregate ${type} has encoding ${p.encoding}, not XOR`);
    out.push(p.data);
  }
  return out;
}

/** Thanos's downsampleFloatAggrBatch: several aggregate chunks to one of a coarser resolution. */
function downsampleAggrBatch(chunks: readonly EncodedChunk[], resolution: number, file: string): EncodedChunk {
  const parts: (AggrPart | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
  let mint = Number.POSITIVE_INFINITY;
  let maxt = Number.NEGATIVE_INFINITY;
  const buf = new SampleBuffer();
  for (const [type, pick] of GENERIC) {
    buf.n = 0;
    for (const d of subChunks(chunks, type, file)) expandXorChunk(d, buf, file);
    // Thanos's genericAggregate reports the range [0, 0] for an absent aggregate, which then
    // widens the chunk's range to 0; mirrored so both write the same chunk bounds.
    let aMint = 0;
    let aMaxt = 0;
    if (buf.n > 0) {
      aMint = Number.POSITIVE_INFINITY;
      aMaxt = Number.NEGATIVE_INFINITY;
      const e = new XorEncoder();
      downsampleBatch(buf.t, buf.v, 0, buf.n, resolution, (t, a) => {
        if (t < aMint) aMint = t;
        if (t > aMaxt) aMaxt = t;
        e.append(t, pick(a));
      });
      parts[type] = xorPart(e);
    }
    if (aMint < mint) mint = aMint;
    if (aMaxt > maxt) maxt = aMaxt;
  }
  const { out, lastV } = applyCounterResets(subChunks(chunks, AggrType.Counter, file), file);
  if (out.n > 0) {
    const e = new XorEncoder();
    // Keep the first and last raw values, as raw downsampling does.
    e.append(out.t[0] as number, out.v[0] as number);
    const lastT = downsampleBatch(out.t, out.v, 0, out.n, resolution, (t, a) => {
      if (t < mint) mint = t;
      if (t > maxt) maxt = t;
      e.append(t, a.counter);
    });
    e.append(lastT, lastV);
    parts[AggrType.Counter] = xorPart(e);
  }
  return { minTime: mint, maxTime: maxt, encoding: CHUNK_ENC_AGGR as ChunkEncoding, data: encodeAggrChunk(parts) };
}

/**
 * Thanos's downsampleAggr: a series' aggregate chunks (time-ordered) to chunks of `outRes`.
 * Chunks are grouped along their boundaries only, since a chunk's first and last counter values
 * are true raw values that later passes rely on.
 */
export function downsampleAggrChunks(
  chunks: readonly EncodedChunk[],
  inRes: number,
  outRes: number,
  file = 'chunk',
): EncodedChunk[] {
  if (chunks.length === 0) return [];
  let numSamples = 0;
  for (const c of chunks) numSamples += aggrNumSamples(c.data);
  const mint = (chunks[0] as EncodedChunk).minTime;
  const maxt = (chunks[chunks.length - 1] as EncodedChunk).maxTime;
  const numChunks = targetChunkCount(mint, maxt, inRes, outRes, numSamples);
  // Thanos divides without a floor of one and would loop forever on a few very long chunks.
  const batchSize = Math.max(1, Math.trunc(chunks.length / numChunks));
  const out: EncodedChunk[] = [];
  for (let i = 0; i < chunks.length; i += batchSize) {
    const c = downsampleAggrBatch(chunks.slice(i, i + batchSize), outRes, file);
    if (!Number.isFinite(c.minTime) || !Number.isFinite(c.maxTime))
      throw new Error(`invalid range for downsampled aggregate chunk: mint=${c.minTime} maxt=${c.maxTime}`);
    out.push(c);
  }
  return out;
}
