import type { FloatHistogram, Histogram, Span } from '@thanos-ts/tsdb/histogram';
import { ProtoReader } from '../protowire/reader.js';
import { DecodeRequestError } from './errors.js';

/** One label of a series as it came over the wire (order and duplicates not yet checked). */
export interface WireLabel {
  readonly name: string;
  readonly value: string;
}

/**
 * One series of a write request (prompb.TimeSeries): labels as sent, float samples as two
 * parallel columns. Exemplars are dropped while decoding; native histograms are counted in
 * `histograms` (the head stores floats only).
 */
export interface WriteSeries {
  labels: WireLabel[];
  /** Sample timestamps, ms. */
  timestamps: number[];
  values: number[];
  /**
   * Indexes (ascending) of samples that are Prometheus staleness markers. Their NaN payload
   * (0x7ff0000000000002) does not survive a plain number array (V8 may store any NaN as its
   * canonical one), so decoders note them here and writers and encoders restore them.
   */
  staleAt?: number[];
  /** Native histogram samples the series carried. */
  histograms: number;
  /**
   * The native histogram samples themselves, in request order (prompb.Histogram: integer counts
   * as deltas in `h`, or float counts in `fh`). Absent when the series has none.
   */
  nativeHistograms?: WireHistogram[];
}

/** One native histogram sample of a write request. */
export interface WireHistogram {
  /** Timestamp, ms. */
  t: number;
  /** Integer histogram (count_int set), or undefined. */
  h?: Histogram;
  /** Float histogram (count_float set), or undefined. */
  fh?: FloatHistogram;
}

/** Whether the 8 bytes at `pos` are the staleness marker (little-endian float64 0x7ff0000000000002). */
export function isStaleMarkerAt(view: DataView, pos: number): boolean {
  return view.getUint32(pos, true) === 2 && view.getUint32(pos + 4, true) === 0x7ff00000;
}

/** Notes sample `index` of `s` as a staleness marker. */
export function markStale(s: WriteSeries, index: number): void {
  if (s.staleAt) s.staleAt.push(index);
  else s.staleAt = [index];
}

/** Series of one tenant (storepb.TimeSeriesTenantTuple). */
export interface TenantSeries {
  readonly tenant: string;
  readonly series: WriteSeries[];
}

/** Thanos's forwarded write (storepb.WriteRequest): tenant, 1-based replica number, series. */
export interface ForwardRequest {
  /** 1-based replica this copy is for; 0 when not replicated yet. */
  readonly replica: number;
  readonly data: TenantSeries[];
}

// Field numbers: prompb/remote.proto WriteRequest {timeseries=1, metadata=3}; prompb/types.proto
// TimeSeries {labels=1, samples=2, exemplars=3, histograms=4}, Label {name=1, value=2},
// Sample {value=1 (double), timestamp=2 (int64)}; Thanos's storepb/rpc.proto WriteRequest
// {timeseries=1, tenant=2, replica=3, timeseriesTenantData=4}, TimeSeriesTenantTuple
// {timeseries=1, tenant=2}. Thanos's prompb copy has the same TimeSeries field numbers.

/**
 * Interns label strings while decoding: the same names and values arrive in every request, and
 * decoding them afresh each time is most of the garbage a receiver makes. A direct-mapped table
 * keyed by a hash of the bytes holds the last ASCII string seen per slot; a hit whose characters
 * equal the bytes reuses the string, anything else decodes (and, when ASCII, takes the slot).
 * Bounded (INTERN_SLOTS entries, strings up to INTERN_MAX_BYTES), so it cannot grow with
 * cardinality, and it keeps no copy of any request buffer.
 */
const INTERN_SLOTS = 1 << 16;
const INTERN_MAX_BYTES = 128;
const internStrings: (string | undefined)[] = new Array(INTERN_SLOTS);

/**
 * Bytes [start, end) of `buf` (`text` is the same bytes as a Buffer) as a string, interned as
 * described above. @internal
 */
export function internedString(buf: Uint8Array, text: Buffer, start: number, end: number): string {
  const len = end - start;
  if (len === 0) return '';
  if (len > INTERN_MAX_BYTES) return text.toString('utf8', start, end);
  let h = 0x811c9dc5;
  let ascii = true;
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b >= 0x80) ascii = false;
    h = Math.imul(h ^ b, 0x01000193);
  }
  if (!ascii) return text.toString('utf8', start, end);
  const slot = (h ^ (h >>> 16)) & (INTERN_SLOTS - 1);
  const cached = internStrings[slot];
  if (cached !== undefined && cached.length === len) {
    let same = true;
    for (let i = 0; i < len; i++)
      if (cached.charCodeAt(i) !== buf[start + i]) {
        same = false;
        break;
      }
    if (same) return cached;
  }
  const str = text.toString('latin1', start, end);
  internStrings[slot] = str;
  return str;
}

function readString(r: ProtoReader, text: Buffer): string {
  const end = r.messageEnd();
  const start = r.pos;
  r.pos = end;
  return internedString(r.buf, text, start, end);
}

function readSeries(r: ProtoReader, end: number, view: DataView, text: Buffer): WriteSeries {
  const s: WriteSeries = { labels: [], timestamps: [], values: [], histograms: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      const lend = r.messageEnd();
      let name = '';
      let value = '';
      while (r.pos < lend) {
        const t = r.uint32();
        if (t === 0x0a) name = readString(r, text);
        else if (t === 0x12) value = readString(r, text);
        else r.skip(t & 7);
      }
      if (r.pos !== lend) r.fail('label past its message');
      s.labels.push({ name, value });
    } else if (field === 2 && wire === 2) {
      const send = r.messageEnd();
      let v = 0;
      let t = 0;
      let stale = false;
      while (r.pos < send) {
        const tg = r.uint32();
        if (tg === 0x09) {
          if (r.pos + 8 > send) r.fail('truncated double');
          v = view.getFloat64(r.pos, true);
          stale = Number.isNaN(v) && isStaleMarkerAt(view, r.pos);
          r.pos += 8;
        } else if (tg === 0x10) t = r.int64();
        else r.skip(tg & 7);
      }
      if (r.pos !== send) r.fail('sample past its message');
      if (stale) markStale(s, s.timestamps.length);
      s.timestamps.push(t);
      s.values.push(v);
    } else if (field === 4 && wire === 2) {
      addHistogram(s, readHistogram(r, view));
      s.histograms++;
    } else r.skip(wire);
  }
  if (r.pos !== end) r.fail('series past its message');
  return s;
}

function addHistogram(s: WriteSeries, h: WireHistogram): void {
  if (s.nativeHistograms) s.nativeHistograms.push(h);
  else s.nativeHistograms = [h];
}

function readSpan(r: ProtoReader): Span {
  const end = r.messageEnd();
  const span: Span = { offset: 0, length: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 0x08) span.offset = zigzag32(r.uint32());
    else if (tag === 0x10) span.length = r.uint32();
    else r.skip(tag & 7);
  }
  return span;
}

const zigzag32 = (n: number) => (n >>> 1) ^ -(n & 1);

function readSint64(r: ProtoReader): number {
  const v = r.uint64();
  return Number((v >> 1n) ^ -(v & 1n));
}

function readDoubles(r: ProtoReader, view: DataView, wire: number, out: number[]): void {
  const one = () => {
    if (r.pos + 8 > r.end) r.fail('truncated double');
    out.push(view.getFloat64(r.pos, true));
    r.pos += 8;
  };
  if (wire === 1) {
    one();
    return;
  }
  const end = r.messageEnd();
  while (r.pos < end) one();
}

/**
 * Reads a prompb.Histogram (the same field numbers in remote write 1.0 and 2.0): count_int=1,
 * count_float=2, sum=3, schema=4 (sint32), zero_threshold=5, zero_count_int=6,
 * zero_count_float=7, negative_spans=8, negative_deltas=9 (sint64), negative_counts=10,
 * positive_spans=11, positive_deltas=12, positive_counts=13, reset_hint=14, timestamp=15,
 * custom_values=16; BucketSpan {offset=1 (sint32), length=2}.
 */
function readHistogram(r: ProtoReader, view: DataView): WireHistogram {
  const end = r.messageEnd();
  let float = false;
  let count = 0;
  let zeroCount = 0;
  let sum = 0;
  let schema = 0;
  let zeroThreshold = 0;
  let hint = 0;
  let t = 0;
  const negSpans: Span[] = [];
  const posSpans: Span[] = [];
  const negDeltas: number[] = [];
  const posDeltas: number[] = [];
  const negCounts: number[] = [];
  const posCounts: number[] = [];
  const custom: number[] = [];
  const double = () => {
    if (r.pos + 8 > end) r.fail('truncated double');
    const v = view.getFloat64(r.pos, true);
    r.pos += 8;
    return v;
  };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1:
        count = Number(r.uint64());
        break;
      case 2:
        float = true;
        count = double();
        break;
      case 3:
        sum = double();
        break;
      case 4:
        schema = zigzag32(r.uint32());
        break;
      case 5:
        zeroThreshold = double();
        break;
      case 6:
        zeroCount = Number(r.uint64());
        break;
      case 7:
        zeroCount = double();
        break;
      case 8:
        negSpans.push(readSpan(r));
        break;
      case 11:
        posSpans.push(readSpan(r));
        break;
      case 9:
      case 12: {
        const out = field === 9 ? negDeltas : posDeltas;
        if (wire === 0) out.push(readSint64(r));
        else {
          const e = r.messageEnd();
          while (r.pos < e) out.push(readSint64(r));
        }
        break;
      }
      case 10:
        readDoubles(r, view, wire, negCounts);
        break;
      case 13:
        readDoubles(r, view, wire, posCounts);
        break;
      case 16:
        readDoubles(r, view, wire, custom);
        break;
      case 14:
        hint = r.uint32();
        break;
      case 15:
        t = r.int64();
        break;
      default:
        r.skip(wire);
    }
  }
  if (r.pos !== end) r.fail('histogram past its message');
  const common = {
    counterResetHint: (hint <= 3 ? hint : 0) as Histogram['counterResetHint'],
    schema,
    zeroThreshold,
    zeroCount,
    count,
    sum,
    positiveSpans: posSpans,
    negativeSpans: negSpans,
    ...(custom.length > 0 ? { customValues: custom } : {}),
  };
  return float
    ? { t, fh: { ...common, positiveBuckets: posCounts, negativeBuckets: negCounts } }
    : { t, h: { ...common, positiveBuckets: posDeltas, negativeBuckets: negDeltas } };
}

function decodeErr(what: string, err: unknown): never {
  throw new DecodeRequestError(`decode ${what}: ${(err as Error).message}`, { cause: err });
}

/**
 * Decodes a remote-write 1.0 WriteRequest (after snappy). Metadata is skipped. Throws
 * DecodeRequestError naming the byte offset for anything that is not valid protobuf.
 */
export function decodeWriteRequest(buf: Uint8Array): WriteSeries[] {
  const out: WriteSeries[] = [];
  const r = new ProtoReader(buf, 'WriteRequest');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  try {
    while (r.pos < r.end) {
      const tag = r.uint32();
      if (tag === 0x0a) {
        const end = r.messageEnd();
        out.push(readSeries(r, end, view, text));
      } else r.skip(tag & 7);
    }
  } catch (err) {
    decodeErr('remote write request', err);
  }
  return out;
}

/** What a remote-write 2.0 request carried, for the X-Prometheus-Remote-Write-*-Written headers. */
export interface WriteRequestV2 {
  series: WriteSeries[];
  /** Float samples in the request. */
  samples: number;
  /** Native histogram samples in the request. */
  histograms: number;
  /** Exemplars in the request. */
  exemplars: number;
}

// Field numbers: io/prometheus/write/v2/types.proto Request {symbols=4, timeseries=5},
// TimeSeries {labels_refs=1 (packed uint32), samples=2, histograms=3, exemplars=4, metadata=5},
// Sample {value=1 (double), timestamp=2 (int64), start_timestamp=3}.

function readRefs(r: ProtoReader, wire: number, refs: number[]): void {
  if (wire === 0) {
    refs.push(r.uint32());
    return;
  }
  const end = r.messageEnd();
  while (r.pos < end) refs.push(r.uint32());
  if (r.pos !== end) r.fail('labels_refs past their field');
}

function readSeriesV2(
  r: ProtoReader,
  end: number,
  view: DataView,
  symbols: readonly string[],
): { s: WriteSeries; exemplars: number } {
  const s: WriteSeries = { labels: [], timestamps: [], values: [], histograms: 0 };
  const refs: number[] = [];
  let exemplars = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && (wire === 2 || wire === 0)) readRefs(r, wire, refs);
    else if (field === 2 && wire === 2) {
      const send = r.messageEnd();
      let v = 0;
      let t = 0;
      let stale = false;
      while (r.pos < send) {
        const tg = r.uint32();
        if (tg === 0x09) {
          if (r.pos + 8 > send) r.fail('truncated double');
          v = view.getFloat64(r.pos, true);
          stale = Number.isNaN(v) && isStaleMarkerAt(view, r.pos);
          r.pos += 8;
        } else if (tg === 0x10) t = r.int64();
        else r.skip(tg & 7);
      }
      if (r.pos !== send) r.fail('sample past its message');
      if (stale) markStale(s, s.timestamps.length);
      s.timestamps.push(t);
      s.values.push(v);
    } else if (field === 3 && wire === 2) {
      addHistogram(s, readHistogram(r, view));
      s.histograms++;
    } else if (field === 4 && wire === 2) {
      r.skip(2);
      exemplars++;
    } else r.skip(wire);
  }
  if (r.pos !== end) r.fail('series past its message');
  // As Thanos's translateV2ToV1: pairs of references, an unpaired last one ignored.
  for (let i = 0; i + 1 < refs.length; i += 2) {
    const name = symbols[refs[i] as number];
    const value = symbols[refs[i + 1] as number];
    if (name === undefined || value === undefined)
      r.fail(`label reference ${name === undefined ? refs[i] : refs[i + 1]} past the ${symbols.length} symbols`);
    s.labels.push({ name, value });
  }
  return { s, exemplars };
}

/**
 * Decodes a remote-write 2.0 io.prometheus.write.v2.Request (after snappy) into the same series
 * as 1.0 (Thanos's translateV2ToV1): labels resolved from the symbols table, float samples kept,
 * native histograms counted, exemplars and metadata dropped. Throws DecodeRequestError naming the
 * byte offset for bad protobuf or a label reference outside the symbols table.
 */
export function decodeWriteRequestV2(buf: Uint8Array): WriteRequestV2 {
  const r = new ProtoReader(buf, 'io.prometheus.write.v2.Request');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const symbols: string[] = [];
  // Series are decoded after the whole message: protobuf allows symbols after the series.
  const seriesAt: [number, number][] = [];
  const out: WriteRequestV2 = { series: [], samples: 0, histograms: 0, exemplars: 0 };
  try {
    while (r.pos < r.end) {
      const tag = r.uint32();
      if (tag === 0x22) symbols.push(readString(r, text));
      else if (tag === 0x2a) {
        const end = r.messageEnd();
        seriesAt.push([r.pos, end]);
        r.pos = end;
      } else r.skip(tag & 7);
    }
    for (const [start, end] of seriesAt) {
      r.pos = start;
      const { s, exemplars } = readSeriesV2(r, end, view, symbols);
      out.samples += s.timestamps.length;
      out.histograms += s.histograms;
      out.exemplars += exemplars;
      out.series.push(s);
    }
  } catch (err) {
    decodeErr('remote write 2.0 request', err);
  }
  return out;
}

/** Decodes Thanos's storepb.WriteRequest (the body of thanos.WriteableStore/RemoteWrite). */
export function decodeForwardRequest(buf: Uint8Array): ForwardRequest {
  const r = new ProtoReader(buf, 'thanos.WriteRequest');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let tenant = '';
  let replica = 0;
  const direct: WriteSeries[] = [];
  const tuples: TenantSeries[] = [];
  try {
    while (r.pos < r.end) {
      const tag = r.uint32();
      if (tag === 0x0a) direct.push(readSeries(r, r.messageEnd(), view, text));
      else if (tag === 0x12) tenant = r.string();
      else if (tag === 0x18) replica = r.int64();
      else if (tag === 0x22) {
        const end = r.messageEnd();
        let t = '';
        const series: WriteSeries[] = [];
        while (r.pos < end) {
          const tg = r.uint32();
          if (tg === 0x0a) series.push(readSeries(r, r.messageEnd(), view, text));
          else if (tg === 0x12) t = r.string();
          else r.skip(tg & 7);
        }
        tuples.push({ tenant: t, series });
      } else r.skip(tag & 7);
    }
  } catch (err) {
    decodeErr('forwarded write request', err);
  }
  // As Thanos's Handler.RemoteWrite: the tenant tuples win; the old single-tenant fields are the fallback.
  return { replica, data: tuples.length > 0 ? tuples : [{ tenant, series: direct }] };
}

/** A growable protobuf writer for the few messages the receiver sends. */
class Out {
  buf: Buffer = Buffer.allocUnsafe(1 << 12);
  view: DataView = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  varint(v: number): void {
    this.ensure(10);
    if (v < 0) {
      // Negative int64: two's complement over 10 bytes.
      let big = BigInt.asUintN(64, BigInt(v));
      while (big >= 0x80n) {
        this.buf[this.pos++] = Number(big & 0x7fn) | 0x80;
        big >>= 7n;
      }
      this.buf[this.pos++] = Number(big);
      return;
    }
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** A uint64 varint from a bigint (zigzagged sint64 fields). */
  varintBig(v: bigint): void {
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** The staleness marker's exact bits (a number would not keep them). */
  staleMarker(): void {
    this.ensure(8);
    this.view.setUint32(this.pos, 2, true);
    this.view.setUint32(this.pos + 4, 0x7ff00000, true);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  string(tag: number, s: string): void {
    this.varint(tag);
    const n = s.length;
    // ASCII (almost every label) is written byte by byte: a native write call per short string
    // costs more than the copy.
    this.ensure(n + 5);
    const lenAt = this.pos;
    let p = lenAt + (n < 0x80 ? 1 : 5);
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      this.buf[p++] = c;
    }
    if (ascii && n < 0x80) {
      this.buf[lenAt] = n;
      this.pos = p;
      return;
    }
    const len = Buffer.byteLength(s);
    this.pos = lenAt;
    this.varint(len);
    this.ensure(len);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += len;
  }

  /** Starts a length-delimited field; `end(start)` patches its length in. */
  begin(tag: number): number {
    this.varint(tag);
    // Reserve 5 bytes for the length (a message under 4 GiB); end() moves the body if fewer are needed.
    this.ensure(5);
    const lenAt = this.pos;
    this.pos += 5;
    return lenAt;
  }

  end(lenAt: number): void {
    const len = this.pos - lenAt - 5;
    if (len < 0x80) {
      this.buf.copyWithin(lenAt + 1, lenAt + 5, this.pos);
      this.buf[lenAt] = len;
      this.pos -= 4;
      return;
    }
    const lenBytes: number[] = [];
    let v = len;
    while (v >= 0x80) {
      lenBytes.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    lenBytes.push(v);
    const shift = 5 - lenBytes.length;
    if (shift > 0) this.buf.copyWithin(lenAt + lenBytes.length, lenAt + 5, this.pos);
    for (let i = 0; i < lenBytes.length; i++) this.buf[lenAt + i] = lenBytes[i] as number;
    this.pos -= shift;
  }

  finish(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.pos));
  }
}

function writeSpans(o: Out, tag: number, spans: readonly Span[]): void {
  for (const sp of spans) {
    const at = o.begin(tag);
    if (sp.offset !== 0) {
      o.varint(0x08);
      o.varint(((sp.offset << 1) ^ (sp.offset >> 31)) >>> 0);
    }
    if (sp.length !== 0) {
      o.varint(0x10);
      o.varint(sp.length);
    }
    o.end(at);
  }
}

function writeDoubleField(o: Out, field: number, v: number): void {
  o.varint((field << 3) | 1);
  o.double(v);
}

function writeSint64s(o: Out, field: number, vs: readonly number[]): void {
  for (const v of vs) {
    o.varint(field << 3);
    const z = (BigInt(v) << 1n) ^ (BigInt(v) < 0n ? -1n : 0n);
    o.varintBig(BigInt.asUintN(64, z));
  }
}

/** Encodes one native histogram sample as prompb.Histogram (field 4 of TimeSeries). */
function writeHistogram(o: Out, wh: WireHistogram): void {
  const at = o.begin(0x22);
  const h = wh.h ?? (wh.fh as FloatHistogram);
  if (wh.h) {
    o.varint(0x08);
    o.varint(wh.h.count);
  } else writeDoubleField(o, 2, h.count);
  writeDoubleField(o, 3, h.sum);
  o.varint(0x20);
  o.varint(((h.schema << 1) ^ (h.schema >> 31)) >>> 0);
  writeDoubleField(o, 5, h.zeroThreshold);
  if (wh.h) {
    o.varint(0x30);
    o.varint(wh.h.zeroCount);
  } else writeDoubleField(o, 7, h.zeroCount);
  writeSpans(o, 0x42, h.negativeSpans);
  writeSpans(o, 0x5a, h.positiveSpans);
  if (wh.h) {
    writeSint64s(o, 9, wh.h.negativeBuckets);
    writeSint64s(o, 12, wh.h.positiveBuckets);
  } else {
    for (const v of h.negativeBuckets) writeDoubleField(o, 10, v);
    for (const v of h.positiveBuckets) writeDoubleField(o, 13, v);
  }
  if (h.counterResetHint !== 0) {
    o.varint(0x70);
    o.varint(h.counterResetHint);
  }
  o.varint(0x78);
  o.varint(wh.t);
  for (const v of h.customValues ?? []) writeDoubleField(o, 16, v);
  o.end(at);
}

function writeSeries(o: Out, tag: number, s: WriteSeries): void {
  const at = o.begin(tag);
  for (const l of s.labels) {
    const la = o.begin(0x0a);
    if (l.name !== '') o.string(0x0a, l.name);
    if (l.value !== '') o.string(0x12, l.value);
    o.end(la);
  }
  const stale = s.staleAt;
  let nextStale = 0;
  for (let i = 0; i < s.timestamps.length; i++) {
    const sa = o.begin(0x12);
    const v = s.values[i] as number;
    if (stale !== undefined && stale[nextStale] === i) {
      nextStale++;
      o.varint(0x09);
      o.staleMarker();
    } else if (!Object.is(v, 0)) {
      o.varint(0x09);
      o.double(v);
    }
    const t = s.timestamps[i] as number;
    if (t !== 0) {
      o.varint(0x10);
      o.varint(t);
    }
    o.end(sa);
  }
  for (const wh of s.nativeHistograms ?? []) writeHistogram(o, wh);
  o.end(at);
}

/** Encodes a remote-write 1.0 WriteRequest (before snappy): for senders, tests and benchmarks. */
export function encodeWriteRequest(series: readonly WriteSeries[]): Uint8Array {
  const o = new Out();
  for (const s of series) writeSeries(o, 0x0a, s);
  return o.finish();
}

/** Encodes Thanos's storepb.WriteRequest for forwarding to a peer (tenant tuples and replica). */
export function encodeForwardRequest(req: ForwardRequest): Uint8Array {
  const o = new Out();
  if (req.replica !== 0) {
    o.varint(0x18);
    o.varint(req.replica);
  }
  for (const d of req.data) {
    const at = o.begin(0x22);
    for (const s of d.series) writeSeries(o, 0x0a, s);
    if (d.tenant !== '') o.string(0x12, d.tenant);
    o.end(at);
  }
  return o.finish();
}
