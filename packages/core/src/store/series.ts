import { type Tracer, trace } from '@opentelemetry/api';
import { isObjNotFoundErr } from '@thanos-ts/objstore';
import { CorruptionError, compareLabels, compareStrings, Labels, type Matcher } from '@thanos-ts/tsdb';
import { forEachLimit } from '../concurrency/limit.js';
import { createTimeSlice, type TimeSlice } from '../concurrency/time-slice.js';
import { shardMatcher } from '../storeapi/shard.js';
import type { AggrChunk, SeriesRequest, SeriesResponse } from '../storeapi/store-api.js';
import { defaultTracer, withSpan } from '../tracing/context.js';
import { chunkSamples, storeEncoding, toAggrChunk } from './aggr-chunk.js';
import type { BucketBlock } from './bucket-block.js';
import type { RequestLimiter } from './limits.js';
import { postingsForMatchersSliced } from './postings.js';

/**
 * Series refs read from the index per call of the reader. tsdb's reader reads at most 4096
 * entries per ranged read anyway, so this is as few reads as larger calls make, and between
 * calls the request's time slice can yield (one call decodes up to 4096 entries in one task).
 */
const SERIES_BATCH = 4096;
/** Series per streamed batch whose chunks are fetched together. */
const OUTPUT_BATCH_SERIES = 4096;
const OUTPUT_BATCH_CHUNKS = 65536;
/**
 * Series handled between two checks of the request's time slice in per-series loops (a check
 * reads the clock; the work per series is far larger, so checking every few series is enough).
 */
const SERIES_PER_CHECK = 32;

/** A chunk of a selected series: its time range, its ref in `block`'s segment files. */
export interface ChunkRef {
  minTime: number;
  maxTime: number;
  ref: number;
  block: BucketBlock;
}

/** A series selected from one or more blocks, with the chunk metas in the requested range. */
export interface SelectedSeries {
  labels: Labels;
  chunks: ChunkRef[];
}

/**
 * Whether `err` means the block itself is broken (a chunk failing its checksum, a truncated or
 * missing file, an unreadable index entry) rather than the request or the bucket connection.
 */
export function isBlockDamage(err: unknown): err is Error {
  return err instanceof CorruptionError || isObjNotFoundErr(err);
}

/**
 * Called once per request for a block found damaged while serving it; returns the warning to
 * send in the Series stream (the gateway also logs, counts and stops serving the block).
 */
export type BlockDamageHandler = (block: BucketBlock, err: Error) => string;

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
  // One merge pass over two sorted flat arrays: this runs once per series per request.
  const a = series.toFlat();
  const b = ext.toFlat();
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let name: string;
    let value: string;
    if (j >= b.length || (i < a.length && compareStrings(a[i] as string, b[j] as string) < 0)) {
      name = a[i] as string;
      value = a[i + 1] as string;
      i += 2;
    } else {
      name = b[j] as string;
      value = b[j + 1] as string;
      if (i < a.length && a[i] === name) i += 2;
      j += 2;
    }
    if (without.length > 0 && without.includes(name)) continue;
    out.push(name, value);
  }
  return Labels.fromSortedFlat(out);
}

/**
 * Selects one block's matching series with their chunk metas in [minTime, maxTime], sorted by
 * served labels. Reserves touched series with the limiter before reading series entries.
 * Yields to the event loop through `slice` (default: a fresh 10 ms slice) between steps.
 */
export async function selectBlockSeries(
  block: BucketBlock,
  req: SeriesRequest,
  limiter: RequestLimiter,
  signal?: AbortSignal,
  slice: TimeSlice = createTimeSlice(),
): Promise<SelectedSeries[]> {
  const matchers = blockMatchers(block, req.matchers);
  if (!matchers) return [];
  const reader = await block.indexReader(signal);
  const refs =
    matchers.length > 0
      ? await postingsForMatchersSliced(reader, matchers, slice, signal)
      : await reader.allPostings(signal);
  limiter.checkPostings(refs.length);
  await slice.check();
  // On the block's span when the request is traced (a no-op call otherwise).
  trace.getActiveSpan()?.setAttribute('postings', refs.length);
  const without = req.withoutReplicaLabels ?? [];
  const relabels = block.extLabels.size > 0 || without.length > 0;
  // A sharded request keeps its shard's series here, hashed on the served labels, before their
  // chunks count against the limits or are fetched (Thanos's blockSeriesClient with a ShardMatcher).
  const inShard = shardMatcher(req.shardInfo);
  const out: SelectedSeries[] = [];
  for (let i = 0; i < refs.length; i += SERIES_BATCH) {
    let chunkCount = 0;
    const series = await reader.series(refs.subarray(i, i + SERIES_BATCH), signal ? { signal } : {});
    for (let k = 0; k < series.length; k++) {
      if (k % SERIES_PER_CHECK === SERIES_PER_CHECK - 1) {
        const turn = slice.check();
        if (turn) await turn;
      }
      const s = series[k] as (typeof series)[number];
      const chunks: ChunkRef[] = [];
      for (const c of s.chunks) {
        if (c.maxTime >= req.minTime && c.minTime <= req.maxTime)
          chunks.push({ minTime: c.minTime, maxTime: c.maxTime, ref: c.ref, block });
      }
      if (chunks.length === 0) continue;
      const labels = relabels ? servedLabels(s.labels, block.extLabels, without) : s.labels;
      if (inShard && !inShard(labels)) continue;
      chunkCount += chunks.length;
      limiter.reserveSeries(labels.key());
      out.push({ labels, chunks });
    }
    // The samples budget is checked from chunk metas, before any chunk is fetched.
    if (!req.skipChunks) limiter.reserveChunks(chunkCount);
    await slice.check();
  }
  // Added or dropped labels can reorder series; usually they do not, so check before sorting.
  if (relabels) {
    for (let k = 1; k < out.length; k++) {
      if (compareLabels((out[k - 1] as SelectedSeries).labels, (out[k] as SelectedSeries).labels) > 0) {
        return sortSliced(out, slice);
      }
    }
  }
  return out;
}

/** Runs sorted at once, then merged pairwise; between runs and merges the slice is checked. */
const SORT_RUN = 2048;

/**
 * Sorts series by labels like `Array.prototype.sort`, but in steps between which `slice` may
 * yield: runs of SORT_RUN series are sorted, then merged pairwise (a stable merge sort).
 */
export async function sortSliced(list: SelectedSeries[], slice: TimeSlice): Promise<SelectedSeries[]> {
  const cmp = (x: SelectedSeries, y: SelectedSeries) => compareLabels(x.labels, y.labels);
  if (list.length <= SORT_RUN) return list.sort(cmp);
  let runs: SelectedSeries[][] = [];
  for (let i = 0; i < list.length; i += SORT_RUN) {
    runs.push(list.slice(i, i + SORT_RUN).sort(cmp));
    await slice.check();
  }
  while (runs.length > 1) {
    const next: SelectedSeries[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const a = runs[r] as SelectedSeries[];
      const b = runs[r + 1];
      if (!b) {
        next.push(a);
        continue;
      }
      // Series of several blocks are mostly in order already: runs that do not overlap are
      // joined without comparing their series one by one (the native sort is linear there too).
      if (cmp(a[a.length - 1] as SelectedSeries, b[0] as SelectedSeries) <= 0) {
        next.push(a.concat(b));
        continue;
      }
      const m: SelectedSeries[] = new Array(a.length + b.length);
      let i = 0;
      let j = 0;
      let k = 0;
      while (i < a.length && j < b.length) {
        if ((k & 1023) === 1023) {
          const turn = slice.check();
          if (turn) await turn;
        }
        // Ties take from the earlier run: stable, as Array.prototype.sort is.
        m[k++] =
          cmp(b[j] as SelectedSeries, a[i] as SelectedSeries) < 0
            ? (b[j++] as SelectedSeries)
            : (a[i++] as SelectedSeries);
      }
      while (i < a.length) m[k++] = a[i++] as SelectedSeries;
      while (j < b.length) m[k++] = b[j++] as SelectedSeries;
      next.push(m);
    }
    runs = next;
  }
  return runs[0] as SelectedSeries[];
}

/**
 * Merges per-block sorted lists into one sorted list, joining equal label sets. Blocks usually
 * share most of their series, so series are grouped by label key first and only the distinct
 * label sets are sorted (far fewer comparisons than a k-way merge of every entry). Lists come in
 * block time order, so joined chunks are in time order unless blocks overlap; then they are
 * sorted. Takes the lists over: entries are reused and their chunk lists appended to.
 */
export async function mergeBlockSeries(
  perBlock: SelectedSeries[][],
  slice: TimeSlice = createTimeSlice(),
): Promise<SelectedSeries[]> {
  const lists = perBlock.filter((l) => l.length > 0);
  if (lists.length === 0) return [];
  if (lists.length === 1) return lists[0] as SelectedSeries[];
  const byKey = new Map<string, SelectedSeries>();
  const unsorted = new Set<SelectedSeries>();
  for (const list of lists) {
    for (let k = 0; k < list.length; k++) {
      if (k % SERIES_PER_CHECK === SERIES_PER_CHECK - 1) {
        const turn = slice.check();
        if (turn) await turn;
      }
      const s = list[k] as SelectedSeries;
      const key = s.labels.key();
      const have = byKey.get(key);
      if (!have) {
        // The lists are this request's own: the first block's entry takes the others' chunks.
        byKey.set(key, s);
        continue;
      }
      const prev = have.chunks[have.chunks.length - 1] as ChunkRef;
      for (const c of s.chunks) have.chunks.push(c);
      if ((s.chunks[0] as ChunkRef).minTime < prev.minTime) unsorted.add(have);
    }
  }
  for (const s of unsorted) s.chunks.sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
  await slice.check();
  return sortSliced([...byKey.values()], slice);
}

/** Fetches the chunks of a batch of series, grouped per block into merged ranged reads. */
async function fetchBatch(
  batch: SelectedSeries[],
  req: SeriesRequest,
  limiter: RequestLimiter,
  damage: DamageTracker,
  tracer: Tracer,
  slice: TimeSlice,
  signal?: AbortSignal,
): Promise<SeriesResponse[]> {
  // Chunks of the batch in output order; per block, the positions of its chunks in that list.
  const flat: ChunkRef[] = [];
  const byBlock = new Map<BucketBlock, number[]>();
  for (const s of batch)
    for (const c of s.chunks) {
      const list = byBlock.get(c.block);
      if (list) list.push(flat.length);
      else byBlock.set(c.block, [flat.length]);
      flat.push(c);
    }
  const raws: Array<{ encoding: number; data: Uint8Array } | undefined> = new Array(flat.length);
  const warnings: SeriesResponse[] = [];
  await Promise.all(
    [...byBlock].map(async ([block, positions]) => {
      if (damage.bad.has(block)) return;
      let got: Array<{ encoding: number; data: Uint8Array }>;
      try {
        got = await withSpan(
          tracer,
          'bucket_store_fetch_chunks',
          { 'block.id': block.id, chunks: positions.length },
          async (span) => {
            const read = await block.chunkReader().readChunks(
              positions.map((i) => (flat[i] as ChunkRef).ref),
              signal,
              slice,
            );
            if (span.isRecording()) {
              let bytes = 0;
              for (const c of read) bytes += c.data.byteLength;
              span.setAttribute('bytes', bytes);
            }
            return read;
          },
        );
      } catch (err) {
        // One damaged block must not hide every other block's data: its chunks are left out,
        // the rest of the batch is served, and the client is told which block is missing.
        if (!isBlockDamage(err)) throw err;
        const w = damage.report(block, err);
        if (w) warnings.push({ type: 'warning', warning: w });
        return;
      }
      for (let k = 0; k < positions.length; k++)
        raws[positions[k] as number] = got[k] as { encoding: number; data: Uint8Array };
    }),
  );
  const aggregates = req.aggregates && req.aggregates.length > 0 ? req.aggregates : ['RAW' as const];
  let samples = 0;
  let at = 0;
  const out: SeriesResponse[] = warnings;
  for (let i = 0; i < batch.length; i++) {
    if (i % SERIES_PER_CHECK === SERIES_PER_CHECK - 1) {
      const turn = slice.check();
      if (turn) await turn;
    }
    const s = batch[i] as SelectedSeries;
    const chunks: AggrChunk[] = [];
    for (let j = 0; j < s.chunks.length; j++, at++) {
      const c = flat[at] as ChunkRef;
      const raw = raws[at];
      if (!raw) continue; // from a damaged block
      // Raw chunks (all but downsampled blocks') are built here, without toAggrChunk's wrapper
      // object: one object fewer per chunk for the GC.
      const type = storeEncoding(raw.encoding);
      if (type !== undefined) {
        samples += chunkSamples(raw.data);
        chunks.push({ minTime: c.minTime, maxTime: c.maxTime, raw: { type, data: raw.data } });
        continue;
      }
      let built: ReturnType<typeof toAggrChunk>;
      try {
        built = toAggrChunk(c.minTime, c.maxTime, raw.encoding, raw.data, aggregates, c.block.chunksDir);
      } catch (err) {
        if (!isBlockDamage(err)) throw err;
        const w = damage.report(c.block, err);
        if (w) out.push({ type: 'warning', warning: w });
        continue;
      }
      samples += built.samples;
      chunks.push(built.chunk);
    }
    if (chunks.length > 0) out.push({ type: 'series', series: { labels: s.labels, chunks } });
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
  opts: {
    concurrency: number;
    signal?: AbortSignal | undefined;
    onDamage?: BlockDamageHandler | undefined;
    /** Tracer for one span per block selected and per chunk fetch. Default: the global API's. */
    tracer?: Tracer | undefined;
  },
): AsyncGenerator<SeriesResponse> {
  const { signal } = opts;
  const tracer = opts.tracer ?? defaultTracer();
  const damage = new DamageTracker(opts.onDamage);
  // One slice per request, shared by its blocks: with the index cache warm and the consumer in
  // the same process, nothing below would otherwise yield to the event loop for 100s of ms.
  const slice = createTimeSlice();
  const perBlock: SelectedSeries[][] = new Array(blocks.length);
  const selectWarnings: string[] = [];
  await forEachLimit(
    blocks.map((b, i) => [b, i] as const),
    opts.concurrency,
    async ([b, i]) => {
      try {
        // Thanos's per-block span: postings and series entries read from the block's index.
        perBlock[i] = await withSpan(tracer, 'bucket_store_block_series', { 'block.id': b.id }, async (span) => {
          const got = await selectBlockSeries(b, req, limiter, signal, slice);
          if (span.isRecording()) {
            let chunks = 0;
            for (const x of got) chunks += x.chunks.length;
            span.setAttributes({ series: got.length, chunks });
          }
          return got;
        });
      } catch (err) {
        if (!isBlockDamage(err)) throw err;
        const w = damage.report(b, err);
        if (w) selectWarnings.push(w);
        perBlock[i] = [];
      }
    },
  );
  for (const w of selectWarnings) yield { type: 'warning', warning: w };
  let merged = await mergeBlockSeries(perBlock, slice);
  if (req.limit && req.limit > 0 && merged.length > req.limit) merged = merged.slice(0, req.limit);
  if (req.skipChunks) {
    for (let k = 0; k < merged.length; k++) {
      // The consumer's work per item runs inside this loop: check the slice here too.
      if (k % SERIES_PER_CHECK === SERIES_PER_CHECK - 1) {
        const turn = slice.check();
        if (turn) await turn;
      }
      const s = merged[k] as SelectedSeries;
      yield { type: 'series', series: { labels: s.labels, chunks: [] } };
    }
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
    ? fetchBatch(batches[0], req, limiter, damage, tracer, slice, signal)
    : undefined;
  for (let i = 0; i < batches.length; i++) {
    const current = next as Promise<SeriesResponse[]>;
    const following = batches[i + 1];
    const ready = await current;
    next = following ? fetchBatch(following, req, limiter, damage, tracer, slice, signal) : undefined;
    // Avoid an unhandled rejection if the consumer stops before awaiting the prefetch.
    next?.catch(() => {});
    for (let k = 0; k < ready.length; k++) {
      if (k % SERIES_PER_CHECK === SERIES_PER_CHECK - 1) {
        const turn = slice.check();
        if (turn) await turn;
      }
      yield ready[k] as SeriesResponse;
    }
  }
}

/**
 * The blocks of one request found damaged: each is reported once (one warning, one call of the
 * gateway's handler), and its remaining chunks are skipped without another read.
 */
class DamageTracker {
  readonly bad = new Set<BucketBlock>();

  constructor(private readonly onDamage: BlockDamageHandler | undefined) {}

  /** Records the damage; returns the warning the first time a block is reported, else undefined. */
  report(block: BucketBlock, err: Error): string | undefined {
    if (this.bad.has(block)) return undefined;
    this.bad.add(block);
    return this.onDamage?.(block, err) ?? `block ${block.id} skipped: ${err.message}`;
  }
}
