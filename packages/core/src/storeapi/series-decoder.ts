import { compareStrings, Labels } from '@thanos-ts/tsdb';
import { ProtoReader } from '../protowire/reader.js';
import type { AggrChunk, Chunk, ChunkEncoding, SeriesResponse, StoreSeries } from './store-api.js';

// A hand-written decoder for thanos.SeriesResponse, the one message a querier receives by the
// hundred thousand: it reads the wire format straight into StoreSeries (labels as a flat array,
// chunk bytes as views of the received buffer) without protobufjs's intermediate objects and
// long.js instances. Field numbers: pkg/store/storepb/rpc.proto and types.proto.

const ENCODINGS: ChunkEncoding[] = ['XOR', 'HISTOGRAM', 'FLOAT_HISTOGRAM'];
function readChunk(r: ProtoReader, end: number): Chunk {
  let type: ChunkEncoding = 'XOR';
  let data: Uint8Array = new Uint8Array(0);
  let hash: bigint | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        type = ENCODINGS[r.uint32()] ?? 'XOR';
        break;
      case 2:
        data = r.bytes();
        break;
      case 3: {
        const v = r.uint64();
        if (v !== 0n) hash = v;
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  return hash === undefined ? { type, data } : { type, data, hash };
}

function readAggrChunk(r: ProtoReader, end: number): AggrChunk {
  const c: { -readonly [K in keyof AggrChunk]: AggrChunk[K] } = { minTime: 0, maxTime: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) c.minTime = r.int64();
    else if (field === 2) c.maxTime = r.int64();
    else if (field >= 3 && field <= 8 && (tag & 7) === 2) {
      const chunk = readChunk(r, r.messageEnd());
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

function readSeries(r: ProtoReader, end: number): StoreSeries {
  const flat: string[] = [];
  const chunks: AggrChunk[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      const labelEnd = r.messageEnd();
      let name = '';
      let value = '';
      while (r.pos < labelEnd) {
        const t = r.uint32();
        if (t === 0x0a) name = r.string();
        else if (t === 0x12) value = r.string();
        else r.skip(t & 7);
      }
      flat.push(name, value);
    } else if (field === 2 && (tag & 7) === 2) {
      chunks.push(readAggrChunk(r, r.messageEnd()));
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
  const r = new ProtoReader(buf, 'SeriesResponse');
  const out: SeriesResponse[] = [];
  while (r.pos < buf.length) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const end = r.messageEnd();
    if (field === 1) out.push({ type: 'series', series: readSeries(r, end) });
    else if (field === 2) out.push({ type: 'warning', warning: r.stringUntil(end) });
    else if (field === 3) {
      let typeUrl = '';
      let value: Uint8Array = new Uint8Array(0);
      while (r.pos < end) {
        const t = r.uint32();
        if (t === 0x0a) typeUrl = r.string();
        else if (t === 0x12) value = r.bytes();
        else r.skip(t & 7);
      }
      out.push({ type: 'hints', hints: { typeUrl, value } });
    } else if (field === 4) {
      while (r.pos < end) {
        const t = r.uint32();
        if (t === 0x0a) out.push({ type: 'series', series: readSeries(r, r.messageEnd()) });
        else r.skip(t & 7);
      }
    } else r.pos = end;
    if (r.pos !== end) r.fail(`field ${field} overran its length`);
  }
  return out;
}
