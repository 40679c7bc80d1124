// Downsampling of native histogram series as Thanos does it (pkg/compact/downsample/downsample.go,
// histogramAggregator and friends): per window, the count of histograms (an XOR sub-chunk), the
// sum of the window's histograms (a float histogram sub-chunk, gauge) and the running counter
// (a float histogram sub-chunk whose counter resets are folded in), framed in Thanos's AggrChunk.
// Min and max are absent: there is no order on histograms.
import { ChunkEncoding, type EncodedChunk } from '../chunkenc/chunk.js';
import { FloatHistogramChunk, FloatHistogramIterator } from '../chunkenc/float-histogram.js';
import { HistogramIterator } from '../chunkenc/histogram.js';
import { XorEncoder } from '../chunkenc/xor.js';
import {
  addFloatHistograms,
  copyToSchema,
  detectFloatHistogramReset,
  subFloatHistograms,
} from '../histogram/float-ops.js';
import { copyFloatHistogram } from '../histogram/histogram.js';
import { CounterResetHint, type FloatHistogram } from '../histogram/types.js';
import { type AggrPart, AggrType, aggrChunkPart, CHUNK_ENC_AGGR, encodeAggrChunk } from './aggr.js';
import { currentWindow, expandXorChunk, SampleBuffer, targetChunkCount } from './aggregate.js';

/** A histogram sample of a series being downsampled. */
export interface HistogramSample {
  /** Timestamp, ms. */
  t: number;
  /** The histogram (integer histograms are converted, as Thanos's expand does). */
  fh: FloatHistogram;
}

/**
 * Appends the samples of a native histogram chunk (encoding 2 or 3) to `out` as float histograms,
 * as Thanos's expandHistogramChunkIterator / expandFloatHistogramChunkIterator: staleness markers
 * are skipped, and so is a sample going back in time.
 */
export function expandHistogramChunk(c: EncodedChunk, out: HistogramSample[], file = 'chunk'): void {
  let lastT = out.length > 0 ? (out[out.length - 1] as HistogramSample).t : 0;
  const it =
    c.encoding === ChunkEncoding.Histogram
      ? new HistogramIterator(c.data, file)
      : new FloatHistogramIterator(c.data, file);
  while (it.next()) {
    const fh = it.atFloatHistogram();
    // Thanos checks value.IsStaleNaN(fh.Sum); a staleness marker's sum has that bit pattern and
    // no other histogram has a NaN sum in a counter series, so NaN is the same test here.
    if (Number.isNaN(fh.sum)) continue;
    if (it.t >= lastT) {
      out.push({ t: it.t, fh });
      lastT = it.t;
    }
  }
}

// Thanos's minSchema: the lowest schema in the batch, so every histogram can be reduced to it.
function minSchema(samples: readonly HistogramSample[]): number {
  let schema = Number.POSITIVE_INFINITY;
  for (const s of samples) if (!Number.isNaN(s.fh.sum) && s.fh.schema < schema) schema = s.fh.schema;
  return schema;
}

const isGauge = (samples: readonly HistogramSample[]): boolean =>
  samples.length > 0 && (samples[0] as HistogramSample).fh.counterResetHint === CounterResetHint.Gauge;

/** Thanos's histogramAggregator: window count and sum, and the counter since the batch start. */
class HistogramAggregator {
  total = 0;
  count = 0;
  sum: FloatHistogram | undefined;
  counter: FloatHistogram | undefined;
  previous: FloatHistogram | undefined;
  constructor(private readonly schema: number) {}
  reset(): void {
    this.count = 0;
    this.sum = undefined;
  }
  add(s: HistogramSample): void {
    // A schema increase counts as a reset, so the original is kept for reset detection (Thanos
    // compares the original against the reduced previous one).
    const orig = s.fh;
    const fh = orig.schema > this.schema ? copyToSchema(orig, this.schema) : orig;
    if (this.total > 0) {
      const counter = this.counter as FloatHistogram;
      if (
        fh.counterResetHint !== CounterResetHint.Gauge &&
        detectFloatHistogramReset(orig, this.previous as FloatHistogram)
      ) {
        addFloatHistograms(counter, fh);
      } else {
        addFloatHistograms(counter, subFloatHistograms(copyFloatHistogram(fh), this.previous as FloatHistogram).h);
      }
    } else {
      this.counter = copyFloatHistogram(fh);
    }
    if (this.sum === undefined) this.sum = copyFloatHistogram(fh);
    else addFloatHistograms(this.sum, fh);
    // A gauge, or appending a window whose sum is below the last one would look like a reset.
    this.sum.counterResetHint = CounterResetHint.Gauge;
    this.previous = fh;
    this.count++;
    this.total++;
  }
}

// Thanos's downsampleBatch for histograms: window timestamps are the window ends, capped at the
// batch's last sample.
function downsampleBatch(
  data: readonly HistogramSample[],
  resolution: number,
  a: HistogramAggregator,
  add: (t: number, a: HistogramAggregator) => void,
): number {
  const lastT = (data[data.length - 1] as HistogramSample).t;
  let nextT = -1;
  for (const s of data) {
    if (s.t > nextT) {
      if (nextT !== -1) add(nextT, a);
      a.reset();
      nextT = Math.min(currentWindow(s.t, resolution), lastT);
    }
    a.add(s);
  }
  if (a.total > 0) add(nextT, a);
  return nextT;
}

interface FhAppender {
  append(
    t: number,
    h: FloatHistogram,
    prev: FhAppender | null,
    appendOnly: boolean,
  ): { chunk: FloatHistogramChunk | null; recoded: boolean; appender: FhAppender };
}

/** Thanos's aggrChunkBuilder for histograms: count (XOR), sum and counter (float histogram). */
class HistogramAggrBuilder {
  mint = Number.POSITIVE_INFINITY;
  maxt = Number.NEGATIVE_INFINITY;
  readonly count = new XorEncoder();
  private readonly chunks: { [k: number]: FloatHistogramChunk } = {};
  private readonly apps: { [k: number]: FhAppender } = {};
  constructor(readonly gauge: boolean) {
    for (const t of [AggrType.Sum, AggrType.Counter]) {
      const c = new FloatHistogramChunk();
      this.chunks[t] = c;
      this.apps[t] = c.appender() as unknown as FhAppender;
    }
  }
  widen(t: number): void {
    if (t < this.mint) this.mint = t;
    if (t > this.maxt) this.maxt = t;
  }
  // Thanos's appendFloatHistogram: the appender is its own `prev`; a new chunk replaces the old
  // one (Thanos expects none: sums are gauges and counters never decrease).
  appendFloatHistogram(type: AggrType, t: number, fh: FloatHistogram): void {
    const app = this.apps[type] as FhAppender;
    const res = app.append(t, fh, app, false);
    if (res.chunk) this.chunks[type] = res.chunk;
    this.apps[type] = res.appender;
  }
  encode(): EncodedChunk {
    const part = (c: FloatHistogramChunk | undefined): AggrPart | undefined =>
      c ? { encoding: ChunkEncoding.FloatHistogram, data: c.bytes() } : undefined;
    const parts: (AggrPart | undefined)[] = [
      { encoding: ChunkEncoding.XOR, data: this.count.bytes() },
      part(this.chunks[AggrType.Sum]),
      undefined,
      undefined,
      part(this.chunks[AggrType.Counter]),
    ];
    return {
      minTime: this.mint,
      maxTime: this.maxt,
      encoding: CHUNK_ENC_AGGR as ChunkEncoding,
      data: encodeAggrChunk(parts),
    };
  }
}

// Thanos's downsampleHistogramBatch: one aggregate chunk from raw histograms.
function downsampleHistogramBatch(batch: readonly HistogramSample[], resolution: number): EncodedChunk {
  const b = new HistogramAggrBuilder(isGauge(batch));
  downsampleBatch(batch, resolution, new HistogramAggregator(minSchema(batch)), (t, a) => {
    b.widen(t);
    const counter = a.counter as FloatHistogram;
    const sum = a.sum as FloatHistogram;
    // Gauge histograms: both as gauges, so a smaller window sum is no counter reset.
    if (b.gauge) {
      counter.counterResetHint = CounterResetHint.Gauge;
      sum.counterResetHint = CounterResetHint.Gauge;
    }
    b.appendFloatHistogram(AggrType.Counter, t, counter);
    b.appendFloatHistogram(AggrType.Sum, t, sum);
    b.count.append(t, a.count);
  });
  return b.encode();
}

/**
 * Thanos's DownsampleRaw for a run of histogram samples (sorted, one series): batches of about
 * equal size (the same chunk count heuristic as floats, assuming a one-minute raw interval), each
 * extended to the end of its window, staleness markers left out, each batch one AggrChunk with
 * count, sum and counter.
 */
export function downsampleRawHistograms(data: readonly HistogramSample[], resolution: number): EncodedChunk[] {
  const n = data.length;
  if (n === 0) return [];
  const numChunks = targetChunkCount(
    (data[0] as HistogramSample).t,
    (data[n - 1] as HistogramSample).t,
    60_000,
    resolution,
    n,
  );
  const batchSize = Math.trunc(n / numChunks) + 1;
  const out: EncodedChunk[] = [];
  let pos = 0;
  while (pos < n) {
    let j = Math.min(pos + batchSize, n);
    const curW = currentWindow((data[j - 1] as HistogramSample).t, resolution);
    while (j < n && (data[j] as HistogramSample).t <= curW) j++;
    const batch = data.slice(pos, j).filter((s) => !Number.isNaN(s.fh.sum));
    pos = j;
    if (batch.length === 0) continue;
    out.push(downsampleHistogramBatch(batch, resolution));
  }
  return out;
}

/** Whether an aggregate chunk holds histogram aggregates (its counter is a histogram chunk; Thanos's isHistogramAggrChunk). */
export function isHistogramAggrChunk(data: Uint8Array, file = 'chunk'): boolean {
  const p = aggrChunkPart(data, AggrType.Counter, file);
  return p !== undefined && (p.encoding === ChunkEncoding.Histogram || p.encoding === ChunkEncoding.FloatHistogram);
}

function expandPart(chunks: readonly EncodedChunk[], type: AggrType, file: string): HistogramSample[] {
  const out: HistogramSample[] = [];
  for (const c of chunks) {
    const p = aggrChunkPart(c.data, type, file);
    if (!p) continue;
    expandHistogramChunk(
      { minTime: c.minTime, maxTime: c.maxTime, encoding: p.encoding as ChunkEncoding, data: p.data },
      out,
      file,
    );
  }
  return out;
}

// Thanos's downsampleHistogramAggrBatch: histogram aggregate chunks to one of a coarser resolution.
function downsampleHistogramAggrBatch(chunks: readonly EncodedChunk[], resolution: number, file: string): EncodedChunk {
  let mint = Number.POSITIVE_INFINITY;
  let maxt = Number.NEGATIVE_INFINITY;
  const widen = (t: number): void => {
    if (t < mint) mint = t;
    if (t > maxt) maxt = t;
  };
  const counters = expandPart(chunks, AggrType.Counter, file);
  const b = new HistogramAggrBuilder(isGauge(counters));
  if (counters.length > 0)
    downsampleBatch(counters, resolution, new HistogramAggregator(minSchema(counters)), (t, a) => {
      widen(t);
      b.appendFloatHistogram(AggrType.Counter, t, a.counter as FloatHistogram);
    });
  const sums = expandPart(chunks, AggrType.Sum, file);
  if (sums.length === 0) {
    // Thanos returns an empty chunk here, which its caller then rejects for its range.
    return {
      minTime: Number.POSITIVE_INFINITY,
      maxTime: Number.NEGATIVE_INFINITY,
      encoding: CHUNK_ENC_AGGR as ChunkEncoding,
      data: new Uint8Array(0),
    };
  }
  downsampleBatch(sums, resolution, new HistogramAggregator(minSchema(sums)), (t, a) => {
    widen(t);
    b.appendFloatHistogram(AggrType.Sum, t, a.sum as FloatHistogram);
  });
  // Counts: the sum of the window counts (Thanos's genericAggregate on AggrCount), with its
  // range [0, 0] when absent, as the float path mirrors.
  const buf = new SampleBuffer();
  for (const c of chunks) {
    const p = aggrChunkPart(c.data, AggrType.Count, file);
    if (p) expandXorChunk(p.data, buf, file);
  }
  let cMint = 0;
  let cMaxt = 0;
  if (buf.n > 0) {
    cMint = Number.POSITIVE_INFINITY;
    cMaxt = Number.NEGATIVE_INFINITY;
    let nextT = -1;
    let sum = 0;
    let seen = 0;
    const lastT = buf.t[buf.n - 1] as number;
    const flush = (t: number): void => {
      if (t < cMint) cMint = t;
      if (t > cMaxt) cMaxt = t;
      b.count.append(t, sum);
    };
    for (let i = 0; i < buf.n; i++) {
      const t = buf.t[i] as number;
      if (t > nextT) {
        if (nextT !== -1) flush(nextT);
        sum = 0;
        nextT = Math.min(currentWindow(t, resolution), lastT);
      }
      sum += buf.v[i] as number;
      seen++;
    }
    if (seen > 0) flush(nextT);
  }
  if (cMint < mint) mint = cMint;
  if (cMaxt > maxt) maxt = cMaxt;
  b.mint = mint;
  b.maxt = maxt;
  return b.encode();
}

/**
 * Thanos's downsampleAggr for a run of histogram aggregate chunks (time-ordered, one series): the
 * chunks are grouped along their boundaries into about `targetChunkCount` batches, each
 * re-aggregated to `outRes`.
 */
export function downsampleHistogramAggrChunks(
  chunks: readonly EncodedChunk[],
  numSamples: number,
  inRes: number,
  outRes: number,
  file = 'chunk',
): EncodedChunk[] {
  if (chunks.length === 0) return [];
  const mint = (chunks[0] as EncodedChunk).minTime;
  const maxt = (chunks[chunks.length - 1] as EncodedChunk).maxTime;
  const numChunks = targetChunkCount(mint, maxt, inRes, outRes, numSamples);
  const batchSize = Math.max(1, Math.trunc(chunks.length / numChunks));
  const out: EncodedChunk[] = [];
  for (let i = 0; i < chunks.length; i += batchSize) {
    const c = downsampleHistogramAggrBatch(chunks.slice(i, i + batchSize), outRes, file);
    if (!Number.isFinite(c.minTime) || !Number.isFinite(c.maxTime))
      throw new Error(`invalid range for downsampled aggregate chunk: mint=${c.minTime} maxt=${c.maxTime}`);
    out.push(c);
  }
  return out;
}
