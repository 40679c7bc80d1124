import { ProtoReader } from '../../protowire/reader.js';

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
 * skipped as protobuf requires. Throws WireDecodeError on malformed input.
 */
export function decodeChunkedReadResponse(frame: Uint8Array): PrompbChunkedReadResponse {
  const r = new ProtoReader(frame, 'ChunkedReadResponse');
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
