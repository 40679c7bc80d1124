import { CorruptionError } from '@thanos-ts/tsdb';
import type { Aggr, AggrChunk, Chunk, ChunkEncoding } from '../storeapi/store-api.js';

/** Encoding byte of Thanos's downsampled aggregate chunk (pkg/compact/downsample ChunkEncAggr). */
export const CHUNK_ENC_AGGR = 0xff;

const AGGR_ORDER: readonly Aggr[] = ['COUNT', 'SUM', 'MIN', 'MAX', 'COUNTER'];

/** StoreAPI encoding name of a tsdb chunk encoding byte; undefined for unknown ones. */
export function storeEncoding(enc: number): ChunkEncoding | undefined {
  return enc === 1 ? 'XOR' : enc === 2 ? 'HISTOGRAM' : enc === 3 ? 'FLOAT_HISTOGRAM' : undefined;
}

/** Samples in a chunk, from the 2-byte big-endian count every Prometheus chunk starts with. */
export function chunkSamples(data: Uint8Array): number {
  return data.length < 2 ? 0 : ((data[0] as number) << 8) | (data[1] as number);
}

/**
 * Splits an aggregate chunk's framing (per aggregate: uvarint length, then encoding byte and
 * bytes; length 0 = absent) into its sub-chunks, kept as raw bytes for the client to decode.
 */
export function splitAggrChunk(data: Uint8Array, file: string): Partial<Record<Aggr, Chunk>> {
  const out: Partial<Record<Aggr, Chunk>> = {};
  let p = 0;
  for (const aggr of AGGR_ORDER) {
    if (p >= data.length) break;
    let len = 0;
    let mul = 1;
    for (;;) {
      const b = data[p++];
      if (b === undefined) throw new CorruptionError(file, p, 'aggregate chunk length truncated');
      len += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) break;
    }
    if (len === 0) continue;
    const enc = storeEncoding(data[p] as number);
    if (!enc || p + 1 + len > data.length)
      throw new CorruptionError(file, p, `bad ${aggr} sub-chunk in aggregate chunk`);
    out[aggr] = { type: enc, data: data.subarray(p + 1, p + 1 + len) };
    p += 1 + len;
  }
  return out;
}

/** Builds the StoreAPI chunk for one stored chunk, keeping only the requested aggregates of downsampled data. */
export function toAggrChunk(
  minTime: number,
  maxTime: number,
  encoding: number,
  data: Uint8Array,
  aggregates: readonly Aggr[],
  file: string,
): { chunk: AggrChunk; samples: number } {
  const raw = storeEncoding(encoding);
  if (raw) return { chunk: { minTime, maxTime, raw: { type: raw, data } }, samples: chunkSamples(data) };
  if (encoding !== CHUNK_ENC_AGGR) throw new CorruptionError(file, 0, `unsupported chunk encoding ${encoding}`);
  const parts = splitAggrChunk(data, file);
  const chunk: { -readonly [K in keyof AggrChunk]: AggrChunk[K] } = { minTime, maxTime };
  for (const a of aggregates) {
    const c = parts[a];
    if (a === 'RAW') continue;
    if (!c) throw new CorruptionError(file, 0, `aggregate ${a} does not exist in downsampled chunk`);
    const key = a.toLowerCase() as 'count' | 'sum' | 'min' | 'max' | 'counter';
    chunk[key] = c;
  }
  return { chunk, samples: parts.COUNT ? chunkSamples(parts.COUNT.data) : 0 };
}
