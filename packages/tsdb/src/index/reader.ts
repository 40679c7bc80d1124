import type { ByteRangeSource } from '../block/range-source.js';
import { crc32c } from '../encoding/crc32c.js';
import { CorruptionError } from '../errors.js';
import { compareStrings, Labels } from '../labels/labels.js';
import type { Matcher } from '../labels/matcher.js';
import { Decbuf } from './decbuf.js';
import { EMPTY_POSTINGS, intersectPostings, mergePostings, withoutPostings } from './postings.js';
import type { SeriesColumns } from './series-columns.js';
import { INDEX_FORMAT_V2, INDEX_MAGIC, INDEX_TOC_LEN, type IndexToc, parseIndexToc } from './toc.js';
import type { ChunkMeta } from './writer.js';

/** A series read from the index: its labels and chunk metas. */
export interface IndexSeries {
  /** Series reference (offset / 16). */
  ref: number;
  labels: Labels;
  chunks: ChunkMeta[];
}

/** Options for IndexReader.open. */
export interface IndexReaderOptions {
  /** Read the whole file into memory when it is at most this many bytes. Default 64 MiB. */
  preloadBelow?: number;
  signal?: AbortSignal;
}

interface NameEntry {
  values: string[];
  offsets: number[];
}

const MAX_GAP = 64 * 1024;
const SERIES_GUESS = 1024;
const COLUMNS_RANGE = 8 * 1024 * 1024;

/**
 * Reads an index file (format v2) from any ByteRangeSource. On open it checks magic, version and
 * TOC and loads the symbol table and the postings offset table; postings and series are read on
 * demand, with nearby reads merged. Every section's CRC32C is verified; any inconsistency is a
 * CorruptionError naming the file and the byte offset.
 */
export class IndexReader {
  private constructor(
    private readonly source: ByteRangeSource,
    private readonly whole: Uint8Array | undefined,
    readonly size: number,
    readonly toc: IndexToc,
    private readonly symbols: string[],
    private readonly names: Map<string, NameEntry>,
    private readonly allPostingsOffset: number | undefined,
  ) {}

  /** The file name used in errors. */
  get name(): string {
    return this.source.name;
  }

  /** Opens an index. */
  static async open(source: ByteRangeSource, opts: IndexReaderOptions = {}): Promise<IndexReader> {
    const file = source.name;
    const size = await source.size();
    if (size < 5 + INDEX_TOC_LEN) throw new CorruptionError(file, 0, `index file too small (${size} bytes)`);
    const whole = size <= (opts.preloadBelow ?? 64 * 1024 * 1024) ? await source.read(0, size, opts.signal) : undefined;
    const read = async (off: number, len: number): Promise<Uint8Array> => {
      if (off < 0 || off + len > size) {
        throw new CorruptionError(file, off, `section of ${len} bytes runs past end of file (size ${size})`);
      }
      if (whole) return whole.subarray(off, off + len);
      const b = await source.read(off, len, opts.signal);
      if (b.length < len) throw new CorruptionError(file, off + b.length, 'file shorter than expected');
      return b;
    };
    const head = await read(0, 5);
    const hd = new Decbuf(head, file, 0);
    const magic = hd.be32();
    if (magic !== INDEX_MAGIC) throw new CorruptionError(file, 0, `invalid magic number 0x${magic.toString(16)}`);
    const version = hd.byte();
    if (version !== INDEX_FORMAT_V2) throw new CorruptionError(file, 4, `unsupported index version ${version}`);
    const toc = parseIndexToc(await read(size - INDEX_TOC_LEN, INDEX_TOC_LEN), file, size - INDEX_TOC_LEN);
    const limit = size - INDEX_TOC_LEN;
    for (const [k, v] of Object.entries(toc)) {
      if (v > limit) throw new CorruptionError(file, size - INDEX_TOC_LEN, `TOC entry ${k}=${v} beyond end of data`);
    }

    const readSection = async (off: number, what: string): Promise<Decbuf> => {
      const lenBytes = await read(off, 4);
      const len = new Decbuf(lenBytes, file, off).be32();
      const body = await read(off + 4, len + 4);
      const d = new Decbuf(body, file, off + 4, 0, len);
      const want = new Decbuf(body, file, off + 4 + len, len).be32();
      const got = crc32c(body, 0, 0, len);
      if (want !== got) {
        throw new CorruptionError(
          file,
          off,
          `${what} checksum mismatch: expected 0x${want.toString(16)}, got 0x${got.toString(16)}`,
        );
      }
      return d;
    };

    const symbols: string[] = [];
    if (toc.symbols !== 0) {
      const d = await readSection(toc.symbols, 'symbol table');
      const n = d.be32();
      for (let i = 0; i < n; i++) symbols.push(d.uvarintString());
    }

    const names = new Map<string, NameEntry>();
    let allPostingsOffset: number | undefined;
    if (toc.postingsTable !== 0) {
      const d = await readSection(toc.postingsTable, 'postings offset table');
      const n = d.be32();
      for (let i = 0; i < n; i++) {
        const keyCount = d.uvarint();
        if (keyCount !== 2) d.fail(`unexpected key count ${keyCount} in postings offset table`);
        const name = d.uvarintString();
        const value = d.uvarintString();
        const off = d.uvarint();
        if (name === '' && value === '') {
          allPostingsOffset = off;
          continue;
        }
        let e = names.get(name);
        if (!e) {
          e = { values: [], offsets: [] };
          names.set(name, e);
        }
        e.values.push(value);
        e.offsets.push(off);
      }
    }
    return new IndexReader(source, whole, size, toc, symbols, names, allPostingsOffset);
  }

  private async read(off: number, len: number, signal?: AbortSignal): Promise<Uint8Array> {
    const end = Math.min(this.size, off + len);
    if (off < 0 || off > this.size) throw new CorruptionError(this.name, off, 'offset beyond end of file');
    if (this.whole) return this.whole.subarray(off, end);
    return this.source.read(off, end - off, signal);
  }

  /** All symbols in order (the index's string table). */
  symbolTable(): readonly string[] {
    return this.symbols;
  }

  /** Sorted label names present in the block. */
  labelNames(): string[] {
    return [...this.names.keys()].sort(compareStrings);
  }

  /** Sorted values of a label name (empty when absent). */
  labelValues(name: string): string[] {
    return [...(this.names.get(name)?.values ?? [])];
  }

  /** References of all series, sorted. */
  async allPostings(signal?: AbortSignal): Promise<Uint32Array> {
    if (this.allPostingsOffset === undefined) return EMPTY_POSTINGS;
    return (await this.readPostingsLists([this.allPostingsOffset], signal))[0] as Uint32Array;
  }

  /** Union of the postings of `name` = each of `values` (missing values contribute nothing). */
  async postings(name: string, values: readonly string[], signal?: AbortSignal): Promise<Uint32Array> {
    const e = this.names.get(name);
    if (!e) return EMPTY_POSTINGS;
    const offs: number[] = [];
    for (const v of values) {
      const i = binarySearch(e.values, v);
      if (i >= 0) offs.push(e.offsets[i] as number);
    }
    if (offs.length === 0) return EMPTY_POSTINGS;
    return mergePostings(await this.readPostingsLists(offs, signal));
  }

  private async readPostingsLists(offsets: readonly number[], signal?: AbortSignal): Promise<Uint32Array[]> {
    const out: Uint32Array[] = new Array(offsets.length);
    const order = offsets.map((_, i) => i).sort((a, b) => (offsets[a] as number) - (offsets[b] as number));
    let i = 0;
    while (i < order.length) {
      const start = offsets[order[i] as number] as number;
      let j = i + 1;
      let end = start;
      // Read up to the next list's start: postings lists are contiguous, so the gap is padding.
      const endOf = (off: number) => {
        if (this.whole) return Math.min(this.size, off + 4 + this.peekLen(off) + 4);
        return off + 4 + 4096;
      };
      end = endOf(start);
      while (j < order.length) {
        const o = offsets[order[j] as number] as number;
        if (o - end > MAX_GAP) break;
        end = Math.max(end, endOf(o));
        j++;
      }
      end = Math.min(end, this.size);
      let bytes = await this.read(start, end - start, signal);
      for (let k = i; k < j; k++) {
        const off = offsets[order[k] as number] as number;
        let p = off - start;
        if (p + 4 > bytes.length) bytes = await this.extend(bytes, start, off + 8, signal);
        p = off - start;
        const len = new Decbuf(bytes, this.name, start, p).be32();
        if (off + 4 + len + 4 > this.size) {
          throw new CorruptionError(this.name, off, `postings list of ${len} bytes runs past end of file`);
        }
        if (p + 4 + len + 4 > bytes.length) bytes = await this.extend(bytes, start, off + 8 + len, signal);
        out[order[k] as number] = this.decodePostings(bytes, start, p, len);
      }
      i = j;
    }
    return out;
  }

  private peekLen(off: number): number {
    const w = this.whole as Uint8Array;
    if (off + 4 > w.length) return 0;
    return new Decbuf(w, this.name, 0, off).be32();
  }

  private async extend(_have: Uint8Array, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    const b = await this.read(start, end - start, signal);
    if (b.length < end - start) throw new CorruptionError(this.name, start + b.length, 'unexpected end of file');
    return b;
  }

  private decodePostings(bytes: Uint8Array, base: number, p: number, len: number): Uint32Array {
    const want = new Decbuf(bytes, this.name, base, p + 4 + len).be32();
    const got = crc32c(bytes, 0, p + 4, p + 4 + len);
    if (want !== got) {
      throw new CorruptionError(
        this.name,
        base + p,
        `postings checksum mismatch: expected 0x${want.toString(16)}, got 0x${got.toString(16)}`,
      );
    }
    const d = new Decbuf(bytes, this.name, base, p + 4, p + 4 + len);
    const n = d.be32();
    if (n * 4 !== len - 4) d.fail(`postings list claims ${n} entries in ${len} bytes`);
    const out = new Uint32Array(n);
    let q = p + 8;
    for (let i = 0; i < n; i++, q += 4) {
      out[i] =
        (((bytes[q] as number) << 24) |
          ((bytes[q + 1] as number) << 16) |
          ((bytes[q + 2] as number) << 8) |
          (bytes[q + 3] as number)) >>>
        0;
    }
    return out;
  }

  /**
   * Postings of the series matching all matchers, with Prometheus's PostingsForMatchers semantics
   * (tsdb/querier.go): a matcher that accepts '' also selects series without the label, negative
   * matchers are subtracted, and with only such matchers the all-series list is the start.
   */
  async postingsForMatchers(matchers: readonly Matcher[], signal?: AbortSignal): Promise<Uint32Array> {
    const mustBeSet = new Set<string>();
    for (const m of matchers) if (!m.matches('')) mustBeSet.add(m.name);
    const its: Uint32Array[] = [];
    const notIts: Uint32Array[] = [];
    for (const m of matchers) {
      const isNot = m.type === '!=' || m.type === '!~';
      if (mustBeSet.has(m.name)) {
        const matchesEmpty = m.matches('');
        if (isNot && matchesEmpty) {
          // l!="foo": subtract the series where the label has the excluded values.
          notIts.push(await this.postingsForValues(m.name, (v) => !m.matches(v), signal));
        } else if (isNot && !matchesEmpty) {
          // l!="" : series having any value the negative matcher accepts.
          const it = await this.postingsForValues(m.name, (v) => m.matches(v), signal);
          if (it.length === 0) return EMPTY_POSTINGS;
          its.push(it);
        } else {
          const it = await this.postingsForMatcher(m, signal);
          if (it.length === 0) return EMPTY_POSTINGS;
          its.push(it);
        }
      } else {
        // l="" or l=~"a|": everything except series whose value the matcher rejects.
        notIts.push(await this.postingsForValues(m.name, (v) => !m.matches(v), signal));
      }
    }
    if (its.length === 0 && notIts.length !== 0) its.push(await this.allPostings(signal));
    if (its.length === 0) return EMPTY_POSTINGS;
    let it = intersectPostings(its);
    for (const n of notIts) it = withoutPostings(it, n);
    return it;
  }

  private async postingsForMatcher(m: Matcher, signal?: AbortSignal): Promise<Uint32Array> {
    if (m.type === '=') return this.postings(m.name, [m.value], signal);
    if (m.type === '=~') {
      const set = m.setMatches();
      if (set && set.length > 0) return this.postings(m.name, set, signal);
    }
    return this.postingsForValues(m.name, (v) => m.matches(v), signal);
  }

  private async postingsForValues(
    name: string,
    keep: (v: string) => boolean,
    signal?: AbortSignal,
  ): Promise<Uint32Array> {
    const e = this.names.get(name);
    if (!e) return EMPTY_POSTINGS;
    const offs: number[] = [];
    for (let i = 0; i < e.values.length; i++) if (keep(e.values[i] as string)) offs.push(e.offsets[i] as number);
    if (offs.length === 0) return EMPTY_POSTINGS;
    return mergePostings(await this.readPostingsLists(offs, signal));
  }

  /**
   * Reads series by reference (sorted refs give sequential reads). With `skipChunks` the chunk
   * metas are not decoded.
   */
  async series(
    refs: ArrayLike<number>,
    opts: { skipChunks?: boolean; signal?: AbortSignal } = {},
  ): Promise<IndexSeries[]> {
    const out: IndexSeries[] = [];
    let i = 0;
    const n = refs.length;
    while (i < n) {
      const start = (refs[i] as number) * 16;
      let j = i + 1;
      while (
        j < n &&
        (refs[j] as number) * 16 - ((refs[j - 1] as number) * 16 + SERIES_GUESS) <= MAX_GAP &&
        j - i < 4096
      )
        j++;
      let end = Math.min(this.size, (refs[j - 1] as number) * 16 + SERIES_GUESS);
      let bytes = await this.read(start, end - start, opts.signal);
      for (let k = i; k < j; k++) {
        const ref = refs[k] as number;
        const off = ref * 16;
        if (off >= this.toc.labelIndices || off < this.toc.series) {
          throw new CorruptionError(this.name, off, `series reference ${ref} outside the series section`);
        }
        let d = new Decbuf(bytes, this.name, start, off - start);
        let len: number;
        try {
          len = d.uvarint();
        } catch {
          len = -1;
        }
        if (len < 0 || d.pos + len + 4 > bytes.length) {
          // Longer than our guess: read exactly (the length varint is ≤ 10 bytes).
          const head = await this.read(off, 10, opts.signal);
          const hd = new Decbuf(head, this.name, off);
          len = hd.uvarint();
          end = Math.max(end, off + hd.pos + len + 4);
          if (end > this.size)
            throw new CorruptionError(this.name, off, `series entry of ${len} bytes runs past end of file`);
          bytes = await this.read(start, end - start, opts.signal);
          d = new Decbuf(bytes, this.name, start, off - start);
          d.uvarint();
        }
        out.push(this.decodeSeries(ref, bytes, start, d.pos, len, opts.skipChunks === true));
      }
      i = j;
    }
    return out;
  }

  /**
   * Decodes the series entries of `refs` (sorted ascending, as postings are) into `out`, appending:
   * labels as symbol references into symbolTable() and chunk metas as columns, with no object per
   * series. Nearby entries are read together, in ranges of up to 8 MiB. Checks each entry's CRC.
   */
  async seriesColumns(refs: ArrayLike<number>, out: SeriesColumns, signal?: AbortSignal): Promise<void> {
    const n = refs.length;
    const numSymbols = this.symbols.length;
    let i = 0;
    while (i < n) {
      const first = (refs[i] as number) * 16;
      let j = i + 1;
      while (j < n && (refs[j] as number) * 16 - first < COLUMNS_RANGE) j++;
      let bytes: Uint8Array;
      let base: number;
      if (this.whole) {
        bytes = this.whole;
        base = 0;
      } else {
        base = first;
        const last = (refs[j - 1] as number) * 16;
        bytes = await this.read(base, last + SERIES_GUESS - base, signal);
        // The last entry may be longer than the guess; its length field (≤ 10 bytes) fits.
        if (last < this.toc.labelIndices) {
          const d = new Decbuf(bytes, this.name, base, last - base);
          const need = d.uvarint() + d.pos + 4;
          if (need > bytes.length) bytes = await this.read(base, need, signal);
        }
      }
      for (let k = i; k < j; k++) {
        const ref = refs[k] as number;
        const off = ref * 16;
        if (off >= this.toc.labelIndices || off < this.toc.series) {
          throw new CorruptionError(this.name, off, `series reference ${ref} outside the series section`);
        }
        out.append(ref, bytes, base, off - base, this.name, numSymbols);
      }
      i = j;
    }
  }

  private decodeSeries(
    ref: number,
    bytes: Uint8Array,
    base: number,
    p: number,
    len: number,
    skipChunks: boolean,
  ): IndexSeries {
    const want = new Decbuf(bytes, this.name, base, p + len).be32();
    const got = crc32c(bytes, 0, p, p + len);
    if (want !== got) {
      throw new CorruptionError(
        this.name,
        base + p,
        `series ${ref} checksum mismatch: expected 0x${want.toString(16)}, got 0x${got.toString(16)}`,
      );
    }
    const d = new Decbuf(bytes, this.name, base, p, p + len);
    const nl = d.uvarint();
    const flat: string[] = new Array(nl * 2);
    const syms = this.symbols;
    for (let k = 0; k < nl * 2; k++) {
      const s = syms[d.uvarint()];
      flat[k] = s === undefined ? d.fail(`series ${ref} references a missing symbol`) : s;
    }
    const chunks: ChunkMeta[] = [];
    if (!skipChunks) {
      const nc = d.uvarint();
      if (nc > 0) {
        let minTime = d.varint();
        let maxTime = minTime + d.uvarintInt64();
        let cref = d.uvarint();
        chunks.push({ minTime, maxTime, ref: cref });
        for (let k = 1; k < nc; k++) {
          minTime = maxTime + d.uvarintInt64();
          maxTime = minTime + d.uvarintInt64();
          cref += d.varint();
          chunks.push({ minTime, maxTime, ref: cref });
        }
      }
    }
    return { ref, labels: Labels.fromSortedFlat(flat), chunks };
  }

  /** Releases the source. */
  async close(): Promise<void> {
    await this.source.close?.();
  }
}

function binarySearch(arr: readonly string[], v: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareStrings(arr[mid] as string, v);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}
