// WAL record bodies, byte for byte as Prometheus's tsdb/record/record.go (v2.42) encodes them.
// The first byte names the type; integers are big endian (`<8b>`) or varints (zigzag for
// signed deltas, as Go's binary.PutVarint). docs/formats/wal.md draws every layout.
import type { Interval } from '../block/tombstones.js';
import {
  type FloatHistogram,
  type Histogram,
  isCustomBucketsSchema,
  isKnownSchema,
  type Span,
} from '../histogram/types.js';
import { compareStrings, Labels } from '../labels/labels.js';
import { WalRecordError } from './errors.js';

/** Record type of series records (ref + labels). */
export const RECORD_SERIES = 1;
/** Record type of float sample records. */
export const RECORD_SAMPLES = 2;
/** Record type of tombstone records (deletions). */
export const RECORD_TOMBSTONES = 3;
/** Record type of exemplar records. Decoded as `unknown` for now. */
export const RECORD_EXEMPLARS = 4;
/** Record type of m-map markers (out-of-order WBL only). Decoded as `unknown` for now. */
export const RECORD_MMAP_MARKERS = 5;
/** Record type of metadata records. Decoded as `unknown` for now. */
export const RECORD_METADATA = 6;
/** Record type of integer native histogram samples (exponential schemas). */
export const RECORD_HISTOGRAM_SAMPLES = 7;
/** Record type of float native histogram samples (exponential schemas). */
export const RECORD_FLOAT_HISTOGRAM_SAMPLES = 8;
/** Record type of integer histograms with custom buckets (schema -53; Prometheus 3). */
export const RECORD_CUSTOM_BUCKETS_HISTOGRAM_SAMPLES = 9;
/** Record type of float histograms with custom buckets (schema -53; Prometheus 3). */
export const RECORD_CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES = 10;
/** What Prometheus's `Decoder.Type` answers for an empty record or a type it does not know. */
export const RECORD_UNKNOWN = 255;

/** A series announced in the WAL: its head reference and labels. */
export interface RefSeries {
  /** Head series reference (Prometheus's chunks.HeadSeriesRef); an integer below 2^53. */
  ref: number;
  labels: Labels;
}

/** One float sample of the series `ref`. */
export interface RefSample {
  /** Head series reference. */
  ref: number;
  /** Timestamp in milliseconds since the epoch. */
  t: number;
  /** Value; NaN bit patterns (stale markers) survive the round trip. */
  v: number;
}

/** Deleted intervals of the series `ref`. */
export interface RefTombstone {
  /** Head series reference. */
  ref: number;
  /** Deleted [minTime, maxTime] ranges in ms, inclusive. */
  intervals: Interval[];
}

/** One integer native histogram sample of the series `ref` (Prometheus's RefHistogramSample). */
export interface RefHistogramSample {
  /** Head series reference. */
  ref: number;
  /** Timestamp in milliseconds since the epoch. */
  t: number;
  h: Histogram;
}

/** One float native histogram sample of the series `ref` (RefFloatHistogramSample). */
export interface RefFloatHistogramSample {
  /** Head series reference. */
  ref: number;
  /** Timestamp in milliseconds since the epoch. */
  t: number;
  fh: FloatHistogram;
}

/** A decoded WAL record. Types this package does not decode yet come back as `unknown`. */
export type WalRecord =
  | { type: 'series'; series: RefSeries[] }
  | { type: 'samples'; samples: RefSample[] }
  | { type: 'tombstones'; tombstones: RefTombstone[] }
  | { type: 'histograms'; histograms: RefHistogramSample[] }
  | { type: 'floatHistograms'; histograms: RefFloatHistogramSample[] }
  | { type: 'unknown'; recordType: number };

/**
 * Sample columns filled by {@link decodeSamplesInto}: one entry per sample at `[0, length)`.
 * The arrays grow as needed and are reused across calls, so replaying millions of samples
 * allocates nothing per sample.
 */
export interface SampleColumns {
  refs: Float64Array;
  /** Timestamps in ms. */
  ts: Float64Array;
  values: Float64Array;
  /** Number of samples in the columns. */
  length: number;
}

const TWO_32 = 4294967296;
// Beyond ±2^52 a zigzag-encoded delta no longer fits a double exactly; BigInt takes over there.
const SAFE_DELTA = 2 ** 52;

const utf8 = new TextEncoder();

/** The type byte of a record, or {@link RECORD_UNKNOWN} for an empty one (Prometheus's Decoder.Type). */
export function recordType(rec: Uint8Array): number {
  return rec.length === 0 ? RECORD_UNKNOWN : (rec[0] as number);
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** A growable byte buffer for the encoders; only ever appended to. */
class Encbuf {
  b: Uint8Array;
  p = 0;
  dv: DataView;

  constructor(size: number) {
    this.b = new Uint8Array(size);
    this.dv = new DataView(this.b.buffer);
  }

  reserve(n: number): void {
    if (this.p + n <= this.b.length) return;
    const next = new Uint8Array(Math.max(this.b.length * 2, this.p + n));
    next.set(this.b.subarray(0, this.p));
    this.b = next;
    this.dv = new DataView(next.buffer);
  }

  byte(v: number): void {
    this.b[this.p++] = v;
  }

  /** Unsigned 64-bit big endian from a non-negative integer below 2^53. */
  be64(v: number): void {
    const hi = Math.floor(v / TWO_32);
    this.dv.setUint32(this.p, hi >>> 0);
    this.dv.setUint32(this.p + 4, (v - hi * TWO_32) >>> 0);
    this.p += 8;
  }

  /** Signed 64-bit big endian (two's complement) from an integer in ±2^53. */
  be64int(v: number): void {
    const hi = Math.floor(v / TWO_32); // negative for v < 0, so lo stays in [0, 2^32)
    this.dv.setInt32(this.p, hi | 0);
    this.dv.setUint32(this.p + 4, (v - hi * TWO_32) >>> 0);
    this.p += 8;
  }

  f64(v: number): void {
    this.dv.setFloat64(this.p, v);
    this.p += 8;
  }

  uvarint(v: number): void {
    const b = this.b;
    let p = this.p;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v = v < TWO_32 ? v >>> 7 : Math.floor(v / 128);
    }
    b[p++] = v;
    this.p = p;
  }

  /** Zigzag varint (Go's binary.PutVarint) of an integer. */
  varint(v: number): void {
    if (v >= -0x40000000 && v < 0x40000000) {
      this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
    } else if (v > -SAFE_DELTA && v < SAFE_DELTA) {
      this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
    } else {
      let u = BigInt(v) >= 0n ? BigInt(v) << 1n : (-BigInt(v) << 1n) - 1n;
      while (u >= 0x80n) {
        this.b[this.p++] = Number(u & 0x7fn) | 0x80;
        u >>= 7n;
      }
      this.b[this.p++] = Number(u);
    }
  }

  /** A uvarint length and the UTF-8 bytes of `s`. */
  str(s: string): void {
    const n = s.length;
    this.reserve(10 + n * 3);
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.uvarint(n);
      const b = this.b;
      let p = this.p;
      for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
      this.p = p;
      return;
    }
    const bytes = utf8.encode(s);
    this.uvarint(bytes.length);
    this.b.set(bytes, this.p);
    this.p += bytes.length;
  }

  done(): Uint8Array {
    return this.b.subarray(0, this.p);
  }
}

/**
 * Encodes a series record: type 1, then per series its ref (8 bytes) and its labels as a uvarint
 * count followed by uvarint-length-prefixed names and values (Prometheus's Encoder.Series).
 */
export function encodeSeriesRecord(series: readonly RefSeries[]): Uint8Array {
  const buf = new Encbuf(1 + series.length * 64);
  buf.byte(RECORD_SERIES);
  for (const s of series) {
    const flat = s.labels.toFlat();
    buf.reserve(8 + 10);
    buf.be64(s.ref);
    buf.uvarint(flat.length >> 1);
    for (let i = 0; i < flat.length; i++) buf.str(flat[i] as string);
  }
  return buf.done();
}

/**
 * Encodes a samples record (Prometheus's Encoder.Samples): type 2, the first sample's ref and
 * timestamp as 8-byte bases, then per sample the zigzag varint deltas of ref and timestamp to
 * those bases and the value's 8 IEEE 754 bytes. No samples gives the 1-byte record.
 */
export function encodeSamplesRecord(samples: readonly RefSample[]): Uint8Array {
  const buf = new Encbuf(17 + samples.length * 28);
  buf.byte(RECORD_SAMPLES);
  const first = samples[0];
  if (first === undefined) return buf.done();
  buf.be64(first.ref);
  buf.be64int(first.t);
  const baseRef = first.ref;
  const baseT = first.t;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as RefSample;
    buf.varint(s.ref - baseRef);
    buf.varint(s.t - baseT);
    buf.f64(s.v);
  }
  return buf.done();
}

/**
 * Encodes a tombstones record (Prometheus's Encoder.Tombstones): type 3, then one entry per
 * interval: ref (8 bytes), mint and maxt as zigzag varints.
 */
export function encodeTombstonesRecord(stones: readonly RefTombstone[]): Uint8Array {
  let n = 0;
  for (const s of stones) n += s.intervals.length;
  const buf = new Encbuf(1 + n * 28);
  buf.byte(RECORD_TOMBSTONES);
  for (const s of stones) {
    for (const iv of s.intervals) {
      buf.be64(s.ref);
      buf.varint(iv.minTime);
      buf.varint(iv.maxTime);
    }
  }
  return buf.done();
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * A cursor over one record. Reads past the end throw WalRecordError with Prometheus's
 * `invalid size` (encoding.ErrInvalidSize), the only error its Decbuf knows for short data.
 */
class Decoder {
  p = 1; // past the type byte
  readonly dv: DataView;
  readonly end: number;

  constructor(
    readonly b: Uint8Array,
    readonly type: number,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.end = b.length;
  }

  fail(detail: string): never {
    throw new WalRecordError(this.type, this.p, detail);
  }

  be64(): number {
    const p = this.p;
    if (p + 8 > this.end) this.fail('invalid size');
    this.p = p + 8;
    return this.dv.getUint32(p) * TWO_32 + this.dv.getUint32(p + 4);
  }

  be64int(): number {
    const p = this.p;
    if (p + 8 > this.end) this.fail('invalid size');
    this.p = p + 8;
    return this.dv.getInt32(p) * TWO_32 + this.dv.getUint32(p + 4);
  }

  f64(): number {
    const p = this.p;
    if (p + 8 > this.end) this.fail('invalid size');
    this.p = p + 8;
    return this.dv.getFloat64(p);
  }

  uvarint(): number {
    const b = this.b;
    const end = this.end;
    let p = this.p;
    if (p < end) {
      const x = b[p] as number;
      if (x < 0x80) {
        this.p = p + 1;
        return x;
      }
    }
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= end) this.fail('invalid size');
      const x = b[p++] as number;
      v += (x & 0x7f) * mul;
      if (x < 0x80) {
        this.p = p;
        return v;
      }
      mul *= 128;
    }
    return this.fail('invalid size'); // Go's varint.Uvarint reports overflow with n < 1 too
  }

  varint(): number {
    const b = this.b;
    const end = this.end;
    const p = this.p;
    // Fast path: up to 4 bytes (28 bits) decode with int32 arithmetic.
    let u = 0;
    let shift = 0;
    for (let q = p; q < end && shift < 28; shift += 7) {
      const x = b[q++] as number;
      u |= (x & 0x7f) << shift;
      if (x < 0x80) {
        this.p = q;
        return (u >>> 1) ^ -(u & 1);
      }
    }
    const w = this.uvarint();
    if (w < 2 ** 53) return w % 2 === 0 ? w / 2 : -(w + 1) / 2;
    return this.fail('varint outside the range of exact doubles');
  }
}

/**
 * Decodes one WAL record. Series, samples, tombstones and native histogram records (types 7–10)
 * decode fully; every other type (exemplars, m-map markers, metadata, future types, and the empty
 * record)
 * comes back as `{ type: 'unknown', recordType }`, never as an error, so replay can skip it.
 * Throws WalRecordError (`TSDB_WAL_BAD_RECORD`) when a known type's bytes are malformed, with
 * Prometheus's texts (`invalid size`, `unexpected N bytes left in entry`).
 */
export function decodeRecord(rec: Uint8Array): WalRecord {
  const type = recordType(rec);
  switch (type) {
    case RECORD_SERIES:
      return { type: 'series', series: decodeSeries(rec) };
    case RECORD_SAMPLES:
      return { type: 'samples', samples: decodeSamples(rec) };
    case RECORD_TOMBSTONES:
      return { type: 'tombstones', tombstones: decodeTombstones(rec) };
    case RECORD_HISTOGRAM_SAMPLES:
    case RECORD_CUSTOM_BUCKETS_HISTOGRAM_SAMPLES:
      return { type: 'histograms', histograms: decodeHistogramSamples(rec, type, false) as RefHistogramSample[] };
    case RECORD_FLOAT_HISTOGRAM_SAMPLES:
    case RECORD_CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES:
      return {
        type: 'floatHistograms',
        histograms: decodeHistogramSamples(rec, type, true) as RefFloatHistogramSample[],
      };
    default:
      return { type: 'unknown', recordType: type };
  }
}

/**
 * Interns the strings of one record: a series record repeats the same names and many values
 * (`job`, `instance`, `__name__` …) thousands of times, so looking the bytes up by hash returns
 * the one string already made instead of allocating another. Keys are byte ranges of the record.
 */
class RecordStrings {
  private mask: number;
  private starts: Int32Array;
  private lens: Int32Array;
  private strs: string[];
  private count = 0;
  private readonly buf: Buffer;

  constructor(private readonly b: Uint8Array) {
    this.buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const size = 256;
    this.mask = size - 1;
    this.starts = new Int32Array(size).fill(-1);
    this.lens = new Int32Array(size);
    this.strs = new Array<string>(size).fill('');
  }

  get(p: number, n: number): string {
    if (n === 0) return '';
    const b = this.b;
    // FNV-1a over the bytes.
    let h = 0x811c9dc5;
    for (let i = p; i < p + n; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
    let slot = h & this.mask;
    for (;;) {
      const s = this.starts[slot] as number;
      if (s < 0) break;
      if (this.lens[slot] === n && bytesEqual(b, s, p, n)) return this.strs[slot] as string;
      slot = (slot + 1) & this.mask;
    }
    const str = this.buf.toString('utf8', p, p + n);
    this.starts[slot] = p;
    this.lens[slot] = n;
    this.strs[slot] = str;
    if (++this.count * 2 > this.mask) this.grow();
    return str;
  }

  private grow(): void {
    const { starts, lens, strs, b } = this;
    const size = (this.mask + 1) * 2;
    this.mask = size - 1;
    this.starts = new Int32Array(size).fill(-1);
    this.lens = new Int32Array(size);
    this.strs = new Array<string>(size).fill('');
    for (let i = 0; i < starts.length; i++) {
      const p = starts[i] as number;
      if (p < 0) continue;
      const n = lens[i] as number;
      let h = 0x811c9dc5;
      for (let j = p; j < p + n; j++) h = Math.imul(h ^ (b[j] as number), 0x01000193);
      let slot = h & this.mask;
      while ((this.starts[slot] as number) >= 0) slot = (slot + 1) & this.mask;
      this.starts[slot] = p;
      this.lens[slot] = n;
      this.strs[slot] = strs[i] as string;
    }
  }
}

function bytesEqual(b: Uint8Array, x: number, y: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

function decodeSeries(rec: Uint8Array): RefSeries[] {
  const d = new Decoder(rec, RECORD_SERIES);
  const strings = new RecordStrings(rec);
  const out: RefSeries[] = [];
  while (d.p < d.end) {
    const ref = d.be64();
    const n = d.uvarint();
    if (n > d.end - d.p) d.fail('invalid size'); // each label needs at least 2 bytes
    const flat: string[] = [];
    // Prometheus writes labels sorted and without empty values; we trust that as its
    // ScratchBuilder does, but check cheaply and rebuild when a foreign writer did not.
    let ordered = true;
    let prev = '';
    for (let i = 0; i < n; i++) {
      const nl = d.uvarint();
      if (d.p + nl > d.end) d.fail('invalid size');
      const name = strings.get(d.p, nl);
      d.p += nl;
      const vl = d.uvarint();
      if (d.p + vl > d.end) d.fail('invalid size');
      const value = strings.get(d.p, vl);
      d.p += vl;
      flat.push(name, value);
      if (vl === 0 || (i > 0 && compareStrings(prev, name) >= 0)) ordered = false;
      prev = name;
    }
    const labels = ordered
      ? Labels.fromSortedFlat(flat)
      : Labels.from(Array.from({ length: n }, (_, i) => [flat[2 * i], flat[2 * i + 1]] as [string, string]));
    out.push({ ref, labels });
  }
  return out;
}

function decodeSamples(rec: Uint8Array): RefSample[] {
  const out: RefSample[] = [];
  const d = new Decoder(rec, RECORD_SAMPLES);
  if (d.end === 1) return out;
  const baseRef = d.be64();
  const baseT = d.be64int();
  while (d.p < d.end) {
    const ref = baseRef + d.varint();
    const t = baseT + d.varint();
    const v = d.f64();
    out.push({ ref, t, v });
  }
  return out;
}

/**
 * Decodes a samples record into reusable columns (no allocation per sample): the replay path
 * for a head. Pass the columns from the previous call to reuse them; returns the columns, grown
 * if needed, with `length` set. Throws WalRecordError when `rec` is not a well-formed samples
 * record (including a record of another type).
 */
export function decodeSamplesInto(rec: Uint8Array, cols?: SampleColumns): SampleColumns {
  const type = recordType(rec);
  if (type !== RECORD_SAMPLES) throw new WalRecordError(type, 0, 'invalid record type');
  // A sample takes at least 10 bytes (two 1-byte varints and the value).
  const max = rec.length <= 17 ? 0 : Math.floor((rec.length - 17) / 10);
  let out = cols;
  if (out === undefined || out.refs.length < max) {
    const size = Math.max(max, out === undefined ? 0 : out.refs.length * 2, 16);
    out = { refs: new Float64Array(size), ts: new Float64Array(size), values: new Float64Array(size), length: 0 };
  }
  const { refs, ts, values } = out;
  const d = new Decoder(rec, RECORD_SAMPLES);
  let n = 0;
  if (d.end > 1) {
    const baseRef = d.be64();
    const baseT = d.be64int();
    while (d.p < d.end) {
      refs[n] = baseRef + d.varint();
      ts[n] = baseT + d.varint();
      values[n] = d.f64();
      n++;
    }
  }
  out.length = n;
  return out;
}

function decodeTombstones(rec: Uint8Array): RefTombstone[] {
  const d = new Decoder(rec, RECORD_TOMBSTONES);
  const out: RefTombstone[] = [];
  while (d.p < d.end) {
    const ref = d.be64();
    const minTime = d.varint();
    const maxTime = d.varint();
    out.push({ ref, intervals: [{ minTime, maxTime }] });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Native histograms (record.go's histogramSamplesV1, EncodeHistogram / EncodeFloatHistogram)

function putSpans(buf: Encbuf, spans: readonly Span[]): void {
  buf.reserve(10 + spans.length * 15);
  buf.uvarint(spans.length);
  for (const s of spans) {
    buf.varint(s.offset);
    buf.uvarint(s.length);
  }
}

function encodeHistogramBody(buf: Encbuf, h: Histogram | FloatHistogram, float: boolean): void {
  buf.reserve(1 + 10 + 8 + 10 + 10 + 8);
  buf.byte(h.counterResetHint);
  buf.varint(h.schema);
  buf.f64(h.zeroThreshold);
  if (float) {
    buf.f64(h.zeroCount);
    buf.f64(h.count);
  } else {
    buf.uvarint(h.zeroCount);
    buf.uvarint(h.count);
  }
  buf.f64(h.sum);
  putSpans(buf, h.positiveSpans);
  putSpans(buf, h.negativeSpans);
  for (const bs of [h.positiveBuckets, h.negativeBuckets]) {
    buf.reserve(10 + bs.length * 10);
    buf.uvarint(bs.length);
    for (const b of bs) {
      if (float) buf.f64(b);
      else buf.varint(b);
    }
  }
  if (isCustomBucketsSchema(h.schema)) {
    const cv = h.customValues ?? [];
    buf.reserve(10 + cv.length * 8);
    buf.uvarint(cv.length);
    for (const v of cv) buf.f64(v);
  }
}

function encodeHistogramRecord(
  type: number,
  samples: readonly { ref: number; t: number }[],
  body: (buf: Encbuf, i: number) => void,
): Uint8Array {
  const buf = new Encbuf(17 + samples.length * 64);
  buf.byte(type);
  const first = samples[0];
  if (first === undefined) return buf.done();
  buf.be64(first.ref);
  buf.be64int(first.t);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as { ref: number; t: number };
    buf.reserve(20);
    buf.varint(s.ref - first.ref);
    buf.varint(s.t - first.t);
    body(buf, i);
  }
  return buf.done();
}

/**
 * Encodes integer histogram samples as Prometheus's Encoder.HistogramSamples (v1 layout): type 7,
 * the first sample's ref and timestamp as 8-byte bases, then per sample the zigzag deltas of ref
 * and time and the histogram (hint byte, schema varint, zero threshold, zero count and count
 * uvarints, sum, spans, delta buckets as varints). Histograms with custom buckets go into a
 * second record of type 9 (as Prometheus 3 writes them), so one or two records come back.
 */
export function encodeHistogramSamplesRecords(samples: readonly RefHistogramSample[]): Uint8Array[] {
  const exp = samples.filter((s) => !isCustomBucketsSchema(s.h.schema));
  const custom = exp.length === samples.length ? [] : samples.filter((s) => isCustomBucketsSchema(s.h.schema));
  const out: Uint8Array[] = [];
  if (exp.length > 0 || custom.length === 0) {
    out.push(
      encodeHistogramRecord(RECORD_HISTOGRAM_SAMPLES, exp, (b, i) =>
        encodeHistogramBody(b, (exp[i] as RefHistogramSample).h, false),
      ),
    );
  }
  if (custom.length > 0) {
    out.push(
      encodeHistogramRecord(RECORD_CUSTOM_BUCKETS_HISTOGRAM_SAMPLES, custom, (b, i) =>
        encodeHistogramBody(b, (custom[i] as RefHistogramSample).h, false),
      ),
    );
  }
  return out;
}

/** Like encodeHistogramSamplesRecords for float histograms (types 8 and 10; counts as float64). */
export function encodeFloatHistogramSamplesRecords(samples: readonly RefFloatHistogramSample[]): Uint8Array[] {
  const exp = samples.filter((s) => !isCustomBucketsSchema(s.fh.schema));
  const custom = exp.length === samples.length ? [] : samples.filter((s) => isCustomBucketsSchema(s.fh.schema));
  const out: Uint8Array[] = [];
  if (exp.length > 0 || custom.length === 0) {
    out.push(
      encodeHistogramRecord(RECORD_FLOAT_HISTOGRAM_SAMPLES, exp, (b, i) =>
        encodeHistogramBody(b, (exp[i] as RefFloatHistogramSample).fh, true),
      ),
    );
  }
  if (custom.length > 0) {
    out.push(
      encodeHistogramRecord(RECORD_CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES, custom, (b, i) =>
        encodeHistogramBody(b, (custom[i] as RefFloatHistogramSample).fh, true),
      ),
    );
  }
  return out;
}

function readSpans(d: Decoder): Span[] {
  const n = d.uvarint();
  if (n > d.end - d.p) d.fail('invalid size');
  const spans: Span[] = [];
  for (let i = 0; i < n; i++) {
    const offset = d.varint() | 0;
    const length = d.uvarint() >>> 0;
    spans.push({ offset, length });
  }
  return spans;
}

function readBuckets(d: Decoder, float: boolean): number[] {
  const n = d.uvarint();
  if (n > d.end - d.p) d.fail('invalid size');
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = float ? d.f64() : d.varint();
  return out;
}

// Prometheus's decoder skips samples with a schema it does not know (logging a warning) and
// reduces schemas 9..52 to 8; we skip both, as reducing is not implemented.
function decodeHistogramSamples(
  rec: Uint8Array,
  type: number,
  float: boolean,
): (RefHistogramSample | RefFloatHistogramSample)[] {
  const d = new Decoder(rec, type);
  const out: (RefHistogramSample | RefFloatHistogramSample)[] = [];
  if (d.end === 1) return out;
  const baseRef = d.be64();
  const baseT = d.be64int();
  while (d.p < d.end) {
    const ref = baseRef + d.varint();
    const t = baseT + d.varint();
    if (d.p >= d.end) d.fail('invalid size');
    const counterResetHint = d.b[d.p++] as number;
    const schema = d.varint() | 0;
    const zeroThreshold = d.f64();
    const zeroCount = float ? d.f64() : d.uvarint();
    const count = float ? d.f64() : d.uvarint();
    const sum = d.f64();
    const positiveSpans = readSpans(d);
    const negativeSpans = readSpans(d);
    const positiveBuckets = readBuckets(d, float);
    const negativeBuckets = readBuckets(d, float);
    const h: Histogram = {
      counterResetHint: (counterResetHint & 3) as Histogram['counterResetHint'],
      schema,
      zeroThreshold,
      zeroCount,
      count,
      sum,
      positiveSpans,
      negativeSpans,
      positiveBuckets,
      negativeBuckets,
    };
    if (isCustomBucketsSchema(schema)) {
      const n = d.uvarint();
      if (n > d.end - d.p) d.fail('invalid size');
      const cv: number[] = [];
      for (let i = 0; i < n; i++) cv.push(d.f64());
      h.customValues = cv;
    }
    if (!isKnownSchema(schema) || schema > 8) continue;
    out.push(float ? { ref, t, fh: h } : { ref, t, h });
  }
  return out;
}
