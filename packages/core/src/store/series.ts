import { compareLabels, type Labels, type Matcher } from '@thanos-ts/tsdb';
import type { AggrChunk, SeriesRequest, SeriesResponse } from '../storeapi/store-api.js';
import { toAggrChunk } from './aggr-chunk.js';
import type { BucketBlock } from './bucket-block.js';
import type { RequestLimiter } from './limits.js';
import { forEachLimit } from './meta-fetcher.js';

/** Series refs read from the index per round trip. */
const SERIES_BATCH = 8192;
/** Series per streamed batch whose chunks are fetched together. */
const OUTPUT_BATCH_SERIES = 1024;
const OUTPUT_BATCH_CHUNKS = 16384;

interface ChunkRef {
  minTime: number;
  maxTime: number;
  ref: number;
  block: BucketBlock;
}

interface SelectedSeries {
  labels: Labels;
  chunks: ChunkRef[];
}

/**
 * Splits request matchers for one block: matchers on the block's external labels are decided
 * here (undefined when one rejects the block), the rest go to the index (Thanos's
 * bucketBlockSet.labelMatchers).
 */
export function blockMatchers(block: BucketBlock, matchers: readonly Matcher[]): Matcher[] | undefined {
  const rest: Matcher[] = [];
  for (const m of matchers) {
    if (block.extLabels.has(m.name)) {
      if (!m.matches(block.extLabels.get(m.name))) return undefined;
    } else rest.push(m);
  }
  return rest;
}

/** Labels of a block's series as served: external labels added (they win), replica labels dropped. */
export function servedLabels(series: Labels, ext: Labels, without: readonly string[]): Labels {
  let out = series;
  if (ext.size > 0) for (const l of ext) out = out.with(l.name, l.value);
  if (without.length > 0) out = out.without(without);
  return out;
}

/**
 * Selects one block's matching series with their chunk metas in [minTime, maxTime], sorted by
 * served labels. Reserves touched series with the limiter before reading series entries.
 */
export async function selectBlockSeries(
  block: BucketBlock,
  req: SeriesRequest,
  limiter: RequestLimiter,
  signal?: AbortSignal,
): Promise<SelectedSeries[]> {
  const matchers = blockMatchers(block, req.matchers);
  if (!matchers) return [];
  const reader = await block.indexReader(signal);
  const refs =
    matchers.length > 0 ? await reader.postingsForMatchers(matchers, signal) : await reader.allPostings(signal);
  limiter.reserveSeries(refs.length);
  const without = req.withoutReplicaLabels ?? [];
  const relabels = block.extLabels.size > 0 || without.length > 0;
  const out: SelectedSeries[] = [];
  for (let i = 0; i < refs.length; i += SERIES_BATCH) {
    const series = await reader.series(refs.subarray(i, i + SERIES_BATCH), signal ? { signal } : {});
    for (const s of series) {
      const chunks: ChunkRef[] = [];
      for (const c of s.chunks) {
        if (c.maxTime >= req.minTime && c.minTime <= req.maxTime)
          chunks.push({ minTime: c.minTime, maxTime: c.maxTime, ref: c.ref, block });
      }
      if (chunks.length === 0) continue;
      out.push({ labels: relabels ? servedLabels(s.labels, block.extLabels, without) : s.labels, chunks });
    }
  }
  if (relabels) out.sort((a, b) => compareLabels(a.labels, b.labels));
  return out;
}

/** Merges per-block sorted lists into one sorted list, joining equal label sets (chunks by minTime). */
export function mergeBlockSeries(perBlock: SelectedSeries[][]): SelectedSeries[] {
  const nonEmpty = perBlock.filter((l) => l.length > 0);
  if (nonEmpty.length === 0) return [];
  if (nonEmpty.length === 1) return nonEmpty[0] as SelectedSeries[];
  const all = nonEmpty.flat();
  all.sort((a, b) => compareLabels(a.labels, b.labels));
  const out: SelectedSeries[] = [];
  for (const s of all) {
    const last = out[out.length - 1];
    if (last?.labels.equals(s.labels)) {
      last.chunks = [...last.chunks, ...s.chunks].sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
    } else out.push({ labels: s.labels, chunks: s.chunks });
  }
  return out;
}

/** Fetches the chunks of a batch of series, grouped per block into merged ranged reads. */
async function fetchBatch(
  batch: SelectedSeries[],
  req: SeriesRequest,
  limiter: RequestLimiter,
  signal?: AbortSignal,
): Promise<SeriesResponse[]> {
  const byBlock = new Map<BucketBlock, ChunkRef[]>();
  for (const s of batch)
    for (const c of s.chunks) {
      const list = byBlock.get(c.block);
      if (list) list.push(c);
      else byBlock.set(c.block, [c]);
    }
  const data = new Map<ChunkRef, { encoding: number; data: Uint8Array }>();
  await Promise.all(
    [...byBlock].map(async ([block, refs]) => {
      const reader = await block.chunkReader(signal);
      const raws = await reader.readChunks(
        refs.map((r) => r.ref),
        signal,
      );
      for (let i = 0; i < refs.length; i++)
        data.set(refs[i] as ChunkRef, raws[i] as { encoding: number; data: Uint8Array });
    }),
  );
  const aggregates = req.aggregates && req.aggregates.length > 0 ? req.aggregates : ['RAW' as const];
  let samples = 0;
  const out: SeriesResponse[] = [];
  for (const s of batch) {
    const chunks: AggrChunk[] = [];
    for (const c of s.chunks) {
      const raw = data.get(c) as { encoding: number; data: Uint8Array };
      const built = toAggrChunk(c.minTime, c.maxTime, raw.encoding, raw.data, aggregates, `${c.block.id}/chunks`);
      samples += built.samples;
      chunks.push(built.chunk);
    }
    out.push({ type: 'series', series: { labels: s.labels, chunks } });
  }
  limiter.reserveSamples(samples);
  return out;
}

/**
 * Answers a Series request over the given blocks: selects series per block concurrently, merges
 * them in label order, then streams them in batches whose chunks are fetched with merged range
 * reads; the next batch is fetched while the current one is consumed.
 */
export async function* seriesOverBlocks(
  blocks: readonly BucketBlock[],
  req: SeriesRequest,
  limiter: RequestLimiter,
  opts: { concurrency: number; signal?: AbortSignal | undefined },
): AsyncGenerator<SeriesResponse> {
  const { signal } = opts;
  const perBlock: SelectedSeries[][] = new Array(blocks.length);
  await forEachLimit(
    blocks.map((b, i) => [b, i] as const),
    opts.concurrency,
    async ([b, i]) => {
      perBlock[i] = await selectBlockSeries(b, req, limiter, signal);
    },
  );
  let merged = mergeBlockSeries(perBlock);
  if (req.limit && req.limit > 0 && merged.length > req.limit) merged = merged.slice(0, req.limit);
  if (req.skipChunks) {
    for (const s of merged) yield { type: 'series', series: { labels: s.labels, chunks: [] } };
    return;
  }
  const batches: SelectedSeries[][] = [];
  let cur: SelectedSeries[] = [];
  let chunks = 0;
  for (const s of merged) {
    cur.push(s);
    chunks += s.chunks.length;
    if (cur.length >= OUTPUT_BATCH_SERIES || chunks >= OUTPUT_BATCH_CHUNKS) {
      batches.push(cur);
      cur = [];
      chunks = 0;
    }
  }
  if (cur.length > 0) batches.push(cur);
  let next: Promise<SeriesResponse[]> | undefined = batches[0]
    ? fetchBatch(batches[0], req, limiter, signal)
    : undefined;
  for (let i = 0; i < batches.length; i++) {
    const current = next as Promise<SeriesResponse[]>;
    const following = batches[i + 1];
    const ready = await current;
    next = following ? fetchBatch(following, req, limiter, signal) : undefined;
    // Avoid an unhandled rejection if the consumer stops before awaiting the prefetch.
    next?.catch(() => {});
    yield* ready;
  }
}
