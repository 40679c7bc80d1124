import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid as newUlid } from 'ulid';
import { cutXorChunks, type EncodedChunk } from '../chunkenc/chunk.js';
import { DEFAULT_SEGMENT_SIZE } from '../chunks/segment.js';
import { type ChunkRecords, ChunkSegmentWriter } from '../chunks/segment-writer.js';
import { InvalidArgumentError } from '../errors.js';
import { IndexWriter } from '../index/writer.js';
import { compareLabels, type Labels } from '../labels/labels.js';
import { type BlockDesc, type BlockMeta, syncDir, type ThanosMeta, writeBlockMeta } from './meta.js';
import { writeTombstones } from './tombstones.js';

/** Prometheus's default block duration, 2h in ms. */
export const DEFAULT_BLOCK_DURATION = 2 * 60 * 60 * 1000;

/** One series to write: labels and its samples sorted by time. */
export interface SeriesToWrite {
  labels: Labels;
  timestamps: ArrayLike<number>;
  values: ArrayLike<number>;
  /**
   * Native histogram chunks of the series, already encoded (e.g. by the head), sorted by time and
   * not overlapping the float samples' range chunks; written beside the XOR chunks cut from the
   * float samples, all in time order.
   */
  histogramChunks?: readonly EncodedChunk[];
}

/** Options for writeBlock. */
export interface WriteBlockOptions {
  /** Directory the block directory is created in. */
  outDir: string;
  /** Block ULID; a new one by default. */
  ulid?: string;
  /**
   * Chunk range the chunk cutter aligns chunk ends to, ms. Default 2 × DEFAULT_BLOCK_DURATION,
   * which is what promtool's backfill uses, so chunks are cut where promtool cuts them.
   */
  chunkRange?: number;
  /** Override meta minTime/maxTime (default: first sample, last sample + 1, as Prometheus). */
  minTime?: number;
  maxTime?: number;
  /** Compaction level (default 1) and sources (default [ulid]). */
  compactionLevel?: number;
  sources?: string[];
  /** Thanos section to add to meta.json. */
  thanos?: ThanosMeta;
  /** Maximum chunk segment size, bytes (default 512 MiB). */
  segmentSize?: number;
  signal?: AbortSignal;
}

/** Result of writeBlock. */
export interface WrittenBlock {
  ulid: string;
  dir: string;
  meta: BlockMeta;
}

/**
 * Writes one block from a stream of series sorted by labels. Everything goes to
 * `<outDir>/<ulid>.tmp-for-creation` first (chunks, index, tombstones, then meta.json last), is
 * fsynced, and the directory is renamed to `<outDir>/<ulid>` only at the end, so a partly written
 * block never looks complete. Series without samples are left out, as Prometheus does. Returns
 * undefined when no series had samples (Prometheus's ErrNoSeriesAppended).
 */
export async function writeBlock(
  series: Iterable<SeriesToWrite> | AsyncIterable<SeriesToWrite>,
  opts: WriteBlockOptions,
): Promise<WrittenBlock | undefined> {
  const w = await BlockWriter.create(opts);
  try {
    const chunkRange = opts.chunkRange ?? 2 * DEFAULT_BLOCK_DURATION;
    for await (const s of series) {
      opts.signal?.throwIfAborted();
      w.checkOrder(s.labels);
      let chunks = cutXorChunks(s.timestamps, s.values, chunkRange);
      if (s.histogramChunks && s.histogramChunks.length > 0) {
        chunks = [...chunks, ...s.histogramChunks].sort((a, b) => a.minTime - b.minTime);
      }
      if (chunks.length === 0) continue;
      await w.addSeries(s.labels, chunks);
    }
  } catch (err) {
    await w.abort();
    throw err;
  }
  return w.commit();
}

/** Options for BlockWriter.create: writeBlock's options without the chunk cutting. */
export interface BlockWriterOptions {
  /** Directory the block directory is created in. */
  outDir: string;
  /** Block ULID; a new one by default. */
  ulid?: string;
  /** Override meta minTime/maxTime (default: first chunk's minTime, last chunk's maxTime + 1). */
  minTime?: number;
  maxTime?: number;
  /** Compaction level (default 1), sources (default [ulid]) and parents (default none). */
  compactionLevel?: number;
  sources?: string[];
  parents?: BlockDesc[];
  /** Thanos section to add to meta.json (`files` is filled in when absent). */
  thanos?: ThanosMeta;
  /** Maximum chunk segment size, bytes (default 512 MiB). */
  segmentSize?: number;
  /**
   * Every symbol the series will use, sorted in Go byte order and unique (compaction: the union of
   * its inputs' symbols, as Prometheus writes). The index is then written as series are added
   * instead of held until commit, and addSeriesRefs/copySeries may be used.
   */
  symbols?: readonly string[];
}

/**
 * Streams one block to disk series by series, with already encoded chunks (Prometheus's
 * chunks.Writer + index.Writer as LeveledCompactor.write drives them). Chunk bytes go to the
 * segment files as each series is added, so memory holds only the index entries (labels and chunk
 * metas; with `symbols`, only the postings), never the samples. Files are written under `<outDir>/<ulid>.tmp-for-creation`;
 * `commit()` writes tombstones and meta.json, fsyncs and renames the directory into place, and
 * `abort()` removes it. Not safe for concurrent use; call exactly one of commit/abort.
 */
export class BlockWriter {
  /** The final block directory, `<outDir>/<ulid>`. */
  readonly dir: string;
  /** The temporary directory written to until commit. */
  readonly tmpDir: string;
  private numSamples = 0;
  private numSeries = 0;
  private numChunks = 0;
  private minTime = Number.POSITIVE_INFINITY;
  private maxTime = Number.NEGATIVE_INFINITY;
  private last: Labels | undefined;
  private closed = false;
  private readonly metaCols = {
    count: 0,
    minTime: new Float64Array(64),
    maxTime: new Float64Array(64),
    ref: new Float64Array(64),
  };

  private constructor(
    readonly ulid: string,
    private readonly opts: BlockWriterOptions,
    private readonly chunkWriter: ChunkSegmentWriter,
    private readonly index: IndexWriter,
  ) {
    this.dir = join(opts.outDir, ulid);
    this.tmpDir = `${this.dir}.tmp-for-creation`;
  }

  /** Creates `<outDir>/<ulid>.tmp-for-creation` (removing a stale one) and opens the writers. */
  static async create(opts: BlockWriterOptions): Promise<BlockWriter> {
    const id = opts.ulid ?? newUlid();
    const tmp = join(opts.outDir, `${id}.tmp-for-creation`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    try {
      const chunkWriter = new ChunkSegmentWriter(join(tmp, 'chunks'), opts.segmentSize ?? DEFAULT_SEGMENT_SIZE);
      const index = await IndexWriter.create(join(tmp, 'index'), opts.symbols ? { symbols: opts.symbols } : {});
      return new BlockWriter(id, opts, chunkWriter, index);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Series added so far. */
  get seriesCount(): number {
    return this.numSeries;
  }

  /** Throws InvalidArgumentError unless `labels` sorts strictly after the previous series. */
  checkOrder(labels: Labels): void {
    if (this.last && compareLabels(labels, this.last) <= 0) {
      throw new InvalidArgumentError(`series not sorted by labels: ${labels.toString()} after ${this.last.toString()}`);
    }
    this.last = labels;
  }

  /**
   * Adds one series with its chunks (sorted by time, at least one). Labels must sort after the
   * previous series'. Sample counts come from the chunks' headers (XOR and histogram chunks both
   * start with a 2-byte big-endian count).
   */
  async addSeries(labels: Labels, chunks: readonly EncodedChunk[]): Promise<void> {
    if (this.last !== labels) this.checkOrder(labels);
    const refs = await this.chunkWriter.writeChunks(chunks);
    this.index.addSeries(
      labels,
      chunks.map((c, i) => ({ minTime: c.minTime, maxTime: c.maxTime, ref: refs[i] as number })),
    );
    this.countChunks(chunks);
    await this.index.drain();
  }

  /**
   * Like addSeries with the labels given as references into `symbols` (name, value, …), which
   * must sort after the previous series'. Only for a writer created with `symbols`.
   */
  async addSeriesRefs(symbolRefs: ArrayLike<number>, chunks: readonly EncodedChunk[]): Promise<void> {
    const refs = await this.chunkWriter.writeChunks(chunks);
    const cols = this.cols(chunks.length);
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i] as EncodedChunk;
      cols.minTime[i] = c.minTime;
      cols.maxTime[i] = c.maxTime;
      cols.ref[i] = refs[i] as number;
    }
    this.index.addSeriesRefs(symbolRefs, cols);
    this.countChunks(chunks);
    await this.index.drain();
  }

  /**
   * Adds one series whose chunks are copied byte for byte from segment records in memory (see
   * ChunkSegmentWriter.writeRecords), with their time ranges in `minTime`/`maxTime[0, count)`.
   * Labels are references into `symbols`, sorting after the previous series'. Only for a writer
   * created with `symbols`.
   */
  async copySeries(
    symbolRefs: ArrayLike<number>,
    records: ChunkRecords,
    minTime: ArrayLike<number>,
    maxTime: ArrayLike<number>,
  ): Promise<void> {
    if (this.tryCopySeries(symbolRefs, records, minTime, maxTime)) return;
    await this.index.drain();
    const cols = this.cols(records.count);
    await this.chunkWriter.writeRecords(records, cols.ref);
    this.indexCopied(symbolRefs, records, minTime, maxTime);
  }

  /**
   * copySeries without I/O: adds the series and returns true when nothing needs writing out
   * first; otherwise adds nothing and returns false (then call copySeries). Lets compaction skip
   * an await per series.
   */
  tryCopySeries(
    symbolRefs: ArrayLike<number>,
    records: ChunkRecords,
    minTime: ArrayLike<number>,
    maxTime: ArrayLike<number>,
  ): boolean {
    if (this.index.needsDrain) return false;
    const cols = this.cols(records.count);
    if (!this.chunkWriter.tryWriteRecords(records, cols.ref)) return false;
    this.indexCopied(symbolRefs, records, minTime, maxTime);
    return true;
  }

  // The index entry and stats of a series whose chunk refs are in `metaCols.ref`.
  private indexCopied(
    symbolRefs: ArrayLike<number>,
    records: ChunkRecords,
    minTime: ArrayLike<number>,
    maxTime: ArrayLike<number>,
  ): void {
    const n = records.count;
    const cols = this.metaCols;
    for (let i = 0; i < n; i++) {
      const min = minTime[i] as number;
      const max = maxTime[i] as number;
      cols.minTime[i] = min;
      cols.maxTime[i] = max;
      if (min < this.minTime) this.minTime = min;
      if (max > this.maxTime) this.maxTime = max;
      const b = records.bytes[i] as Uint8Array;
      const at = records.encAt[i] as number;
      this.numSamples += ((b[at + 1] as number) << 8) | (b[at + 2] as number);
    }
    this.index.addSeriesRefs(symbolRefs, cols);
    this.numChunks += n;
    this.numSeries++;
  }

  private cols(n: number): { count: number; minTime: Float64Array; maxTime: Float64Array; ref: Float64Array } {
    const c = this.metaCols;
    if (c.ref.length < n) {
      const cap = Math.max(n, c.ref.length * 2);
      c.minTime = new Float64Array(cap);
      c.maxTime = new Float64Array(cap);
      c.ref = new Float64Array(cap);
    }
    c.count = n;
    return c;
  }

  private countChunks(chunks: readonly EncodedChunk[]): void {
    for (const c of chunks) {
      this.numSamples += ((c.data[0] as number) << 8) | (c.data[1] as number);
      if (c.minTime < this.minTime) this.minTime = c.minTime;
      if (c.maxTime > this.maxTime) this.maxTime = c.maxTime;
    }
    this.numChunks += chunks.length;
    this.numSeries++;
  }

  private async closeWriters(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.chunkWriter.close();
    } finally {
      await this.index.close();
    }
  }

  /**
   * Finishes the block: closes the files, writes an empty tombstones file and meta.json (stats
   * from what was added), fsyncs and renames the temporary directory to `<outDir>/<ulid>`,
   * replacing any directory there. With no series added it removes the temporary directory and
   * returns undefined, like writeBlock.
   */
  async commit(): Promise<WrittenBlock | undefined> {
    const tmp = this.tmpDir;
    const opts = this.opts;
    try {
      await this.closeWriters();
      if (this.numSeries === 0) {
        await rm(tmp, { recursive: true, force: true });
        return undefined;
      }
      await writeTombstones(tmp);
      const compaction: BlockMeta['compaction'] = {
        level: opts.compactionLevel ?? 1,
        sources: opts.sources ?? [this.ulid],
      };
      if (opts.parents?.length) compaction.parents = opts.parents;
      const meta: BlockMeta = {
        ulid: this.ulid,
        minTime: opts.minTime ?? this.minTime,
        maxTime: opts.maxTime ?? this.maxTime + 1,
        stats: { numSamples: this.numSamples, numSeries: this.numSeries, numChunks: this.numChunks },
        compaction,
        version: 1,
      };
      if (opts.thanos) {
        const files = [];
        for (const f of this.chunkWriter.segmentFiles) {
          files.push({ rel_path: `chunks/${f}`, size_bytes: (await stat(join(tmp, 'chunks', f))).size });
        }
        files.push({ rel_path: 'index', size_bytes: (await stat(join(tmp, 'index'))).size });
        files.push({ rel_path: 'meta.json' });
        meta.thanos = { ...opts.thanos, files: opts.thanos.files ?? files };
      }
      await writeBlockMeta(tmp, meta);
      await syncDir(join(tmp, 'chunks'));
      await syncDir(tmp);
      await rm(this.dir, { recursive: true, force: true });
      await rename(tmp, this.dir);
      await syncDir(opts.outDir);
      return { ulid: this.ulid, dir: this.dir, meta };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Closes the files and removes the temporary directory; nothing becomes visible. Idempotent. */
  async abort(): Promise<void> {
    try {
      await this.closeWriters();
    } catch {
      // The directory is removed below whatever state the files were left in.
    }
    await rm(this.tmpDir, { recursive: true, force: true });
  }
}
