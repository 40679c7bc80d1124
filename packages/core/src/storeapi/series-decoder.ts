import { compareStrings, Labels } from '@thanos-ts/tsdb';
import type { AggrChunk, Chunk, ChunkEncoding, SeriesResponse, StoreSeries } from './store-api.js';

// A hand-written decoder for thanos.SeriesResponse, the one message a querier receives by the
// hundred thousand: it reads the wire format straight into StoreSeries (labels as a flat array,
// chunk bytes as views of the received buffer) without protobufjs's intermediate objects and
// long.js instances. Field numbers: pkg/store/storepb/rpc.proto and types.proto.

const ENCODINGS: ChunkEncoding[] = ['XOR', 'HISTOGRAM', 'FLOAT_HISTOGRAM'];
const TWO_32 = 4294967296;

class WireReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  /** A varint of up to 32 bits (tags, lengths, enums). */
  uint32(): number {
    const b = this.buf;
    let x = 0;
    let shift = 0;
    for (;;) {
      const c = b[this.pos++] as number;
      if (c === undefined) throw new Error('truncated varint');
      if (shift < 28) x |= (c & 0x7f) << shift;
      else x += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) return x >>> 0 === x ? x : x >>> 0;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }

  /** A varint int64 as a JS number (exact up to 2^53; Go's math.MinInt64/MaxInt64 round to ±2^63). */
  int64(): number {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 4; i++) {
      const c = b[this.pos++] as number;
      lo |= (c & 0x7f) << (i * 7);
      if (c < 0x80) return lo >>> 0;
    }
    let c = b[this.pos++] as number;
    lo |= (c & 0x7f) << 28;
    hi = (c & 0x7f) >> 4;
    if (c >= 0x80) {
      for (i = 0; i < 5; i++) {
        c = b[this.pos++] as number;
        if (c === undefined) throw new Error('truncated varint');
        hi |= (c & 0x7f) << (i * 7 + 3);
        if (c < 0x80) break;
      }
    }
    // hi as signed 32 bits gives the two's complement int64.
    return (hi | 0) * TWO_32 + (lo >>> 0);
  }

  /** Skips a field of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        while ((this.buf[this.pos++] as number) >= 0x80);
        return;
      case 1:
        this.pos += 8;
        return;
      case 2:
        this.pos += this.uint32();
        return;
      case 5:
        this.pos += 4;
        return;
      default:
        throw new Error(`unsupported wire type ${wireType}`);
    }
  }

  string(end: number): string {
    const start = this.pos;
    this.pos = end;
    return this.buf.toString('utf8', start, end);
  }
}

function readChunk(r: WireReader, end: number): Chunk {
  let type: ChunkEncoding = 'XOR';
  let data: Uint8Array = new Uint8Array(0);
  let hash: bigint | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        type = ENCODINGS[r.uint32()] ?? 'XOR';
        break;
      case 2: {
        const len = r.uint32();
        data = r.buf.subarray(r.pos, r.pos + len);
        r.pos += len;
        break;
      }
      case 3: {
        const start = r.pos;
        r.skip(0);
        // Rare: decode the uint64 exactly.
        let v = 0n;
        let shift = 0n;
        for (let p = start; p < r.pos; p++) {
          v |= BigInt((r.buf[p] as number) & 0x7f) << shift;
          shift += 7n;
        }
        if (v !== 0n) hash = v;
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  return hash === undefined ? { type, data } : { type, data, hash };
}

function readAggrChunk(r: WireReader, end: number): AggrChunk {
  const c: { -readonly [K in keyof AggrChunk]: AggrChunk[K] } = { minTime: 0, maxTime: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) c.minTime = r.int64();
    else if (field === 2) c.maxTime = r.int64();
    else if (field >= 3 && field <= 8 && (tag & 7) === 2) {
      const len = r.uint32();
      const chunk = readChunk(r, r.pos + len);
      if (field === 3) c.raw = chunk;
      else if (field === 4) c.count = chunk;
      else if (field === 5) c.sum = chunk;
      else if (field === 6) c.min = chunk;
      else if (field === 7) c.max = chunk;
      else c.counter = chunk;
    } else r.skip(tag & 7);
  }
  return c;
}

function readSeries(r: WireReader, end: number): StoreSeries {
  const flat: string[] = [];
  const chunks: AggrChunk[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      const labelEnd = r.uint32() + r.pos;
      let name = '';
      let value = '';
      while (r.pos < labelEnd) {
        const t = r.uint32();
        if (t === 0x0a) name = r.string(r.uint32() + r.pos);
        else if (t === 0x12) value = r.string(r.uint32() + r.pos);
        else r.skip(t & 7);
      }
      flat.push(name, value);
    } else if (field === 2 && (tag & 7) === 2) {
      const len = r.uint32();
      chunks.push(readAggrChunk(r, r.pos + len));
    } else r.skip(tag & 7);
  }
  return { labels: labelsFromFlat(flat), chunks };
}

function labelsFromFlat(flat: string[]): Labels {
  // Thanos sends labels sorted and without empty values; anything else goes through Labels.from.
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i + 1] === '' || (i > 0 && compareStrings(flat[i - 2] as string, flat[i] as string) >= 0)) {
      const pairs: [string, string][] = [];
      for (let j = 0; j < flat.length; j += 2) pairs.push([flat[j] as string, flat[j + 1] as string]);
      return Labels.from(pairs);
    }
  }
  return flat.length === 0 ? Labels.EMPTY : Labels.fromSortedFlat(flat);
}

/** Decodes one thanos.SeriesResponse message (a batch yields each of its series). */
export function decodeSeriesResponse(buf: Buffer): SeriesResponse[] {
  const r = new WireReader(buf);
  const out: SeriesResponse[] = [];
  while (r.pos < buf.length) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const len = r.uint32();
    const end = r.pos + len;
    if (field === 1) out.push({ type: 'series', series: readSeries(r, end) });
    else if (field === 2) out.push({ type: 'warning', warning: r.string(end) });
    else if (field === 3) {
      let typeUrl = '';
      let value: Uint8Array = new Uint8Array(0);
      while (r.pos < end) {
        const t = r.uint32();
        if (t === 0x0a) typeUrl = r.string(r.uint32() + r.pos);
        else if (t === 0x12) {
          const l = r.uint32();
          value = r.buf.subarray(r.pos, r.pos + l);
          r.pos += l;
        } else r.skip(t & 7);
      }
      out.push({ type: 'hints', hints: { typeUrl, value } });
    } else if (field === 4) {
      while (r.pos < end) {
        const t = r.uint32();
        if (t === 0x0a) {
          const l = r.uint32();
          out.push({ type: 'series', series: readSeries(r, r.pos + l) });
        } else r.skip(t & 7);
      }
    } else r.pos = end;
    if (r.pos !== end) throw new Error(`malformed SeriesResponse: field ${field} overran its length`);
  }
  if (r.pos > buf.length) throw new Error('truncated SeriesResponse');
  return out;
}
