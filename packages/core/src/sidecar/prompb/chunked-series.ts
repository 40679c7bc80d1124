import { CorruptionError } from '@thanos-ts/tsdb';

/** prompb.Chunk.Encoding values (note: UNKNOWN is 0, so XOR is 1, unlike Thanos's storepb). */
export const PROMPB_CHUNK_XOR = 1;
/** prompb.Chunk.Encoding HISTOGRAM. */
export const PROMPB_CHUNK_HISTOGRAM = 2;
/** prompb.Chunk.Encoding FLOAT_HISTOGRAM. */
export const PROMPB_CHUNK_FLOAT_HISTOGRAM = 3;

/** One chunk of a streamed remote-read series: bytes exactly as Prometheus's chunkenc wrote them. */
export interface PrompbChunk {
  minTimeMs: number;
  maxTimeMs: number;
  /** prompb.Chunk.Encoding (1 XOR, 2 HISTOGRAM, 3 FLOAT_HISTOGRAM). */
  type: number;
  /** A view into the frame it came in (not copied). */
  data: Uint8Array;
}

/** A series of one ChunkedReadResponse frame: flat sorted labels [n0, v0, n1, v1, …] and chunks. */
export interface PrompbChunkedSeries {
  labels: string[];
  chunks: PrompbChunk[];
}

/** A decoded prompb.ChunkedReadResponse. */
export interface PrompbChunkedReadResponse {
  chunkedSeries: PrompbChunkedSeries[];
  queryIndex: number;
}

/**
 * Decodes one prompb.ChunkedReadResponse frame by hand. This is the sidecar's hot path: a
 * protobufjs reflection decode allocates an object per field and copies every chunk; here chunk
 * bytes stay views into `frame` and label strings are decoded straight from it. Unknown fields are
 * skipped as protobuf requires. Throws CorruptionError on malformed input.
 */
export function decodeChunkedReadResponse(frame: Uint8Array): PrompbChunkedReadResponse {
  const r = new ProtoReader(frame);
  const out: PrompbChunkedReadResponse = { chunkedSeries: [], queryIndex: 0 };
  while (r.pos < r.end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      out.chunkedSeries.push(decodeChunkedSeries(r, r.messageEnd()));
    } else if (field === 2 && wire === 0) {
      out.queryIndex = r.int64();
    } else r.skip(wire);
  }
  return out;
}

function decodeChunkedSeries(r: ProtoReader, end: number): PrompbChunkedSeries {
  const series: PrompbChunkedSeries = { labels: [], chunks: [] };
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      decodeLabel(r, r.messageEnd(), series.labels);
    } else if (field === 2 && wire === 2) {
      series.chunks.push(decodeChunk(r, r.messageEnd()));
    } else r.skip(wire);
  }
  r.end = outerEnd;
  return series;
}

function decodeLabel(r: ProtoReader, end: number, into: string[]): void {
  let name = '';
  let value = '';
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 0x0a) name = r.string();
    else if (tag === 0x12) value = r.string();
    else r.skip(tag & 7);
  }
  r.end = outerEnd;
  into.push(name, value);
}

function decodeChunk(r: ProtoReader, end: number): PrompbChunk {
  const chunk: PrompbChunk = { minTimeMs: 0, maxTimeMs: 0, type: 0, data: EMPTY };
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x08:
        chunk.minTimeMs = r.int64();
        break;
      case 0x10:
        chunk.maxTimeMs = r.int64();
        break;
      case 0x18:
        chunk.type = r.uint32();
        break;
      case 0x22:
        chunk.data = r.bytes();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.end = outerEnd;
  return chunk;
}

const EMPTY = new Uint8Array(0);

/** A minimal protobuf wire reader over one buffer, bounded by `end`. */
class ProtoReader {
  pos = 0;
  end: number;
  private readonly text: Buffer;

  constructor(private readonly buf: Uint8Array) {
    this.end = buf.length;
    this.text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private fail(detail: string): never {
    throw new CorruptionError('ChunkedReadResponse', this.pos, detail);
  }

  uint32(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = buf[this.pos++] as number;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else if (shift === 28) result |= (b & 0x0f) << 28;
      if (b < 0x80) return result >>> 0;
      shift += 7;
      if (shift > 63) this.fail('varint too long');
    }
  }

  /** A two's-complement int64 varint as a double (exact within ±2^53, like every ms timestamp). */
  int64(): number {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = buf[this.pos++] as number;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if (b < 0x80) break;
      shift += 7;
      if (shift > 63) this.fail('varint too long');
    }
    return (hi | 0) * 4294967296 + (lo >>> 0);
  }

  /** Reads the length of an embedded message and returns where it ends (checked against the bound). */
  messageEnd(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.end) this.fail('embedded message past the end');
    return end;
  }

  bytes(): Uint8Array {
    const len = this.uint32();
    const start = this.pos;
    if (start + len > this.end) this.fail('length-delimited field past the end');
    this.pos = start + len;
    return this.buf.subarray(start, start + len);
  }

  string(): string {
    const len = this.uint32();
    const start = this.pos;
    if (start + len > this.end) this.fail('string past the end');
    this.pos = start + len;
    return this.text.toString('utf8', start, start + len);
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.int64();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos += this.uint32();
        break;
      case 5:
        this.pos += 4;
        break;
      default:
        this.fail(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) this.fail('field past the end');
  }
}
