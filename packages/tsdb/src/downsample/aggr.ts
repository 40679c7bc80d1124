import { CorruptionError } from '../errors.js';

/**
 * Encoding byte of Thanos's aggregate chunk (pkg/compact/downsample ChunkEncAggr): the highest
 * byte, so it never collides with a Prometheus chunk encoding.
 */
export const CHUNK_ENC_AGGR = 0xff;

/** The aggregates of a downsampled chunk, in the order they are framed (Thanos's AggrType). */
export const AggrType = { Count: 0, Sum: 1, Min: 2, Max: 3, Counter: 4 } as const;
/** One of the AggrType values. */
export type AggrType = (typeof AggrType)[keyof typeof AggrType];

/** One aggregate's sub-chunk: its encoding byte (1 = XOR) and bytes. */
export interface AggrPart {
  encoding: number;
  data: Uint8Array;
}

/**
 * Thanos's EncodeAggrChunk (pkg/compact/downsample/aggr.go): for each of count, sum, min, max and
 * counter, a uvarint length of the sub-chunk's bytes, then its encoding byte and bytes; an absent
 * aggregate is a single zero length. The result is stored with encoding CHUNK_ENC_AGGR.
 */
export function encodeAggrChunk(parts: readonly (AggrPart | undefined)[]): Uint8Array {
  let size = 0;
  for (let i = 0; i < 5; i++) {
    const p = parts[i];
    size += p ? uvarintSize(p.data.length) + 1 + p.data.length : 1;
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (let i = 0; i < 5; i++) {
    const p = parts[i];
    if (!p) {
      out[o++] = 0;
      continue;
    }
    for (let l = p.data.length; ; ) {
      if (l < 0x80) {
        out[o++] = l;
        break;
      }
      out[o++] = (l & 0x7f) | 0x80;
      l = Math.floor(l / 128);
    }
    out[o++] = p.encoding;
    out.set(p.data, o);
    o += p.data.length;
  }
  return out;
}

function uvarintSize(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

/**
 * The sub-chunk of aggregate `type` in an aggregate chunk, or undefined when it is absent (Thanos's
 * AggrChunk.Get and ErrAggrNotExist). Throws CorruptionError naming `file` when the framing is
 * broken ("invalid size" in Thanos).
 */
export function aggrChunkPart(data: Uint8Array, type: AggrType, file = 'chunk'): AggrPart | undefined {
  let p = 0;
  for (let i = 0; i <= type; i++) {
    let len = 0;
    let mul = 1;
    for (;;) {
      const b = data[p++];
      if (b === undefined) throw new CorruptionError(file, p, 'aggregate chunk: invalid size');
      len += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) break;
    }
    if (len === 0) {
      if (i === type) return undefined;
      continue;
    }
    if (p + len + 1 > data.length) throw new CorruptionError(file, p, 'aggregate chunk: invalid size');
    if (i === type) return { encoding: data[p] as number, data: data.subarray(p + 1, p + 1 + len) };
    p += len + 1;
  }
  return undefined;
}

/** Samples in an aggregate chunk: those of its count sub-chunk (Thanos's AggrChunk.NumSamples); 0 without one. */
export function aggrNumSamples(data: Uint8Array): number {
  let c: AggrPart | undefined;
  try {
    c = aggrChunkPart(data, AggrType.Count);
  } catch {
    return 0;
  }
  return c && c.data.length >= 2 ? ((c.data[0] as number) << 8) | (c.data[1] as number) : 0;
}
