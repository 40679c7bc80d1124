// The integer histogram chunk (encoding 2), bit for bit Prometheus's tsdb/chunkenc/histogram.go.
//
// Layout: 2-byte big-endian sample count, 1 flags byte (top two bits: CounterResetHeader), then a
// bit stream. The first sample writes the chunk's bucket layout (see histogram-meta.ts) and then
// its fields; later samples write deltas of deltas, except the sum:
//
//     field →    ts     count  zeroCount  sum  []posbuckets  []negbuckets
//     sample 1   raw    raw    raw        raw  []raw         []raw
//     sample 2   delta  delta  delta      xor  []delta       []delta
//     sample >2  dod    dod    dod        xor  []dod         []dod
//
// (ts, counts and buckets as varbit integers; "delta" for sample 2 is the dod against a zero
// previous delta.) Bucket values are the histogram's delta-encoded counts, so a bucket field holds
// the change over time of the difference to its neighbour. All samples share the first sample's
// layout: a sample with new buckets makes the appender recode the whole chunk with the wider
// layout, and a counter reset, schema or zero threshold change cuts a new chunk.
import { CorruptionError } from '../errors.js';
import { copyHistogram, histogramToFloat } from '../histogram/histogram.js';
import {
  CounterResetHint,
  countSpans,
  customBucketBoundsMatch,
  EXPONENTIAL_SCHEMA_MAX,
  type FloatHistogram,
  type Histogram,
  isCustomBucketsSchema,
  isKnownSchema,
  type Span,
} from '../histogram/types.js';
import { unknownSchemaError } from '../histogram/validate.js';
import { isStaleNaN } from '../storage/stale.js';
import { BitWriter } from './bitstream.js';
import { ChunkEncoding } from './chunk.js';
import {
  HistogramBitReader,
  putFloat64,
  putVarbitInt,
  putVarbitUint,
  putXor,
  type XorState,
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

/** Most samples one histogram chunk can count (its 2-byte header). */
export const MAX_HISTOGRAM_CHUNK_SAMPLES = 65535;

/**
 * A histogram chunk being written or appended to. `bytes()` gives what Prometheus would store.
 * Not safe for concurrent appends.
 */
export class HistogramChunk {
  /** The chunk's encoding (2). */
  readonly encoding: typeof ChunkEncoding.Histogram = ChunkEncoding.Histogram;

  /** @internal The bit stream, header bytes included in its prefix. */
  readonly w: BitWriter;

  /** A new, empty chunk (3 header bytes, no samples). */
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
  static fromBytes(bytes: Uint8Array, file = 'chunk', fileOffset = 0): HistogramChunk {
    const c = new HistogramChunk();
    const it = new HistogramIterator(bytes, file, fileOffset);
    const app = new HistogramAppender(c);
    app.rewrite(it);
    return c;
  }

  /** Samples in the chunk. */
  get numSamples(): number {
    const a = this.w.array;
    return ((a[0] as number) << 8) | (a[1] as number);
  }

  /** The counter reset header (a CounterResetHeader value). */
  get counterResetHeader(): CounterResetHeader {
    return ((this.w.array[HISTOGRAM_FLAG_POS] as number) & COUNTER_RESET_HEADER_MASK) as CounterResetHeader;
  }

  /** The chunk bytes (a copy). */
  bytes(): Uint8Array {
    return this.w.toBytes();
  }

  /**
   * An appender continuing this chunk. For a non-empty chunk its state is rebuilt by decoding
   * every sample, as Prometheus does; throws CorruptionError if the chunk does not decode.
   */
  appender(): HistogramAppender {
    const a = new HistogramAppender(this);
    if (this.numSamples === 0) return a;
    const it = new HistogramIterator(this.bytes());
    while (it.next()) {
      // Decoding to the end leaves the iterator in the state the appender had.
    }
    a.loadFrom(it);
    return a;
  }

  /** An iterator over the samples (of a snapshot of the bytes). */
  iterator(): HistogramIterator {
    return new HistogramIterator(this.bytes());
  }
}

/** What HistogramAppender.append did. */
export interface HistogramAppendResult {
  /** A new chunk that now holds the sample (cut or recoded), or null if it went into this one. */
  chunk: HistogramChunk | null;
  /** Whether `chunk` is this chunk recoded with a wider layout (it replaces this chunk). */
  recoded: boolean;
  /** The appender to use from now on (of `chunk` when there is one). */
  appender: HistogramAppender;
}

/** What appendable() found; see HistogramAppender.appendable. */
export interface HistogramAppendable {
  positiveInserts: Insert[];
  negativeInserts: Insert[];
  backwardPositiveInserts: Insert[];
  backwardNegativeInserts: Insert[];
  okToAppend: boolean;
  /** The header a new chunk cut for this sample would get. */
  counterResetHint: CounterResetHeader;
}

/** What appendableGauge() found. */
export interface HistogramAppendableGauge {
  positiveInserts: Insert[];
  negativeInserts: Insert[];
  backwardPositiveInserts: Insert[];
  backwardNegativeInserts: Insert[];
  positiveSpans: Span[];
  negativeSpans: Span[];
  okToAppend: boolean;
}

const NONE: Insert[] = [];

/**
 * Appends integer histograms to a HistogramChunk with Prometheus 3's rules (HistogramAppender):
 * `append` cuts a new chunk on a counter reset, a schema or zero threshold change, or a stale
 * marker followed by a real sample; recodes the chunk when the sample brings new buckets; and
 * fills the sample with the chunk's empty buckets it lacks. Gauge histograms may also lose buckets.
 */
export class HistogramAppender {
  schema = 0;
  zThreshold = 0;
  pSpans: Span[] = [];
  nSpans: Span[] = [];
  customValues: number[] | undefined = undefined;
  t = Number.MIN_SAFE_INTEGER;
  cnt = 0;
  zCnt = 0;
  tDelta = 0;
  cntDelta = 0;
  zCntDelta = 0;
  /** Delta-encoded bucket values of the last sample. */
  pBuckets: number[] = [];
  nBuckets: number[] = [];
  /** Their change from the sample before. */
  pBucketsDelta: number[] = [];
  nBucketsDelta: number[] = [];
  /** The sum and its XOR window. */
  readonly sum: XorState = { value: 0, leading: 0xff, trailing: 0 };

  constructor(readonly chunk: HistogramChunk) {}

  /** @internal Takes over a decoder's state after it read every sample. */
  loadFrom(it: HistogramIterator): void {
    this.schema = it.schema;
    this.zThreshold = it.zThreshold;
    this.pSpans = it.pSpans;
    this.nSpans = it.nSpans;
    this.customValues = it.customValues;
    this.t = it.t;
    this.cnt = it.cnt;
    this.zCnt = it.zCnt;
    this.tDelta = it.tDelta;
    this.cntDelta = it.cntDelta;
    this.zCntDelta = it.zCntDelta;
    this.pBuckets = Array.from(it.pBuckets);
    this.nBuckets = Array.from(it.nBuckets);
    this.pBucketsDelta = Array.from(it.pBucketsDelta);
    this.nBucketsDelta = Array.from(it.nBucketsDelta);
    // The decoder's window starts at 0/0, not "none": Prometheus carries that over too.
    this.sum.value = it.sumState.value;
    this.sum.leading = it.sumState.leading;
    this.sum.trailing = it.sumState.trailing;
  }

  /** @internal Writes every sample of `it` (a fresh iterator) into this appender's empty chunk. */
  rewrite(it: HistogramIterator): void {
    let num = 0;
    while (it.next()) num = this.appendRaw(num, it.t, it.atHistogram());
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

  /**
   * Whether a counter histogram `h` can go into this chunk (Prometheus's appendable), and with
   * which inserts: forward ones recode the chunk for buckets new in `h`, backward ones fill `h`
   * with the chunk's empty buckets it lacks. Not appendable after a counter reset (hint, count,
   * zero count or any bucket going down, or a used bucket vanishing), a schema, zero threshold or
   * custom bounds change, a non-stale sample after a stale one, or in a gauge chunk.
   */
  appendable(h: Histogram): HistogramAppendable {
    const res: HistogramAppendable = {
      positiveInserts: NONE,
      negativeInserts: NONE,
      backwardPositiveInserts: NONE,
      backwardNegativeInserts: NONE,
      okToAppend: false,
      counterResetHint: CounterResetHeader.NotCounterReset,
    };
    if (this.numSamples > 0 && this.counterResetHeader === CounterResetHeader.Gauge) return res;
    if (h.counterResetHint === CounterResetHint.CounterReset) {
      res.counterResetHint = CounterResetHeader.CounterReset;
      return res;
    }
    if (isStaleNaN(h.sum)) {
      res.okToAppend = true;
      return res;
    }
    if (isStaleNaN(this.sum.value)) {
      res.counterResetHint = CounterResetHeader.Unknown;
      return res;
    }
    if (h.count < this.cnt) {
      res.counterResetHint = CounterResetHeader.CounterReset;
      return res;
    }
    if (h.schema !== this.schema || h.zeroThreshold !== this.zThreshold) {
      // Might or might not be a reset; Prometheus does not look further (prometheus#15346).
      res.counterResetHint = CounterResetHeader.Unknown;
      return res;
    }
    if (isCustomBucketsSchema(h.schema) && !customBucketBoundsMatch(h.customValues, this.customValues)) {
      res.counterResetHint = CounterResetHeader.CounterReset;
      return res;
    }
    if (h.zeroCount < this.zCnt) {
      res.counterResetHint = CounterResetHeader.CounterReset;
      return res;
    }
    const p = expandSpansAndBuckets(this.pSpans, h.positiveSpans, this.pBuckets, h.positiveBuckets, true);
    if (!p) {
      res.counterResetHint = CounterResetHeader.CounterReset;
      return res;
    }
    const n = expandSpansAndBuckets(this.nSpans, h.negativeSpans, this.nBuckets, h.negativeBuckets, true);
    if (!n) {
      res.positiveInserts = p.forward;
      res.backwardPositiveInserts = p.backward;
      res.counterResetHint = CounterResetHeader.CounterReset;
      return res;
    }
    res.positiveInserts = p.forward;
    res.backwardPositiveInserts = p.backward;
    res.negativeInserts = n.forward;
    res.backwardNegativeInserts = n.backward;
    res.okToAppend = true;
    return res;
  }

  /**
   * Whether a gauge histogram `h` can go into this gauge chunk (appendableGauge): only a schema,
   * zero threshold or custom bounds change, or a real sample after a stale one, prevents it;
   * buckets may appear and disappear (merged spans cover both).
   */
  appendableGauge(h: Histogram): HistogramAppendableGauge {
    const res: HistogramAppendableGauge = {
      positiveInserts: NONE,
      negativeInserts: NONE,
      backwardPositiveInserts: NONE,
      backwardNegativeInserts: NONE,
      positiveSpans: [],
      negativeSpans: [],
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
   * Appends `h` at time `t` (ms, after the chunk's last sample), as Prometheus's AppendHistogram.
   * On a new chunk, `prev` (the appender of the series' previous chunk) decides the counter reset
   * header. With `appendOnly`, throws HistogramAppendError instead of cutting or recoding. `h` is
   * not modified.
   */
  append(t: number, h: Histogram, prev?: HistogramAppender | null, appendOnly = false): HistogramAppendResult {
    const num = this.numSamples;
    if (num >= MAX_HISTOGRAM_CHUNK_SAMPLES) throw new HistogramAppendError('chunk capacity exceeded');
    if (num === 0) {
      this.setNumSamples(this.appendRaw(0, t, h));
      if (h.counterResetHint === CounterResetHint.Gauge) {
        this.setCounterResetHeader(CounterResetHeader.Gauge);
      } else if (h.counterResetHint === CounterResetHint.CounterReset) {
        this.setCounterResetHeader(CounterResetHeader.CounterReset);
      } else if (prev) {
        this.setCounterResetHeader(prev.appendable(h).counterResetHint);
      }
      return { chunk: null, recoded: false, appender: this };
    }
    if (h.counterResetHint !== CounterResetHint.Gauge) {
      const a = this.appendable(h);
      if (!a.okToAppend || a.counterResetHint !== CounterResetHeader.NotCounterReset) {
        if (appendOnly) {
          throw new HistogramAppendError(
            a.counterResetHint === CounterResetHeader.CounterReset
              ? 'histogram counter reset'
              : 'histogram schema change',
          );
        }
        const chunk = new HistogramChunk();
        const app = new HistogramAppender(chunk);
        app.setCounterResetHeader(a.counterResetHint);
        app.setNumSamples(app.appendRaw(0, t, h));
        return { chunk, recoded: false, appender: app };
      }
      let sample = h;
      const forward = a.positiveInserts.length > 0 || a.negativeInserts.length > 0;
      if (a.backwardPositiveInserts.length > 0 || a.backwardNegativeInserts.length > 0) {
        // The sample lacks some of the chunk's (empty) buckets: give them back to it.
        sample = copyHistogram(h);
        if (!forward) {
          sample.positiveSpans = this.pSpans.map((s) => ({ ...s }));
          sample.negativeSpans = this.nSpans.map((s) => ({ ...s }));
        } else {
          sample.positiveSpans = adjustForInserts(h.positiveSpans, a.backwardPositiveInserts);
          sample.negativeSpans = adjustForInserts(h.negativeSpans, a.backwardNegativeInserts);
        }
        recodeHistogram(sample, a.backwardPositiveInserts, a.backwardNegativeInserts);
      }
      if (forward) {
        if (appendOnly) {
          throw new HistogramAppendError(
            `histogram layout change with ${a.positiveInserts.length} positive and ${a.negativeInserts.length} negative forwards inserts`,
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
      if (appendOnly) throw new HistogramAppendError('gauge histogram schema change');
      const chunk = new HistogramChunk();
      const app = new HistogramAppender(chunk);
      app.setCounterResetHeader(CounterResetHeader.Gauge);
      app.setNumSamples(app.appendRaw(0, t, h));
      return { chunk, recoded: false, appender: app };
    }
    let sample = h;
    if (g.backwardPositiveInserts.length + g.backwardNegativeInserts.length > 0) {
      if (appendOnly) {
        throw new HistogramAppendError(
          `gauge histogram layout change with ${g.backwardPositiveInserts.length} positive and ${g.backwardNegativeInserts.length} negative backwards inserts`,
        );
      }
      sample = copyHistogram(h);
      sample.positiveSpans = g.positiveSpans;
      sample.negativeSpans = g.negativeSpans;
      recodeHistogram(sample, g.backwardPositiveInserts, g.backwardNegativeInserts);
    }
    if (g.positiveInserts.length > 0 || g.negativeInserts.length > 0) {
      if (appendOnly) {
        throw new HistogramAppendError(
          `gauge histogram layout change with ${g.positiveInserts.length} positive and ${g.negativeInserts.length} negative forwards inserts`,
        );
      }
      const app = this.recode(g.positiveInserts, g.negativeInserts, sample.positiveSpans, sample.negativeSpans);
      app.setNumSamples(app.appendRaw(app.numSamples, t, sample));
      return { chunk: app.chunk, recoded: true, appender: app };
    }
    this.setNumSamples(this.appendRaw(num, t, sample));
    return { chunk: null, recoded: false, appender: this };
  }

  /**
   * Writes one sample (appendHistogram); the caller has checked appendability and updates the
   * sample count with the returned value.
   */
  private appendRaw(num: number, t: number, hIn: Histogram): number {
    const w = this.chunk.w;
    // A stale marker carries no buckets, and an empty layout if it opens the chunk.
    const h: Histogram = isStaleNaN(hIn.sum)
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
    let cntDelta = 0;
    let zCntDelta = 0;
    if (num === 0) {
      putHistogramChunkLayout(w, h.schema, h.zeroThreshold, h.positiveSpans, h.negativeSpans, h.customValues);
      this.schema = h.schema;
      this.zThreshold = h.zeroThreshold;
      this.pSpans = h.positiveSpans.map((s) => ({ ...s }));
      this.nSpans = h.negativeSpans.map((s) => ({ ...s }));
      this.customValues = h.customValues && h.customValues.length > 0 ? h.customValues.slice() : undefined;
      const np = countSpans(h.positiveSpans);
      const nn = countSpans(h.negativeSpans);
      this.pBuckets = new Array<number>(np).fill(0);
      this.pBucketsDelta = new Array<number>(np).fill(0);
      this.nBuckets = new Array<number>(nn).fill(0);
      this.nBucketsDelta = new Array<number>(nn).fill(0);
      putVarbitInt(w, t);
      putVarbitUint(w, h.count);
      putVarbitUint(w, h.zeroCount);
      putFloat64(w, h.sum);
      for (const b of h.positiveBuckets) putVarbitInt(w, b);
      for (const b of h.negativeBuckets) putVarbitInt(w, b);
    } else {
      tDelta = t - this.t;
      cntDelta = h.count - this.cnt;
      zCntDelta = h.zeroCount - this.zCnt;
      let cntDod = cntDelta - this.cntDelta;
      let zCntDod = zCntDelta - this.zCntDelta;
      if (isStaleNaN(h.sum)) {
        cntDod = 0;
        zCntDod = 0;
      }
      putVarbitInt(w, tDelta - this.tDelta);
      putVarbitInt(w, cntDod);
      putVarbitInt(w, zCntDod);
      putXor(w, h.sum, this.sum);
      const pb = h.positiveBuckets;
      for (let i = 0; i < pb.length; i++) {
        const delta = (pb[i] as number) - (this.pBuckets[i] as number);
        putVarbitInt(w, delta - (this.pBucketsDelta[i] as number));
        this.pBucketsDelta[i] = delta;
      }
      const nb = h.negativeBuckets;
      for (let i = 0; i < nb.length; i++) {
        const delta = (nb[i] as number) - (this.nBuckets[i] as number);
        putVarbitInt(w, delta - (this.nBucketsDelta[i] as number));
        this.nBucketsDelta[i] = delta;
      }
    }
    this.t = t;
    this.cnt = h.count;
    this.zCnt = h.zeroCount;
    this.tDelta = tDelta;
    this.cntDelta = cntDelta;
    this.zCntDelta = zCntDelta;
    for (let i = 0; i < h.positiveBuckets.length && i < this.pBuckets.length; i++) {
      this.pBuckets[i] = h.positiveBuckets[i] as number;
    }
    for (let i = 0; i < h.negativeBuckets.length && i < this.nBuckets.length; i++) {
      this.nBuckets[i] = h.negativeBuckets[i] as number;
    }
    this.sum.value = h.sum;
    return num + 1;
  }

  /**
   * Re-encodes the whole chunk with the wider layout (Prometheus's recode): every sample gets
   * the inserted empty buckets. Returns the appender of the new chunk, with this one's header.
   */
  recode(
    positiveInserts: readonly Insert[],
    negativeInserts: readonly Insert[],
    positiveSpans: Span[],
    negativeSpans: Span[],
  ): HistogramAppender {
    const bytes = this.chunk.bytes();
    const it = new HistogramIterator(bytes);
    const app = new HistogramAppender(new HistogramChunk());
    const np = countSpans(positiveSpans);
    const nn = countSpans(negativeSpans);
    let num = 0;
    while (it.next()) {
      const old = it.atHistogram();
      old.positiveSpans = positiveSpans;
      old.negativeSpans = negativeSpans;
      if (positiveInserts.length > 0) old.positiveBuckets = insertInto(old.positiveBuckets, positiveInserts, np);
      if (negativeInserts.length > 0) old.negativeBuckets = insertInto(old.negativeBuckets, negativeInserts, nn);
      num = app.appendRaw(num, it.t, old);
    }
    app.setNumSamples(num);
    app.setCounterResetHeader(
      ((bytes[HISTOGRAM_FLAG_POS] as number) & COUNTER_RESET_HEADER_MASK) as CounterResetHeader,
    );
    return app;
  }
}

function insertInto(buckets: readonly number[], inserts: readonly Insert[], total: number): number[] {
  return insertBuckets(buckets, inserts, true, total);
}

// Fills `h` (a copy the caller owns) with the empty buckets of the backward inserts.
function recodeHistogram(h: Histogram, pBackward: readonly Insert[], nBackward: readonly Insert[]): void {
  if (pBackward.length > 0) h.positiveBuckets = insertInto(h.positiveBuckets, pBackward, countSpans(h.positiveSpans));
  if (nBackward.length > 0) h.negativeBuckets = insertInto(h.negativeBuckets, nBackward, countSpans(h.negativeSpans));
}

/**
 * Decodes a histogram chunk sample by sample (Prometheus's histogramIterator): `next()` advances
 * (false at the end), `seek(t)` moves to the first sample at or after t, `t` and
 * `atHistogram()`/`atFloatHistogram()` read the current sample (valid only after a `true`).
 * Throws CorruptionError (with the file and offset given) for truncated or malformed chunks.
 * Reusable with `reset`.
 */
export class HistogramIterator {
  private readonly r = new HistogramBitReader();
  private numTotal = 0;
  private numRead = 0;
  /** The chunk's counter reset header. */
  counterResetHeader: CounterResetHeader = CounterResetHeader.Unknown;
  schema = 0;
  zThreshold = 0;
  pSpans: Span[] = [];
  nSpans: Span[] = [];
  customValues: number[] | undefined = undefined;
  /** Timestamp of the current sample (ms). */
  t = Number.MIN_SAFE_INTEGER;
  cnt = 0;
  zCnt = 0;
  tDelta = 0;
  cntDelta = 0;
  zCntDelta = 0;
  pBuckets: Float64Array = new Float64Array(0);
  nBuckets: Float64Array = new Float64Array(0);
  pBucketsDelta: Float64Array = new Float64Array(0);
  nBucketsDelta: Float64Array = new Float64Array(0);
  /** The sum and its XOR window (Go's zero values: leading and trailing start at 0). */
  readonly sumState: XorState = { value: 0, leading: 0, trailing: 0 };

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
    this.cnt = 0;
    this.zCnt = 0;
    this.tDelta = 0;
    this.cntDelta = 0;
    this.zCntDelta = 0;
    this.sumState.value = 0;
    this.sumState.leading = 0;
    this.sumState.trailing = 0;
  }

  /** Samples the chunk header announces. */
  get numSamples(): number {
    return this.numTotal;
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
      // Every bucket takes at least one bit per sample: more buckets than bits left is corrupt.
      if (np + nn > r.end - r.pos) {
        throw new CorruptionError(r.file, r.fileOffset, `histogram chunk spans announce ${np + nn} buckets`);
      }
      this.pBuckets = sized(this.pBuckets, np);
      this.nBuckets = sized(this.nBuckets, nn);
      this.pBucketsDelta = sized(this.pBucketsDelta, np);
      this.nBucketsDelta = sized(this.nBucketsDelta, nn);
      this.t = r.readVarbitInt();
      this.cnt = r.readVarbitUint();
      this.zCnt = r.readVarbitUint();
      this.sumState.value = r.readFloat64();
      const pb = this.pBuckets;
      for (let i = 0; i < np; i++) pb[i] = r.readVarbitInt();
      const nb = this.nBuckets;
      for (let i = 0; i < nn; i++) nb[i] = r.readVarbitInt();
      r.check('sample 0');
      this.numRead = 1;
      this.checkCounts();
      if (this.numTotal === 1) r.checkEnd();
      return true;
    }
    this.tDelta += r.readVarbitInt();
    this.t += this.tDelta;
    this.cntDelta += r.readVarbitInt();
    this.cnt += this.cntDelta;
    this.zCntDelta += r.readVarbitInt();
    this.zCnt += this.zCntDelta;
    r.readXor(this.sumState);
    if (!isStaleNaN(this.sumState.value)) {
      const pb = this.pBuckets;
      const pd = this.pBucketsDelta;
      for (let i = 0; i < pb.length; i++) {
        pd[i] = (pd[i] as number) + r.readVarbitInt();
        pb[i] = (pb[i] as number) + (pd[i] as number);
      }
      const nb = this.nBuckets;
      const nd = this.nBucketsDelta;
      for (let i = 0; i < nb.length; i++) {
        nd[i] = (nd[i] as number) + r.readVarbitInt();
        nb[i] = (nb[i] as number) + (nd[i] as number);
      }
    }
    if (r.pos > r.end) throw r.truncated(`sample ${this.numRead}`);
    this.numRead++;
    this.checkCounts();
    if (this.numRead === this.numTotal) r.checkEnd();
    return true;
  }

  // Integer counts cannot go below zero (Go's are uint64): a negative count, zero count or
  // absolute bucket count means the bits were misread, and would be a wrong answer.
  private checkCounts(): void {
    if (isStaleNaN(this.sumState.value)) return;
    let bad = this.cnt < 0 || this.zCnt < 0;
    let acc = 0;
    const pb = this.pBuckets;
    for (let i = 0; i < pb.length && !bad; i++) {
      acc += pb[i] as number;
      if (acc < 0) bad = true;
    }
    acc = 0;
    const nb = this.nBuckets;
    for (let i = 0; i < nb.length && !bad; i++) {
      acc += nb[i] as number;
      if (acc < 0) bad = true;
    }
    if (bad) {
      throw new CorruptionError(
        this.r.file,
        this.r.fileOffset,
        `histogram chunk sample ${this.numRead - 1} decodes to negative counts`,
      );
    }
  }

  /** Advances to the first sample with timestamp ≥ t (never backwards); false if none. */
  seek(t: number): boolean {
    while (this.numRead === 0 || t > this.t) {
      if (!this.next()) return false;
    }
    return true;
  }

  /** The sum of the current sample (Prometheus's stale marker for a stale sample). */
  get sum(): number {
    return this.sumState.value;
  }

  /** The hint the current sample carries (see counterResetHintForSample). */
  get counterResetHint(): CounterResetHint {
    return counterResetHintForSample(this.counterResetHeader, this.numRead);
  }

  /**
   * The current sample as a new Histogram (Prometheus's AtHistogram). A stale sample comes back
   * as an empty histogram whose sum is the stale marker.
   */
  atHistogram(): Histogram {
    if (isStaleNaN(this.sumState.value)) {
      return {
        counterResetHint: CounterResetHint.Unknown,
        schema: 0,
        zeroThreshold: 0,
        zeroCount: 0,
        count: 0,
        sum: this.sumState.value,
        positiveSpans: [],
        negativeSpans: [],
        positiveBuckets: [],
        negativeBuckets: [],
      };
    }
    const h: Histogram = {
      counterResetHint: this.counterResetHint,
      schema: this.schema,
      zeroThreshold: this.zThreshold,
      zeroCount: this.zCnt,
      count: this.cnt,
      sum: this.sumState.value,
      positiveSpans: this.pSpans.map((s) => ({ ...s })),
      negativeSpans: this.nSpans.map((s) => ({ ...s })),
      positiveBuckets: Array.from(this.pBuckets),
      negativeBuckets: Array.from(this.nBuckets),
    };
    if (this.customValues) h.customValues = this.customValues;
    if (h.schema > EXPONENTIAL_SCHEMA_MAX) {
      throw new CorruptionError(
        this.r.file,
        this.r.fileOffset,
        `histogram schema ${h.schema} needs reducing to ${EXPONENTIAL_SCHEMA_MAX}, which is not implemented`,
      );
    }
    return h;
  }

  /**
   * The current sample as a FloatHistogram (absolute bucket counts), built straight from the
   * decoder's state: one copy of the spans and one pass over the buckets. With `shareSpans`, the
   * spans are the chunk's own arrays, shared by every sample of the chunk and not to be modified
   * (as Prometheus's AtFloatHistogram(nil): a chunk's layout is fixed); the query path uses it to
   * save two arrays and their span objects per sample.
   */
  atFloatHistogram(shareSpans = false): FloatHistogram {
    if (isStaleNaN(this.sumState.value)) return this.atHistogram();
    if (this.schema > EXPONENTIAL_SCHEMA_MAX) return histogramToFloat(this.atHistogram());
    const custom = isCustomBucketsSchema(this.schema);
    const fh: FloatHistogram = {
      counterResetHint: this.counterResetHint,
      schema: this.schema,
      zeroThreshold: custom ? 0 : this.zThreshold,
      zeroCount: custom ? 0 : this.zCnt,
      count: this.cnt,
      sum: this.sumState.value,
      positiveSpans: shareSpans ? this.pSpans : copySpans(this.pSpans),
      negativeSpans: custom ? [] : shareSpans ? this.nSpans : copySpans(this.nSpans),
      positiveBuckets: runningSums(this.pBuckets),
      negativeBuckets: custom ? [] : runningSums(this.nBuckets),
    };
    if (custom && this.customValues) fh.customValues = this.customValues;
    return fh;
  }
}

function copySpans(spans: readonly Span[]): Span[] {
  const out = new Array<Span>(spans.length);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as Span;
    out[i] = { offset: s.offset, length: s.length };
  }
  return out;
}

// Absolute counts from delta-encoded bucket values (deltasToAbsolute over a typed array).
function runningSums(deltas: Float64Array): number[] {
  const out = new Array<number>(deltas.length);
  let acc = 0;
  for (let i = 0; i < deltas.length; i++) {
    acc += deltas[i] as number;
    out[i] = acc;
  }
  return out;
}

function sized(a: Float64Array, n: number): Float64Array {
  if (a.length === n) {
    a.fill(0);
    return a;
  }
  return new Float64Array(n);
}

/** A decoded histogram chunk: timestamps (ms) and samples, in order. */
export interface DecodedHistogramChunk {
  timestamps: number[];
  histograms: Histogram[];
  counterResetHeader: CounterResetHeader;
}

/** Decodes every sample of a histogram chunk; throws CorruptionError as HistogramIterator does. */
export function decodeHistogramChunk(bytes: Uint8Array, file = 'chunk', fileOffset = 0): DecodedHistogramChunk {
  const it = new HistogramIterator(bytes, file, fileOffset);
  const timestamps: number[] = [];
  const histograms: Histogram[] = [];
  while (it.next()) {
    timestamps.push(it.t);
    histograms.push(it.atHistogram());
  }
  return { timestamps, histograms, counterResetHeader: it.counterResetHeader };
}
