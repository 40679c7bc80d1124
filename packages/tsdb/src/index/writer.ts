import { type FileHandle, open } from 'node:fs/promises';
import { crc32c } from '../encoding/crc32c.js';
import { InvalidArgumentError } from '../errors.js';
import { compareLabels, compareStrings, type Labels } from '../labels/labels.js';
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
  private buf = new Uint8Array(1 << 22);
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

  /** Flushes when at least 4 MiB are buffered. */
  async drain(): Promise<void> {
    if (this.len >= 1 << 22) await this.flush();
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

/** Growable byte buffer for one section entry. */
class Encbuf {
  b = new Uint8Array(256);
  n = 0;

  reset(): void {
    this.n = 0;
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

interface PendingSeries {
  labels: Labels;
  chunks: readonly ChunkMeta[];
}

/**
 * Writes an index file in format v2 (Prometheus tsdb/docs/format/index.md), producing the same
 * bytes as Prometheus's index.Writer for the same series: symbols sorted in Go byte order and
 * including '' (as a head-written block's are), 16-byte aligned series, legacy label indices,
 * 4-byte aligned postings starting with the all-series list, offset tables and TOC, each with a
 * CRC32C. Series must be added in label order; everything is written on close().
 */
export class IndexWriter {
  private readonly series: PendingSeries[] = [];
  private last: Labels | undefined;

  private constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  /** Creates (truncates) the index file at `path`. */
  static async create(path: string): Promise<IndexWriter> {
    return new IndexWriter(path, await open(path, 'w'));
  }

  /** Adds a series; labels must sort strictly after the previous series'. */
  addSeries(labels: Labels, chunks: readonly ChunkMeta[]): void {
    if (this.last && compareLabels(labels, this.last) <= 0) {
      throw new InvalidArgumentError(`${this.path}: out-of-order series added with label set ${labels.toString()}`);
    }
    this.last = labels;
    this.series.push({ labels, chunks });
  }

  /** Writes the whole index, fsyncs and closes the file. Returns its size in bytes. */
  async close(): Promise<number> {
    try {
      const size = await this.writeAll();
      await this.fh.sync();
      return size;
    } finally {
      await this.fh.close();
    }
  }

  private async writeAll(): Promise<number> {
    const sink = new Sink(this.fh);
    const e = new Encbuf();
    e.be32(INDEX_MAGIC);
    e.byte(INDEX_FORMAT_V2);
    sink.write(e.get());

    // Symbols.
    const symbolSet = new Set<string>(['']);
    for (const s of this.series) {
      const flat = s.labels.toFlat();
      for (const str of flat) symbolSet.add(str);
    }
    const symbols = [...symbolSet].sort(compareStrings);
    const symbolIndex = new Map<string, number>();
    for (let i = 0; i < symbols.length; i++) symbolIndex.set(symbols[i] as string, i);
    const toc: IndexToc = {
      symbols: sink.pos,
      series: 0,
      labelIndices: 0,
      labelIndicesTable: 0,
      postings: 0,
      postingsTable: 0,
    };
    e.reset();
    e.be32(symbols.length);
    for (const s of symbols) e.uvarintString(s);
    await writeSection(sink, e.get());

    // Series, remembering postings per label pair by symbol index.
    toc.series = sink.pos;
    const ids = new Uint32Array(this.series.length);
    const postings = new Map<number, Map<number, number[]>>();
    for (let i = 0; i < this.series.length; i++) {
      const s = this.series[i] as PendingSeries;
      sink.pad(16);
      const id = sink.pos / 16;
      if (id > 0xffffffff) throw new InvalidArgumentError(`${this.path}: series reference exceeds 4 bytes`);
      ids[i] = id;
      e.reset();
      const flat = s.labels.toFlat();
      e.uvarint(flat.length / 2);
      for (let k = 0; k < flat.length; k += 2) {
        const ni = symbolIndex.get(flat[k] as string) as number;
        const vi = symbolIndex.get(flat[k + 1] as string) as number;
        e.uvarint(ni);
        e.uvarint(vi);
        let byValue = postings.get(ni);
        if (!byValue) {
          byValue = new Map();
          postings.set(ni, byValue);
        }
        let list = byValue.get(vi);
        if (!list) {
          list = [];
          byValue.set(vi, list);
        }
        list.push(id);
      }
      e.uvarint(s.chunks.length);
      if (s.chunks.length > 0) {
        const c0 = s.chunks[0] as ChunkMeta;
        e.varint(c0.minTime);
        e.uvarint(c0.maxTime - c0.minTime);
        e.uvarint(c0.ref);
        let t0 = c0.maxTime;
        let ref0 = c0.ref;
        for (let k = 1; k < s.chunks.length; k++) {
          const c = s.chunks[k] as ChunkMeta;
          e.uvarint(c.minTime - t0);
          e.uvarint(c.maxTime - c.minTime);
          t0 = c.maxTime;
          e.varint(c.ref - ref0);
          ref0 = c.ref;
        }
      }
      const body = e.get();
      sink.uvarint(body.length);
      sink.write(body);
      sink.be32(crc32c(body));
      await sink.drain();
    }

    // Label indices (legacy, still written by Prometheus), one per label name.
    toc.labelIndices = sink.pos;
    const nameIdxs = [...postings.keys()].sort((a, b) => a - b);
    const labelIndexOffsets: [string, number][] = [];
    for (const ni of nameIdxs) {
      const values = [...(postings.get(ni) as Map<number, number[]>).keys()].sort((a, b) => a - b);
      sink.pad(4);
      labelIndexOffsets.push([symbols[ni] as string, sink.pos]);
      e.reset();
      e.be32(1);
      e.be32(values.length);
      for (const v of values) e.be32(v);
      await writeSection(sink, e.get());
    }

    // Postings: the all-series list under ('', ''), then every label pair in order.
    sink.pad(4);
    toc.postings = sink.pos;
    const postingsOffsets: [string, string, number][] = [];
    const writePostings = async (name: string, value: string, list: ArrayLike<number>) => {
      sink.pad(4);
      postingsOffsets.push([name, value, sink.pos]);
      e.reset();
      e.be32(list.length);
      for (let k = 0; k < list.length; k++) e.be32(list[k] as number);
      await writeSection(sink, e.get());
    };
    await writePostings('', '', ids);
    for (const ni of nameIdxs) {
      const byValue = postings.get(ni) as Map<number, number[]>;
      const values = [...byValue.keys()].sort((a, b) => a - b);
      for (const vi of values)
        await writePostings(symbols[ni] as string, symbols[vi] as string, byValue.get(vi) as number[]);
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
    await writeSection(sink, e.get());

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
    await writeSection(sink, e.get());

    sink.write(encodeIndexToc(toc));
    await sink.flush();
    return sink.pos;
  }
}

// A section: 4-byte big-endian length, the bytes, CRC32C of the bytes.
async function writeSection(sink: Sink, body: Uint8Array): Promise<void> {
  sink.be32(body.length);
  sink.write(body);
  sink.be32(crc32c(body));
  await sink.drain();
}
