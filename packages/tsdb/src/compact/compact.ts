import { ulid as newUlid } from 'ulid';
import { type BlockMeta, readBlockMeta, type ThanosMeta, writeBlockMeta } from '../block/meta.js';
import { type BlockReader, openBlock } from '../block/reader.js';
import { BlockWriter, type WrittenBlock } from '../block/writer.js';
import type { EncodedChunk } from '../chunkenc/chunk.js';
import type { ChunkRecords } from '../chunks/segment-writer.js';
import { InvalidArgumentError } from '../errors.js';
import { compareStrings, type Labels } from '../labels/labels.js';
import { applyDeletions, BlockSeriesCursor } from './block-series.js';
import { GoHeap } from './go-heap.js';
import { mergeSeriesChunks } from './merge.js';
import { RecordMerger } from './merge-records.js';

/** The Thanos meta.json section for a compacted block; omitted fields come from the inputs. */
export interface CompactThanosOptions {
  /** External labels of the group. Default: the inputs' (which must agree). */
  labels?: Record<string, string>;
  /** Resolution in ms (0 raw, 300000, 3600000). Default: the inputs'. */
  downsample?: { resolution: number };
  /** Producer. Default 'compactor' (Thanos's metadata.CompactorSource). */
  source?: string;
}

/** Options for compactBlocks. */
export interface CompactBlocksOptions {
  /** Directories of the input blocks (any order; they are merged in minTime order). At least one. */
  blockDirs: readonly string[];
  /** Directory the new block is created in. */
  outDir: string;
  /** ULID of the new block; a new one by default. */
  ulid?: string;
  /**
   * When set, samples that must be re-encoded (overlapping chunks) are cut with the head's rule
   * for this chunk range, ms. Default: Prometheus's compactor rule, 120 samples per chunk.
   */
  chunkRange?: number;
  /**
   * Write a `thanos` section to meta.json. Also written, from the inputs, when they have one.
   * Inputs with different external labels or resolutions are refused, as Thanos never groups them.
   */
  thanos?: CompactThanosOptions;
  /** Maximum chunk segment size, bytes (default 512 MiB). */
  segmentSize?: number;
  /**
   * When everything was deleted and no block results, set `compaction.deletable` in each input's
   * meta.json, as Prometheus's LeveledCompactor.Compact does. Default false (Thanos's compactor
   * marks the inputs for deletion in the bucket instead).
   */
  markDeletableWhenEmpty?: boolean;
  /** Aborts the compaction; the partly written block is removed and nothing becomes visible. */
  signal?: AbortSignal;
  /** Called after each series is written with the number written so far (progress, metrics). */
  onProgress?: (seriesWritten: number) => void;
}

/**
 * Prometheus's CompactBlockMetas (tsdb/compact.go): the meta of a block made from `metas`. Level is
 * one more than the highest input level, sources are the union of the inputs' sources sorted,
 * parents are the inputs (ulid, minTime, maxTime), and the time range is the union. Stats are
 * left empty for the writer to fill.
 */
export function compactBlockMetas(ulid: string, metas: readonly BlockMeta[]): BlockMeta {
  if (metas.length === 0) throw new InvalidArgumentError('cannot compact zero blocks');
  let minTime = Number.POSITIVE_INFINITY;
  let maxTime = Number.NEGATIVE_INFINITY;
  let level = 0;
  const sources = new Set<string>();
  for (const m of metas) {
    if (m.minTime < minTime) minTime = m.minTime;
    if (m.maxTime > maxTime) maxTime = m.maxTime;
    if (m.compaction.level > level) level = m.compaction.level;
    for (const s of m.compaction.sources ?? []) sources.add(s);
  }
  return {
    ulid,
    minTime,
    maxTime,
    stats: {},
    compaction: {
      level: level + 1,
      // ULIDs in Crockford base32 sort like their bytes, which is how Prometheus compares them.
      sources: [...sources].sort(),
      parents: metas.map((m) => ({ ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime })),
    },
    version: 1,
  };
}

/**
 * Compacts blocks into one new block, streaming (Prometheus's LeveledCompactor.Compact with the
 * default block populator): every input's series are read in label order and merged across
 * blocks; a series' chunks are copied byte for byte unless a tombstone touches them or they
 * overlap another block's chunks, in which case they are re-encoded (vertical compaction, keeping
 * one sample per timestamp as Prometheus does). Only a batch or two of series per input and the
 * output postings are held in memory, never the whole data. The output's symbol table is the union
 * of the inputs', as Prometheus writes it.
 *
 * The block is written to `<outDir>/<ulid>.tmp-for-creation` and renamed to `<outDir>/<ulid>`
 * last, so an aborted or failed compaction leaves nothing visible (its temporary directory is
 * removed). Returns undefined, writing nothing, when no sample survives (everything deleted).
 * The inputs are only read (unless markDeletableWhenEmpty). Safe to run concurrently on
 * different outputs.
 */
export async function compactBlocks(opts: CompactBlocksOptions): Promise<WrittenBlock | undefined> {
  if (opts.blockDirs.length === 0) throw new InvalidArgumentError('cannot populate block from no readers');
  const { signal } = opts;
  signal?.throwIfAborted();
  const readers: BlockReader[] = [];
  try {
    for (const dir of opts.blockDirs) readers.push(await openBlock(dir, { signal }));
    // Prometheus's populator expects its blocks sorted by minTime (Plan returns them so).
    const order = readers.map((r, i) => ({ r, i })).sort((a, b) => a.r.meta.minTime - b.r.meta.minTime || a.i - b.i);
    const blocks = order.map((o) => o.r);
    const id = opts.ulid ?? newUlid();
    const meta = compactBlockMetas(
      id,
      blocks.map((b) => b.meta),
    );
    const thanos = thanosSection(
      blocks.map((b) => b.meta),
      opts.thanos,
    );
    // Prometheus writes the union of its inputs' symbols, used or not.
    const symbolSet = new Set<string>();
    for (const b of blocks) for (const sym of b.index.symbolTable()) symbolSet.add(sym);
    const symbols = [...symbolSet].sort(compareStrings);
    const writer = await BlockWriter.create({
      symbols,
      outDir: opts.outDir,
      ulid: id,
      minTime: meta.minTime,
      maxTime: meta.maxTime,
      compactionLevel: meta.compaction.level,
      sources: meta.compaction.sources ?? [],
      parents: meta.compaction.parents ?? [],
      ...(thanos ? { thanos } : {}),
      ...(opts.segmentSize === undefined ? {} : { segmentSize: opts.segmentSize }),
    });
    try {
      await populate(blocks, symbols, meta, writer, opts);
      signal?.throwIfAborted();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    if (writer.seriesCount === 0) {
      await writer.abort();
      if (opts.markDeletableWhenEmpty) {
        for (const dir of opts.blockDirs) {
          const m = await readBlockMeta(dir);
          m.compaction.deletable = true;
          await writeBlockMeta(dir, m);
        }
      }
      return undefined;
    }
    return await writer.commit();
  } finally {
    for (const r of readers) await r.close();
  }
}

// Prometheus's DefaultBlockPopulator.PopulateBlock: a merge of the blocks' series sets (heap by
// labels, equal labels popped together in heap order), each series' chunks through the compacting
// chunk merger when it is in more than one block. The common case — a series' chunks from the
// blocks following each other in time, no deletions — copies the chunk records as they are.
async function populate(
  blocks: readonly BlockReader[],
  symbols: readonly string[],
  meta: BlockMeta,
  writer: BlockWriter,
  opts: CompactBlocksOptions,
): Promise<void> {
  const { signal } = opts;
  const position = new Map<string, number>();
  for (let i = 0; i < symbols.length; i++) position.set(symbols[i] as string, i);
  const heap = new GoHeap<BlockSeriesCursor>((a, b) => compareCursorLabels(a, b) < 0);
  for (const b of blocks) {
    const table = b.index.symbolTable();
    const map = new Uint32Array(table.length);
    for (let i = 0; i < table.length; i++) map[i] = position.get(table[i] as string) as number;
    // Block ranges are half-open, [minTime, maxTime): the last millisecond included is maxTime-1.
    const c = await BlockSeriesCursor.open(b, map, symbols, meta.minTime, meta.maxTime - 1, signal);
    if (c) heap.push(c);
  }
  const group: BlockSeriesCursor[] = [];
  const ordered: BlockSeriesCursor[] = [];
  const copier = new SeriesCopier();
  const merger = new RecordMerger();
  // The record merger cuts merged samples in 120s; a head chunk range takes the general path.
  const mergeRecords = opts.chunkRange === undefined;
  let written = 0;
  for (;;) {
    for (const c of group) if (c.advanceInBatch() || (await c.nextBatch())) heap.push(c);
    const top = heap.pop();
    if (!top) break;
    signal?.throwIfAborted();
    group.length = 0;
    group.push(top);
    for (let c = heap.peek(); c && compareCursorLabels(c, top) === 0; c = heap.peek())
      group.push(heap.pop() as BlockSeriesCursor);
    const labelRefs = top.cols.symbolRefs.subarray(top.labelFrom, top.labelTo);

    if (copyable(group, ordered)) {
      if (!copier.tryCopy(ordered, labelRefs, writer)) await copier.copy(labelRefs, writer);
    } else if (mergeRecords && ordered.length > 1 && merger.merge(group)) {
      // Plain parts that overlap (copyable filled `ordered` only when all are plain).
      if (!merger.tryWrite(labelRefs, writer)) await merger.write(labelRefs, writer);
    } else {
      let chunks: EncodedChunk[];
      if (group.length === 1) {
        chunks = applyDeletions(top.entry());
      } else {
        const entries = group.map((c) => c.entry());
        chunks = mergeSeriesChunks(entries.map(applyDeletions), {
          where: { labels: entries[0]?.labels as Labels, block: entries.map((e) => e.block).join(', ') },
          ...(opts.chunkRange === undefined ? {} : { chunkRange: opts.chunkRange }),
        });
      }
      if (chunks.length === 0) continue;
      await writer.addSeriesRefs(labelRefs, chunks);
    }
    written++;
    opts.onProgress?.(written);
  }
}

// Copies a series whose parts are plain and in time order: chunk records gathered from the
// cursors' batches, then handed to the writer (without an await when no I/O is due).
class SeriesCopier {
  private readonly recs: ChunkRecords = {
    count: 0,
    bytes: [],
    recStart: new Int32Array(64),
    encAt: new Int32Array(64),
    dataLen: new Int32Array(64),
  };
  private minTime = new Float64Array(64);
  private maxTime = new Float64Array(64);

  tryCopy(ordered: readonly BlockSeriesCursor[], labelRefs: Uint32Array, writer: BlockWriter): boolean {
    this.gather(ordered);
    return writer.tryCopySeries(labelRefs, this.recs, this.minTime, this.maxTime);
  }

  // After tryCopy returned false: the records are still gathered.
  async copy(labelRefs: Uint32Array, writer: BlockWriter): Promise<void> {
    await writer.copySeries(labelRefs, this.recs, this.minTime, this.maxTime);
  }

  private gather(ordered: readonly BlockSeriesCursor[]): void {
    const recs = this.recs;
    let n = 0;
    for (const c of ordered) n += c.chunkTo - c.chunkFrom;
    if (recs.encAt.length < n) {
      recs.recStart = new Int32Array(n * 2);
      recs.encAt = new Int32Array(n * 2);
      recs.dataLen = new Int32Array(n * 2);
      this.minTime = new Float64Array(n * 2);
      this.maxTime = new Float64Array(n * 2);
    }
    let j = 0;
    for (const c of ordered) j = c.appendRecords(recs, j, this.minTime, this.maxTime);
    recs.count = n;
  }
}

// Labels of the cursors' current series, by output symbol references (which sort like strings).
function compareCursorLabels(a: BlockSeriesCursor, b: BlockSeriesCursor): number {
  const x = a.cols.symbolRefs;
  const y = b.cols.symbolRefs;
  const af = a.labelFrom;
  const bf = b.labelFrom;
  const an = a.labelTo - af;
  const bn = b.labelTo - bf;
  const n = Math.min(an, bn);
  for (let k = 0; k < n; k++) {
    const d = (x[af + k] as number) - (y[bf + k] as number);
    if (d !== 0) return d;
  }
  return an - bn;
}

// Whether the merged series is its blocks' chunks as they are: no deletions or trimming, and (in
// more than one block) every chunk starting after the previous one ends once the blocks' parts
// are put in time order, which is when Prometheus's compacting merge passes every chunk through
// untouched, in that order. Fills `ordered` with the group in that order, or empties it when a part
// is not plain. (The group itself keeps
// heap order: it decides how the cursors go back into the heap, which later merges depend on.)
function copyable(group: readonly BlockSeriesCursor[], ordered: BlockSeriesCursor[]): boolean {
  ordered.length = 0;
  for (const c of group) if (!c.plain) return false;
  // A handful of cursors: insertion sort by first chunk.
  for (const c of group) {
    const t = c.cols.minTime[c.chunkFrom] as number;
    let j = ordered.length - 1;
    for (; j >= 0; j--) {
      const d = ordered[j] as BlockSeriesCursor;
      if ((d.cols.minTime[d.chunkFrom] as number) <= t) break;
      ordered[j + 1] = d;
    }
    ordered[j + 1] = c;
  }
  if (ordered.length === 1) return true;
  let prevMax = Number.NEGATIVE_INFINITY;
  for (const c of ordered) {
    const cols = c.cols;
    for (let k = c.chunkFrom; k < c.chunkTo; k++) {
      if ((cols.minTime[k] as number) <= prevMax) return false;
      prevMax = cols.maxTime[k] as number;
    }
  }
  return true;
}

function thanosSection(metas: readonly BlockMeta[], given: CompactThanosOptions | undefined): ThanosMeta | undefined {
  const withThanos = metas.filter((m) => m.thanos);
  if (!given && withThanos.length === 0) return undefined;
  const first = withThanos[0]?.thanos;
  if (!given?.labels || !given.downsample) {
    for (const m of withThanos) {
      const t = m.thanos as ThanosMeta;
      if (!given?.labels && !sameLabels(t.labels, first?.labels ?? {})) {
        throw new InvalidArgumentError(
          `block ${m.ulid} has external labels ${JSON.stringify(t.labels)}, not ${JSON.stringify(first?.labels)}: blocks of different groups cannot be compacted together`,
        );
      }
      if (!given?.downsample && t.downsample.resolution !== first?.downsample.resolution) {
        throw new InvalidArgumentError(
          `block ${m.ulid} has resolution ${t.downsample.resolution}, not ${first?.downsample.resolution}: blocks of different resolutions cannot be compacted together`,
        );
      }
    }
  }
  return {
    labels: { ...(given?.labels ?? first?.labels ?? {}) },
    downsample: { resolution: given?.downsample?.resolution ?? first?.downsample.resolution ?? 0 },
    source: given?.source ?? 'compactor',
  };
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] === a[k]);
}
