import type { BlockReader } from '../block/reader.js';
import type { Interval } from '../block/tombstones.js';
import { ChunkEncoding, type EncodedChunk } from '../chunkenc/chunk.js';
import { decodeXorInto, xorNumSamples } from '../chunkenc/xor.js';
import { encodeXorChunk } from '../chunkenc/xor-bulk.js';
import { chunkRefOffset, chunkRefSegment, segmentFileName } from '../chunks/segment.js';
import { chunkRecordAt, parseChunkAt, type RawChunk } from '../chunks/segment-reader.js';
import type { ChunkRecords } from '../chunks/segment-writer.js';
import { CorruptionError, ThanosError } from '../errors.js';
import { SeriesColumns } from '../index/series-columns.js';
import { Labels } from '../labels/labels.js';
import { decodeChunkSamples, encodeChunkSamples } from './rewrite.js';

/** One series of one input block, with the chunks compaction may keep and what to delete. */
export interface BlockSeriesEntry {
  labels: Labels;
  /** Chunks overlapping the output range and not entirely deleted, bytes still encoded. */
  chunks: EncodedChunk[];
  /** Deleted (or out-of-range) time ranges, inclusive, sorted and merged. */
  intervals: Interval[];
  /** Where the series came from, for errors. */
  block: string;
}

// Series decoded per index read; and the chunk bytes of one batch read at once, per segment.
const MAX_BATCH_SERIES = 1024;
const MAX_WINDOW = 8 * 1024 * 1024;
// Read past the last chunk of a batch so that it usually needs no second read.
const WINDOW_SLACK = 1024;

/**
 * Walks every series of one input block in label order (the order of its all-series postings)
 * for compaction, without an object per series: a batch of series entries is decoded into
 * columns (labels as references into the output's symbol table, which sort like the strings) and
 * the chunk bytes of the batch are read per segment in one range, so the chunks of a series are
 * views into that range. Mirrors Prometheus's blockBaseSeriesSet (tsdb/querier.go): chunks
 * outside [mint, maxt] or inside one deletion interval are dropped, series left without chunks
 * are skipped, and a series with chunks reaching outside [mint, maxt] gets the outside as extra
 * deletion intervals. A series with neither deletions nor trimming is "plain": its chunk records
 * can be copied as they are (`record`); any other comes as a BlockSeriesEntry (`entry`).
 */
export class BlockSeriesCursor {
  /** The current batch's series; the current series is `at`. */
  cols: SeriesColumns;
  /** Index of the current series in `cols`. */
  at = -1;
  /** Whether the current series has no deletions or trimming (its chunks are `chunkFrom…chunkTo`). */
  plain = false;
  /** First chunk of the current series in the chunk columns of `cols`. */
  chunkFrom = 0;
  /** End (exclusive) of the current series' chunks. */
  chunkTo = 0;
  private slow: BlockSeriesEntry | undefined;
  private postings: Uint32Array = new Uint32Array(0);
  private nextPosting = 0;
  private batchSeries = MAX_BATCH_SERIES;
  private winBytes: (Uint8Array | undefined)[];
  private winStart: number[];
  private readonly hdr = new Int32Array(2);
  // A series whose chunks are too spread out for one window (index in its batch; -1 none).
  private scattered: number;
  private scatteredChunks: RawChunk[];
  private current: Batch = newBatch();
  private spare: Batch = newBatch();
  // The next batch, read while the current one is merged and written.
  private ahead: Promise<boolean> | undefined;

  private constructor(
    readonly block: BlockReader,
    /** Input symbol reference → output symbol reference. */
    private readonly symbolMap: Uint32Array,
    /** The output's symbols (for labels of series that are not plain). */
    private readonly symbols: readonly string[],
    private readonly mint: number,
    private readonly maxt: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.cols = this.current.cols;
    this.winBytes = this.current.winBytes;
    this.winStart = this.current.winStart;
    this.scattered = -1;
    this.scatteredChunks = [];
  }

  /**
   * A cursor over `block`, positioned on its first series (or exhausted: `at` is -1). `symbolMap`
   * maps the block's symbol references to the output's `symbols`.
   */
  static async open(
    block: BlockReader,
    symbolMap: Uint32Array,
    symbols: readonly string[],
    mint: number,
    maxt: number,
    signal?: AbortSignal,
  ): Promise<BlockSeriesCursor | undefined> {
    const c = new BlockSeriesCursor(block, symbolMap, symbols, mint, maxt, signal);
    c.postings = await block.index.allPostings(signal);
    return (await c.nextBatch()) ? c : undefined;
  }

  /** Labels of the current series: output symbol references (name, value, …). */
  get labelFrom(): number {
    return this.cols.labelStart[this.at] as number;
  }

  /** End (exclusive) of the current series' labels in `cols.symbolRefs`. */
  get labelTo(): number {
    return this.cols.labelStart[this.at + 1] as number;
  }

  /** Moves to the next series of the batch with chunks left; false at the end of the batch. */
  advanceInBatch(): boolean {
    const cols = this.cols;
    while (++this.at < cols.count) {
      if (this.load()) return true;
    }
    return false;
  }

  /** Moves to the next batch with a series left; false when the block has no more. */
  async nextBatch(): Promise<boolean> {
    for (;;) {
      this.signal?.throwIfAborted();
      const got = this.ahead ? await this.ahead : await this.readBatch(this.spare);
      this.ahead = undefined;
      if (!got) {
        this.at = -1;
        return false;
      }
      const b = this.spare;
      this.spare = this.current;
      this.current = b;
      this.cols = b.cols;
      this.winBytes = b.winBytes;
      this.winStart = b.winStart;
      this.scattered = b.scattered;
      this.scatteredChunks = b.scatteredChunks;
      this.at = -1;
      if (this.nextPosting < this.postings.length) {
        this.ahead = this.readBatch(this.spare);
        // Its error surfaces when it is awaited; until then it must not count as unhandled.
        this.ahead.catch(() => {});
      }
      if (this.advanceInBatch()) return true;
    }
  }

  /**
   * Appends the current (plain) series' chunks to `recs` from index `j` on, as records in the
   * batch's bytes (their CRCs are not checked: see ChunkSegmentWriter.writeRecords), with their
   * time ranges in `minTime`/`maxTime`. The arrays must have room. Returns the next free index.
   */
  appendRecords(recs: ChunkRecords, j: number, minTime: Float64Array, maxTime: Float64Array): number {
    const cols = this.cols;
    const { bytes, recStart, encAt, dataLen } = recs;
    for (let k = this.chunkFrom; k < this.chunkTo; k++, j++) {
      const ref = cols.chunkRef[k] as number;
      const seg = chunkRefSegment(ref);
      const off = chunkRefOffset(ref);
      const b = this.winBytes[seg] as Uint8Array;
      const p = off - (this.winStart[seg] as number);
      // The length field, inline (chunkRecordAt, without a call per chunk).
      let q = p;
      let len = 0;
      let mul = 1;
      let x = 0x80;
      while (x >= 0x80 && q < b.length && q - p < 5) {
        x = b[q++] as number;
        len += (x & 0x7f) * mul;
        mul *= 128;
      }
      if (x >= 0x80 || q + 1 + len + 4 > b.length) {
        const file = this.block.chunks.segmentName(seg);
        throw new CorruptionError(file, off, 'chunk overlaps the next one or runs past the end of the segment');
      }
      bytes[j] = b;
      recStart[j] = p;
      encAt[j] = q;
      dataLen[j] = len;
      minTime[j] = cols.minTime[k] as number;
      maxTime[j] = cols.maxTime[k] as number;
    }
    return j;
  }

  /** The current series as a BlockSeriesEntry: labels, chunks (CRC checked) and intervals. */
  entry(): BlockSeriesEntry {
    if (this.slow) return this.slow;
    return this.buildEntry([], true) as BlockSeriesEntry;
  }

  // Classifies series `at`: false when nothing of it is left.
  private load(): boolean {
    const cols = this.cols;
    const i = this.at;
    const from = cols.chunkStart[i] as number;
    const to = cols.chunkStart[i + 1] as number;
    this.chunkFrom = from;
    this.chunkTo = to;
    this.slow = undefined;
    if (from === to) return false;
    const dels = this.block.tombstones.size === 0 ? undefined : this.block.tombstones.get(cols.seriesRef[i] as number);
    let plain = dels === undefined && i !== this.scattered;
    for (let k = from; plain && k < to; k++) {
      if ((cols.minTime[k] as number) < this.mint || (cols.maxTime[k] as number) > this.maxt) plain = false;
    }
    this.plain = plain;
    if (plain) return true;
    this.slow = this.buildEntry(dels ?? [], false);
    return this.slow !== undefined;
  }

  // Prometheus's blockBaseSeriesSet filtering for series `at`, with chunk bytes parsed and checked.
  private buildEntry(dels: Interval[], all: boolean): BlockSeriesEntry | undefined {
    const cols = this.cols;
    let intervals = dels;
    let trimFront = false;
    let trimBack = false;
    const chunks: EncodedChunk[] = [];
    for (let k = this.chunkFrom; k < this.chunkTo; k++) {
      const minTime = cols.minTime[k] as number;
      const maxTime = cols.maxTime[k] as number;
      if (!all) {
        if (maxTime < this.mint || minTime > this.maxt) continue;
        if (intervals.some((iv) => iv.minTime <= minTime && maxTime <= iv.maxTime)) continue;
        if (minTime < this.mint) trimFront = true;
        if (maxTime > this.maxt) trimBack = true;
      }
      const raw = this.rawChunk(k);
      chunks.push({ minTime, maxTime, encoding: raw.encoding, data: raw.data });
    }
    if (chunks.length === 0) return undefined;
    if (trimFront) intervals = addInterval(intervals, { minTime: Number.NEGATIVE_INFINITY, maxTime: this.mint - 1 });
    if (trimBack) intervals = addInterval(intervals, { minTime: this.maxt + 1, maxTime: Number.POSITIVE_INFINITY });
    const flat: string[] = [];
    for (let k = this.labelFrom; k < this.labelTo; k++) flat.push(this.symbols[cols.symbolRefs[k] as number] as string);
    return { labels: Labels.fromSortedFlat(flat), chunks, intervals, block: this.block.name };
  }

  private rawChunk(k: number): RawChunk {
    if (this.at === this.scattered) return this.scatteredChunks[k - this.chunkFrom] as RawChunk;
    const ref = this.cols.chunkRef[k] as number;
    const seg = chunkRefSegment(ref);
    const off = chunkRefOffset(ref);
    const bytes = this.winBytes[seg] as Uint8Array;
    return parseChunkAt(
      bytes,
      off - (this.winStart[seg] as number),
      this.block.chunks.segmentName(seg),
      off,
    ) as RawChunk;
  }

  // Reads [start, end) of segment `seg` into the batch's buffer for it (kept from batch to batch).
  private async readWindow(b: Batch, seg: number, start: number, end: number): Promise<Uint8Array> {
    let buf = b.bufs[seg];
    if (!buf || buf.length < end - start) {
      buf = new Uint8Array(Math.max(end - start, (buf?.length ?? 0) * 2, 64 * 1024));
      b.bufs[seg] = buf;
    }
    return this.block.chunks.readRangeInto(seg, start, buf.subarray(0, end - start), this.signal);
  }

  // Decodes the next batch of series entries into `b` and reads their chunk bytes, one range per
  // segment. False when no series are left.
  private async readBatch(b: Batch): Promise<boolean> {
    if (this.nextPosting >= this.postings.length) return false;
    const cols = b.cols;
    const { index, chunks } = this.block;
    cols.reset();
    b.scattered = -1;
    b.scatteredChunks = [];
    const end = Math.min(this.postings.length, this.nextPosting + this.batchSeries);
    await index.seriesColumns(this.postings.subarray(this.nextPosting, end), cols, this.signal);
    mapSymbols(cols, this.symbolMap, index.name);
    // Keep the series whose chunks fit one window per segment (at least one series).
    const segs = chunks.segmentCount;
    const lo = new Float64Array(segs).fill(Number.POSITIVE_INFINITY);
    const hi = new Float64Array(segs).fill(Number.NEGATIVE_INFINITY);
    let used = seriesFittingWindows(cols, lo, hi);
    if (used === 0) {
      // One series spread over more than a window: its chunks are read one by one.
      b.scattered = 0;
      const list: number[] = [];
      for (let k = cols.chunkStart[0] as number; k < (cols.chunkStart[1] as number); k++) {
        list.push(cols.chunkRef[k] as number);
      }
      b.scatteredChunks = await chunks.readChunks(list, this.signal);
      used = 1;
    }
    cols.count = used;
    this.nextPosting += used;
    // Adapt the batch to series with many chunks, so that little is decoded twice.
    this.batchSeries = used < this.batchSeries ? Math.max(16, used) : Math.min(MAX_BATCH_SERIES, used * 2);
    b.winBytes = [];
    b.winStart = [];
    for (let seg = 0; seg < segs; seg++) {
      const l = lo[seg] as number;
      const h = hi[seg] as number;
      if (h < l) continue;
      const name = chunks.segmentName(seg);
      let bytes = await this.readWindow(b, seg, l, h + WINDOW_SLACK);
      // The chunk at the highest offset must fit; the others end before it.
      if (!chunkRecordAt(bytes, h - l, name, h, this.hdr)) {
        if ((this.hdr[0] as number) < 0)
          throw new CorruptionError(name, h, 'chunk length runs past the end of the segment');
        bytes = await this.readWindow(b, seg, l, l + (this.hdr[0] as number) + 1 + (this.hdr[1] as number) + 4);
        if (!chunkRecordAt(bytes, h - l, name, h, this.hdr)) {
          throw new CorruptionError(name, h, `chunk of ${this.hdr[1]} bytes runs past the end of the segment`);
        }
      }
      b.winBytes[seg] = bytes;
      b.winStart[seg] = l;
    }
    return true;
  }
}

// Replaces the batch's symbol references by the output's.
function mapSymbols(cols: SeriesColumns, map: Uint32Array, file: string): void {
  const refs = cols.symbolRefs;
  for (let k = 0, n = cols.labelStart[cols.count] as number; k < n; k++) {
    const r = map[refs[k] as number];
    if (r === undefined) throw new CorruptionError(file, 0, `symbol reference ${refs[k]} out of range`);
    refs[k] = r;
  }
}

// How many of the batch's first series have their chunks within MAX_WINDOW bytes per segment;
// `lo`/`hi` (per segment, ±Infinity when unused) become the lowest and highest chunk offsets.
// 0 when the first series alone does not fit (lo/hi then untouched).
function seriesFittingWindows(cols: SeriesColumns, lo: Float64Array, hi: Float64Array): number {
  const segs = lo.length;
  const sLo = new Float64Array(segs);
  const sHi = new Float64Array(segs);
  let used = 0;
  for (; used < cols.count; used++) {
    sLo.set(lo);
    sHi.set(hi);
    let fits = true;
    for (let k = cols.chunkStart[used] as number, to = cols.chunkStart[used + 1] as number; k < to; k++) {
      const ref = cols.chunkRef[k] as number;
      const seg = chunkRefSegment(ref);
      const off = chunkRefOffset(ref);
      if (seg >= segs) {
        throw new CorruptionError(
          `chunks/${segmentFileName(seg + 1)}`,
          0,
          `segment ${seg + 1} does not exist (ref ${ref})`,
        );
      }
      if (off < (sLo[seg] as number)) sLo[seg] = off;
      if (off > (sHi[seg] as number)) sHi[seg] = off;
      if ((sHi[seg] as number) - (sLo[seg] as number) > MAX_WINDOW) fits = false;
    }
    if (!fits) return used;
    lo.set(sLo);
    hi.set(sHi);
  }
  return used;
}

// One batch of a cursor: series columns and the chunk bytes they refer to.
interface Batch {
  cols: SeriesColumns;
  winBytes: (Uint8Array | undefined)[];
  winStart: number[];
  scattered: number;
  scatteredChunks: RawChunk[];
  /** Per segment, the buffer windows are read into. */
  bufs: (Uint8Array | undefined)[];
}

function newBatch(): Batch {
  return { cols: new SeriesColumns(), winBytes: [], winStart: [], scattered: -1, scatteredChunks: [], bufs: [] };
}

// Prometheus's Intervals.Add: keeps the list sorted, merging overlapping and adjacent intervals.
function addInterval(list: readonly Interval[], n: Interval): Interval[] {
  const all = [...list, n].sort((a, b) => a.minTime - b.minTime);
  const out: Interval[] = [];
  for (const iv of all) {
    const last = out[out.length - 1];
    if (last && iv.minTime <= last.maxTime + 1) {
      if (iv.maxTime > last.maxTime) last.maxTime = iv.maxTime;
    } else {
      out.push({ ...iv });
    }
  }
  return out;
}

/**
 * The chunks of a series with its deletions applied, as Prometheus's
 * populateWithDelChunkSeriesIterator yields them: a chunk no interval touches is kept byte for
 * byte; one an interval overlaps is re-encoded from its remaining samples into one chunk whose
 * range is its first and last remaining sample. A chunk left empty is dropped and the next one
 * follows (Prometheus 2.42 stopped the series there, which later versions fixed).
 */
export function applyDeletions(entry: BlockSeriesEntry): EncodedChunk[] {
  if (entry.intervals.length === 0) return entry.chunks;
  const out: EncodedChunk[] = [];
  for (const c of entry.chunks) {
    const touching = entry.intervals.filter((iv) => c.minTime <= iv.maxTime && iv.minTime <= c.maxTime);
    if (touching.length === 0) {
      out.push(c);
      continue;
    }
    if (c.encoding !== ChunkEncoding.XOR) {
      // Native histograms: Prometheus's populateChunksFromIterable re-encodes the surviving
      // samples in the chunk's own encoding, cutting only where the appender must.
      const kept = decodeChunkSamples(c, entry).filter(
        (s) => !touching.some((iv) => s.t >= iv.minTime && s.t <= iv.maxTime),
      );
      out.push(...encodeChunkSamples(kept));
      continue;
    }
    const { timestamps, values, n } = decodeChunk(c, entry);
    let w = 0;
    for (let i = 0; i < n; i++) {
      const t = timestamps[i] as number;
      if (touching.some((iv) => t >= iv.minTime && t <= iv.maxTime)) continue;
      timestamps[w] = t;
      values[w] = values[i] as number;
      w++;
    }
    if (w === 0) continue;
    out.push({
      minTime: timestamps[0] as number,
      maxTime: timestamps[w - 1] as number,
      encoding: ChunkEncoding.XOR,
      data: encodeXorChunk(timestamps, values, 0, w),
    });
  }
  return out;
}

/** Decodes an XOR chunk into fresh columns (native histogram chunks are rewritten by rewrite.ts). */
export function decodeChunk(
  c: EncodedChunk,
  where: { labels: Labels; block: string },
): { timestamps: Float64Array; values: Float64Array; n: number } {
  if (c.encoding !== ChunkEncoding.XOR) {
    throw new ThanosError(
      'ERR_UNSUPPORTED_CHUNK_ENCODING',
      `${where.block}: series ${where.labels.toString()}: chunk [${c.minTime}, ${c.maxTime}] has encoding ${c.encoding}; only XOR chunks can be rewritten (deletions or overlaps)`,
    );
  }
  const cap = xorNumSamples(c.data);
  const timestamps = new Float64Array(cap);
  const values = new Float64Array(cap);
  const n = decodeXorInto(c.data, timestamps, values, 0, where.block);
  return { timestamps, values, n };
}
