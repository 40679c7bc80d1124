import {
  type BlockChunk,
  type BlockReader,
  type BlockSeries,
  ChunkEncoding,
  compareLabels,
  compareStrings,
  createBlockQueryable,
  cutXorChunks,
  InvalidArgumentError,
  type Labels,
  type Matcher,
  type Queryable,
  type SelectHints,
  type SeriesSamples,
} from '@thanos-ts/tsdb';
import { cutFloatHistogramChunks } from '@thanos-ts/tsdb/histogram';
import { shardMatcher } from './shard.js';
import type {
  AggrChunk,
  ComponentType,
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  SeriesRequest,
  SeriesResponse,
  StoreAPI,
  StoreInfo,
  StoreSeries,
} from './store-api.js';
import { MAX_TIME, MIN_TIME } from './store-api.js';

/** Options of `createLocalStore`: give `blocks` (chunks served as stored) or a `queryable`. */
export interface LocalStoreOptions {
  /** Opened TSDB blocks: their chunks are served byte for byte, without re-encoding. */
  blocks?: readonly BlockReader[];
  /** Any data with tsdb's Queryable read contract (a head, memory): samples are cut into XOR chunks. */
  queryable?: Queryable;
  /** External labels added to every series and advertised in Info (e.g. {replica: 'a'}). */
  externalLabels?: Labels;
  /** Time range advertised in Info, ms. Default: the blocks' range, or everything for a queryable. */
  minTime?: number;
  maxTime?: number;
  /** Kind reported in Info. Default 'store'. */
  componentType?: ComponentType;
  /** Chunk range used to cut samples into XOR chunks, ms (Prometheus's head uses 2h). Default 2h. */
  chunkRange?: number;
}

/**
 * Splits matchers into those on external labels (checked against the store's own labels) and
 * the rest (passed to the data), as Thanos's stores do. Returns undefined when an external label
 * rules the store out.
 */
export function matchExternalLabels(matchers: readonly Matcher[], external: Labels): Matcher[] | undefined {
  const rest: Matcher[] = [];
  for (const m of matchers) {
    if (external.has(m.name)) {
      if (!m.matches(external.get(m.name))) return undefined;
    } else rest.push(m);
  }
  return rest;
}

// Thanos's TSDBStore.Series error text (pkg/store/tsdb.go), answered as InvalidArgument.
const NO_MATCHERS = 'no matchers specified (excluding external labels)';

/** The first `limit` of sorted names or values (0 or absent: all), as Thanos's stores truncate. */
function limited(sorted: string[], limit: number | undefined): string[] {
  return limit !== undefined && limit > 0 && sorted.length > limit ? sorted.slice(0, limit) : sorted;
}

function withExternal(labels: Labels, external: Labels): Labels {
  let out = labels;
  for (const l of external) out = out.with(l.name, l.value);
  return out;
}

/**
 * Serves a Queryable as a StoreAPI: series get the external labels, samples are encoded into XOR
 * chunks cut like Prometheus's head cuts them. Useful to put blocks read by tsdb behind a querier,
 * in tests and in embedding programs.
 */
export function createLocalStore(opts: LocalStoreOptions): StoreAPI {
  if (opts.blocks) return createBlockStore(opts.blocks, opts);
  if (!opts.queryable) throw new InvalidArgumentError('createLocalStore needs blocks or a queryable');
  const queryable = opts.queryable;
  const external = opts.externalLabels;
  const chunkRange = opts.chunkRange ?? 2 * 3600 * 1000;
  const hintsOf = (start: number, end: number): SelectHints => ({ start, end });

  return {
    async info(): Promise<StoreInfo> {
      return {
        labelSets: external && external.size > 0 ? [external] : [],
        minTime: opts.minTime ?? MIN_TIME,
        maxTime: opts.maxTime ?? MAX_TIME,
        componentType: opts.componentType ?? 'store',
        supportsWithoutReplicaLabels: true,
        // series() keeps only the requested shard's series (shardInfo), before cutting chunks.
        supportsSharding: true,
      };
    },
    async *series(req: SeriesRequest, signal?: AbortSignal): AsyncGenerator<SeriesResponse> {
      const matchers = external ? matchExternalLabels(req.matchers, external) : [...req.matchers];
      if (!matchers) return;
      if (matchers.length === 0) throw new InvalidArgumentError(NO_MATCHERS);
      // Reading from the start of the chunk-range window makes the chunks cut the same for every
      // request, as a TSDB's chunks are: HA replicas then share byte-identical chunks, which the
      // querier merges away before deduplicating.
      const alignedStart = req.skipChunks ? req.minTime : Math.floor(req.minTime / chunkRange) * chunkRange;
      const hints: SelectHints = { ...hintsOf(alignedStart, req.maxTime), labelsOnly: req.skipChunks === true };
      const found: SeriesSamples[] = await queryable.select(matchers, hints, signal);
      const drop = req.withoutReplicaLabels ?? [];
      const relabel = (l: Labels) => {
        const full = external ? withExternal(l, external) : l;
        return drop.length > 0 ? full.without(drop) : full;
      };
      let list: { labels: Labels; s: SeriesSamples }[] = found.map((s) => ({ labels: relabel(s.labels), s }));
      // The shard's series only, hashed on the labels served (as the querier's proxy hashes them).
      const inShard = shardMatcher(req.shardInfo);
      if (inShard) list = list.filter((x) => inShard(x.labels));
      if (external || drop.length > 0) list = list.sort((a, b) => compareLabels(a.labels, b.labels));
      const limit = req.limit ?? 0;
      let n = 0;
      for (const { labels, s } of list) {
        signal?.throwIfAborted();
        let chunks: AggrChunk[] = [];
        if (!req.skipChunks) {
          chunks = cutXorChunks(s.timestamps, s.values, chunkRange)
            .filter((c) => c.maxTime >= req.minTime)
            .map((c) => ({
              minTime: c.minTime,
              maxTime: c.maxTime,
              raw: { type: 'XOR', data: c.data },
            }));
          if (s.histograms && s.histograms.timestamps.length > 0) {
            // Native histograms as float histogram chunks (the Queryable hands out float
            // histograms), cut like the head cuts them, in time order with the float chunks.
            const h = s.histograms;
            const hs = h.values.map((fh, i) => ({ t: h.timestamps[i] as number, h: fh }));
            for (const c of cutFloatHistogramChunks(hs, chunkRange)) {
              if (c.maxTime < req.minTime) continue;
              chunks.push({ minTime: c.minTime, maxTime: c.maxTime, raw: { type: 'FLOAT_HISTOGRAM', data: c.data } });
            }
            chunks.sort((a, b) => a.minTime - b.minTime);
          }
          if (chunks.length === 0) continue;
        }
        const series: StoreSeries = { labels, chunks };
        yield { type: 'series', series };
        if (limit > 0 && ++n >= limit) return;
      }
    },
    async labelNames(req: LabelNamesRequest, signal?: AbortSignal): Promise<LabelNamesResponse> {
      const matchers = external ? matchExternalLabels(req.matchers ?? [], external) : [...(req.matchers ?? [])];
      if (!matchers) return { names: [], warnings: [] };
      const names = new Set(await queryable.labelNames(matchers, hintsOf(req.start, req.end), signal));
      if (external && names.size > 0) for (const l of external) names.add(l.name);
      for (const d of req.withoutReplicaLabels ?? []) names.delete(d);
      return { names: limited([...names].sort(compareStrings), req.limit), warnings: [] };
    },
    async labelValues(req: LabelValuesRequest, signal?: AbortSignal): Promise<LabelValuesResponse> {
      if (req.label === '') throw new InvalidArgumentError('label name parameter cannot be empty');
      const matchers = external ? matchExternalLabels(req.matchers ?? [], external) : [...(req.matchers ?? [])];
      if (!matchers) return { values: [], warnings: [] };
      if (external?.has(req.label)) {
        if ((req.withoutReplicaLabels ?? []).includes(req.label)) return { values: [], warnings: [] };
        const any = await queryable.labelNames(matchers, hintsOf(req.start, req.end), signal);
        return { values: any.length > 0 ? [external.get(req.label)] : [], warnings: [] };
      }
      const values = await queryable.labelValues(req.label, matchers, hintsOf(req.start, req.end), signal);
      return { values: limited(values, req.limit), warnings: [] };
    },
  };
}

const ENCODING_NAMES: Partial<Record<number, 'XOR' | 'HISTOGRAM' | 'FLOAT_HISTOGRAM'>> = {
  [ChunkEncoding.XOR]: 'XOR',
  [ChunkEncoding.Histogram]: 'HISTOGRAM',
  [ChunkEncoding.FloatHistogram]: 'FLOAT_HISTOGRAM',
};

// Series of one block in label order, batch after batch as the block reader yields them.
async function* blockSeries(
  block: BlockReader,
  matchers: readonly Matcher[],
  mint: number,
  maxt: number,
  skipChunks: boolean,
  keep: ((labels: Labels) => boolean) | undefined,
  signal?: AbortSignal,
): AsyncGenerator<BlockSeries> {
  if (!keep) {
    for await (const batch of block.selectBatches(matchers, mint, maxt, { skipChunks, signal })) yield* batch;
    return;
  }
  // A sharded request: series entries first, then the chunks of the kept series only, so the
  // other shards' chunks are never read.
  for await (const batch of block.selectBatches(matchers, mint, maxt, { skipChunks: true, signal })) {
    const kept = batch.filter((s) => keep(s.labels));
    if (!skipChunks && kept.length > 0) {
      const targets = kept.flatMap((s) => s.chunks);
      const raw = await block.chunks.readChunks(
        targets.map((c) => c.ref),
        signal,
      );
      for (let k = 0; k < raw.length; k++) {
        const t = targets[k] as BlockChunk;
        const r = raw[k] as { encoding: ChunkEncoding; data: Uint8Array };
        t.encoding = r.encoding;
        t.data = r.data;
      }
    }
    yield* kept;
  }
}

/**
 * A StoreAPI over opened blocks (what a store gateway or a sidecar serves): series from all
 * blocks merged by labels, their chunks as the blocks hold them.
 */
function createBlockStore(blocks: readonly BlockReader[], opts: LocalStoreOptions): StoreAPI {
  const external = opts.externalLabels;
  const queryable = createBlockQueryable(blocks);
  const minTime = opts.minTime ?? (blocks.length ? Math.min(...blocks.map((b) => b.meta.minTime)) : 0);
  // Block meta maxTime is exclusive; StoreAPI ranges are inclusive.
  const maxTime = opts.maxTime ?? (blocks.length ? Math.max(...blocks.map((b) => b.meta.maxTime)) - 1 : -1);
  const local = createLocalStore({ ...opts, blocks: undefined, queryable, minTime, maxTime });
  return {
    info: local.info,
    labelNames: local.labelNames,
    labelValues: local.labelValues,
    async *series(req: SeriesRequest, signal?: AbortSignal): AsyncGenerator<SeriesResponse> {
      const matchers = external ? matchExternalLabels(req.matchers, external) : [...req.matchers];
      if (!matchers) return;
      if (matchers.length === 0) throw new InvalidArgumentError(NO_MATCHERS);
      const skip = req.skipChunks === true;
      const drop = req.withoutReplicaLabels ?? [];
      const relabel = (l: Labels) => {
        const full = external ? withExternal(l, external) : l;
        return drop.length > 0 ? full.without(drop) : full;
      };
      const inShard = shardMatcher(req.shardInfo);
      const keep = inShard ? (l: Labels) => inShard(relabel(l)) : undefined;
      const iters = blocks.map((b) => blockSeries(b, matchers, req.minTime, req.maxTime, skip, keep, signal));
      const heads = await Promise.all(iters.map((it) => it.next()));
      const out: StoreSeries[] = [];
      // Adding external labels or dropping replica labels can change the order, so such answers
      // are sorted before streaming; plain blocks stream in their own order.
      const mustSort = (external !== undefined && external.size > 0) || drop.length > 0;
      const limit = req.limit ?? 0;
      let emitted = 0;
      try {
        for (;;) {
          let min: Labels | undefined;
          for (const h of heads)
            if (!h.done && (min === undefined || compareLabels(h.value.labels, min) < 0)) min = h.value.labels;
          if (min === undefined) break;
          const chunks: AggrChunk[] = [];
          for (let i = 0; i < heads.length; i++) {
            const h = heads[i] as IteratorResult<BlockSeries>;
            if (h.done || !h.value.labels.equals(min)) continue;
            for (const c of h.value.chunks) {
              const type = skip ? 'XOR' : ENCODING_NAMES[c.encoding ?? ChunkEncoding.XOR];
              if (!type) continue;
              chunks.push(
                skip
                  ? { minTime: c.minTime, maxTime: c.maxTime }
                  : { minTime: c.minTime, maxTime: c.maxTime, raw: { type, data: c.data as Uint8Array } },
              );
            }
            heads[i] = await (iters[i] as AsyncGenerator<BlockSeries>).next();
          }
          if (heads.length > 1) chunks.sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
          const series: StoreSeries = { labels: relabel(min), chunks: skip ? [] : chunks };
          if (mustSort) out.push(series);
          else {
            yield { type: 'series', series };
            if (limit > 0 && ++emitted >= limit) return;
          }
        }
        if (mustSort) {
          out.sort((a, b) => compareLabels(a.labels, b.labels));
          for (const series of out) {
            signal?.throwIfAborted();
            yield { type: 'series', series };
            if (limit > 0 && ++emitted >= limit) return;
          }
        }
      } finally {
        for (const it of iters) await it.return(undefined);
      }
    },
  };
}
