// The float histogram chunk (encoding 3), bit for bit Prometheus's tsdb/chunkenc/float_histogram.go.
//
// Same header and layout as the integer histogram chunk (see histogram.ts); the fields differ:
//
//     field →    ts     count  zeroCount  sum  []posbuckets  []negbuckets
//     sample 1   raw    raw    raw        raw  []raw         []raw
//     sample 2   delta  xor    xor        xor  []xor         []xor
//     sample >2  dod    xor    xor        xor  []xor         []xor
//
// The timestamp is a varbit integer; every other field is a float64, raw in the first sample and
// then XOR'd against its previous value with its own leading/trailing window. Bucket values are
// absolute counts.
import { CorruptionError } from '../errors.js';
import { copyFloatHistogram } from '../histogram/histogram.js';
import {
  CounterResetHint,
  countSpans,
  customBucketBoundsMatch,
  EXPONENTIAL_SCHEMA_MAX,
  type FloatHistogram,
  isCustomBucketsSchema,
  isKnownSchema,
  type Span,
} from '../histogram/types.js';
import { unknownSchemaError } from '../histogram/validate.js';
import { isStaleNaN, STALE_NAN_BITS_HI, STALE_NAN_BITS_LO } from '../storage/stale.js';
import { BitWriter } from './bitstream.js';
import { ChunkEncoding } from './chunk.js';
import { MAX_HISTOGRAM_CHUNK_SAMPLES } from './histogram.js';
import {
  HistogramBitReader,
  putFloat64,
  putVarbitInt,
  putXor,
  type XorState,
  xorStateValue,
} from './histogram-bits.js';
import { HistogramAppendError } from './histogram-errors.js';
import {
  adjustForInserts,
  COUNTER_RESET_HEADER_MASK,
  CounterResetHeader,
  counterResetHintForSample,
  expandSpansAndBuckets,
  expandSpansBothWays,
  HISTOGRAM_FLAG_POS,
  HISTOGRAM_HEADER_SIZE,
  type Insert,
  insertBuckets,
  putHistogramChunkLayout,
  readHistogramChunkLayout,
} from './histogram-meta.js';

/** A float histogram chunk being written or appended to; see HistogramChunk. */
export class FloatHistogramChunk {
  /** The chunk's encoding (3). */
  readonly encoding: typeof ChunkEncoding.FloatHistogram = ChunkEncoding.FloatHistogram;

  /** @internal The bit stream, header bytes included in its prefix. */
  readonly w: BitWriter;

  /** A new, empty chunk. */
  constructor(w?: BitWriter) {
    this.w = w ?? new BitWriter(HISTOGRAM_HEADER_SIZE);
  }

  /**
   * A chunk holding the samples of `bytes` (e.g. read from a block) that can be appended to. The
   * samples are decoded and written again, which gives the same bytes for any chunk an appender
   * wrote, and lets appends continue at the exact bit where the samples end. (Prometheus's
   * FromData chunks would continue at the next byte boundary, which its readers cannot follow;
   * Prometheus never appends to them.) Throws CorruptionError when `bytes` do not decode.
   */
  static fromBytes(bytes: Uint8Array, file = 'chunk', fileOffset = 0): FloatHistogramChunk {
    const c = new FloatHistogramChunk();
    const it = new FloatHistogramIterator(bytes, file, fileOffset);
    const app = new FloatHistogramAppender(c);
    app.rewrite(it);
    return c;
  }

  /** Samples in the chunk. */
  get numSamples(): number {
    const a = this.w.array;
    return ((a[0] as number) << 8) | (a[1] as number);
  }

  /** The counter reset header. */
  get counterResetHeader(): CounterResetHeader {
    return ((this.w.array[HISTOGRAM_FLAG_POS] as number) & COUNTER_RESET_HEADER_MASK) as CounterResetHeader;
  }

  /** The chunk bytes (a copy). */
  bytes(): Uint8Array {
    return this.w.toBytes();
  }

  /** An appender continuing this chunk; state rebuilt by decoding (CorruptionError if it cannot). */
  appender(): FloatHistogramAppender {
    const a = new FloatHistogramAppender(this);
    if (this.numSamples === 0) return a;
    const it = new FloatHistogramIterator(this.bytes());
    while (it.next()) {
      // Decode to the end: the iterator's state is the appender's.
    }
    a.loadFrom(it);
    return a;
  }

  /** An iterator over the samples (of a snapshot of the bytes). */
  iterator(): FloatHistogramIterator {
    return new FloatHistogramIterator(this.bytes());
  }
}

/** What FloatHistogramAppender.append did; see HistogramAppendResult. */
export interface FloatHistogramAppendResult {
  chunk: FloatHistogramChunk | null;
  recoded: boolean;
  appender: FloatHistogramAppender;
}

/** What FloatHistogramAppender.appendable found. */
export interface FloatHistogramAppendable {
  positiveInserts: Insert[];
  negativeInserts: Insert[];
  backwardPositiveInserts: Insert[];
  backwardNegativeInserts: Insert[];
  okToAppend: boolean;
  counterReset: boolean;
}

const NONE: Insert[] = [];

function xorState(value: number, leading: number, trailing = 0): XorState {
  return { value, leading, trailing };
}

/**
 * Appends float histograms to a FloatHistogramChunk with Prometheus 3's rules
 * (FloatHistogramAppender); see HistogramAppender. One difference Prometheus has: a chunk cut for
 * a schema change gets the Unknown header, and a chunk continuing a previous one (`prev`) gets
 * NotCounterReset unless the sample is a counter reset.
 */
export class FloatHistogramAppender {
  schema = 0;
  zThreshold = 0;
  pSpans: Span[] = [];
  nSpans: Span[] = [];
  customValues: number[] | undefined = undefined;
  t = Number.MIN_SAFE_INTEGER;
  tDelta = 0;
  readonly sum: XorState = xorState(0, 0xff);
  readonly cnt: XorState = xorState(0, 0xff);
  readonly zCnt: XorState = xorState(0, 0xff);
  pBuckets: XorState[] = [];
  nBuckets: XorState[] = [];

  constructor(readonly chunk: FloatHistogramChunk) {}

  /** @internal Takes over a decoder's state after it read every sample. */
  loadFrom(it: FloatHistogramIterator): void {
    this.schema = it.schema;
    this.zThreshold = it.zThreshold;
    this.pSpans = it.pSpans;
    this.nSpans = it.nSpans;
    this.customValues = it.customValues;
    this.t = it.t;
    this.tDelta = it.tDelta;
    Object.assign(this.sum, it.sumState);
    Object.assign(this.cnt, it.cntState);
    Object.assign(this.zCnt, it.zCntState);
    this.pBuckets = it.pStates.map((s) => ({ ...s }));
    this.nBuckets = it.nStates.map((s) => ({ ...s }));
  }

  /** @internal Writes every sample of `it` (a fresh iterator) into this appender's empty chunk. */
  rewrite(it: FloatHistogramIterator): void {
    let num = 0;
    while (it.next()) num = this.appendRaw(num, it.t, it.atFloatHistogram());
    this.setNumSamples(num);
    this.setCounterResetHeader(it.counterResetHeader);
  }

  /** Samples in the chunk. */
  get numSamples(): number {
    return this.chunk.numSamples;
  }

  private setNumSamples(n: number): void {
    const a = this.chunk.w.array;
    a[0] = n >>> 8;
    a[1] = n & 0xff;
  }

  /** The chunk's counter reset header. */
  get counterResetHeader(): CounterResetHeader {
    return this.chunk.counterResetHeader;
  }

  /** Sets the chunk's counter reset header. */
  setCounterResetHeader(h: CounterResetHeader): void {
    const a = this.chunk.w.array;
    a[HISTOGRAM_FLAG_POS] = ((a[HISTOGRAM_FLAG_POS] as number) & ~COUNTER_RESET_HEADER_MASK) | h;
  }

  /** Whether a counter float histogram can go into this chunk; see HistogramAppender.appendable. */
  appendable(h: FloatHistogram): FloatHistogramAppendable {
    const res: FloatHistogramAppendable = {
      positiveInserts: NONE,
      negativeInserts: NONE,
      backwardPositiveInserts: NONE,
      backwardNegativeInserts: NONE,
      okToAppend: false,
      counterReset: false,
    };
    if (this.numSamples > 0 && this.counterResetHeader === CounterResetHeader.Gauge) return res;
    if (h.counterResetHint === CounterResetHint.CounterReset) {
      res.counterReset = true;
      return res;
    }
    if (isStaleNaN(h.sum)) {
      res.okToAppend = true;
      return res;
    }
    if (isStaleNaN(this.sum.value)) return res;
    if (h.count < this.cnt.value) {
      res.counterReset = true;
      return res;
    }
    if (h.schema !== this.schema || h.zeroThreshold !== this.zThreshold) return res;
    if (isCustomBucketsSchema(h.schema) && !customBucketBoundsMatch(h.customValues, this.customValues)) {
      res.counterReset = true;
      return res;
    }
    if (h.zeroCount < this.zCnt.value) {
      res.counterReset = true;
      return res;
    }
    const p = expandSpansAndBuckets(this.pSpans, h.positiveSpans, values(this.pBuckets), h.positiveBuckets, false);
    if (!p) {
      res.counterReset = true;
      return res;
    }
    const n = expandSpansAndBuckets(this.nSpans, h.negativeSpans, values(this.nBuckets), h.negativeBuckets, false);
    if (!n) {
      res.counterReset = true;
      return res;
    }
    res.positiveInserts = p.forward;
    res.backwardPositiveInserts = p.backward;
    res.negativeInserts = n.forward;
    res.backwardNegativeInserts = n.backward;
    res.okToAppend = true;
    return res;
  }

  /** Whether a gauge float histogram can go into this gauge chunk; see HistogramAppender.appendableGauge. */
  appendableGauge(h: FloatHistogram): {
    positiveInserts: Insert[];
    negativeInserts: Insert[];
    backwardPositiveInserts: Insert[];
    backwardNegativeInserts: Insert[];
    positiveSpans: Span[];
    negativeSpans: Span[];
    okToAppend: boolean;
  } {
    const res = {
      positiveInserts: NONE,
      negativeInserts: NONE,
      backwardPositiveInserts: NONE,
      backwardNegativeInserts: NONE,
      positiveSpans: [] as Span[],
      negativeSpans: [] as Span[],
      okToAppend: false,
    };
    if (this.numSamples > 0 && this.counterResetHeader !== CounterResetHeader.Gauge) return res;
    if (isStaleNaN(h.sum)) {
      res.okToAppend = true;
      return res;
    }
    if (isStaleNaN(this.sum.value)) return res;
    if (h.schema !== this.schema || h.zeroThreshold !== this.zThreshold) return res;
    if (isCustomBucketsSchema(h.schema) && !customBucketBoundsMatch(h.customValues, this.customValues)) return res;
    const p = expandSpansBothWays(this.pSpans, h.positiveSpans);
    const n = expandSpansBothWays(this.nSpans, h.negativeSpans);
    res.positiveInserts = p.forward;
    res.backwardPositiveInserts = p.backward;
    res.positiveSpans = p.merged;
    res.negativeInserts = n.forward;
    res.backwardNegativeInserts = n.backward;
    res.negativeSpans = n.merged;
    res.okToAppend = true;
    return res;
  }

  /**
   * Appends `h` at time `t` (Prometheus's AppendFloatHistogram); see HistogramAppender.append.
   * `h` is not modified.
   */
  append(
    t: number,
    h: FloatHistogram,
    prev?: FloatHistogramAppender | null,
    appendOnly = false,
  ): FloatHistogramAppendResult {
    const num = this.numSamples;
    if (num >= MAX_HISTOGRAM_CHUNK_SAMPLES) throw new HistogramAppendError('chunk capacity exceeded');
    if (num === 0) {
      this.setNumSamples(this.appendRaw(0, t, h));
      if (h.counterResetHint === CounterResetHint.Gauge) {
        this.setCounterResetHeader(CounterResetHeader.Gauge);
      } else if (h.counterResetHint === CounterResetHint.CounterReset) {
        this.setCounterResetHeader(CounterResetHeader.CounterReset);
      } else if (prev) {
        this.setCounterResetHeader(
          prev.appendable(h).counterReset ? CounterResetHeader.CounterReset : CounterResetHeader.NotCounterReset,
        );
      }
      return { chunk: null, recoded: false, appender: this };
    }
    if (h.counterResetHint !== CounterResetHint.Gauge) {
      const a = this.appendable(h);
      if (!a.okToAppend || a.counterReset) {
        if (appendOnly) {
          throw new HistogramAppendError(
            a.counterReset ? 'float histogram counter reset' : 'float histogram schema change',
          );
        }
        const chunk = new FloatHistogramChunk();
        const app = new FloatHistogramAppender(chunk);
        if (a.counterReset) app.setCounterResetHeader(CounterResetHeader.CounterReset);
        app.setNumSamples(app.appendRaw(0, t, h));
        return { chunk, recoded: false, appender: app };
      }
      let sample = h;
      const forward = a.positiveInserts.length > 0 || a.negativeInserts.length > 0;
      if (a.backwardPositiveInserts.length > 0 || a.backwardNegativeInserts.length > 0) {
        sample = copyFloatHistogram(h);
        if (!forward) {
          sample.positiveSpans = this.pSpans.map((s) => ({ ...s }));
          sample.negativeSpans = this.nSpans.map((s) => ({ ...s }));
        } else {
          sample.positiveSpans = adjustForInserts(h.positiveSpans, a.backwardPositiveInserts);
          sample.negativeSpans = adjustForInserts(h.negativeSpans, a.backwardNegativeInserts);
        }
        recodeFloatHistogram(sample, a.backwardPositiveInserts, a.backwardNegativeInserts);
      }
      if (forward) {
        if (appendOnly) {
          throw new HistogramAppendError(
            `float histogram layout change with ${a.positiveInserts.length} positive and ${a.negativeInserts.length} negative forwards inserts`,
          );
        }
        const app = this.recode(a.positiveInserts, a.negativeInserts, sample.positiveSpans, sample.negativeSpans);
        app.setNumSamples(app.appendRaw(app.numSamples, t, sample));
        return { chunk: app.chunk, recoded: true, appender: app };
      }
      this.setNumSamples(this.appendRaw(num, t, sample));
      return { chunk: null, recoded: false, appender: this };
    }
    const g = this.appendableGauge(h);
    if (!g.okToAppend) {
      if (appendOnly) throw new HistogramAppendError('float gauge histogram schema change');
      const chunk = new FloatHistogramChunk();
      const app = new FloatHistogramAppender(chunk);
      app.setCounterResetHeader(CounterResetHeader.Gauge);
      app.setNumSamples(app.appendRaw(0, t, h));
      return { chunk, recoded: false, appender: app };
    }
    let sample = h;
    if (g.backwardPositiveInserts.length + g.backwardNegativeInserts.length > 0) {
      if (appendOnly) {
        throw new HistogramAppendError(
          `float gauge histogram layout change with ${g.backwardPositiveInserts.length} positive and ${g.backwardNegativeInserts.length} negative backwards inserts`,
        );
      }
      sample = copyFloatHistogram(h);
      sample.positiveSpans = g.positiveSpans;
      sample.negativeSpans = g.negativeSpans;
      recodeFloatHistogram(sample, g.backwardPositiveInserts, g.backwardNegativeInserts);
    }
    if (g.positiveInserts.length > 0 || g.negativeInserts.length > 0) {
      if (appendOnly) {
        throw new HistogramAppendError(
          `float gauge histogram layout change with ${g.positiveInserts.length} positive and ${g.negativeInserts.length} negative forwards inserts`,
        );
      }
      const app = this.recode(g.positiveInserts, g.negativeInserts, sample.positiveSpans, sample.negativeSpans);
      app.setNumSamples(app.appendRaw(app.numSamples, t, sample));
      return { chunk: app.chunk, recoded: true, appender: app };
    }
    this.setNumSamples(this.appendRaw(num, t, sample));
    return { chunk: null, recoded: false, appender: this };
  }

  // Writes one sample (appendFloatHistogram); returns the new sample count.
  private appendRaw(num: number, t: number, hIn: FloatHistogram): number {
    const w = this.chunk.w;
    const h: FloatHistogram = isStaleNaN(hIn.sum)
      ? {
          counterResetHint: CounterResetHint.Unknown,
          schema: 0,
          zeroThreshold: 0,
          zeroCount: 0,
          count: 0,
          sum: hIn.sum,
          positiveSpans: [],
          negativeSpans: [],
          positiveBuckets: [],
          negativeBuckets: [],
        }
      : hIn;
    let tDelta = 0;
    if (num === 0) {
      putHistogramChunkLayout(w, h.schema, h.zeroThreshold, h.positiveSpans, h.negativeSpans, h.customValues);
      this.schema = h.schema;
      this.zThreshold = h.zeroThreshold;
      this.pSpans = h.positiveSpans.map((s) => ({ ...s }));
      this.nSpans = h.negativeSpans.map((s) => ({ ...s }));
      this.customValues = h.customValues && h.customValues.length > 0 ? h.customValues.slice() : undefined;
      const np = countSpans(h.positiveSpans);
      const nn = countSpans(h.negativeSpans);
      this.pBuckets = [];
      for (let i = 0; i < np; i++) this.pBuckets.push(xorState(h.positiveBuckets[i] as number, 0xff));
      this.nBuckets = [];
      for (let i = 0; i < nn; i++) this.nBuckets.push(xorState(h.negativeBuckets[i] as number, 0xff));
      putVarbitInt(w, t);
      putFloat64(w, h.count);
      putFloat64(w, h.zeroCount);
      putFloat64(w, h.sum);
      this.cnt.value = h.count;
      this.zCnt.value = h.zeroCount;
      this.sum.value = h.sum;
      for (const b of h.positiveBuckets) putFloat64(w, b);
      for (const b of h.negativeBuckets) putFloat64(w, b);
    } else {
      tDelta = t - this.t;
      putVarbitInt(w, tDelta - this.tDelta);
      writeXorValue(w, this.cnt, h.count);
      writeXorValue(w, this.zCnt, h.zeroCount);
      writeXorValue(w, this.sum, h.sum);
      const pb = h.positiveBuckets;
      for (let i = 0; i < pb.length; i++) writeXorValue(w, this.pBuckets[i] as XorState, pb[i] as number);
      const nb = h.negativeBuckets;
      for (let i = 0; i < nb.length; i++) writeXorValue(w, this.nBuckets[i] as XorState, nb[i] as number);
    }
    this.t = t;
    this.tDelta = tDelta;
    return num + 1;
  }

  /** Re-encodes the chunk with the wider layout (Prometheus's recode); returns the new chunk's appender. */
  recode(
    positiveInserts: readonly Insert[],
    negativeInserts: readonly Insert[],
    positiveSpans: Span[],
    negativeSpans: Span[],
  ): FloatHistogramAppender {
    const bytes = this.chunk.bytes();
    const it = new FloatHistogramIterator(bytes);
    const app = new FloatHistogramAppender(new FloatHistogramChunk());
    const np = countSpans(positiveSpans);
    const nn = countSpans(negativeSpans);
    let num = 0;
    while (it.next()) {
      const old = it.atFloatHistogram();
      old.positiveSpans = positiveSpans;
      old.negativeSpans = negativeSpans;
      if (positiveInserts.length > 0)
        old.positiveBuckets = insertBuckets(old.positiveBuckets, positiveInserts, false, np);
      if (negativeInserts.length > 0)
        old.negativeBuckets = insertBuckets(old.negativeBuckets, negativeInserts, false, nn);
      num = app.appendRaw(num, it.t, old);
    }
    app.setNumSamples(num);
    app.setCounterResetHeader(
      ((bytes[HISTOGRAM_FLAG_POS] as number) & COUNTER_RESET_HEADER_MASK) as CounterResetHeader,
    );
    return app;
  }
}

function values(states: readonly XorState[]): number[] {
  return states.map((s) => s.value);
}

function writeXorValue(w: BitWriter, s: XorState, v: number): void {
  putXor(w, v, s);
  s.value = v;
}

function recodeFloatHistogram(h: FloatHistogram, pBackward: readonly Insert[], nBackward: readonly Insert[]): void {
  if (pBackward.length > 0) {
    h.positiveBuckets = insertBuckets(h.positiveBuckets, pBackward, false, countSpans(h.positiveSpans));
  }
  if (nBackward.length > 0) {
    h.negativeBuckets = insertBuckets(h.negativeBuckets, nBackward, false, countSpans(h.negativeSpans));
  }
}

/**
 * Decodes a float histogram chunk sample by sample (floatHistogramIterator); same contract as
 * HistogramIterator.
 */
export class FloatHistogramIterator {
  private readonly r = new HistogramBitReader();
  private numTotal = 0;
  private numRead = 0;
  counterResetHeader: CounterResetHeader = CounterResetHeader.Unknown;
  schema = 0;
  zThreshold = 0;
  pSpans: Span[] = [];
  nSpans: Span[] = [];
  customValues: number[] | undefined = undefined;
  /** Timestamp of the current sample (ms). */
  t = Number.MIN_SAFE_INTEGER;
  tDelta = 0;
  // Every XOR field as bits, four int32s each (value high and low bits, leading, trailing; see
  // HistogramBitReader.readXorBits): count, zero count, sum, then the positive and negative
  // buckets. Kept as bits so that samples that are skipped (before a query's window) never
  // become floats or objects.
  private st: Int32Array = NO_FIELDS;
  // The bucket array of an empty side, shared by the samples atFloatHistogram(true) returns.
  private readonly noBuckets: number[] = [];
  private np = 0;
  private nn = 0;

  constructor(bytes: Uint8Array, file = 'chunk', fileOffset = 0) {
    this.reset(bytes, file, fileOffset);
  }

  /** Starts over on another chunk. */
  reset(bytes: Uint8Array, file = 'chunk', fileOffset = 0): void {
    if (bytes.length < HISTOGRAM_HEADER_SIZE) {
      throw new CorruptionError(file, fileOffset, `histogram chunk of ${bytes.length} bytes has no header`);
    }
    this.r.reset(bytes, HISTOGRAM_HEADER_SIZE * 8, file, fileOffset);
    this.numTotal = ((bytes[0] as number) << 8) | (bytes[1] as number);
    this.numRead = 0;
    this.counterResetHeader = ((bytes[HISTOGRAM_FLAG_POS] as number) & COUNTER_RESET_HEADER_MASK) as CounterResetHeader;
    this.t = Number.MIN_SAFE_INTEGER;
    this.tDelta = 0;
    this.np = 0;
    this.nn = 0;
    this.st.fill(0, 0, 4 * FIRST_BUCKET);
  }

  /** Samples the chunk header announces. */
  get numSamples(): number {
    return this.numTotal;
  }

  /** The count's XOR state (a copy). */
  get cntState(): XorState {
    return this.state(CNT);
  }

  /** The zero count's XOR state (a copy). */
  get zCntState(): XorState {
    return this.state(ZCNT);
  }

  /** The sum's XOR state (a copy). */
  get sumState(): XorState {
    return this.state(SUM);
  }

  /** The positive buckets' XOR states (copies). */
  get pStates(): XorState[] {
    return Array.from({ length: this.np }, (_, i) => this.state(FIRST_BUCKET + i));
  }

  /** The negative buckets' XOR states (copies). */
  get nStates(): XorState[] {
    return Array.from({ length: this.nn }, (_, i) => this.state(FIRST_BUCKET + this.np + i));
  }

  private state(field: number): XorState {
    const o = 4 * field;
    return xorState(xorStateValue(this.st, o), this.st[o + 2] as number, this.st[o + 3] as number);
  }

  /** Advances to the next sample; false at the end. */
  next(): boolean {
    if (this.numRead >= this.numTotal) return false;
    const r = this.r;
    if (this.numRead === 0) {
      const layout = readHistogramChunkLayout(r);
      if (!isKnownSchema(layout.schema)) {
        throw new CorruptionError(r.file, r.fileOffset, unknownSchemaError(layout.schema).message);
      }
      this.schema = layout.schema;
      this.zThreshold = layout.zeroThreshold;
      this.pSpans = layout.positiveSpans;
      this.nSpans = layout.negativeSpans;
      this.customValues = layout.customValues;
      const np = countSpans(layout.positiveSpans);
      const nn = countSpans(layout.negativeSpans);
      // Each bucket takes 64 bits in the first sample.
      if ((np + nn) * 64 > r.end - r.pos) {
        throw new CorruptionError(r.file, r.fileOffset, `histogram chunk spans announce ${np + nn} buckets`);
      }
      this.np = np;
      this.nn = nn;
      const fields = FIRST_BUCKET + np + nn;
      if (this.st.length < 4 * fields) this.st = new Int32Array(4 * fields);
      else this.st.fill(0, 0, 4 * fields);
      const st = this.st;
      this.t = r.readVarbitInt();
      for (let f = 0; f < fields; f++) r.readFloat64Bits(st, 4 * f);
      r.check('sample 0');
      this.numRead = 1;
      if (this.numTotal === 1) r.checkEnd();
      return true;
    }
    this.tDelta += r.readVarbitInt();
    this.t += this.tDelta;
    const st = this.st;
    r.readXorFields(st, 4 * CNT, 4 * FIRST_BUCKET);
    if (!this.stale()) r.readXorFields(st, 4 * FIRST_BUCKET, 4 * (FIRST_BUCKET + this.np + this.nn));
    if (r.pos > r.end) throw r.truncated(`sample ${this.numRead}`);
    this.numRead++;
    if (this.numRead === this.numTotal) r.checkEnd();
    return true;
  }

  // Whether the current sample's sum is Prometheus's stale marker (compared as bits).
  private stale(): boolean {
    return this.st[4 * SUM] === STALE_NAN_BITS_HI && this.st[4 * SUM + 1] === STALE_NAN_BITS_LO;
  }

  /** Advances to the first sample with timestamp ≥ t; false if none. */
  seek(t: number): boolean {
    while (this.numRead === 0 || t > this.t) {
      if (!this.next()) return false;
    }
    return true;
  }

  /** The hint the current sample carries. */
  get counterResetHint(): CounterResetHint {
    return counterResetHintForSample(this.counterResetHeader, this.numRead);
  }

  /**
   * The current sample as a new FloatHistogram (a stale one as an empty histogram with the stale
   * sum). With `shareSpans`, the spans are the chunk's own arrays, shared by every sample of the
   * chunk and not to be modified (as Prometheus's AtFloatHistogram(nil)), and so is the empty
   * bucket array of a side without buckets (most histograms have no negative buckets; a query
   * holds every decoded sample of its window, so each array saved is memory the GC need not copy).
   */
  atFloatHistogram(shareSpans = false): FloatHistogram {
    const st = this.st;
    if (this.stale()) {
      return {
        counterResetHint: CounterResetHint.Unknown,
        schema: 0,
        zeroThreshold: 0,
        zeroCount: 0,
        count: 0,
        sum: xorStateValue(st, 4 * SUM),
        positiveSpans: [],
        negativeSpans: [],
        positiveBuckets: [],
        negativeBuckets: [],
      };
    }
    if (this.schema > EXPONENTIAL_SCHEMA_MAX) {
      throw new CorruptionError(
        this.r.file,
        this.r.fileOffset,
        `histogram schema ${this.schema} needs reducing to ${EXPONENTIAL_SCHEMA_MAX}, which is not implemented`,
      );
    }
    const fh: FloatHistogram = {
      counterResetHint: this.counterResetHint,
      schema: this.schema,
      zeroThreshold: this.zThreshold,
      zeroCount: xorStateValue(st, 4 * ZCNT),
      count: xorStateValue(st, 4 * CNT),
      sum: xorStateValue(st, 4 * SUM),
      positiveSpans: shareSpans ? this.pSpans : this.pSpans.map((s) => ({ ...s })),
      negativeSpans: shareSpans ? this.nSpans : this.nSpans.map((s) => ({ ...s })),
      positiveBuckets: fieldValues(st, FIRST_BUCKET, this.np),
      negativeBuckets: shareSpans && this.nn === 0 ? this.noBuckets : fieldValues(st, FIRST_BUCKET + this.np, this.nn),
    };
    if (this.customValues) fh.customValues = this.customValues;
    return fh;
  }
}

// Field numbers in FloatHistogramIterator's state, which is allocated at a chunk's first sample.
const CNT = 0;
const ZCNT = 1;
const SUM = 2;
const FIRST_BUCKET = 3;
const NO_FIELDS = new Int32Array(0);

// A packed array of doubles that fieldValues copies: slicing it allocates the result once, with
// the elements kind of doubles (`new Array(n)` starts as tagged holes and is copied again on the
// first float stored).
let doublesTemplate: number[] = Array.from({ length: 64 }, () => 0.5);

// The values of `n` fields from `first` as floats.
function fieldValues(st: Int32Array, first: number, n: number): number[] {
  if (doublesTemplate.length < n) doublesTemplate = Array.from({ length: 2 * n }, () => 0.5);
  const out = doublesTemplate.slice(0, n);
  for (let i = 0; i < n; i++) out[i] = xorStateValue(st, 4 * (first + i));
  return out;
}

/** A decoded float histogram chunk. */
export interface DecodedFloatHistogramChunk {
  timestamps: number[];
  histograms: FloatHistogram[];
  counterResetHeader: CounterResetHeader;
}

/** Decodes every sample of a float histogram chunk; throws CorruptionError when malformed. */
export function decodeFloatHistogramChunk(
  bytes: Uint8Array,
  file = 'chunk',
  fileOffset = 0,
): DecodedFloatHistogramChunk {
  const it = new FloatHistogramIterator(bytes, file, fileOffset);
  const timestamps: number[] = [];
  const histograms: FloatHistogram[] = [];
  while (it.next()) {
    timestamps.push(it.t);
    histograms.push(it.atFloatHistogram());
  }
  return { timestamps, histograms, counterResetHeader: it.counterResetHeader };
}
