import { crc32c } from '../encoding/crc32c.js';
import { CorruptionError } from '../errors.js';
import { uvarintAsInt64 } from './decbuf.js';

/**
 * Series entries of an index decoded into columns, without an object per series or per chunk:
 * what compaction walks for thousands of series at a time (IndexReader.seriesColumns fills it).
 * Labels stay symbol references (name, value, name, value, …) into the index's symbol table;
 * chunk metas are three parallel columns. Reusable: `reset()` keeps the arrays.
 */
export class SeriesColumns {
  /** Number of series decoded. */
  count = 0;
  /** Per series, its reference (offset / 16). */
  seriesRef: Float64Array = new Float64Array(256);
  /** Labels of series i are `symbolRefs[labelStart[i], labelStart[i + 1])`; count + 1 entries. */
  labelStart: Int32Array = new Int32Array(257);
  /** Symbol references, two per label (name, value), in the index's order (sorted by name). */
  symbolRefs: Uint32Array = new Uint32Array(2048);
  /** Chunks of series i are `[chunkStart[i], chunkStart[i + 1])` of the chunk columns; count + 1 entries. */
  chunkStart: Int32Array = new Int32Array(257);
  /** Per chunk: first timestamp, ms. */
  minTime: Float64Array = new Float64Array(1024);
  /** Per chunk: last timestamp (inclusive), ms. */
  maxTime: Float64Array = new Float64Array(1024);
  /** Per chunk: reference into the segment files (segment << 32 | offset). */
  chunkRef: Float64Array = new Float64Array(1024);

  private vals = new Float64Array(256);

  /** Forgets the decoded series, keeping the arrays. */
  reset(): void {
    this.count = 0;
    this.labelStart[0] = 0;
    this.chunkStart[0] = 0;
  }

  /** Number of chunks decoded so far (all series). */
  get chunkCount(): number {
    return this.chunkStart[this.count] as number;
  }

  /**
   * Decodes the entry of series `ref` whose length field is at `bytes[p]` (`base` is the file
   * offset of `bytes[0]`, for errors) and appends it. Checks the entry's CRC32C and that every
   * symbol reference is below `numSymbols`; throws a CorruptionError naming `file` otherwise.
   */
  append(ref: number, bytes: Uint8Array, base: number, p: number, file: string, numSymbols: number): void {
    let len = 0;
    let body = p;
    for (let mul = 1, x = 0x80; x >= 0x80; mul *= 128) {
      if (body >= bytes.length || body - p === 10) {
        throw new CorruptionError(file, base + p, `series ${ref}: bad entry length`);
      }
      x = bytes[body++] as number;
      len += (x & 0x7f) * mul;
    }
    if (body + len + 4 > bytes.length) {
      throw new CorruptionError(file, base + p, `series ${ref} entry of ${len} bytes runs past the data read`);
    }
    const want =
      (((bytes[body + len] as number) << 24) |
        ((bytes[body + len + 1] as number) << 16) |
        ((bytes[body + len + 2] as number) << 8) |
        (bytes[body + len + 3] as number)) >>>
      0;
    const got = crc32c(bytes, 0, body, body + len);
    if (want !== got) {
      throw new CorruptionError(
        file,
        base + body,
        `series ${ref} checksum mismatch: expected 0x${want.toString(16)}, got 0x${got.toString(16)}`,
      );
    }
    // Every field of an entry is a varint: decode them all in one loop, then read them off (one
    // loop instead of a call per field is what a cold process runs fastest).
    const end = body + len;
    if (this.vals.length < len) this.vals = new Float64Array(Math.max(len, this.vals.length * 2));
    const vals = this.vals;
    let n = 0;
    let q = body;
    while (q < end) {
      let v = 0;
      let mul = 1;
      let x = 0x80;
      let k = 0;
      for (; x >= 0x80; k++) {
        if (q >= end || k === 10) {
          throw new CorruptionError(file, base + q, `series ${ref}: malformed varint in its entry`);
        }
        x = bytes[q++] as number;
        v += (x & 0x7f) * mul;
        mul *= 128;
      }
      // A 10-byte varint is ≥ 2^63: read it as Go's int64(uint64) (a negative chunk start delta).
      vals[n++] = k === 10 ? uvarintAsInt64(bytes, q - 10, q) : v;
    }
    const i = this.count;
    this.grow(i + 1);
    this.seriesRef[i] = ref;
    let j = 0;
    const nl = n > 0 ? (vals[j++] as number) : 0;
    if (nl < 0 || n < 2 + 2 * nl)
      throw new CorruptionError(file, base + body, `series ${ref}: entry ends in its labels`);
    let ls = this.labelStart[i] as number;
    if (ls + 2 * nl > this.symbolRefs.length) this.symbolRefs = grown(this.symbolRefs, ls + 2 * nl);
    const syms = this.symbolRefs;
    for (let k = 0; k < 2 * nl; k++) {
      const sym = vals[j++] as number;
      if (sym >= numSymbols || sym < 0) {
        throw new CorruptionError(file, base + body, `series ${ref} references a missing symbol`);
      }
      syms[ls++] = sym;
    }
    this.labelStart[i + 1] = ls;

    const nc = vals[j++] as number;
    if (nc < 0 || n < j + 3 * nc)
      throw new CorruptionError(file, base + body, `series ${ref}: entry ends in its chunks`);
    let c = this.chunkStart[i] as number;
    if (c + nc > this.minTime.length) {
      this.minTime = grown(this.minTime, c + nc);
      this.maxTime = grown(this.maxTime, c + nc);
      this.chunkRef = grown(this.chunkRef, c + nc);
    }
    // First chunk absolute (minTime zigzag), then deltas (tsdb/docs/format/index.md, "Series").
    let maxTime = 0;
    let cref = 0;
    for (let k = 0; k < nc; k++) {
      const a = vals[j++] as number;
      const d = vals[j++] as number;
      const r = vals[j++] as number;
      const minTime = k === 0 ? (a % 2 === 0 ? a / 2 : -(a + 1) / 2) : maxTime + a;
      maxTime = minTime + d;
      cref = k === 0 ? r : cref + (r % 2 === 0 ? r / 2 : -(r + 1) / 2);
      this.minTime[c] = minTime;
      this.maxTime[c] = maxTime;
      this.chunkRef[c++] = cref;
    }
    this.chunkStart[i + 1] = c;
    this.count = i + 1;
  }

  private grow(n: number): void {
    if (n + 1 <= this.labelStart.length) return;
    const cap = Math.max(n + 1, this.labelStart.length * 2);
    this.seriesRef = grown(this.seriesRef, cap);
    this.labelStart = grown(this.labelStart, cap);
    this.chunkStart = grown(this.chunkStart, cap);
  }
}

function grown<T extends Float64Array | Int32Array | Uint32Array>(a: T, atLeast: number): T {
  let cap = a.length * 2;
  while (cap < atLeast) cap *= 2;
  const next = new (a.constructor as new (n: number) => T)(cap);
  next.set(a);
  return next;
}
