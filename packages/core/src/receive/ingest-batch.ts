// The compact form in which an ingest worker (ingest-worker.ts) hands a decoded remote-write
// request to the main thread: one ArrayBuffer, transferred without a copy, so the main thread
// pays neither for decoding nor for a structured clone of an object graph (which costs about as
// much as decoding). Layout, all little-endian as the platform's typed arrays:
//
//   ┌────────────────────────────────────────────────────────────────────────────┐
//   │ header  int32 × 4: series, samples in the request, samples kept, key bytes │
//   ├────────────────────────────────────────────────────────────────────────────┤
//   │ per series int32 × 4: label-set error (0 = valid, else 1 + index in        │
//   │   LABEL_SET_ERRORS), end of its key in the keys, end of its samples,       │
//   │   32-bit FNV-1a hash of its key                                            │
//   ├──────────── padded to 8 bytes ─────────────────────────────────────────────┤
//   │ timestamps float64 × samples kept (ms)                                     │
//   │ values     float64 × samples kept (staleness markers keep their NaN bits)  │
//   ├────────────────────────────────────────────────────────────────────────────┤
//   │ keys: per valid series (name 0xff value 0xff)* as UTF-8                    │
//   └────────────────────────────────────────────────────────────────────────────┘
//
// A series key is unique per label set (0xff never occurs in UTF-8); with its hash, made on the
// worker, the main thread finds the series' head ref without making a string (SeriesRefCache,
// which checks a hit against the head's labels).
// Series with invalid labels keep no samples or key: the writer only counts them.
import { STALE_NAN } from '@thanos-ts/tsdb';
import { ProtoReader } from '../protowire/reader.js';
import { decodeWriteRequest, internedString, type WireLabel, type WriteSeries } from './wire.js';
import { LABEL_SET_ERRORS, validateLabels } from './writer.js';

const HEADER_INTS = 4;
const PER_SERIES_INTS = 4;
const SEP = 0xff;

/** A decoded remote-write request in the compact form; see the file comment for the layout. @internal */
export class IngestBatch {
  /** Series in the request, valid or not. */
  readonly series: number;
  /** Float samples in the request, of valid and invalid series (what request limits count). */
  readonly samples: number;
  private readonly meta: Int32Array;
  private readonly ts: Float64Array;
  private readonly vs: Float64Array;
  private readonly vBits: Uint32Array;
  private readonly keys: Buffer;

  constructor(readonly buffer: ArrayBuffer) {
    const head = new Int32Array(buffer, 0, HEADER_INTS);
    this.series = head[0] as number;
    this.samples = head[1] as number;
    const kept = head[2] as number;
    const keyBytes = head[3] as number;
    this.meta = new Int32Array(buffer, HEADER_INTS * 4, this.series * PER_SERIES_INTS);
    const f64 = f64Offset(this.series);
    this.ts = new Float64Array(buffer, f64, kept);
    this.vs = new Float64Array(buffer, f64 + kept * 8, kept);
    this.vBits = new Uint32Array(buffer, f64 + kept * 8, kept * 2);
    this.keys = Buffer.from(buffer, f64 + kept * 16, keyBytes);
  }

  /** Why series `i` cannot be stored (a {@link validateLabels} text), or undefined when it can. */
  labelError(i: number): string | undefined {
    const e = this.meta[i * PER_SERIES_INTS] as number;
    return e === 0 ? undefined : LABEL_SET_ERRORS[e - 1];
  }

  /** 32-bit FNV-1a hash of series `i`'s key (valid series only). */
  hash(i: number): number {
    return this.meta[i * PER_SERIES_INTS + 3] as number;
  }

  /** Whether series `i`'s key names exactly `flat` (a sorted flat name/value array, as Labels.toFlat). */
  keyEquals(i: number, flat: readonly string[]): boolean {
    const keys = this.keys;
    const end = this.meta[i * PER_SERIES_INTS + 1] as number;
    let p = this.keyStart(i);
    for (const s of flat) {
      let q = p;
      while (q < end && keys[q] !== SEP) q++;
      if (q === end || !bytesEqualString(keys, p, q, s)) return false;
      p = q + 1;
    }
    return p === end;
  }

  /** Series `i`'s labels as a sorted flat name/value array (valid series only), decoded from its key. */
  flatLabels(i: number): string[] {
    const end = this.meta[i * PER_SERIES_INTS + 1] as number;
    const keys = this.keys;
    let start = this.keyStart(i);
    let n = 0;
    for (let p = start; p < end; p++) if (keys[p] === SEP) n++;
    // Sized exactly: the head keeps this array for the series' lifetime.
    const flat: string[] = new Array(n);
    n = 0;
    for (let p = start; p < end; p++) {
      if (keys[p] !== SEP) continue;
      // Interned as the main thread's own decoding does: series share their label strings.
      flat[n++] = internedString(keys, keys, start, p);
      start = p + 1;
    }
    return flat;
  }

  /** Index of series `i`'s first sample in {@link timestamp} / {@link value}. */
  sampleStart(i: number): number {
    return i === 0 ? 0 : (this.meta[(i - 1) * PER_SERIES_INTS + 2] as number);
  }

  /** One past series `i`'s last sample. */
  sampleEnd(i: number): number {
    return this.meta[i * PER_SERIES_INTS + 2] as number;
  }

  /** Timestamp of sample `j`, ms. */
  timestamp(j: number): number {
    return this.ts[j] as number;
  }

  /** Value of sample `j`, with a staleness marker returned as STALE_NAN. */
  value(j: number): number {
    const v = this.vs[j] as number;
    if (!Number.isNaN(v)) return v;
    // A NaN read from memory may lose its payload: look at the bits.
    return this.vBits[2 * j] === 2 && this.vBits[2 * j + 1] === 0x7ff00000 ? STALE_NAN : v;
  }

  private keyStart(i: number): number {
    return i === 0 ? 0 : (this.meta[(i - 1) * PER_SERIES_INTS + 1] as number);
  }
}

/** Whether bytes [a, b) of `buf` are the UTF-8 of `s`; compares bytes while `s` is ASCII. */
function bytesEqualString(buf: Buffer, a: number, b: number, s: string): boolean {
  // UTF-8 never takes fewer bytes than UTF-16 code units.
  if (b - a < s.length) return false;
  if (b - a === s.length) {
    let k = 0;
    for (; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c !== buf[a + k]) break;
    }
    if (k === s.length) return true;
    if (s.charCodeAt(k) < 0x80 && (buf[a + k] as number) < 0x80) return false;
  }
  return buf.toString('utf8', a, b) === s;
}

/** 32-bit FNV-1a of bytes [start, end), as an int32. */
function fnv1a(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let p = start; p < end; p++) h = Math.imul(h ^ (buf[p] as number), 0x01000193);
  return h;
}

function f64Offset(series: number): number {
  const bytes = (HEADER_INTS + series * PER_SERIES_INTS) * 4;
  return (bytes + 7) & ~7;
}

/**
 * A batch buffer for `n` series, `kept` samples and `keyEnd` key bytes, its header and per-series
 * ints (`meta`) written; returns it with the offset of its float columns.
 */
function newBatchBuffer(
  n: number,
  samples: number,
  kept: number,
  keyEnd: number,
  meta: Int32Array,
): { buffer: ArrayBuffer; f64: number } {
  const f64 = f64Offset(n);
  const buffer = new ArrayBuffer(f64 + kept * 16 + keyEnd);
  const head = new Int32Array(buffer, 0, HEADER_INTS);
  head[0] = n;
  head[1] = samples;
  head[2] = kept;
  head[3] = keyEnd;
  new Int32Array(buffer, HEADER_INTS * 4, n * PER_SERIES_INTS).set(meta.subarray(0, n * PER_SERIES_INTS));
  return { buffer, f64 };
}

/**
 * Validates the labels of decoded series and packs them into one ArrayBuffer (the worker side
 * of {@link IngestBatch}). Series must carry float samples only. @internal
 */
export function encodeIngestBatch(series: readonly WriteSeries[]): ArrayBuffer {
  const n = series.length;
  const meta = new Int32Array(n * PER_SERIES_INTS);
  let samples = 0;
  let kept = 0;
  let keys = Buffer.allocUnsafe(4096);
  let keyEnd = 0;
  const put = (s: string) => {
    // UTF-8 needs at most 3 bytes per UTF-16 unit, plus the separator.
    if (keyEnd + s.length * 3 + 1 > keys.length) {
      const grown = Buffer.allocUnsafe(Math.max(keys.length * 2, keyEnd + s.length * 3 + 1));
      keys.copy(grown, 0, 0, keyEnd);
      keys = grown;
    }
    keyEnd += keys.write(s, keyEnd, 'utf8');
    keys[keyEnd++] = SEP;
  };
  const bad: boolean[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = series[i] as WriteSeries;
    samples += s.timestamps.length;
    const err = validateLabels(s.labels);
    bad[i] = err !== undefined;
    if (err !== undefined) meta[i * PER_SERIES_INTS] = LABEL_SET_ERRORS.indexOf(err) + 1;
    else {
      for (const l of s.labels as WireLabel[]) {
        put(l.name);
        put(l.value);
      }
      kept += s.timestamps.length;
    }
    meta[i * PER_SERIES_INTS + 3] = fnv1a(keys, i === 0 ? 0 : (meta[(i - 1) * PER_SERIES_INTS + 1] as number), keyEnd);
    meta[i * PER_SERIES_INTS + 1] = keyEnd;
    meta[i * PER_SERIES_INTS + 2] = kept;
  }
  const { buffer, f64 } = newBatchBuffer(n, samples, kept, keyEnd, meta);
  const ts = new Float64Array(buffer, f64, kept);
  const vs = new Float64Array(buffer, f64 + kept * 8, kept);
  const view = new DataView(buffer);
  let j = 0;
  for (let i = 0; i < n; i++) {
    if (bad[i]) continue;
    const s = series[i] as WriteSeries;
    const stale = s.staleAt;
    let nextStale = 0;
    for (let k = 0; k < s.timestamps.length; k++, j++) {
      ts[j] = s.timestamps[k] as number;
      if (stale !== undefined && stale[nextStale] === k) {
        nextStale++;
        // Written as bits: a NaN stored through a number may come out as the canonical one.
        const at = f64 + kept * 8 + j * 8;
        view.setUint32(at, 2, true);
        view.setUint32(at + 4, 0x7ff00000, true);
      } else vs[j] = s.values[k] as number;
    }
  }
  Buffer.from(buffer, f64 + kept * 16, keyEnd).set(keys.subarray(0, keyEnd));
  return buffer;
}

// Scratch space of decodeIngestBatch, reused across requests of one thread and grown on demand.
let scratchMeta = new Int32Array(3 * 1024);
let scratchTs = new Float64Array(1024);
let scratchVs = new Uint8Array(8 * 1024);
let scratchKeys = Buffer.allocUnsafe(64 * 1024);
// Byte ranges [start, end) of the current series' label names and values in the request.
let labelRanges = new Int32Array(4 * 64);

function growInt32(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** Compares bytes [a, b) with [c, d) as unsigned bytes: <0, 0, >0. */
function compareBytes(buf: Uint8Array, a: number, b: number, c: number, d: number): number {
  const n = Math.min(b - a, d - c);
  for (let i = 0; i < n; i++) {
    const x = buf[a + i] as number;
    const y = buf[c + i] as number;
    if (x !== y) return x - y;
  }
  return b - a - (d - c);
}

const NAME_BYTES = [0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f]; // "__name__"

function isMetricName(buf: Uint8Array, a: number, b: number): boolean {
  if (b - a !== 8) return false;
  for (let i = 0; i < 8; i++) if (buf[a + i] !== NAME_BYTES[i]) return false;
  return true;
}

/** Prometheus's label-name syntax [a-zA-Z_][a-zA-Z0-9_]* on ASCII bytes. */
function isLabelName(buf: Uint8Array, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = buf[i] as number;
    const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
    if (!letter && (i === a || c < 0x30 || c > 0x39)) return false;
  }
  return true;
}

/**
 * validateLabels on the byte ranges of an all-ASCII label set (where byte order is the string
 * order and no value can hold U+FFFD): the same checks in the same order, the same texts.
 */
function validateAsciiLabels(buf: Uint8Array, r: Int32Array, n: number): string | undefined {
  if (n === 0) return LABEL_SET_ERRORS[1];
  let hasName = false;
  for (let i = 0; i < n; i++) {
    const ns = r[4 * i] as number;
    const ne = r[4 * i + 1] as number;
    if (ns === ne || r[4 * i + 2] === r[4 * i + 3]) return LABEL_SET_ERRORS[1];
    if (i > 0) {
      const c = compareBytes(buf, ns, ne, r[4 * i - 4] as number, r[4 * i - 3] as number);
      if (c === 0) return LABEL_SET_ERRORS[2];
      if (c < 0) return LABEL_SET_ERRORS[0];
    }
    if (isMetricName(buf, ns, ne)) hasName = true;
    else if (!isLabelName(buf, ns, ne)) return LABEL_SET_ERRORS[3];
  }
  return hasName ? undefined : LABEL_SET_ERRORS[4];
}

/**
 * Decodes a remote-write 1.0 WriteRequest (after snappy) straight into the {@link IngestBatch}
 * form: label bytes are copied, not turned into strings (only label sets with non-ASCII bytes
 * are, to validate them as validateLabels does), and sample values keep their bits. Walks the
 * protobuf as decodeWriteRequest does, so it throws for the same inputs (callers re-decode with
 * decodeWriteRequest for its exact error text). Returns undefined when a series carries native
 * histograms, which the main thread decodes. @internal
 */
export function decodeIngestBatch(buf: Uint8Array): ArrayBuffer | undefined {
  const r = new ProtoReader(buf, 'WriteRequest');
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let n = 0;
  let samples = 0;
  let kept = 0;
  let keyEnd = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag !== 0x0a) {
      r.skip(tag & 7);
      continue;
    }
    const end = r.messageEnd();
    // One series (readSeries in wire.ts).
    let labels = 0;
    let ascii = true;
    const firstSample = kept;
    while (r.pos < end) {
      const stag = r.uint32();
      const field = stag >>> 3;
      const wire = stag & 7;
      if (field === 1 && wire === 2) {
        const lend = r.messageEnd();
        let ns = 0;
        let ne = 0;
        let vs = 0;
        let ve = 0;
        while (r.pos < lend) {
          const t = r.uint32();
          if (t === 0x0a || t === 0x12) {
            const send = r.messageEnd();
            for (let i = r.pos; i < send; i++) if ((buf[i] as number) >= 0x80) ascii = false;
            if (t === 0x0a) {
              ns = r.pos;
              ne = send;
            } else {
              vs = r.pos;
              ve = send;
            }
            r.pos = send;
          } else r.skip(t & 7);
        }
        if (r.pos !== lend) r.fail('label past its message');
        labelRanges = growInt32(labelRanges, 4 * (labels + 1));
        labelRanges[4 * labels] = ns;
        labelRanges[4 * labels + 1] = ne;
        labelRanges[4 * labels + 2] = vs;
        labelRanges[4 * labels + 3] = ve;
        labels++;
      } else if (field === 2 && wire === 2) {
        const send = r.messageEnd();
        let vAt = -1;
        let t = 0;
        while (r.pos < send) {
          const tg = r.uint32();
          if (tg === 0x09) {
            if (r.pos + 8 > send) r.fail('truncated double');
            vAt = r.pos;
            r.pos += 8;
          } else if (tg === 0x10) t = r.int64();
          else r.skip(tg & 7);
        }
        if (r.pos !== send) r.fail('sample past its message');
        if (kept >= scratchTs.length) {
          const ts = new Float64Array(scratchTs.length * 2);
          ts.set(scratchTs);
          scratchTs = ts;
          const vs = new Uint8Array(scratchVs.length * 2);
          vs.set(scratchVs);
          scratchVs = vs;
        }
        scratchTs[kept] = t;
        // The double's 8 bytes as sent (a missing value is 0), so staleness markers keep their bits.
        const at = kept * 8;
        for (let k = 0; k < 8; k++) scratchVs[at + k] = vAt >= 0 ? (buf[vAt + k] as number) : 0;
        kept++;
      } else if (field === 4 && wire === 2) {
        // Native histograms: decoded on the main thread (after this walk proves the body valid).
        r.pos = r.messageEnd();
        return decodeWriteRequestOrThrow(buf);
      } else r.skip(wire);
    }
    if (r.pos !== end) r.fail('series past its message');
    samples += kept - firstSample;
    let err: string | undefined;
    if (ascii) err = validateAsciiLabels(buf, labelRanges, labels);
    else {
      const wl: WireLabel[] = [];
      for (let i = 0; i < labels; i++)
        wl.push({
          name: text.toString('utf8', labelRanges[4 * i] as number, labelRanges[4 * i + 1] as number),
          value: text.toString('utf8', labelRanges[4 * i + 2] as number, labelRanges[4 * i + 3] as number),
        });
      err = validateLabels(wl);
    }
    scratchMeta = growInt32(scratchMeta, PER_SERIES_INTS * (n + 1));
    if (err !== undefined) {
      scratchMeta[n * PER_SERIES_INTS] = LABEL_SET_ERRORS.indexOf(err) + 1;
      kept = firstSample;
    } else {
      scratchMeta[n * PER_SERIES_INTS] = 0;
      let h = 0x811c9dc5 | 0;
      for (let i = 0; i < labels; i++) {
        for (let k = 0; k < 2; k++) {
          const a = labelRanges[4 * i + 2 * k] as number;
          const b = labelRanges[4 * i + 2 * k + 1] as number;
          if (keyEnd + (b - a) + 1 > scratchKeys.length) {
            const grown = Buffer.allocUnsafe(Math.max(scratchKeys.length * 2, keyEnd + (b - a) + 1));
            scratchKeys.copy(grown, 0, 0, keyEnd);
            scratchKeys = grown;
          }
          // Byte by byte: label names and values are short, and Buffer.copy costs a native call.
          for (let p = a; p < b; p++) {
            const c = buf[p] as number;
            scratchKeys[keyEnd++] = c;
            h = Math.imul(h ^ c, 0x01000193);
          }
          scratchKeys[keyEnd++] = SEP;
          h = Math.imul(h ^ SEP, 0x01000193);
        }
      }
      scratchMeta[n * PER_SERIES_INTS + 3] = h;
    }
    scratchMeta[n * PER_SERIES_INTS + 1] = keyEnd;
    scratchMeta[n * PER_SERIES_INTS + 2] = kept;
    n++;
  }
  const { buffer, f64 } = newBatchBuffer(n, samples, kept, keyEnd, scratchMeta);
  new Float64Array(buffer, f64, kept).set(scratchTs.subarray(0, kept));
  new Uint8Array(buffer, f64 + kept * 8, kept * 8).set(scratchVs.subarray(0, kept * 8));
  new Uint8Array(buffer, f64 + kept * 16, keyEnd).set(scratchKeys.subarray(0, keyEnd));
  return buffer;
}

/** Undefined when decodeWriteRequest accepts `buf`; its DecodeRequestError otherwise. */
function decodeWriteRequestOrThrow(buf: Uint8Array): undefined {
  decodeWriteRequest(buf);
  return undefined;
}
