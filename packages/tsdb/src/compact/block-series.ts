import type { BlockReader } from '../block/reader.js';
import type { Interval } from '../block/tombstones.js';
import { ChunkEncoding, type EncodedChunk } from '../chunkenc/chunk.js';
import { decodeXorInto, xorNumSamples } from '../chunkenc/xor.js';
import { encodeXorChunk } from '../chunkenc/xor-bulk.js';
import { ThanosError } from '../errors.js';
import type { Labels } from '../labels/labels.js';

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

// Series read per index lookup: bounds memory per block to this many series' chunks.
const SERIES_BATCH = 512;

/**
 * Streams every series of a block in label order (the order of the block's all-series postings),
 * in batches, with chunk bytes read per batch. Mirrors Prometheus's blockBaseSeriesSet
 * (tsdb/querier.go): chunks outside [mint, maxt] or inside one deletion interval are dropped,
 * series left without chunks are skipped, and a series with chunks reaching outside [mint, maxt]
 * gets the outside as extra deletion intervals.
 */
export async function* blockSeriesBatches(
  block: BlockReader,
  mint: number,
  maxt: number,
  signal?: AbortSignal,
): AsyncGenerator<BlockSeriesEntry[]> {
  const postings = await block.index.allPostings(signal);
  for (let i = 0; i < postings.length; i += SERIES_BATCH) {
    signal?.throwIfAborted();
    const series = await block.index.series(postings.subarray(i, i + SERIES_BATCH), { signal });
    const batch: BlockSeriesEntry[] = [];
    const refs: number[] = [];
    const targets: EncodedChunk[] = [];
    for (const s of series) {
      let intervals = block.tombstones.get(s.ref) ?? [];
      let trimFront = false;
      let trimBack = false;
      const chunks: EncodedChunk[] = [];
      for (const c of s.chunks) {
        if (c.maxTime < mint || c.minTime > maxt) continue;
        if (intervals.some((iv) => iv.minTime <= c.minTime && c.maxTime <= iv.maxTime)) continue;
        const chunk: EncodedChunk = {
          minTime: c.minTime,
          maxTime: c.maxTime,
          encoding: ChunkEncoding.None,
          data: EMPTY,
        };
        chunks.push(chunk);
        refs.push(c.ref);
        targets.push(chunk);
        if (c.minTime < mint) trimFront = true;
        if (c.maxTime > maxt) trimBack = true;
      }
      if (chunks.length === 0) continue;
      if (trimFront) intervals = addInterval(intervals, { minTime: Number.NEGATIVE_INFINITY, maxTime: mint - 1 });
      if (trimBack) intervals = addInterval(intervals, { minTime: maxt + 1, maxTime: Number.POSITIVE_INFINITY });
      batch.push({ labels: s.labels, chunks, intervals, block: block.name });
    }
    if (refs.length > 0) {
      const raw = await block.chunks.readChunks(refs, signal);
      for (let k = 0; k < raw.length; k++) {
        const t = targets[k] as EncodedChunk;
        const r = raw[k] as { encoding: ChunkEncoding; data: Uint8Array };
        t.encoding = r.encoding;
        t.data = r.data;
      }
    }
    if (batch.length > 0) yield batch;
  }
}

const EMPTY = new Uint8Array(0);

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

/** Decodes an XOR chunk into fresh columns; other encodings cannot be rewritten yet. */
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
