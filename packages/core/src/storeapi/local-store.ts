import {
  compareLabels,
  compareStrings,
  cutXorChunks,
  type Labels,
  type Matcher,
  type Queryable,
  type SelectHints,
  type SeriesSamples,
} from '@thanos-ts/tsdb';
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

/** Options of `createLocalStore`. */
export interface LocalStoreOptions {
  /** The data: anything with tsdb's Queryable read contract (blocks, a head, memory). */
  queryable: Queryable;
  /** External labels added to every series and advertised in Info (e.g. {replica: 'a'}). */
  externalLabels?: Labels;
  /** Time range advertised in Info, ms. Default: everything (so the store is always asked). */
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
      };
    },
    async *series(req: SeriesRequest, signal?: AbortSignal): AsyncGenerator<SeriesResponse> {
      const matchers = external ? matchExternalLabels(req.matchers, external) : [...req.matchers];
      if (!matchers) return;
      // Reading from the start of the chunk-range window makes the chunks cut the same for every
      // request, as a TSDB's chunks are: HA replicas then share byte-identical chunks, which the
      // querier merges away before deduplicating.
      const alignedStart = req.skipChunks ? req.minTime : Math.floor(req.minTime / chunkRange) * chunkRange;
      const hints: SelectHints = { ...hintsOf(alignedStart, req.maxTime), labelsOnly: req.skipChunks === true };
      const found: SeriesSamples[] = await opts.queryable.select(matchers, hints, signal);
      const drop = req.withoutReplicaLabels ?? [];
      const relabel = (l: Labels) => {
        const full = external ? withExternal(l, external) : l;
        return drop.length > 0 ? full.without(drop) : full;
      };
      let list: { labels: Labels; s: SeriesSamples }[] = found.map((s) => ({ labels: relabel(s.labels), s }));
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
      const names = new Set(await opts.queryable.labelNames(matchers, hintsOf(req.start, req.end), signal));
      if (external && names.size > 0) for (const l of external) names.add(l.name);
      for (const d of req.withoutReplicaLabels ?? []) names.delete(d);
      return { names: [...names].sort(compareStrings), warnings: [] };
    },
    async labelValues(req: LabelValuesRequest, signal?: AbortSignal): Promise<LabelValuesResponse> {
      const matchers = external ? matchExternalLabels(req.matchers ?? [], external) : [...(req.matchers ?? [])];
      if (!matchers) return { values: [], warnings: [] };
      if (external?.has(req.label)) {
        if ((req.withoutReplicaLabels ?? []).includes(req.label)) return { values: [], warnings: [] };
        const any = await opts.queryable.labelNames(matchers, hintsOf(req.start, req.end), signal);
        return { values: any.length > 0 ? [external.get(req.label)] : [], warnings: [] };
      }
      const values = await opts.queryable.labelValues(req.label, matchers, hintsOf(req.start, req.end), signal);
      return { values, warnings: [] };
    },
  };
}
