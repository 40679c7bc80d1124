// Arithmetic on float histograms with Prometheus's semantics (model/histogram/float_histogram.go):
// add and subtract with schema and zero-bucket reconciliation, scaling, custom-bucket
// intersection, counter-reset detection and compaction. Bucket layouts are handled as sorted
// (index, count) lists, which keeps each operation a single merge.

import { bucketUpperBound, copyFloatHistogram } from './histogram.js';
import { CounterResetHint, type FloatHistogram, isCustomBucketsSchema, type Span } from './types.js';

/** Prometheus's ErrHistogramsIncompatibleSchema text. */
export const INCOMPATIBLE_SCHEMA_MESSAGE =
  'cannot apply this operation on histograms with a mix of exponential and custom bucket schemas';

/** Adding or subtracting an exponential and a custom-bucket histogram (ErrHistogramsIncompatibleSchema). */
export class IncompatibleSchemaError extends Error {
  readonly code = 'TSDB_HISTOGRAM_INCOMPATIBLE_SCHEMA';
  constructor() {
    super(INCOMPATIBLE_SCHEMA_MESSAGE);
    this.name = 'IncompatibleSchemaError';
  }
}

/** What `addFloatHistograms`/`subFloatHistograms` report besides the result. */
export interface HistogramAddResult {
  /** The receiver, modified in place. */
  h: FloatHistogram;
  /** One operand said CounterReset and the other NotCounterReset (the result's hint is then Unknown). */
  counterResetCollision: boolean;
  /** Custom-bucket operands had different bounds and were mapped onto their intersection. */
  nhcbBoundsReconciled: boolean;
}

/** Bucket indices and counts of one side, both in ascending index order. */
interface Sparse {
  idx: number[];
  cnt: number[];
}

function toSparse(spans: readonly Span[], buckets: readonly number[]): Sparse {
  const idx: number[] = [];
  const cnt: number[] = [];
  let i = 0;
  let b = 0;
  for (const s of spans) {
    i += s.offset;
    for (let k = 0; k < s.length && b < buckets.length; k++) {
      idx.push(i);
      cnt.push(buckets[b] as number);
      i++;
      b++;
    }
  }
  return { idx, cnt };
}

function fromSparse(sp: Sparse, dropZeros: boolean): { spans: Span[]; buckets: number[] } {
  const spans: Span[] = [];
  const buckets: number[] = [];
  let last = 0;
  for (let k = 0; k < sp.idx.length; k++) {
    const c = sp.cnt[k] as number;
    if (dropZeros && c === 0) continue;
    const i = sp.idx[k] as number;
    const cur = spans[spans.length - 1];
    if (cur !== undefined && i === last + 1) cur.length++;
    else spans.push({ offset: spans.length === 0 ? i : i - last - 1, length: 1 });
    buckets.push(c);
    last = i;
  }
  return { spans, buckets };
}

/** Prometheus's targetIdx: the bucket holding origin bucket `idx` in a lower-resolution schema. */
function targetIdx(idx: number, from: number, to: number): number {
  return Math.floor((idx - 1) / 2 ** (from - to)) + 1;
}

function reduceSparse(sp: Sparse, from: number, to: number): Sparse {
  if (from === to) return sp;
  const idx: number[] = [];
  const cnt: number[] = [];
  for (let k = 0; k < sp.idx.length; k++) {
    const t = targetIdx(sp.idx[k] as number, from, to);
    if (idx.length > 0 && idx[idx.length - 1] === t)
      cnt[cnt.length - 1] = (cnt[cnt.length - 1] as number) + (sp.cnt[k] as number);
    else {
      idx.push(t);
      cnt.push(sp.cnt[k] as number);
    }
  }
  return { idx, cnt };
}

/** Merges `b` (times `sign`) into `a`; b's buckets at or below `threshold` (exponential only) are skipped. */
function mergeSparse(a: Sparse, b: Sparse, sign: number, schema: number, threshold: number): Sparse {
  const idx: number[] = [];
  const cnt: number[] = [];
  let i = 0;
  let j = 0;
  let skipping = !isCustomBucketsSchema(schema);
  while (j < b.idx.length && skipping) {
    if (bucketUpperBound(b.idx[j] as number, schema) <= threshold) j++;
    else skipping = false;
  }
  while (i < a.idx.length || j < b.idx.length) {
    const ai = i < a.idx.length ? (a.idx[i] as number) : Number.POSITIVE_INFINITY;
    const bi = j < b.idx.length ? (b.idx[j] as number) : Number.POSITIVE_INFINITY;
    if (ai < bi) {
      idx.push(ai);
      cnt.push(a.cnt[i++] as number);
    } else if (bi < ai) {
      idx.push(bi);
      cnt.push(sign * (b.cnt[j++] as number));
    } else {
      idx.push(ai);
      cnt.push((a.cnt[i++] as number) + sign * (b.cnt[j++] as number));
    }
  }
  return { idx, cnt };
}

/** A deep copy of `h` reduced to the lower-resolution `schema` (Prometheus's CopyToSchema). */
export function copyToSchema(h: FloatHistogram, schema: number): FloatHistogram {
  const c = copyFloatHistogram(h);
  if (schema === h.schema) return c;
  if (isCustomBucketsSchema(h.schema) || isCustomBucketsSchema(schema) || schema > h.schema) {
    throw new RangeError(`cannot copy from schema ${h.schema} to ${schema}`);
  }
  const p = fromSparse(reduceSparse(toSparse(h.positiveSpans, h.positiveBuckets), h.schema, schema), false);
  const n = fromSparse(reduceSparse(toSparse(h.negativeSpans, h.negativeBuckets), h.schema, schema), false);
  c.schema = schema;
  c.positiveSpans = p.spans;
  c.positiveBuckets = p.buckets;
  c.negativeSpans = n.spans;
  c.negativeBuckets = n.buckets;
  return c;
}

/**
 * The zero count `h` would have with a zero bucket of at least `larger` (Prometheus's
 * zeroCountForLargerThreshold): buckets inside it are folded in, and a threshold that falls inside
 * a populated bucket moves up to that bucket's bound.
 */
function zeroCountForLargerThreshold(h: FloatHistogram, largerIn: number): { count: number; threshold: number } {
  let larger = largerIn;
  if (larger === h.zeroThreshold) return { count: h.zeroCount, threshold: larger };
  const pos = toSparse(h.positiveSpans, h.positiveBuckets);
  const neg = toSparse(h.negativeSpans, h.negativeBuckets);
  for (;;) {
    let count = h.zeroCount;
    for (let k = 0; k < pos.idx.length; k++) {
      const i = pos.idx[k] as number;
      const lower = bucketUpperBound(i - 1, h.schema);
      if (lower >= larger) break;
      const c = pos.cnt[k] as number;
      count += c;
      if (bucketUpperBound(i, h.schema) > larger) {
        if (c !== 0) larger = bucketUpperBound(i, h.schema);
        break;
      }
    }
    let redo = false;
    for (let k = 0; k < neg.idx.length; k++) {
      const i = neg.idx[k] as number;
      const upperAbs = bucketUpperBound(i - 1, h.schema);
      if (upperAbs >= larger) break;
      const c = neg.cnt[k] as number;
      count += c;
      if (bucketUpperBound(i, h.schema) > larger) {
        if (c !== 0) {
          larger = bucketUpperBound(i, h.schema);
          redo = true;
        }
        break;
      }
    }
    if (!redo) return { count, threshold: larger };
  }
}

/** Drops the buckets of `h` that lie inside its zero bucket (their counts are already in it). */
function trimBucketsInZeroBucket(h: FloatHistogram): void {
  const trim = (spans: Span[], buckets: number[]): { spans: Span[]; buckets: number[] } => {
    const sp = toSparse(spans, buckets);
    for (let k = 0; k < sp.idx.length; k++) {
      if (bucketUpperBound((sp.idx[k] as number) - 1, h.schema) >= h.zeroThreshold) break;
      sp.cnt[k] = 0;
    }
    return fromSparse(sp, true);
  };
  const p = trim(h.positiveSpans, h.positiveBuckets);
  const n = trim(h.negativeSpans, h.negativeBuckets);
  h.positiveSpans = p.spans;
  h.positiveBuckets = p.buckets;
  h.negativeSpans = n.spans;
  h.negativeBuckets = n.buckets;
}

/** Widens the zero buckets of `h` (in place) and of `other` (virtually) to a common threshold; returns other's zero count. */
function reconcileZeroBuckets(h: FloatHistogram, other: FloatHistogram): number {
  let otherCount = other.zeroCount;
  let otherThreshold = other.zeroThreshold;
  while (otherThreshold !== h.zeroThreshold) {
    if (h.zeroThreshold > otherThreshold) {
      const r = zeroCountForLargerThreshold(other, h.zeroThreshold);
      otherCount = r.count;
      otherThreshold = r.threshold;
    }
    if (otherThreshold > h.zeroThreshold) {
      const r = zeroCountForLargerThreshold(h, otherThreshold);
      h.zeroCount = r.count;
      h.zeroThreshold = r.threshold;
      trimBucketsInZeroBucket(h);
    }
  }
  return otherCount;
}

/** Prometheus's adjustCounterReset: the hint of a sum or difference; true on a CounterReset/NotCounterReset clash. */
function adjustCounterReset(h: FloatHistogram, other: FloatHistogram): boolean {
  const a = h.counterResetHint;
  const b = other.counterResetHint;
  if (a === b || a === CounterResetHint.Gauge) return false;
  if (b === CounterResetHint.Gauge) {
    h.counterResetHint = CounterResetHint.Gauge;
    return false;
  }
  if (a === CounterResetHint.Unknown) return false;
  h.counterResetHint = CounterResetHint.Unknown;
  return b !== CounterResetHint.Unknown;
}

/** The strictly common bounds of two custom-bucket layouts. */
export function intersectCustomBounds(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}

/** Maps custom buckets onto `target` bounds: each bucket goes to the first target bound ≥ its own upper bound. */
function mapCustom(
  sp: Sparse,
  bounds: readonly number[],
  target: readonly number[],
  into: number[],
  sign: number,
): void {
  let t = 0;
  for (let k = 0; k < sp.idx.length; k++) {
    const i = sp.idx[k] as number;
    let ti = target.length;
    if (i < bounds.length) {
      const ub = bounds[i] as number;
      while (t < target.length && (target[t] as number) < ub) t++;
      ti = t;
    }
    into[ti] = (into[ti] as number) + sign * (sp.cnt[k] as number);
  }
}

/** Whether two span lists are identical span by span (the common case of one series' samples). */
function sameSpans(a: readonly Span[], b: readonly Span[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Span;
    const y = b[i] as Span;
    if (x.offset !== y.offset || x.length !== y.length) return false;
  }
  return true;
}

// Scratch lists for addIfSubset, grown as needed: a sum over many series calls it once per
// series, and it should not allocate.
let subIdx = new Int32Array(64);
let supIdx = new Int32Array(64);
let posP = new Int32Array(64);
let posN = new Int32Array(64);

/** The bucket indices of `spans` (at most `n`, the bucket count) into `out`; returns how many. */
function indicesInto(spans: readonly Span[], n: number, out: Int32Array): number {
  let i = 0;
  let b = 0;
  for (const s of spans) {
    i += s.offset;
    for (let k = 0; k < s.length && b < n; k++) out[b++] = i++;
  }
  return b;
}

/** Bucket slots `spans` announce. */
function spanSlots(spans: readonly Span[]): number {
  let n = 0;
  for (const s of spans) n += s.length;
  return n;
}

/**
 * Writes to `pos` the position in the `sup` layout of each bucket of the `sub` layout (spans and
 * bucket count each), and returns their number; -1 when a bucket of sub is missing from sup.
 * `pos` must hold the sub's bucket count.
 */
function subsetPositions(
  subSpans: readonly Span[],
  subBuckets: number,
  supSpans: readonly Span[],
  supBuckets: number,
  pos: Int32Array,
): number {
  const nSub = Math.min(spanSlots(subSpans), subBuckets);
  const nSup = Math.min(spanSlots(supSpans), supBuckets);
  if (subIdx.length < nSub) subIdx = new Int32Array(2 * nSub);
  if (supIdx.length < nSup) supIdx = new Int32Array(2 * nSup);
  indicesInto(subSpans, nSub, subIdx);
  indicesInto(supSpans, nSup, supIdx);
  let i = 0;
  for (let k = 0; k < nSub; k++) {
    const x = subIdx[k] as number;
    while (i < nSup && (supIdx[i] as number) < x) i++;
    if (i >= nSup || supIdx[i] !== x) return -1;
    pos[k] = i;
  }
  return nSub;
}

/**
 * Adds `sign` × `other` into `h` in place when every bucket of `other` already exists in `h`
 * (same schema, zero bucket and bounds): a running sum usually holds them all. False otherwise,
 * with `h` untouched.
 */
function addIfSubset(h: FloatHistogram, other: FloatHistogram, sign: number, custom: boolean): boolean {
  if (h.schema !== other.schema || h.zeroThreshold !== other.zeroThreshold) return false;
  if (custom && !sameBounds(h.customValues ?? [], other.customValues ?? [])) return false;
  const ob = other.positiveBuckets;
  const onb = other.negativeBuckets;
  if (posP.length < ob.length) posP = new Int32Array(2 * ob.length);
  if (posN.length < onb.length) posN = new Int32Array(2 * onb.length);
  const np = subsetPositions(other.positiveSpans, ob.length, h.positiveSpans, h.positiveBuckets.length, posP);
  if (np < 0) return false;
  const nn = subsetPositions(other.negativeSpans, onb.length, h.negativeSpans, h.negativeBuckets.length, posN);
  if (nn < 0) return false;
  h.zeroCount += sign * other.zeroCount;
  h.count += sign * other.count;
  h.sum += sign * other.sum;
  const hb = h.positiveBuckets;
  for (let k = 0; k < np; k++) {
    const at = posP[k] as number;
    hb[at] = (hb[at] as number) + sign * (ob[k] as number);
  }
  const hnb = h.negativeBuckets;
  for (let k = 0; k < nn; k++) {
    const at = posN[k] as number;
    hnb[at] = (hnb[at] as number) + sign * (onb[k] as number);
  }
  return true;
}

/** Whether `a` and `b` have the same schema, zero bucket width, custom bounds and bucket layout. */
function sameLayout(a: FloatHistogram, b: FloatHistogram): boolean {
  return (
    a.schema === b.schema &&
    a.zeroThreshold === b.zeroThreshold &&
    sameSpans(a.positiveSpans, b.positiveSpans) &&
    sameSpans(a.negativeSpans, b.negativeSpans) &&
    a.positiveBuckets.length === b.positiveBuckets.length &&
    a.negativeBuckets.length === b.negativeBuckets.length &&
    (!isCustomBucketsSchema(a.schema) || sameBounds(a.customValues ?? [], b.customValues ?? []))
  );
}

function addOrSub(h: FloatHistogram, other: FloatHistogram, sign: number): HistogramAddResult {
  const hCustom = isCustomBucketsSchema(h.schema);
  if (hCustom !== isCustomBucketsSchema(other.schema)) throw new IncompatibleSchemaError();
  const counterResetCollision = adjustCounterReset(h, other);
  if (sameLayout(h, other)) {
    // Fast path: bucket by bucket, no layout work (the zero buckets are already reconciled).
    h.zeroCount += sign * other.zeroCount;
    h.count += sign * other.count;
    h.sum += sign * other.sum;
    const hp = h.positiveBuckets;
    const op = other.positiveBuckets;
    for (let i = 0; i < hp.length; i++) hp[i] = (hp[i] as number) + sign * (op[i] as number);
    const hn = h.negativeBuckets;
    const on = other.negativeBuckets;
    for (let i = 0; i < hn.length; i++) hn[i] = (hn[i] as number) + sign * (on[i] as number);
    return { h, counterResetCollision, nhcbBoundsReconciled: false };
  }
  if (addIfSubset(h, other, sign, hCustom)) return { h, counterResetCollision, nhcbBoundsReconciled: false };
  let nhcbBoundsReconciled = false;
  if (!hCustom) h.zeroCount += sign * reconcileZeroBuckets(h, other);
  h.count += sign * other.count;
  h.sum += sign * other.sum;
  const hp = toSparse(h.positiveSpans, h.positiveBuckets);
  const op = toSparse(other.positiveSpans, other.positiveBuckets);
  if (hCustom) {
    const hb = h.customValues ?? [];
    const ob = other.customValues ?? [];
    let merged: Sparse;
    if (sameBounds(hb, ob)) merged = mergeSparse(hp, op, sign, h.schema, 0);
    else {
      nhcbBoundsReconciled = true;
      const target = intersectCustomBounds(hb, ob);
      const dense = new Array<number>(target.length + 1).fill(0);
      mapCustom(hp, hb, target, dense, 1);
      mapCustom(op, ob, target, dense, sign);
      merged = { idx: dense.map((_, i) => i), cnt: dense };
      h.customValues = target;
      const r = fromSparse(merged, true);
      h.positiveSpans = r.spans;
      h.positiveBuckets = r.buckets;
      return { h, counterResetCollision, nhcbBoundsReconciled };
    }
    const r = fromSparse(merged, false);
    h.positiveSpans = r.spans;
    h.positiveBuckets = r.buckets;
    return { h, counterResetCollision, nhcbBoundsReconciled };
  }
  const schema = Math.min(h.schema, other.schema);
  const hn = toSparse(h.negativeSpans, h.negativeBuckets);
  const on = toSparse(other.negativeSpans, other.negativeBuckets);
  const p = mergeSparse(
    reduceSparse(hp, h.schema, schema),
    reduceSparse(op, other.schema, schema),
    sign,
    schema,
    h.zeroThreshold,
  );
  const n = mergeSparse(
    reduceSparse(hn, h.schema, schema),
    reduceSparse(on, other.schema, schema),
    sign,
    schema,
    h.zeroThreshold,
  );
  h.schema = schema;
  const rp = fromSparse(p, false);
  const rn = fromSparse(n, false);
  h.positiveSpans = rp.spans;
  h.positiveBuckets = rp.buckets;
  h.negativeSpans = rn.spans;
  h.negativeBuckets = rn.buckets;
  return { h, counterResetCollision, nhcbBoundsReconciled };
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Adds `other` into `h` (modified in place; Prometheus's FloatHistogram.Add): the result has the
 * lower of both schemas, a zero bucket wide enough for both, and the union of the buckets.
 * Custom-bucket histograms with different bounds are mapped onto the bounds they share. Throws
 * IncompatibleSchemaError for an exponential and a custom-bucket histogram.
 */
export function addFloatHistograms(h: FloatHistogram, other: FloatHistogram): HistogramAddResult {
  return addOrSub(h, other, 1);
}

/** Subtracts `other` from `h` in place (Prometheus's FloatHistogram.Sub); see {@link addFloatHistograms}. */
export function subFloatHistograms(h: FloatHistogram, other: FloatHistogram): HistogramAddResult {
  return addOrSub(h, other, -1);
}

/** Multiplies every count and the sum of `h` by `factor`, in place; a negative factor makes it a gauge. */
export function mulFloatHistogram(h: FloatHistogram, factor: number): FloatHistogram {
  h.zeroCount *= factor;
  h.count *= factor;
  h.sum *= factor;
  for (let i = 0; i < h.positiveBuckets.length; i++) h.positiveBuckets[i] = (h.positiveBuckets[i] as number) * factor;
  for (let i = 0; i < h.negativeBuckets.length; i++) h.negativeBuckets[i] = (h.negativeBuckets[i] as number) * factor;
  if (factor < 0) h.counterResetHint = CounterResetHint.Gauge;
  return h;
}

/** Divides `h` by `divisor` in place; dividing by 0 removes every bucket (Prometheus's Div). */
export function divFloatHistogram(h: FloatHistogram, divisor: number): FloatHistogram {
  h.zeroCount /= divisor;
  h.count /= divisor;
  h.sum /= divisor;
  if (divisor === 0) {
    h.positiveBuckets = [];
    h.negativeBuckets = [];
    h.positiveSpans = [];
    h.negativeSpans = [];
    return h;
  }
  for (let i = 0; i < h.positiveBuckets.length; i++) h.positiveBuckets[i] = (h.positiveBuckets[i] as number) / divisor;
  for (let i = 0; i < h.negativeBuckets.length; i++) h.negativeBuckets[i] = (h.negativeBuckets[i] as number) / divisor;
  if (divisor < 0) h.counterResetHint = CounterResetHint.Gauge;
  return h;
}

/** `h` with every empty bucket removed and adjacent spans joined, in place (Prometheus's Compact(0)). */
export function compactFloatHistogram(h: FloatHistogram): FloatHistogram {
  // Nothing to drop (the common case): keep the layout as it is.
  if (!h.positiveBuckets.includes(0) && !h.negativeBuckets.includes(0)) return h;
  const p = withoutEmptyBuckets(h.positiveSpans, h.positiveBuckets);
  const n = withoutEmptyBuckets(h.negativeSpans, h.negativeBuckets);
  h.positiveSpans = p.spans;
  h.positiveBuckets = p.buckets;
  h.negativeSpans = n.spans;
  h.negativeBuckets = n.buckets;
  return h;
}

/** `fromSparse(toSparse(spans, buckets), true)` in one pass: the layout without its zero buckets. */
function withoutEmptyBuckets(spans: readonly Span[], buckets: readonly number[]): { spans: Span[]; buckets: number[] } {
  const outSpans: Span[] = [];
  const outBuckets: number[] = [];
  let cur: Span | undefined;
  let i = 0;
  let b = 0;
  let last = 0;
  for (const s of spans) {
    i += s.offset;
    for (let k = 0; k < s.length && b < buckets.length; k++, i++, b++) {
      const c = buckets[b] as number;
      if (c === 0) continue;
      if (cur !== undefined && i === last + 1) cur.length++;
      else {
        cur = { offset: cur === undefined ? i : i - last - 1, length: 1 };
        outSpans.push(cur);
      }
      outBuckets.push(c);
      last = i;
    }
  }
  return { spans: outSpans, buckets: outBuckets };
}

/** Whether any count or the sum of `h` is infinite (Prometheus's HasOverflow). */
export function floatHistogramHasOverflow(h: FloatHistogram): boolean {
  if (!Number.isFinite(h.zeroCount) && !Number.isNaN(h.zeroCount)) return true;
  if (!Number.isFinite(h.count) && !Number.isNaN(h.count)) return true;
  if (!Number.isFinite(h.sum) && !Number.isNaN(h.sum)) return true;
  for (const v of h.positiveBuckets) if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) return true;
  for (const v of h.negativeBuckets) if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) return true;
  return false;
}

/**
 * Whether `h` follows a counter reset after `previous` (Prometheus's DetectReset): its hint if
 * it says so, otherwise a lower count, a schema increase, a narrower zero bucket, or any bucket
 * (at the common resolution) whose count went down.
 */
export function detectFloatHistogramReset(h: FloatHistogram, previous: FloatHistogram): boolean {
  if (h.counterResetHint === CounterResetHint.CounterReset) return true;
  if (h.counterResetHint === CounterResetHint.NotCounterReset) return false;
  if (h.count < previous.count) return true;
  if (isCustomBucketsSchema(h.schema)) {
    if (!isCustomBucketsSchema(previous.schema)) return true;
    const hb = h.customValues ?? [];
    const pb = previous.customValues ?? [];
    if (!sameBounds(hb, pb)) {
      const target = intersectCustomBounds(hb, pb);
      const cur = new Array<number>(target.length + 1).fill(0);
      const prev = new Array<number>(target.length + 1).fill(0);
      mapCustom(toSparse(h.positiveSpans, h.positiveBuckets), hb, target, cur, 1);
      mapCustom(toSparse(previous.positiveSpans, previous.positiveBuckets), pb, target, prev, 1);
      for (let i = 0; i < cur.length; i++) if ((cur[i] as number) < (prev[i] as number)) return true;
      return false;
    }
  }
  if (h.schema > previous.schema) return true;
  if (h.zeroThreshold < previous.zeroThreshold) return true;
  if (sameLayout(h, previous)) {
    // Fast path: same buckets in the same places; a reset is any count that went down.
    if (h.zeroCount < previous.zeroCount) return true;
    const cp = h.positiveBuckets;
    const pp = previous.positiveBuckets;
    for (let i = 0; i < cp.length; i++) if ((cp[i] as number) < (pp[i] as number)) return true;
    const cn = h.negativeBuckets;
    const pn = previous.negativeBuckets;
    for (let i = 0; i < cn.length; i++) if ((cn[i] as number) < (pn[i] as number)) return true;
    return false;
  }
  const custom = isCustomBucketsSchema(h.schema);
  if (!custom) {
    const r = zeroCountForLargerThreshold(previous, h.zeroThreshold);
    if (r.threshold !== h.zeroThreshold) return true;
    if (h.zeroCount < r.count) return true;
  }
  const sides: [Span[], number[], Span[], number[]][] = [
    [h.positiveSpans, h.positiveBuckets, previous.positiveSpans, previous.positiveBuckets],
    [h.negativeSpans, h.negativeBuckets, previous.negativeSpans, previous.negativeBuckets],
  ];
  for (const [cs, cb, ps, pb] of sides) {
    const cur = skipBelow(reduceSparse(toSparse(cs, cb), h.schema, h.schema), h.schema, h.zeroThreshold, custom);
    const prev = skipBelow(
      custom ? toSparse(ps, pb) : reduceSparse(toSparse(ps, pb), previous.schema, h.schema),
      h.schema,
      h.zeroThreshold,
      custom,
    );
    let i = 0;
    for (let k = 0; k < prev.idx.length; k++) {
      const pi = prev.idx[k] as number;
      while (i < cur.idx.length && (cur.idx[i] as number) < pi) i++;
      const c = i < cur.idx.length && cur.idx[i] === pi ? (cur.cnt[i] as number) : 0;
      if (c < (prev.cnt[k] as number)) return true;
    }
  }
  return false;
}

/** Buckets whose absolute upper bound is above `threshold` (exponential schemas only). */
function skipBelow(sp: Sparse, schema: number, threshold: number, custom: boolean): Sparse {
  if (custom) return sp;
  let k = 0;
  while (k < sp.idx.length && bucketUpperBound(sp.idx[k] as number, schema) <= threshold) k++;
  return k === 0 ? sp : { idx: sp.idx.slice(k), cnt: sp.cnt.slice(k) };
}
