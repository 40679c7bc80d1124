// The parts shared by both histogram chunk encodings (Prometheus's tsdb/chunkenc/histogram_meta.go):
// the chunk header's counter-reset bits, the bucket layout written once per chunk, and the span
// arithmetic the appenders use to decide whether a sample fits the chunk's layout and how to
// recode when buckets appear.
import { CorruptionError } from '../errors.js';
import { CounterResetHint, isCustomBucketsSchema, type Span } from '../histogram/types.js';
import type { BitWriter } from './bitstream.js';
import { type HistogramBitReader, putVarbitInt, putVarbitUint } from './histogram-bits.js';

/**
 * The top two bits of a histogram chunk's third byte (Prometheus's CounterResetHeader): what was
 * known about a counter reset when the chunk was cut.
 */
export const CounterResetHeader = {
  /** The chunk was cut because of a counter reset. */
  CounterReset: 0b10000000,
  /** The chunk was cut for another reason; there was no reset. */
  NotCounterReset: 0b01000000,
  /** The chunk holds gauge histograms. */
  Gauge: 0b11000000,
  /** Unknown: readers must detect resets themselves. */
  Unknown: 0b00000000,
} as const;

/** One of the CounterResetHeader values. */
export type CounterResetHeader = (typeof CounterResetHeader)[keyof typeof CounterResetHeader];

/** Mask of the counter-reset bits in the header byte. */
export const COUNTER_RESET_HEADER_MASK = 0b11000000;
/** Byte offset of the header flags (after the 2-byte big-endian sample count). */
export const HISTOGRAM_FLAG_POS = 2;
/** Bytes before the bit stream: sample count (2) and flags (1). */
export const HISTOGRAM_HEADER_SIZE = 3;

/** The chunk header for a sample's counter reset hint (Prometheus's CounterResetHintToHeader). */
export function counterResetHintToHeader(hint: CounterResetHint): CounterResetHeader {
  switch (hint) {
    case CounterResetHint.CounterReset:
      return CounterResetHeader.CounterReset;
    case CounterResetHint.NotCounterReset:
      return CounterResetHeader.NotCounterReset;
    case CounterResetHint.Gauge:
      return CounterResetHeader.Gauge;
    default:
      return CounterResetHeader.Unknown;
  }
}

/**
 * The hint a decoded sample gets (Prometheus 3's counterResetHint): gauge chunks give Gauge, every
 * sample after the first of a counter chunk NotCounterReset, and the first sample Unknown — even
 * under a CounterReset header, because the previous chunk may be gone or out of order.
 */
export function counterResetHintForSample(header: number, numRead: number): CounterResetHint {
  if (header === CounterResetHeader.Gauge) return CounterResetHint.Gauge;
  if (numRead > 1) return CounterResetHint.NotCounterReset;
  return CounterResetHint.Unknown;
}

/** The chunk layout: what the first sample of a chunk writes after the header. */
export interface HistogramChunkLayout {
  schema: number;
  zeroThreshold: number;
  positiveSpans: Span[];
  negativeSpans: Span[];
  customValues: number[] | undefined;
}

/**
 * Writes the layout (writeHistogramChunkLayout): zero threshold, schema (varbit int), positive
 * and negative spans (count, then length as varbit uint and offset as varbit int for each), and
 * for schema -53 the custom bounds.
 */
export function putHistogramChunkLayout(
  w: BitWriter,
  schema: number,
  zeroThreshold: number,
  positiveSpans: readonly Span[],
  negativeSpans: readonly Span[],
  customValues: readonly number[] | undefined,
): void {
  putZeroThreshold(w, zeroThreshold);
  putVarbitInt(w, schema);
  putSpans(w, positiveSpans);
  putSpans(w, negativeSpans);
  if (isCustomBucketsSchema(schema)) {
    const cv = customValues ?? [];
    putVarbitUint(w, cv.length);
    for (const b of cv) putCustomBound(w, b);
  }
}

function putSpans(w: BitWriter, spans: readonly Span[]): void {
  putVarbitUint(w, spans.length);
  for (const s of spans) {
    putVarbitUint(w, s.length);
    putVarbitInt(w, s.offset);
  }
}

/** Reads the layout written by putHistogramChunkLayout; throws CorruptionError when truncated. */
export function readHistogramChunkLayout(r: HistogramBitReader): HistogramChunkLayout {
  const zeroThreshold = readZeroThreshold(r);
  const schema = r.readVarbitInt();
  r.check('layout');
  const positiveSpans = readSpans(r);
  const negativeSpans = readSpans(r);
  let customValues: number[] | undefined;
  if (isCustomBucketsSchema(schema)) {
    const n = r.readVarbitUint();
    r.check('custom bounds');
    if (n > r.end - r.pos) throw r.truncated('custom bounds');
    customValues = [];
    for (let i = 0; i < n; i++) {
      const b = readCustomBound(r);
      r.check('custom bounds');
      // Bounds must increase (Prometheus's histogram validation); anything else would put
      // observations into the wrong buckets.
      if (i > 0 && !(b > (customValues[i - 1] as number))) {
        throw new CorruptionError(r.file, r.fileOffset, `histogram chunk custom bound ${i} (${b}) does not increase`);
      }
      customValues.push(b);
    }
  }
  return { schema, zeroThreshold, positiveSpans, negativeSpans, customValues };
}

function readSpans(r: HistogramBitReader): Span[] {
  const n = r.readVarbitUint();
  r.check('spans');
  // Each span takes at least two bits: more spans than bits left is a corrupt count.
  if (n * 2 > r.end - r.pos) throw r.truncated('spans');
  const spans: Span[] = [];
  for (let i = 0; i < n; i++) {
    const length = r.readVarbitUint();
    // Go keeps the low 32 bits (uint32/int32 conversions).
    const offset = r.readVarbitInt() | 0;
    r.check('spans');
    // Only the first span may start below the previous one's end (Prometheus's span validation:
    // "span number N with offset X"); a later negative offset would put buckets out of order.
    if (i > 0 && offset < 0) {
      throw new CorruptionError(r.file, r.fileOffset, `histogram chunk span number ${i + 1} with offset ${offset}`);
    }
    spans.push({ offset, length: length >>> 0 });
  }
  return spans;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * Writes the zero threshold (putZeroThreshold): 0 as one zero byte; a power of two between
 * 2^-243 and 2^10 as one byte holding its frexp exponent + 243 (the default 2^-128 is byte 116);
 * anything else as byte 255 and the raw float64.
 */
export function putZeroThreshold(w: BitWriter, threshold: number): void {
  if (threshold === 0) {
    w.writeBits(0, 8);
    return;
  }
  f64[0] = threshold;
  const hi = u32[1] as number;
  const lo = u32[0] as number;
  const biased = (hi >>> 20) & 0x7ff;
  // frexp gives frac 0.5 exactly for positive normal powers of two: zero mantissa bits.
  const powerOfTwo = threshold > 0 && biased !== 0 && biased !== 0x7ff && (hi & 0xfffff) === 0 && lo === 0;
  const exp = biased - 1022;
  if (!powerOfTwo || exp < -242 || exp > 11) {
    w.writeBits(255, 8);
    w.writeBits64(hi, lo, 64);
    return;
  }
  w.writeBits(exp + 243, 8);
}

/** Reads the zero threshold written by putZeroThreshold. */
export function readZeroThreshold(r: HistogramBitReader): number {
  const b = r.readByte();
  if (b === 0) return 0;
  if (b === 255) return r.readFloat64();
  // 0.5·2^(b-243), exact.
  return 2 ** (b - 244);
}

/**
 * Writes one custom bucket bound (putCustomBound): multiples of 0.001 in [0, 33554.43] as a
 * varbit uint of bound·1000+1, anything else as a 0 bit and the raw float64.
 */
export function putCustomBound(w: BitWriter, f: number): void {
  const tf = f * 1000;
  if (tf < 0 || tf > 33554430 || !isWholeWhenMultiplied(f)) {
    w.writeBit(0);
    f64[0] = f;
    w.writeBits64(u32[1] as number, u32[0] as number, 64);
    return;
  }
  putVarbitUint(w, Math.round(tf) + 1);
}

// Whether f·1000 is an integer without losing precision (Prometheus's isWholeWhenMultiplied).
function isWholeWhenMultiplied(f: number): boolean {
  return Math.round(f * 1000) / 1000 === f;
}

/** Reads one custom bound written by putCustomBound. */
export function readCustomBound(r: HistogramBitReader): number {
  const b = r.readVarbitUint();
  if (b === 0) return r.readFloat64();
  return (b - 1) / 1000;
}

/**
 * Iterates the bucket indices the spans cover (Prometheus's bucketIterator): `next()` returns the
 * next index or undefined. Zero-length spans only move the index.
 */
export class BucketIndexIterator {
  private span = 0;
  private bucket = -1;
  private idx = -1;

  constructor(private readonly spans: readonly Span[]) {
    if (spans.length > 0) this.idx += (spans[0] as Span).offset;
  }

  /** The next bucket index, or undefined after the last. */
  next(): number | undefined {
    const spans = this.spans;
    if (this.span >= spans.length) return undefined;
    if (this.bucket < (spans[this.span] as Span).length - 1) {
      this.bucket++;
      this.idx++;
      return this.idx;
    }
    while (this.span < spans.length - 1) {
      this.span++;
      const s = spans[this.span] as Span;
      this.idx += s.offset + 1;
      this.bucket = 0;
      if (s.length === 0) {
        this.idx--;
        continue;
      }
      return this.idx;
    }
    return undefined;
  }
}

/**
 * An insertion of `num` empty buckets before the `pos`th bucket of the original list; `bucketIdx`
 * is the bucket index of the first inserted bucket (used to adjust spans).
 */
export interface Insert {
  pos: number;
  num: number;
  bucketIdx: number;
}

/** Result of expandSpansAndBuckets. */
export interface SpanExpansion {
  /** Inserts that grow the chunk's layout to cover the new sample's buckets. */
  forward: Insert[];
  /** Inserts that grow the sample to cover the chunk's empty buckets it lacks. */
  backward: Insert[];
}

/**
 * Compares the chunk's layout `a` (with bucket values `aBuckets`) with a new sample's `b`
 * (Prometheus's expandIntSpansAndBuckets / expandFloatSpansAndBuckets). Returns null on a counter
 * reset: a bucket whose count went down, or a bucket of `a` with a non-zero count that `b` lacks.
 * Otherwise returns the forward inserts (buckets only in `b`) and backward inserts (buckets only
 * in `a`, all empty). `deltas` says whether bucket values are delta-encoded.
 *
 * Example (span syntax [offset,length]), old layout and values:
 *
 *     spans      : [0,2]         [2,1]          [3,2]               [3,1]   [1,1]
 *     bucket idx : [0] [1]  2  3  [4]  5  6  7  [8] [9] 10 11 12    [13] 14 [15]
 *     raw values   6   3           3             2   4              5        1
 *
 * a new sample with spans [0,3] [1,1] [1,4] [3,3] adds buckets 2, 6, 7 and 14: the forward
 * inserts are {pos 2, num 1}, {pos 4, num 2} and {pos 7, num 1}, each new bucket starting at 0.
 */
export function expandSpansAndBuckets(
  a: readonly Span[],
  b: readonly Span[],
  aBuckets: ArrayLike<number>,
  bBuckets: ArrayLike<number>,
  deltas: boolean,
): SpanExpansion | null {
  const ai = new BucketIndexIterator(a);
  const bi = new BucketIndexIterator(b);
  const aInserts: Insert[] = [];
  const bInserts: Insert[] = [];
  const aInter: Insert = { pos: 0, num: 0, bucketIdx: 0 };
  const bInter: Insert = { pos: 0, num: 0, bucketIdx: 0 };
  let aIdx = ai.next();
  let bIdx = bi.next();
  let aCount = 0;
  let bCount = 0;
  let aCountIdx = 0;
  let bCountIdx = 0;
  if (aIdx !== undefined) aCount = aBuckets[0] as number;
  if (bIdx !== undefined) bCount = bBuckets[0] as number;

  const addInsert = (inserts: Insert[], ins: Insert, otherIdx: number): void => {
    if (ins.num === 0) {
      ins.bucketIdx = otherIdx;
    } else if (ins.bucketIdx + ins.num !== otherIdx) {
      // Not contiguous with the insert being built: close it.
      inserts.push({ ...ins });
      ins.num = 0;
      ins.bucketIdx = otherIdx;
    }
    ins.num++;
  };
  const advanceA = (): void => {
    if (aInter.num > 0) {
      aInserts.push({ ...aInter });
      aInter.num = 0;
    }
    aIdx = ai.next();
    aInter.pos++;
    aCountIdx++;
    if (aIdx !== undefined) {
      const v = aBuckets[aCountIdx] as number;
      aCount = deltas ? aCount + v : v;
    }
  };
  const advanceB = (): void => {
    if (bInter.num > 0) {
      bInserts.push({ ...bInter });
      bInter.num = 0;
    }
    bIdx = bi.next();
    bInter.pos++;
    bCountIdx++;
    if (bIdx !== undefined) {
      const v = bBuckets[bCountIdx] as number;
      bCount = deltas ? bCount + v : v;
    }
  };

  for (;;) {
    if (aIdx !== undefined && bIdx !== undefined) {
      if (aIdx === bIdx) {
        if (aCount > bCount) return null;
        advanceA();
        advanceB();
      } else if (aIdx < bIdx) {
        // b lacks a bucket of a: fine only if it was empty, then b gets it back as an insert.
        if (aCount !== 0) return null;
        addInsert(bInserts, bInter, aIdx);
        advanceA();
      } else {
        addInsert(aInserts, aInter, bIdx);
        advanceB();
      }
    } else if (aIdx !== undefined) {
      if (aCount !== 0) return null;
      addInsert(bInserts, bInter, aIdx);
      advanceA();
    } else if (bIdx !== undefined) {
      addInsert(aInserts, aInter, bIdx);
      advanceB();
    } else {
      if (aInter.num > 0) aInserts.push({ ...aInter });
      if (bInter.num > 0) bInserts.push({ ...bInter });
      return { forward: aInserts, backward: bInserts };
    }
  }
}

/** Result of expandSpansBothWays. */
export interface BothWaysExpansion extends SpanExpansion {
  /** The union layout of both. */
  merged: Span[];
}

/**
 * For gauge histograms, where buckets may come and go freely (expandSpansBothWays): the forward
 * inserts that grow `a` by the buckets only in `b`, the backward inserts that grow `b` by those
 * only in `a`, and the merged spans covering both.
 */
export function expandSpansBothWays(a: readonly Span[], b: readonly Span[]): BothWaysExpansion {
  const ai = new BucketIndexIterator(a);
  const bi = new BucketIndexIterator(b);
  const fInserts: Insert[] = [];
  const bInserts: Insert[] = [];
  const merged: Span[] = [];
  let lastBucket = 0;
  const addBucket = (idx: number): void => {
    let offset = idx - lastBucket - 1;
    if (offset === 0 && merged.length > 0) {
      (merged[merged.length - 1] as Span).length++;
    } else {
      if (merged.length === 0) offset++;
      merged.push({ offset, length: 1 });
    }
    lastBucket = idx;
  };
  const fInter: Insert = { pos: 0, num: 0, bucketIdx: 0 };
  const bInter: Insert = { pos: 0, num: 0, bucketIdx: 0 };
  let av = ai.next();
  let bv = bi.next();
  for (;;) {
    if (av !== undefined && bv !== undefined) {
      if (av === bv) {
        if (fInter.num > 0) {
          fInserts.push({ ...fInter });
          fInter.num = 0;
        }
        if (bInter.num > 0) {
          bInserts.push({ ...bInter });
          bInter.num = 0;
        }
        addBucket(av);
        av = ai.next();
        bv = bi.next();
        fInter.pos++;
        bInter.pos++;
      } else if (av < bv) {
        bInter.num++;
        if (fInter.num > 0) {
          fInserts.push({ ...fInter });
          fInter.num = 0;
        }
        addBucket(av);
        fInter.pos++;
        av = ai.next();
      } else {
        fInter.num++;
        if (bInter.num > 0) {
          bInserts.push({ ...bInter });
          bInter.num = 0;
        }
        addBucket(bv);
        bInter.pos++;
        bv = bi.next();
      }
    } else if (av !== undefined) {
      bInter.num++;
      addBucket(av);
      av = ai.next();
    } else if (bv !== undefined) {
      fInter.num++;
      addBucket(bv);
      bv = bi.next();
    } else {
      if (fInter.num > 0) fInserts.push({ ...fInter });
      if (bInter.num > 0) bInserts.push({ ...bInter });
      return { forward: fInserts, backward: bInserts, merged };
    }
  }
}

/**
 * Returns a copy of `input` with empty buckets inserted (Prometheus's insert): for delta-encoded
 * buckets the first inserted delta brings the running count to 0 and the next original delta is
 * rebased on 0; absolute buckets just get zeros. `outLength` is the total after inserting.
 */
export function insertBuckets(
  input: readonly number[],
  inserts: readonly Insert[],
  deltas: boolean,
  outLength: number,
): number[] {
  const out = new Array<number>(outLength).fill(0);
  let oi = 0;
  let v = 0;
  let ii = 0;
  for (let i = 0; i < input.length; i++) {
    const d = input[i] as number;
    if (ii >= inserts.length || i !== (inserts[ii] as Insert).pos) {
      out[oi++] = d;
      v += d;
      continue;
    }
    let first = true;
    while (ii < inserts.length && i === (inserts[ii] as Insert).pos) {
      out[oi++] = deltas && first ? -v : 0;
      first = false;
      for (let x = 1; x < (inserts[ii] as Insert).num; x++) out[oi++] = 0;
      ii++;
    }
    out[oi++] = deltas ? d + v : d;
    v += d;
  }
  for (; ii < inserts.length; ii++) {
    const ins = inserts[ii] as Insert;
    if (ins.pos < input.length) throw new RangeError('leftover inserts must be after the current buckets');
    out[oi++] = deltas ? -v : 0;
    for (let x = 1; x < ins.num; x++) out[oi++] = 0;
    v = 0;
  }
  return out;
}

/** The spans grown by the buckets the inserts add (Prometheus's adjustForInserts). */
export function adjustForInserts(spans: readonly Span[], inserts: readonly Insert[]): Span[] {
  if (inserts.length === 0) return spans.map((s) => ({ ...s }));
  const it = new BucketIndexIterator(spans);
  const merged: Span[] = [];
  let lastBucket = 0;
  let i = 0;
  let insertIdx = (inserts[0] as Insert).bucketIdx;
  let insertNum = (inserts[0] as Insert).num;
  const addBucket = (b: number): void => {
    let offset = b - lastBucket - 1;
    if (offset === 0 && merged.length > 0) {
      (merged[merged.length - 1] as Span).length++;
    } else {
      if (merged.length === 0) offset++;
      merged.push({ offset, length: 1 });
    }
    lastBucket = b;
  };
  const consume = (): void => {
    insertNum--;
    if (insertNum === 0) {
      i++;
      if (i < inserts.length) {
        insertIdx = (inserts[i] as Insert).bucketIdx;
        insertNum = (inserts[i] as Insert).num;
      }
    } else {
      insertIdx++;
    }
  };
  let bucket = it.next();
  while (bucket !== undefined) {
    if (i < inserts.length && insertIdx < bucket) {
      addBucket(insertIdx);
      consume();
    } else {
      addBucket(bucket);
      bucket = it.next();
    }
  }
  while (i < inserts.length) {
    addBucket(insertIdx);
    consume();
  }
  return merged;
}
