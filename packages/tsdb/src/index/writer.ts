import { type FileHandle, open } from 'node:fs/promises';
import { crc32c } from '../encoding/crc32c.js';
import { InvalidArgumentError } from '../errors.js';
import { compareLabels, compareStrings, Labels } from '../labels/labels.js';
import { encodeIndexToc, INDEX_FORMAT_V2, INDEX_MAGIC, type IndexToc } from './toc.js';

/** A chunk as the index lists it: time range (inclusive) and reference into the segment files. */
export interface ChunkMeta {
  minTime: number;
  maxTime: number;
  ref: number;
}

const encoder = new TextEncoder();

/**
 * Buffered sequential writer that tracks the file position and supports alignment padding.
 * Writes are synchronous copies into the buffer; `drain` flushes to the file once it is large, so
 * the per-entry path has no awaits.
 */
class Sink {
  private buf = new Uint8Array(1 << 21);
  private len = 0;
  private filePos = 0;
  pos = 0;

  constructor(private readonly fh: FileHandle) {}

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  write(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    this.pos += bytes.length;
  }

  be32(v: number): void {
    this.room(4);
    const b = this.buf;
    const p = this.len;
    b[p] = v >>> 24;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.len = p + 4;
    this.pos += 4;
  }

  uvarint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 128) | 0x80;
      this.pos++;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
    this.pos++;
  }

  pad(align: number): void {
    const n = (align - (this.pos % align)) % align;
    if (n > 0) {
      this.room(n);
      this.buf.fill(0, this.len, this.len + n);
      this.len += n;
      this.pos += n;
    }
  }

  /** Bytes waiting to be written. */
  get buffered(): number {
    return this.len;
  }

  async flush(): Promise<void> {
    let off = 0;
    while (off < this.len) {
      const { bytesWritten } = await this.fh.write(this.buf, off, this.len - off, this.filePos);
      off += bytesWritten;
      this.filePos += bytesWritten;
    }
    this.len = 0;
  }
}

// Writes v (an integer of magnitude up to 2^53) as a uvarint at b[p]; returns the end. A negative
// v is written as Go's uint64(v) (two's complement, 10 bytes), which is what Prometheus writes for
// a chunk starting before the previous chunk's end (`uint64(c.MinTime - t0)` in index.go).
function putUvarint(b: Uint8Array, p: number, v: number): number {
  if (v < 0) {
    let u = BigInt.asUintN(64, BigInt(v));
    while (u >= 0x80n) {
      b[p++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    b[p++] = Number(u);
    return p;
  }
  if (v < 0x80000000) {
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    return p;
  }
  while (v >= 0x80) {
    b[p++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  b[p++] = v;
  return p;
}

/** Growable byte buffer for one section entry. */
class Encbuf {
  b = new Uint8Array(256);
  n = 0;

  reset(): void {
    this.n = 0;
  }

  /** Makes room for `k` more bytes. */
  reserve(k: number): void {
    this.grow(k);
  }

  private grow(k: number): void {
    if (this.n + k <= this.b.length) return;
    let cap = this.b.length * 2;
    while (cap < this.n + k) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.b.subarray(0, this.n));
    this.b = next;
  }

  be32(v: number): void {
    this.grow(4);
    const b = this.b;
    b[this.n++] = v >>> 24;
    b[this.n++] = (v >>> 16) & 0xff;
    b[this.n++] = (v >>> 8) & 0xff;
    b[this.n++] = v & 0xff;
  }

  byte(v: number): void {
    this.grow(1);
    this.b[this.n++] = v;
  }

  uvarint(v: number): void {
    this.grow(10);
    while (v >= 0x80) {
      this.b[this.n++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.b[this.n++] = v;
  }

  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  bytes(src: Uint8Array): void {
    this.grow(src.length);
    this.b.set(src, this.n);
    this.n += src.length;
  }

  uvarintString(s: string): void {
    const e = encoder.encode(s);
    this.uvarint(e.length);
    this.bytes(e);
  }

  get(): Uint8Array {
    return this.b.subarray(0, this.n);
  }
}

/** Chunk metas of one series as parallel columns (see IndexWriter.addSeriesRefs). Reusable. */
export interface ChunkMetaColumns {
  /** Number of chunks; only `[0, count)` of the columns is read. */
  count: number;
  /** First timestamp of each chunk, ms. */
  minTime: ArrayLike<number>;
  /** Last timestamp (inclusive) of each chunk, ms. */
  maxTime: ArrayLike<number>;
  /** Reference of each chunk into the segment files. */
  ref: ArrayLike<number>;
}

/** Options for IndexWriter.create. */
export interface IndexWriterOptions {
  /**
   * Every symbol the series will use, sorted in Go byte order and without duplicates. When given
   * (compaction knows its inputs' symbols), the symbol table is written at once and each series
   * is encoded as it is added, so memory holds only the postings, as Prometheus's index.Writer
   * does. Default: series are held until close() and the symbols are those of the series plus ''.
   */
  symbols?: readonly string[];
}

interface PendingSeries {
  labels: Labels;
  chunks: readonly ChunkMeta[];
}

const FLUSH_AT = 1024 * 1024;

/**
 * Writes an index file in format v2 (Prometheus tsdb/docs/format/index.md), producing the same
 * bytes as Prometheus's index.Writer for the same symbols and series: symbols sorted in Go byte
 * order, 16-byte aligned series, legacy label indices, 4-byte aligned postings starting with the
 * all-series list, offset tables and TOC, each with a CRC32C. Series must be added in label order.
 * Without `symbols` everything is written on close(); with them, series are written as they come
 * (call drain() now and then to bound the buffer) and the postings on close().
 */
export class IndexWriter {
  private pending: PendingSeries[] | undefined;
  private readonly sink: Sink;
  private readonly e = new Encbuf();
  private symbols: readonly string[] = [];
  private symbolIndex: Map<string, number> | undefined;
  /** Series ids by label pair, keyed by nameRef × symbols + valueRef (sorts like the pairs). */
  private readonly postings = new Map<number, number[]>();
  private ids = new Uint32Array(1024);
  private numSeries = 0;
  private last = new Uint32Array(32);
  private lastLen = -1;
  private vals = new Float64Array(256);
  private readonly toc: IndexToc = {
    symbols: 0,
    series: 0,
    labelIndices: 0,
    labelIndicesTable: 0,
    postings: 0,
    postingsTable: 0,
  };

  private constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    symbols: readonly string[] | undefined,
  ) {
    this.sink = new Sink(fh);
    if (symbols) this.writeSymbols(symbols);
    else this.pending = [];
  }

  /** Creates (truncates) the index file at `path`. */
  static async create(path: string, opts: IndexWriterOptions = {}): Promise<IndexWriter> {
    return new IndexWriter(path, await open(path, 'w'), opts.symbols);
  }

  /** Adds a series; labels must sort strictly after the previous series'. */
  addSeries(labels: Labels, chunks: readonly ChunkMeta[]): void {
    if (this.pending) {
      const prev = this.pending[this.pending.length - 1];
      if (prev && compareLabels(labels, prev.labels) <= 0) {
        throw new InvalidArgumentError(`${this.path}: out-of-order series added with label set ${labels.toString()}`);
      }
      this.pending.push({ labels, chunks });
      return;
    }
    const refs = this.refsOf(labels);
    const cols: ChunkMetaColumns = {
      count: chunks.length,
      minTime: chunks.map((c) => c.minTime),
      maxTime: chunks.map((c) => c.maxTime),
      ref: chunks.map((c) => c.ref),
    };
    this.addSeriesRefs(refs, cols);
  }

  /**
   * Adds a series given as symbol references (name, value, name, value, … into the `symbols` the
   * writer was created with, which sort like the strings) and chunk metas as columns; only with
   * `symbols`. Labels must sort strictly after the previous series'. Encodes the entry at once.
   */
  addSeriesRefs(symbolRefs: ArrayLike<number>, chunks: ChunkMetaColumns): void {
    if (this.pending) throw new InvalidArgumentError(`${this.path}: addSeriesRefs needs the symbols up front`);
    const nr = symbolRefs.length;
    if (this.compareLast(symbolRefs) <= 0) {
      throw new InvalidArgumentError(
        `${this.path}: out-of-order series added with label set ${this.labelsOf(symbolRefs).toString()}`,
      );
    }
    if (this.last.length < nr) this.last = new Uint32Array(Math.max(nr, this.last.length * 2));
    for (let k = 0; k < nr; k++) this.last[k] = symbolRefs[k] as number;
    this.lastLen = nr;

    const sink = this.sink;
    sink.pad(16);
    const id = sink.pos / 16;
    if (id > 0xffffffff) throw new InvalidArgumentError(`${this.path}: series reference exceeds 4 bytes`);
    if (this.numSeries === this.ids.length) {
      const next = new Uint32Array(this.ids.length * 2);
      next.set(this.ids);
      this.ids = next;
    }
    this.ids[this.numSeries++] = id;

    // The entry is a list of uvarints: gather them, then encode them in one loop (one call site
    // keeps this function small, which matters when it is optimized in a cold process).
    const numSymbols = this.symbols.length;
    const nc = chunks.count;
    const m = 2 + nr + 3 * nc;
    if (this.vals.length < m) this.vals = new Float64Array(Math.max(m, this.vals.length * 2));
    const vals = this.vals;
    let n = 0;
    vals[n++] = nr >>> 1;
    const postings = this.postings;
    for (let k = 0; k < nr; k += 2) {
      const ni = symbolRefs[k] as number;
      const vi = symbolRefs[k + 1] as number;
      if (ni >= numSymbols || vi >= numSymbols) {
        throw new InvalidArgumentError(`${this.path}: symbol reference beyond the ${numSymbols} symbols`);
      }
      vals[n++] = ni;
      vals[n++] = vi;
      const key = ni * numSymbols + vi;
      const list = postings.get(key);
      if (list) list.push(id);
      else postings.set(key, [id]);
    }
    vals[n++] = nc;
    // First chunk absolute (minTime zigzag), then deltas (ref delta zigzag).
    let t0 = 0;
    let ref0 = 0;
    const { minTime, maxTime, ref } = chunks;
    for (let k = 0; k < nc; k++) {
      const min = minTime[k] as number;
      const max = maxTime[k] as number;
      const r = ref[k] as number;
      if (k === 0) {
        vals[n++] = min >= 0 ? min * 2 : -min * 2 - 1;
        vals[n++] = max - min;
        vals[n++] = r;
      } else {
        const d = r - ref0;
        vals[n++] = min - t0;
        vals[n++] = max - min;
        vals[n++] = d >= 0 ? d * 2 : -d * 2 - 1;
      }
      t0 = max;
      ref0 = r;
    }
    const e = this.e;
    e.reset();
    e.reserve(10 * n);
    const b = e.b;
    let p = 0;
    for (let k = 0; k < n; k++) p = putUvarint(b, p, vals[k] as number);
    e.n = p;
    const body = e.get();
    sink.uvarint(body.length);
    sink.write(body);
    sink.be32(crc32c(body));
  }

  /** Whether drain() would write (1 MiB or more is buffered). */
  get needsDrain(): boolean {
    return this.sink.buffered >= FLUSH_AT;
  }

  /** Writes out the buffered bytes once 1 MiB has accumulated (call between series with `symbols`). */
  async drain(): Promise<void> {
    if (this.sink.buffered >= FLUSH_AT) await this.sink.flush();
  }

  /** Writes the whole index, fsyncs and closes the file. Returns its size in bytes. */
  async close(): Promise<number> {
    try {
      const size = await this.writeRest();
      await this.fh.sync();
      return size;
    } finally {
      await this.fh.close();
    }
  }

  private writeSymbols(symbols: readonly string[]): void {
    this.symbols = symbols;
    const sink = this.sink;
    const e = this.e;
    e.reset();
    e.be32(INDEX_MAGIC);
    e.byte(INDEX_FORMAT_V2);
    sink.write(e.get());
    this.toc.symbols = sink.pos;
    e.reset();
    e.be32(symbols.length);
    for (const s of symbols) e.uvarintString(s);
    writeSection(sink, e.get());
    this.toc.series = sink.pos;
  }

  private refsOf(labels: Labels): number[] {
    if (!this.symbolIndex) {
      this.symbolIndex = new Map();
      for (let i = 0; i < this.symbols.length; i++) this.symbolIndex.set(this.symbols[i] as string, i);
    }
    const flat = labels.toFlat();
    const refs: number[] = new Array(flat.length);
    for (let k = 0; k < flat.length; k++) {
      const r = this.symbolIndex.get(flat[k] as string);
      if (r === undefined) {
        throw new InvalidArgumentError(`${this.path}: symbol ${JSON.stringify(flat[k])} is not in the symbol table`);
      }
      refs[k] = r;
    }
    return refs;
  }

  private labelsOf(refs: ArrayLike<number>): Labels {
    const flat: string[] = [];
    for (let k = 0; k < refs.length; k++) flat.push(this.symbols[refs[k] as number] ?? '?');
    return Labels.fromSortedFlat(flat);
  }

  // Symbol references sort like their strings, so this is compareLabels on references.
  private compareLast(refs: ArrayLike<number>): number {
    if (this.lastLen < 0) return 1;
    const n = Math.min(refs.length, this.lastLen);
    for (let k = 0; k < n; k++) {
      const d = (refs[k] as number) - (this.last[k] as number);
      if (d !== 0) return d;
    }
    return refs.length - this.lastLen;
  }

  private async writeRest(): Promise<number> {
    const sink = this.sink;
    const e = this.e;
    if (this.pending) {
      const symbolSet = new Set<string>(['']);
      for (const s of this.pending) for (const str of s.labels.toFlat()) symbolSet.add(str);
      this.writeSymbols([...symbolSet].sort(compareStrings));
      const pending = this.pending;
      this.pending = undefined;
      for (const s of pending) {
        this.addSeriesRefs(this.refsOf(s.labels), {
          count: s.chunks.length,
          minTime: s.chunks.map((c) => c.minTime),
          maxTime: s.chunks.map((c) => c.maxTime),
          ref: s.chunks.map((c) => c.ref),
        });
        await this.drain();
      }
    }
    const symbols = this.symbols;
    const numSymbols = symbols.length;
    const toc = this.toc;
    const keys = Float64Array.from(this.postings.keys()).sort();

    // Label indices (legacy, still written by Prometheus), one per label name, values in order.
    toc.labelIndices = sink.pos;
    const labelIndexOffsets: [string, number][] = [];
    for (let i = 0; i < keys.length; ) {
      const ni = Math.floor((keys[i] as number) / numSymbols);
      let j = i;
      while (j < keys.length && Math.floor((keys[j] as number) / numSymbols) === ni) j++;
      sink.pad(4);
      labelIndexOffsets.push([symbols[ni] as string, sink.pos]);
      e.reset();
      e.be32(1);
      e.be32(j - i);
      for (let k = i; k < j; k++) e.be32((keys[k] as number) - ni * numSymbols);
      writeSection(sink, e.get());
      await this.drain();
      i = j;
    }

    // Postings: the all-series list under ('', ''), then every label pair in order.
    sink.pad(4);
    toc.postings = sink.pos;
    const postingsOffsets: [string, string, number][] = [];
    const writePostings = (name: string, value: string, list: ArrayLike<number>) => {
      sink.pad(4);
      postingsOffsets.push([name, value, sink.pos]);
      e.reset();
      e.be32(list.length);
      for (let k = 0; k < list.length; k++) e.be32(list[k] as number);
      writeSection(sink, e.get());
    };
    writePostings('', '', this.ids.subarray(0, this.numSeries));
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as number;
      const ni = Math.floor(key / numSymbols);
      writePostings(
        symbols[ni] as string,
        symbols[key - ni * numSymbols] as string,
        this.postings.get(key) as number[],
      );
      if ((i & 255) === 0) await this.drain();
    }

    // Label offset table.
    toc.labelIndicesTable = sink.pos;
    e.reset();
    e.be32(labelIndexOffsets.length);
    for (const [name, off] of labelIndexOffsets) {
      e.uvarint(1);
      e.uvarintString(name);
      e.uvarint(off);
    }
    writeSection(sink, e.get());

    // Postings offset table.
    toc.postingsTable = sink.pos;
    e.reset();
    e.be32(postingsOffsets.length);
    for (const [name, value, off] of postingsOffsets) {
      e.uvarint(2);
      e.uvarintString(name);
      e.uvarintString(value);
      e.uvarint(off);
    }
    writeSection(sink, e.get());

    sink.write(encodeIndexToc(toc));
    await sink.flush();
    return sink.pos;
  }
}

// A section: 4-byte big-endian length, the bytes, CRC32C of the bytes.
function writeSection(sink: Sink, body: Uint8Array): void {
  sink.be32(body.length);
  sink.write(body);
  sink.be32(crc32c(body));
}
