import { decodeHistogramChunks } from '../block/histogram-samples.js';
import type { Interval } from '../block/tombstones.js';
import { ChunkEncoding, type EncodedChunk, rangeForTimestamp, SAMPLES_PER_CHUNK } from '../chunkenc/chunk.js';
import {
  decodeFloatHistogramChunk,
  type FloatHistogramAppender,
  FloatHistogramChunk,
} from '../chunkenc/float-histogram.js';
import { decodeHistogramChunk, type HistogramAppender, HistogramChunk } from '../chunkenc/histogram.js';
import { cutFloatHistogramChunks, cutHistogramChunks } from '../chunkenc/histogram-cut.js';
import { decodeXorInto, XorEncoder, xorNumSamples } from '../chunkenc/xor.js';
import { floatHistogramEquals, histogramEquals } from '../histogram/histogram.js';
import type { FloatHistogram, Histogram } from '../histogram/types.js';
import type { Labels } from '../labels/labels.js';
import type { HistogramSamples } from '../storage/queryable.js';
import {
  type HeadXorState,
  NO_XOR_BYTES,
  openXorChunk,
  xorAppend,
  xorByteLength,
  xorBytes,
  xorWriteTo,
} from './head-xor.js';

/**
 * A closed (full) chunk of a head series: its bytes and inclusive time range, ms. `encoding` is
 * absent for XOR chunks, ChunkEncoding.Histogram or FloatHistogram for native histogram chunks.
 */
export interface HeadChunk {
  readonly minTime: number;
  readonly maxTime: number;
  readonly data: Uint8Array;
  readonly encoding?: ChunkEncoding;
  /** Where the chunk is in `chunks_head/` (file sequence << 32 | offset), when written there. */
  diskRef?: number;
}

/**
 * Where a head writes the chunks it cuts (the `chunks_head/` files; see HeadChunkDiskMapper).
 * Returns the chunk's reference, 0 when it was not written.
 */
export interface HeadChunkSink {
  writeChunk(seriesRef: number, mint: number, maxt: number, encoding: number, data: Uint8Array): number;
}

// The open native histogram chunk of a series: its appender, which of the two encodings it is.
type OpenHistogramChunk = { float: false; app: HistogramAppender } | { float: true; app: FloatHistogramAppender };

// Scratch to compare float64 bit patterns: Prometheus compares math.Float64bits, so two NaNs with
// different payloads (a staleness marker and an ordinary NaN) are different values.
const f64 = new Float64Array(2);
const u32 = new Uint32Array(f64.buffer);

/** Whether a and b have the same float64 bits. */
export function sameFloatBits(a: number, b: number): boolean {
  if (a === b) return a !== 0 || 1 / a === 1 / b;
  if (!Number.isNaN(a) || !Number.isNaN(b)) return false;
  f64[0] = a;
  f64[1] = b;
  return u32[0] === u32[2] && u32[1] === u32[3];
}

const NO_CHUNKS: HeadChunk[] = Object.freeze([]) as unknown as HeadChunk[];

// Float64s per series in SeriesNumbers: open chunk mint, maxt, next cut time, last value, and the
// open XOR chunk writer's newest timestamp.
const NUMS = 5;

/**
 * The numbers of a head's series (open chunk mint and maxt, the next cut time, the last value,
 * the XOR writer's last timestamp), five float64 per series in one array. As fields they were four boxed doubles per series (V8
 * keeps no double unboxed in an object), a third of the objects a replay made per series and so a
 * good part of its garbage collection. Offsets of deleted series are reused.
 */
export class SeriesNumbers {
  /** The numbers; grows (a new array) as series are added. */
  f: Float64Array;
  private next = 0;
  private readonly free: number[] = [];

  /** `capacity`: series to make room for at first. */
  constructor(capacity = 1024) {
    this.f = new Float64Array(NUMS * capacity);
  }

  /** Offset of a new series' numbers, set to their initial values (0, -Infinity, 0, 0, 0). */
  alloc(): number {
    let o = this.free.pop();
    if (o === undefined) {
      o = this.next;
      this.next += NUMS;
      if (this.next > this.f.length) {
        const g = new Float64Array(this.f.length * 2);
        g.set(this.f);
        this.f = g;
      }
    }
    const f = this.f;
    f[o] = 0;
    f[o + 1] = Number.NEGATIVE_INFINITY;
    f[o + 2] = 0;
    f[o + 3] = 0;
    f[o + 4] = 0;
    return o;
  }

  /** Gives an offset back. */
  release(o: number): void {
    this.free.push(o);
  }
}

/** Prometheus's default OutOfOrderCapMax: samples per in-memory out-of-order chunk. */
export const OOO_CAP_MAX = 32;

/**
 * The out-of-order part of a series (Prometheus's memSeriesOOOFields): a small sorted head of
 * samples, cut into XOR chunks of OOO_CAP_MAX samples as it fills. Chunks may overlap each other
 * and the in-order chunks; reads merge them.
 */
class OooData {
  t = new Float64Array(OOO_CAP_MAX);
  v = new Float64Array(OOO_CAP_MAX);
  n = 0;
  chunks: HeadChunk[] = [];

  /** Inserts in time order; false when the timestamp is already in the open OOO chunk. */
  insert(t: number, v: number): boolean {
    if (this.n === OOO_CAP_MAX) this.cut();
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.t[mid] as number) < t) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.n && this.t[lo] === t) return false;
    this.t.copyWithin(lo + 1, lo, this.n);
    this.v.copyWithin(lo + 1, lo, this.n);
    this.t[lo] = t;
    this.v[lo] = v;
    this.n++;
    return true;
  }

  private cut(): void {
    const enc = new XorEncoder();
    for (let i = 0; i < this.n; i++) enc.append(this.t[i] as number, this.v[i] as number);
    this.chunks.push({ minTime: this.t[0] as number, maxTime: this.t[this.n - 1] as number, data: enc.bytes() });
    this.n = 0;
  }

  minTime(): number {
    let m = this.n > 0 ? (this.t[0] as number) : Number.POSITIVE_INFINITY;
    for (const c of this.chunks) if (c.minTime < m) m = c.minTime;
    return m;
  }

  /** Drops samples before mint (whole chunks, and from the open head). */
  truncateBefore(mint: number): void {
    const kept: HeadChunk[] = [];
    for (const c of this.chunks) {
      if (c.maxTime < mint) continue;
      if (c.minTime >= mint) {
        kept.push(c);
        continue;
      }
      // Out-of-order chunks are not aligned to block ranges: keep only the part from mint on, so
      // a persisted range is never written twice.
      const n = xorNumSamples(c.data);
      const ts = new Float64Array(n);
      const vs = new Float64Array(n);
      decodeXorInto(c.data, ts, vs);
      const enc = new XorEncoder();
      let first = Number.NaN;
      for (let i = 0; i < n; i++) {
        if ((ts[i] as number) < mint) continue;
        if (Number.isNaN(first)) first = ts[i] as number;
        enc.append(ts[i] as number, vs[i] as number);
      }
      kept.push({ minTime: first, maxTime: c.maxTime, data: enc.bytes() });
    }
    this.chunks = kept;
    let k = 0;
    while (k < this.n && (this.t[k] as number) < mint) k++;
    if (k > 0) {
      this.t.copyWithin(0, k, this.n);
      this.v.copyWithin(0, k, this.n);
      this.n -= k;
    }
  }

  empty(): boolean {
    return this.n === 0 && this.chunks.length === 0;
  }
}

/**
 * One series in the head (Prometheus's memSeries): closed XOR chunks, the open chunk being
 * appended to, and optionally out-of-order samples. Not safe for concurrent use, which JavaScript
 * never does within one head.
 */
export class MemSeries implements HeadXorState {
  /** Closed chunks, oldest first. Shared and frozen while empty: never push to it directly. */
  chunks: HeadChunk[] = NO_CHUNKS;
  // The open float chunk, when `xorOpen`: its writer state in these fields (see HeadXorState).
  // Public for appendXorSamples only.
  /** Whether the series has an open float (XOR) chunk. */
  private xorOpen = false;
  /** @internal */
  buf: Uint8Array = NO_XOR_BYTES;
  /** @internal */
  byteLen = 2;
  /** @internal */
  acc = 0;
  /** @internal */
  accBits = 0;
  /** @internal */
  trailingEmptyByte = false;
  /** @internal Samples in the open float chunk. */
  count = 0;
  /** @internal */
  tDelta = 0;
  /** @internal */
  vHi = 0;
  /** @internal */
  vLo = 0;
  /** @internal */
  leading = 0xff;
  /** @internal */
  trailing = 0;
  /**
   * The open chunk when it holds native histograms (then there is no open float chunk): a series
   * has one open chunk, and a change between floats and histograms cuts it, as in Prometheus.
   */
  private hist: OpenHistogramChunk | undefined;
  /** The newest in-order sample when it is a histogram (for the duplicate check). */
  lastHistogram: Histogram | FloatHistogram | undefined;
  // headMinTime, headMaxTime, nextAt, lastValue and t live in `nums` (see SeriesNumbers), at `o`.
  private readonly nums: SeriesNumbers;
  private readonly o: number;
  /** Samples appended to this series by appenders not yet committed or rolled back. */
  pending = 0;
  /** Deleted intervals from WAL tombstone records, applied on read. */
  tombstones: Interval[] | undefined;
  ooo: OooData | undefined;

  constructor(
    readonly ref: number,
    readonly labels: Labels,
    readonly hash: number,
    /** Where closed in-order chunks are written (chunks_head), if anywhere. */
    private readonly sink?: HeadChunkSink,
    /** The head's store of series numbers; a series made on its own gets one of its own. */
    nums?: SeriesNumbers,
  ) {
    this.nums = nums ?? new SeriesNumbers(1);
    this.o = this.nums.alloc();
  }

  /** @internal The open XOR chunk writer's newest timestamp, ms (see HeadXorState). */
  get t(): number {
    return this.nums.f[this.o + 4] as number;
  }
  set t(v: number) {
    this.nums.f[this.o + 4] = v;
  }

  /** @internal Encoded size of the open float chunk, bytes (see HeadXorState). */
  get byteLength(): number {
    return xorByteLength(this);
  }

  /** @internal Writes the open float chunk into `dst` from `at` (see HeadXorState). */
  writeTo(dst: Uint8Array, at: number): number {
    return xorWriteTo(this, dst, at);
  }

  // Starts a new, empty float chunk (keeping the buffer of the previous one).
  private openXorChunk(): void {
    openXorChunk(this);
    this.xorOpen = true;
  }

  // Drops the open float chunk and its buffer (the series was truncated or changed encoding).
  private dropXorChunk(): void {
    this.xorOpen = false;
    this.buf = NO_XOR_BYTES;
  }

  private get headMinTime(): number {
    return this.nums.f[this.o] as number;
  }
  private set headMinTime(t: number) {
    this.nums.f[this.o] = t;
  }
  private get headMaxTime(): number {
    return this.nums.f[this.o + 1] as number;
  }
  private set headMaxTime(t: number) {
    this.nums.f[this.o + 1] = t;
  }
  /** When the open chunk must be cut, ms (Prometheus's nextAt). */
  private get nextAt(): number {
    return this.nums.f[this.o + 2] as number;
  }
  private set nextAt(t: number) {
    this.nums.f[this.o + 2] = t;
  }
  /** Value of the newest in-order sample (for the duplicate check). */
  get lastValue(): number {
    return this.nums.f[this.o + 3] as number;
  }
  set lastValue(v: number) {
    this.nums.f[this.o + 3] = v;
  }

  /**
   * For head garbage collection: gives the series' numbers back to the store. The series must
   * not be appended to afterwards (a deleted series is empty, so reads never look at them).
   */
  release(): void {
    this.nums.release(this.o);
  }

  // A closed in-order chunk: kept in memory and written to chunks_head, as Prometheus's
  // mmapCurrentHeadChunk does when it cuts a new head chunk.
  private pushClosed(c: HeadChunk): void {
    if (this.sink !== undefined) {
      // A chunk restored from a snapshot is not in chunks_head yet (see writeRestoredChunk): it
      // goes first, so the files keep each series' chunks in time order.
      const prev = this.chunks[this.chunks.length - 1];
      if (prev !== undefined && prev.diskRef === undefined) this.writeRestoredChunk();
      c.diskRef = this.sink.writeChunk(this.ref, c.minTime, c.maxTime, c.encoding ?? ChunkEncoding.XOR, c.data);
    }
    // Most series of a busy head have no closed chunk yet: they share one frozen empty list.
    if (this.chunks === NO_CHUNKS) this.chunks = [c];
    else this.chunks.push(c);
  }

  /**
   * For replay: the series' closed chunks become `chunks` (loaded from chunks_head), and the open
   * chunk is dropped, as Prometheus's resetSeriesWithMMappedChunks. WAL samples up to the last
   * chunk's maxTime are then rejected by append (not newer), so only later ones are replayed.
   */
  setMmappedChunks(chunks: HeadChunk[]): void {
    this.chunks = chunks;
    this.dropXorChunk();
    this.hist = undefined;
    this.lastHistogram = undefined;
    this.nextAt = 0;
  }

  /**
   * For a chunk snapshot: the open chunk's bytes and range (XOR or a native histogram chunk),
   * or undefined when there is none.
   */
  openChunk(): HeadChunk | undefined {
    if (this.xorOpen && this.count > 0)
      return { minTime: this.headMinTime, maxTime: this.headMaxTime, data: xorBytes(this) };
    return this.openHistogramChunk();
  }

  /**
   * For loading a chunk snapshot: `data` (any encoding), the series' open chunk when the
   * snapshot was taken, becomes its newest closed chunk. Prometheus reopens it with nextAt = its
   * maxTime, so the next sample cuts a new chunk anyway: closing it now gives the same chunks
   * without decoding it. It is not written to chunks_head here: the caller writes the restored
   * chunks once the whole snapshot loaded (a snapshot failing half-way must leave no chunk
   * behind). The caller checks it starts after the series' chunks. Returns the chunk.
   */
  restoreSnapshotChunk(
    minTime: number,
    maxTime: number,
    data: Uint8Array,
    encoding: number,
    lastValue: number,
  ): HeadChunk {
    this.dropXorChunk();
    this.hist = undefined;
    this.lastHistogram = undefined;
    this.nextAt = 0;
    this.lastValue = lastValue;
    const c: HeadChunk = { minTime, maxTime, data };
    if (encoding !== ChunkEncoding.XOR) (c as { encoding?: ChunkEncoding }).encoding = encoding as ChunkEncoding;
    if (this.chunks === NO_CHUNKS) this.chunks = [c];
    else this.chunks.push(c);
    return c;
  }

  /**
   * Writes the series' chunks that are not in chunks_head (the one a chunk snapshot restored) to
   * the sink. A DB leaves them unwritten at open, so a restart from a snapshot is not slowed by
   * re-writing every series' head chunk, and writes them here: before the series cuts its next
   * chunk, before a checkpoint deletes the snapshot, and on close. Safe to call twice.
   */
  writeRestoredChunk(): void {
    const sink = this.sink;
    if (sink === undefined) return;
    for (const c of this.chunks)
      if (c.diskRef === undefined)
        c.diskRef = sink.writeChunk(this.ref, c.minTime, c.maxTime, c.encoding ?? ChunkEncoding.XOR, c.data);
  }

  /** Sequence of the oldest chunks_head file one of the series' chunks is in (Infinity when none). */
  firstChunkFileSeq(): number {
    const r = this.chunks[0]?.diskRef;
    return r ? Math.floor(r / 4294967296) : Number.POSITIVE_INFINITY;
  }

  /** Timestamp of the newest in-order sample, or -Infinity. */
  maxTime(): number {
    if (this.xorOpen || this.hist !== undefined) return this.headMaxTime;
    const last = this.chunks[this.chunks.length - 1];
    return last ? last.maxTime : Number.NEGATIVE_INFINITY;
  }

  /** Timestamp of the oldest sample (in-order or not), or +Infinity. */
  minTime(): number {
    let m =
      this.chunks[0]?.minTime ??
      (this.xorOpen || this.hist !== undefined ? this.headMinTime : Number.POSITIVE_INFINITY);
    if (this.ooo) m = Math.min(m, this.ooo.minTime());
    return m;
  }

  /** Whether the series has an open chunk (Prometheus's `s.head() != nil`). */
  hasHeadChunk(): boolean {
    return this.xorOpen || this.hist !== undefined;
  }

  /** Whether no samples are left. */
  empty(): boolean {
    return (
      this.chunks.length === 0 &&
      !this.xorOpen &&
      this.hist === undefined &&
      (this.ooo === undefined || this.ooo.empty())
    );
  }

  /** Number of chunks held (closed, open, and out-of-order). */
  numChunks(): number {
    let n = this.chunks.length + (!this.xorOpen && this.hist === undefined ? 0 : 1);
    if (this.ooo) n += this.ooo.chunks.length + (this.ooo.n > 0 ? 1 : 0);
    return n;
  }

  /**
   * Appends an in-order sample, cutting chunks exactly where Prometheus's appendPreprocessor
   * (head_append.go) cuts them: at the end of the `chunkRange`-aligned window, at a boundary
   * predicted once the chunk holds a quarter of 120 samples, or at 240 samples. Returns false
   * (dropping the sample) when it is not newer than the newest one. Returns true on append.
   */
  append(t: number, v: number, chunkRange: number): boolean {
    if (t <= this.maxTime()) return false;
    // A float after histograms closes the histogram chunk (a new encoding needs a new chunk).
    if (this.hist !== undefined) this.closeHistogramChunk();
    if (!this.xorOpen) {
      this.cutNewHeadChunk(t, chunkRange);
    } else {
      const n = this.count;
      if (n === SAMPLES_PER_CHUNK / 4)
        this.nextAt = computeChunkEndTime(this.headMinTime, this.headMaxTime, this.nextAt);
      // Past 240 samples the prediction was wrong (the rate went up): cut anyway.
      if (t >= this.nextAt || n >= SAMPLES_PER_CHUNK * 2) {
        this.closeHeadChunk();
        this.cutNewHeadChunk(t, chunkRange);
      }
    }
    xorAppend(this, t, v);
    this.headMaxTime = t;
    this.lastValue = v;
    this.lastHistogram = undefined;
    return true;
  }

  /**
   * Appends an in-order native histogram sample (`float` says whether `h` is a FloatHistogram),
   * as Prometheus's memSeries.appendHistogram / appendFloatHistogram: the chunk is cut where a
   * float chunk would be (see append), when the encoding changes (floats, integer or float
   * histograms), and where the chunk's appender cannot take the sample (counter reset, schema or
   * zero threshold change; the new chunk's header says why); new buckets recode the open chunk.
   * Returns false (dropping the sample) when it is not newer than the newest one.
   */
  appendHistogram(t: number, h: Histogram | FloatHistogram, float: boolean, chunkRange: number): boolean {
    if (t <= this.maxTime()) return false;
    if (this.xorOpen) {
      this.closeHeadChunk();
      this.dropXorChunk();
    }
    let open = this.hist;
    if (open !== undefined && open.float !== float) {
      this.closeHistogramChunk();
      open = undefined;
    }
    // The previous chunk's appender decides a new chunk's counter reset header.
    let prev: HistogramAppender | FloatHistogramAppender | null = null;
    if (open === undefined) {
      open = float
        ? { float: true, app: new FloatHistogramChunk().appender() }
        : { float: false, app: new HistogramChunk().appender() };
      this.hist = open;
      this.headMinTime = t;
      this.nextAt = rangeForTimestamp(t, chunkRange);
    } else {
      const n = open.app.numSamples;
      if (n === SAMPLES_PER_CHUNK / 4)
        this.nextAt = computeChunkEndTime(this.headMinTime, this.headMaxTime, this.nextAt);
      if (t >= this.nextAt || n >= SAMPLES_PER_CHUNK * 2) {
        prev = open.app;
        this.closeHistogramChunk();
        open = float
          ? { float: true, app: new FloatHistogramChunk().appender() }
          : { float: false, app: new HistogramChunk().appender() };
        this.hist = open;
        this.headMinTime = t;
        this.nextAt = rangeForTimestamp(t, chunkRange);
      }
    }
    const res = open.float
      ? open.app.append(t, h as FloatHistogram, prev as FloatHistogramAppender | null)
      : open.app.append(t, h as Histogram, prev as HistogramAppender | null);
    if (res.chunk !== null && !res.recoded) {
      // The appender cut a new chunk for this sample: the old one is complete.
      this.closeHistogramChunk();
      this.headMinTime = t;
      this.nextAt = rangeForTimestamp(t, chunkRange);
    }
    this.hist = (
      open.float ? { float: true, app: res.appender } : { float: false, app: res.appender }
    ) as OpenHistogramChunk;
    this.headMaxTime = t;
    this.lastHistogram = h;
    return true;
  }

  /** Whether `h` equals the newest sample, a histogram (Prometheus's duplicate check). */
  sameAsLastHistogram(h: Histogram | FloatHistogram, float: boolean): boolean {
    const last = this.lastHistogram;
    if (last === undefined || this.hist === undefined || this.hist.float !== float) return false;
    return float
      ? floatHistogramEquals(last as FloatHistogram, h as FloatHistogram)
      : histogramEquals(last as Histogram, h as Histogram);
  }

  private closeHistogramChunk(): void {
    const open = this.hist;
    this.hist = undefined;
    if (open === undefined || open.app.numSamples === 0) return;
    this.pushClosed({
      minTime: this.headMinTime,
      maxTime: this.headMaxTime,
      data: open.app.chunk.bytes(),
      encoding: open.float ? ChunkEncoding.FloatHistogram : ChunkEncoding.Histogram,
    });
  }

  private openHistogramChunk(): HeadChunk | undefined {
    const open = this.hist;
    if (open === undefined || open.app.numSamples === 0) return undefined;
    return {
      minTime: this.headMinTime,
      maxTime: this.headMaxTime,
      data: open.app.chunk.bytes(),
      encoding: open.float ? ChunkEncoding.FloatHistogram : ChunkEncoding.Histogram,
    };
  }

  private cutNewHeadChunk(t: number, chunkRange: number): void {
    this.openXorChunk();
    this.headMinTime = t;
    this.headMaxTime = Number.NEGATIVE_INFINITY;
    this.nextAt = rangeForTimestamp(t, chunkRange);
  }

  private closeHeadChunk(): void {
    if (this.count > 0) this.pushClosed({ minTime: this.headMinTime, maxTime: this.headMaxTime, data: xorBytes(this) });
  }

  /** Inserts an out-of-order sample; false when it duplicates one in the open OOO chunk. */
  insertOutOfOrder(t: number, v: number): boolean {
    if (this.ooo === undefined) this.ooo = new OooData();
    return this.ooo.insert(t, v);
  }

  /**
   * Drops chunks that end before mint (Prometheus's truncateChunksBefore), including the open one,
   * and out-of-order samples before mint. Returns the number of chunks removed.
   */
  truncateChunksBefore(mint: number): number {
    const before = this.numChunks();
    let k = 0;
    while (k < this.chunks.length && (this.chunks[k] as HeadChunk).maxTime < mint) k++;
    if (k > 0) this.chunks = this.chunks.slice(k);
    if (this.xorOpen && this.headMaxTime < mint) this.dropXorChunk();
    if (this.hist !== undefined && this.headMaxTime < mint) {
      this.hist = undefined;
      this.lastHistogram = undefined;
    }
    if (this.ooo) {
      this.ooo.truncateBefore(mint);
      if (this.ooo.empty()) this.ooo = undefined;
    }
    return before - this.numChunks();
  }

  /**
   * In-order chunks overlapping [mint, maxt] (the open one as a fresh copy of its bytes), followed
   * by out-of-order chunks when `withOoo`.
   */
  chunksOverlapping(mint: number, maxt: number, withOoo = true): HeadChunk[] {
    const out: HeadChunk[] = [];
    for (const c of this.chunks) if (c.maxTime >= mint && c.minTime <= maxt) out.push(c);
    if (this.xorOpen && this.count > 0 && this.headMaxTime >= mint && this.headMinTime <= maxt) {
      out.push({ minTime: this.headMinTime, maxTime: this.headMaxTime, data: xorBytes(this) });
    }
    if (this.hist !== undefined && this.headMaxTime >= mint && this.headMinTime <= maxt) {
      const open = this.openHistogramChunk();
      if (open) out.push(open);
    }
    if (withOoo && this.ooo) {
      for (const c of this.ooo.chunks) if (c.maxTime >= mint && c.minTime <= maxt) out.push(c);
      const o = this.ooo;
      if (o.n > 0 && (o.t[o.n - 1] as number) >= mint && (o.t[0] as number) <= maxt) {
        const enc2 = new XorEncoder();
        for (let i = 0; i < o.n; i++) enc2.append(o.t[i] as number, o.v[i] as number);
        out.push({ minTime: o.t[0] as number, maxTime: o.t[o.n - 1] as number, data: enc2.bytes() });
      }
    }
    return out;
  }

  /**
   * The series' native histogram samples in [mint, maxt] (integer histograms as float
   * histograms), tombstoned intervals removed; undefined when there are none.
   */
  histogramSamples(mint: number, maxt: number): HistogramSamples | undefined {
    if (!this.mayHoldHistograms()) return undefined;
    const chunks = this.chunksOverlapping(mint, maxt, false).filter((c) => c.encoding !== undefined);
    if (chunks.length === 0) return undefined;
    return decodeHistogramChunks(
      chunks.map((c) => ({ encoding: c.encoding, data: c.data, ref: 0 })),
      mint,
      maxt,
      this.tombstones && this.tombstones.length > 0 ? this.tombstones : undefined,
      `head series ${this.labels.toString()}`,
    );
  }

  /** Whether the series has or had a native histogram chunk (cheap: a field or a scan of closed chunks). */
  mayHoldHistograms(): boolean {
    if (this.hist !== undefined) return true;
    for (const c of this.chunks) if (c.encoding !== undefined) return true;
    return false;
  }

  /**
   * The native histogram chunks of [mint, maxt] as a block gets them at head compaction: chunks
   * inside the range and untouched by tombstones are copied byte for byte, others are re-encoded
   * from their samples in range (Prometheus's compactor re-encodes bounded chunks too).
   */
  histogramChunks(mint: number, maxt: number, chunkRange: number): EncodedChunk[] {
    if (!this.mayHoldHistograms()) return [];
    const out: EncodedChunk[] = [];
    const dels = this.tombstones && this.tombstones.length > 0 ? this.tombstones : undefined;
    for (const c of this.chunksOverlapping(mint, maxt, false)) {
      if (c.encoding === undefined) continue;
      const enc = c.encoding as typeof ChunkEncoding.Histogram | typeof ChunkEncoding.FloatHistogram;
      const touched = dels?.some((d) => d.maxTime >= c.minTime && d.minTime <= c.maxTime) ?? false;
      if (c.minTime >= mint && c.maxTime <= maxt && !touched) {
        out.push({ minTime: c.minTime, maxTime: c.maxTime, encoding: enc, data: c.data });
        continue;
      }
      const keep = (t: number) => t >= mint && t <= maxt && !dels?.some((d) => t >= d.minTime && t <= d.maxTime);
      if (enc === ChunkEncoding.Histogram) {
        const d = decodeHistogramChunk(c.data);
        const samples = d.histograms.map((h, i) => ({ t: d.timestamps[i] as number, h })).filter((x) => keep(x.t));
        out.push(...cutHistogramChunks(samples, chunkRange));
      } else {
        const d = decodeFloatHistogramChunk(c.data);
        const samples = d.histograms.map((h, i) => ({ t: d.timestamps[i] as number, h })).filter((x) => keep(x.t));
        out.push(...cutFloatHistogramChunks(samples, chunkRange));
      }
    }
    return out;
  }

  private hasHistogramChunks(chunks: readonly HeadChunk[]): boolean {
    if (this.hist !== undefined) return true;
    for (const c of chunks) if (c.encoding !== undefined) return true;
    return false;
  }

  /** Whether any out-of-order data is held. */
  hasOutOfOrder(): boolean {
    return this.ooo !== undefined && !this.ooo.empty();
  }

  /**
   * Samples in [mint, maxt] as sorted columns: in-order and out-of-order merged (in-order wins on
   * equal timestamps), tombstoned intervals removed. Empty columns when nothing is in range.
   */
  samples(mint: number, maxt: number, withOoo = true): { timestamps: Float64Array; values: Float64Array } {
    let chunks = this.chunksOverlapping(mint, maxt, withOoo);
    if (chunks.length === 0) return EMPTY_COLUMNS;
    if (this.hasHistogramChunks(chunks)) {
      chunks = chunks.filter((c) => c.encoding === undefined);
      if (chunks.length === 0) return EMPTY_COLUMNS;
    }
    let total = 0;
    for (const c of chunks) total += xorNumSamples(c.data);
    let ts: Float64Array = new Float64Array(total);
    let vs: Float64Array = new Float64Array(total);
    let n = 0;
    let sorted = true;
    for (const c of chunks) {
      const start = n;
      n += decodeXorInto(c.data, ts, vs, n);
      if (start > 0 && (ts[start] as number) <= (ts[start - 1] as number)) sorted = false;
    }
    if (!sorted) [ts, vs] = sortDedupe(ts, vs, n);
    else {
      ts = ts.subarray(0, n);
      vs = vs.subarray(0, n);
    }
    let lo = lowerBound(ts, mint);
    let hi = lowerBound(ts, maxt + 1);
    if (this.tombstones && this.tombstones.length > 0) {
      const keepT: number[] = [];
      const keepI: number[] = [];
      for (let i = lo; i < hi; i++) {
        const t = ts[i] as number;
        if (!this.tombstones.some((iv) => t >= iv.minTime && t <= iv.maxTime)) {
          keepT.push(t);
          keepI.push(i);
        }
      }
      const ots = new Float64Array(keepT.length);
      const ovs = new Float64Array(keepT.length);
      for (let k = 0; k < keepI.length; k++) {
        ots[k] = keepT[k] as number;
        ovs[k] = vs[keepI[k] as number] as number;
      }
      return { timestamps: ots, values: ovs };
    }
    if (lo === 0 && hi === ts.length) return { timestamps: ts, values: vs };
    if (lo >= hi) {
      lo = 0;
      hi = 0;
    }
    return { timestamps: ts.slice(lo, hi), values: vs.slice(lo, hi) };
  }
}

const EMPTY_COLUMNS = { timestamps: new Float64Array(0), values: new Float64Array(0) };

function lowerBound(ts: Float64Array, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Stable sort by time keeping the first of equal timestamps: chunks were decoded in-order chunks
// first, so an in-order sample wins over an out-of-order one with the same timestamp.
function sortDedupe(ts: Float64Array, vs: Float64Array, n: number): [Float64Array, Float64Array] {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => (ts[a] as number) - (ts[b] as number) || a - b);
  const ots = new Float64Array(n);
  const ovs = new Float64Array(n);
  let w = 0;
  for (let k = 0; k < n; k++) {
    const i = idx[k] as number;
    const t = ts[i] as number;
    if (w > 0 && ots[w - 1] === t) continue;
    ots[w] = t;
    ovs[w] = vs[i] as number;
    w++;
  }
  return [ots.subarray(0, w), ovs.subarray(0, w)];
}

/**
 * Prometheus's computeChunkEndTime: assuming the chunk is a quarter full at `cur`, the end time
 * that splits the rest of the window up to `max` into equally sized chunks.
 */
export function computeChunkEndTime(start: number, cur: number, max: number): number {
  const n = Math.trunc((max - start) / ((cur - start + 1) * 4));
  if (n <= 1) return max;
  return start + Math.trunc((max - start) / n);
}
