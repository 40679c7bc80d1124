import { crc32c } from '../encoding/crc32c.js';
import { CorruptionError } from '../errors.js';

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

  private p = 0;
  private end = 0;
  private bytes: Uint8Array = new Uint8Array(0);
  private file = '';
  private base = 0;

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
    this.bytes = bytes;
    this.base = base;
    this.file = file;
    this.p = p;
    this.end = bytes.length;
    const len = this.uvarint();
    const body = this.p;
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
    this.end = body + len;
    const i = this.count;
    this.grow(i + 1);
    this.seriesRef[i] = ref;

    const nl = this.uvarint();
    let ls = this.labelStart[i] as number;
    if (ls + 2 * nl > this.symbolRefs.length) this.symbolRefs = grown(this.symbolRefs, ls + 2 * nl);
    const syms = this.symbolRefs;
    for (let k = 0; k < 2 * nl; k++) {
      const s = this.uvarint();
      if (s >= numSymbols) this.fail(`series ${ref} references a missing symbol`);
      syms[ls++] = s;
    }
    this.labelStart[i + 1] = ls;

    const nc = this.uvarint();
    let c = this.chunkStart[i] as number;
    if (c + nc > this.minTime.length) {
      this.minTime = grown(this.minTime, c + nc);
      this.maxTime = grown(this.maxTime, c + nc);
      this.chunkRef = grown(this.chunkRef, c + nc);
    }
    if (nc > 0) {
      // First chunk absolute, then deltas (tsdb/docs/format/index.md, "Series").
      const u = this.uvarint();
      let minTime = u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      let maxTime = minTime + this.uvarint();
      let cref = this.uvarint();
      this.minTime[c] = minTime;
      this.maxTime[c] = maxTime;
      this.chunkRef[c++] = cref;
      for (let k = 1; k < nc; k++) {
        minTime = maxTime + this.uvarint();
        maxTime = minTime + this.uvarint();
        const d = this.uvarint();
        cref += d % 2 === 0 ? d / 2 : -(d + 1) / 2;
        this.minTime[c] = minTime;
        this.maxTime[c] = maxTime;
        this.chunkRef[c++] = cref;
      }
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

  private uvarint(): number {
    const b = this.bytes;
    let p = this.p;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) this.fail('unexpected end of data reading uvarint');
      const x = b[p++] as number;
      v += (x & 0x7f) * mul;
      if (x < 0x80) {
        this.p = p;
        return v;
      }
      mul *= 128;
    }
    return this.fail('uvarint overflows 64 bits');
  }

  private fail(detail: string): never {
    throw new CorruptionError(this.file, this.base + this.p, detail);
  }
}

function grown<T extends Float64Array | Int32Array | Uint32Array>(a: T, atLeast: number): T {
  let cap = a.length * 2;
  while (cap < atLeast) cap *= 2;
  const next = new (a.constructor as new (n: number) => T)(cap);
  next.set(a);
  return next;
}
