import {
  type BlockReader,
  BlockWriter,
  ChunkEncoding,
  compareLabels,
  decodeXorInto,
  type EncodedChunk,
  encodeXorChunk,
  InvalidArgumentError,
  type Labels,
  openBlock,
  type ThanosMeta,
  type WrittenBlock,
  xorNumSamples,
} from '@thanos-ts/tsdb';
import { compactBlockMetas } from '@thanos-ts/tsdb/compact';
import { dedupReplicas, type SampleColumns } from '../query/dedup.js';

/** Options of {@link compactBlocksPenalty}. */
export interface PenaltyCompactOptions {
  /** Local directories of the blocks to merge (any order). */
  blockDirs: readonly string[];
  /** Directory the new block is created in. */
  outDir: string;
  /** The `thanos` section of the new block (group labels, resolution, source). */
  thanos: Pick<ThanosMeta, 'labels' | 'downsample' | 'source'>;
  signal?: AbortSignal;
}

/** A min-heap moving elements as Go's container/heap does, so ties break as in Thanos. */
class Heap<T> {
  readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}
  push(x: T): void {
    const h = this.items;
    h.push(x);
    for (let j = h.length - 1; ; ) {
      const i = Math.trunc((j - 1) / 2);
      if (i === j || !this.less(h[j] as T, h[i] as T)) break;
      [h[i], h[j]] = [h[j] as T, h[i] as T];
      j = i;
    }
  }
  pop(): T | undefined {
    const h = this.items;
    const n = h.length - 1;
    if (n < 0) return undefined;
    [h[0], h[n]] = [h[n] as T, h[0] as T];
    for (let i = 0; ; ) {
      const j1 = 2 * i + 1;
      if (j1 >= n || j1 < 0) break;
      let j = j1;
      const j2 = j1 + 1;
      if (j2 < n && this.less(h[j2] as T, h[j1] as T)) j = j2;
      if (!this.less(h[j] as T, h[i] as T)) break;
      [h[i], h[j]] = [h[j] as T, h[i] as T];
      i = j;
    }
    return h.pop();
  }
}

class ChunkList {
  private i = -1;
  constructor(private readonly chunks: readonly EncodedChunk[]) {}
  next(): boolean {
    this.i++;
    return this.i < this.chunks.length;
  }
  at(): EncodedChunk {
    return this.chunks[this.i] as EncodedChunk;
  }
}

function samplesOf(c: EncodedChunk, where: string): SampleColumns {
  if (c.encoding !== ChunkEncoding.XOR)
    throw new InvalidArgumentError(
      `${where}: chunk [${c.minTime}, ${c.maxTime}] has encoding ${c.encoding}; penalty deduplication merges XOR chunks only`,
    );
  const timestamps = new Float64Array(xorNumSamples(c.data));
  const values = new Float64Array(timestamps.length);
  const n = decodeXorInto(c.data, timestamps, values, 0, where);
  return { timestamps: timestamps.subarray(0, n), values: values.subarray(0, n) };
}

// Prometheus's seriesToChunkEncoder cuts re-encoded samples every 120.
const SPLIT = 120;

/**
 * Merges one series' chunk lists from several blocks the way Thanos's penalty vertical
 * compaction does (pkg/dedup/chunk_iter.go dedupChunksIterator): chunks come off a heap by
 * (minTime, maxTime); a chunk overlapping nothing is kept as is, 1:1 duplicates are dropped, and a
 * run of overlapping chunks is deduplicated with the penalty algorithm (the first chunk as base,
 * each overlapping one folded in, without counter adjustment) and re-encoded in chunks of 120
 * samples, whose tail goes back on the heap.
 */
export function penaltyMergeChunks(lists: readonly (readonly EncodedChunk[])[], where: string): EncodedChunk[] {
  const less = (a: ChunkList, b: ChunkList) => {
    const x = a.at();
    const y = b.at();
    return x.minTime === y.minTime ? x.maxTime < y.maxTime : x.minTime < y.minTime;
  };
  const heap = new Heap<ChunkList>(less);
  for (const l of lists) {
    const c = new ChunkList(l);
    if (c.next()) heap.push(c);
  }
  const out: EncodedChunk[] = [];
  for (;;) {
    const it = heap.pop();
    if (!it) break;
    const curr = it.at();
    if (it.next()) heap.push(it);
    const overlapping: EncodedChunk[] = [];
    let oMaxTime = curr.maxTime;
    let prev = curr;
    for (let top = heap.items[0]; top; top = heap.items[0]) {
      const next = top.at();
      if (next.minTime > oMaxTime) break;
      const dup =
        next.minTime === prev.minTime &&
        next.maxTime === prev.maxTime &&
        next.data.length === prev.data.length &&
        next.data.every((b, i) => b === prev.data[i]);
      if (!dup) {
        overlapping.push(next);
        if (next.maxTime > oMaxTime) oMaxTime = next.maxTime;
        prev = next;
      }
      heap.pop();
      if (top.next()) heap.push(top);
    }
    if (overlapping.length === 0) {
      out.push(curr);
      continue;
    }
    const merged = dedupReplicas([samplesOf(curr, where), ...overlapping.map((c) => samplesOf(c, where))], false);
    const chunks: EncodedChunk[] = [];
    const n = merged.timestamps.length;
    for (let i = 0; i < n; i += SPLIT) {
      const end = Math.min(n, i + SPLIT);
      chunks.push({
        minTime: merged.timestamps[i] as number,
        maxTime: merged.timestamps[end - 1] as number,
        encoding: ChunkEncoding.XOR,
        data: encodeXorChunk(merged.timestamps, merged.values, i, end),
      });
    }
    const rest = new ChunkList(chunks);
    if (!rest.next()) continue;
    out.push(rest.at());
    if (rest.next()) heap.push(rest);
  }
  return out;
}

interface Entry {
  labels: Labels;
  chunks: EncodedChunk[];
}

async function* seriesOf(block: BlockReader, signal?: AbortSignal): AsyncGenerator<Entry> {
  if (block.tombstones.size > 0)
    throw new InvalidArgumentError(
      `${block.name}: has tombstones; penalty deduplication does not apply deletions (rewrite the block first)`,
    );
  const postings = await block.index.allPostings(signal);
  for (let i = 0; i < postings.length; i += 256) {
    signal?.throwIfAborted();
    const series = await block.index.series(postings.subarray(i, i + 256), signal ? { signal } : {});
    const raw = await block.chunks.readChunks(
      series.flatMap((s) => s.chunks.map((c) => c.ref)),
      signal,
    );
    let k = 0;
    for (const s of series) {
      yield {
        labels: s.labels,
        chunks: s.chunks.map((c) => {
          const r = raw[k++] as { encoding: number; data: Uint8Array };
          return { minTime: c.minTime, maxTime: c.maxTime, encoding: r.encoding as ChunkEncoding, data: r.data };
        }),
      };
    }
  }
}

/**
 * Compacts overlapping raw blocks into one with Thanos's penalty deduplication
 * (`--deduplication.func=penalty`): HA replicas scraped at different timestamps become one series
 * at one replica's sampling rate, gaps in one filled from the other. Streams series in label order
 * like compactBlocks and writes through BlockWriter (temporary directory, renamed at the end).
 * Blocks with tombstones or non-XOR chunks in an overlap are refused. Returns undefined when no
 * series has samples.
 */
export async function compactBlocksPenalty(opts: PenaltyCompactOptions): Promise<WrittenBlock | undefined> {
  const { signal } = opts;
  const readers: BlockReader[] = [];
  try {
    for (const d of opts.blockDirs) readers.push(await openBlock(d, signal ? { signal } : {}));
    readers.sort((a, b) => a.meta.minTime - b.meta.minTime);
    // The writer picks the ULID; compactBlockMetas only needs one for the meta it returns.
    const meta = compactBlockMetas(
      'pending',
      readers.map((r) => r.meta),
    );
    const writer = await BlockWriter.create({
      outDir: opts.outDir,
      minTime: meta.minTime,
      maxTime: meta.maxTime,
      compactionLevel: meta.compaction.level,
      sources: meta.compaction.sources ?? [],
      parents: meta.compaction.parents ?? [],
      thanos: { labels: { ...opts.thanos.labels }, downsample: opts.thanos.downsample, source: opts.thanos.source },
    });
    try {
      const cursors = readers.map((r) => ({ gen: seriesOf(r, signal), cur: undefined as Entry | undefined }));
      for (const c of cursors) c.cur = (await c.gen.next()).value as Entry | undefined;
      for (;;) {
        signal?.throwIfAborted();
        let min: Labels | undefined;
        for (const c of cursors) if (c.cur && (!min || compareLabels(c.cur.labels, min) < 0)) min = c.cur.labels;
        if (!min) break;
        const lists: EncodedChunk[][] = [];
        for (const c of cursors) {
          if (c.cur && compareLabels(c.cur.labels, min) === 0) {
            lists.push(c.cur.chunks);
            c.cur = (await c.gen.next()).value as Entry | undefined;
          }
        }
        const chunks = lists.length === 1 ? (lists[0] as EncodedChunk[]) : penaltyMergeChunks(lists, min.toString());
        if (chunks.length > 0) await writer.addSeries(min, chunks);
      }
    } catch (err) {
      await writer.abort();
      throw err;
    }
    return await writer.commit();
  } finally {
    for (const r of readers) await r.close();
  }
}
