import type { EncodedQueryable, EncodedSeriesSet } from '@thanos-ts/promql';
import type { Labels, Matcher, SelectHints, SeriesSamples } from '@thanos-ts/tsdb';
import { Gate } from '../concurrency/gate.js';
import { createTimeSlice } from '../concurrency/time-slice.js';
import type { Aggr, AggrChunk, PartialResponseStrategy, ShardInfo, StoreAPI } from '../storeapi/store-api.js';
import { type DeduplicationFunc, isCounterFunc } from './dedup.js';
import { dedupWindowStart } from './dedup-window.js';
import {
  decodeStoreSeries,
  EncodedSetBuilder,
  newDecodeState,
  type SeriesDecodeParams,
  storeSeriesDecoder,
} from './encoded-series.js';

/** Aggregates to ask downsampled stores for, given the function around a selector (Thanos's aggrsFromFunc). */
export function aggregatesForFunc(func: string | undefined): Aggr[] {
  const f = func ?? '';
  if (f === 'min' || f.startsWith('min_')) return ['MIN'];
  if (f === 'max' || f.startsWith('max_')) return ['MAX'];
  if (f === 'count' || f.startsWith('count_')) return ['COUNT'];
  // `sum` itself needs the real samples, so it falls through to the average below.
  if (f.startsWith('sum_')) return ['SUM'];
  if (f === 'increase' || f === 'rate' || f === 'irate' || f === 'resets' || f === 'xincrease' || f === 'xrate')
    return ['COUNTER'];
  return ['COUNT', 'SUM'];
}

const FUNCS_NEEDING_TWO_SAMPLES = new Set([
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'predict_linear',
  'holt_winters',
  'double_exponential_smoothing',
  'xrate',
  'xincrease',
  'xdelta',
]);

/** Caps the source resolution so a range function still sees two samples (Thanos's maxResolutionFromSelectHints). */
export function maxResolutionForHints(maxResolution: number, hints: SelectHints): number {
  if (hints.range && hints.range > 0 && hints.func && FUNCS_NEEDING_TWO_SAMPLES.has(hints.func)) {
    return Math.min(maxResolution, Math.floor(hints.range / 2));
  }
  return maxResolution;
}

/** Options of `createStoreQueryable`. */
export interface StoreQueryableOptions {
  store: StoreAPI;
  /** Deduplicate replicas (drop `replicaLabels`, merge with the penalty algorithm). */
  dedup: boolean;
  replicaLabels: readonly string[];
  partialResponseStrategy: PartialResponseStrategy;
  /** Coarsest downsampling resolution acceptable, ms (0: raw). */
  maxSourceResolution: number;
  /** Only this shard of the series (vertical query sharding). Default: all series. */
  shardInfo?: ShardInfo;
  /** How replicas are merged (Thanos's --deduplication.func). Default 'penalty'. */
  deduplicationFunc?: DeduplicationFunc;
  /** Series requests this query runs at once (Thanos's --query.max-concurrent-select). Default 4. */
  maxConcurrentSelect?: number;
}

/**
 * A Queryable for one query, collecting the stores' warnings as it goes. Its `selectEncoded`
 * leaves chunks encoded for an evaluation worker to decode.
 */
export interface StoreQueryable extends EncodedQueryable {
  readonly warnings: string[];
  /** Series and samples fetched so far (for query stats). */
  readonly stats: { series: number; samples: number; chunks: number };
}

/**
 * The engine's read side over a StoreAPI (usually the querier's proxy): each select becomes a
 * Series request; merged chunks are decoded, replicas split apart and deduplicated into one
 * sample column per series, on the event loop (`select`) or, with `selectEncoded`, in the
 * evaluation worker that evaluates the query.
 */
export function createStoreQueryable(opts: StoreQueryableOptions): StoreQueryable {
  const warnings: string[] = [];
  const stats = { series: 0, samples: 0, chunks: 0 };
  const without = opts.dedup ? opts.replicaLabels : [];
  const addWarnings = (ws: readonly string[]) => {
    for (const w of ws) if (!warnings.includes(w)) warnings.push(w);
  };
  // The engine asks for every selector at once; the gate keeps one query from opening more than
  // this many Series fan-outs in parallel.
  const selectGate = new Gate(Math.max(1, opts.maxConcurrentSelect ?? 4));
  // Penalty deduplication restarts at fixed windows of absolute time: replicas are read from the
  // start of the window holding the select's start, so the samples kept from there on are the
  // same whatever the query's start (a query frontend's split pieces answer as the whole range).
  const penaltyDedup = opts.dedup && (opts.deduplicationFunc ?? 'penalty') === 'penalty' && without.length > 0;
  const readFrom = (hints: SelectHints): number =>
    penaltyDedup && hints.labelsOnly !== true && Number.isFinite(hints.start)
      ? dedupWindowStart(hints.start)
      : hints.start;
  /**
   * Streams one select's Series answer, counting and collecting warnings, and hands each series
   * to `onSeries`. Yields to the event loop every few ms: an in-process store's stream never
   * does on its own.
   */
  const stream = async (
    matchers: readonly Matcher[],
    hints: SelectHints,
    aggregates: Aggr[],
    signal: AbortSignal | undefined,
    onSeries: (labels: Labels, chunks: readonly AggrChunk[]) => void,
  ): Promise<void> => {
    const responses = opts.store.series(
      {
        minTime: readFrom(hints),
        maxTime: hints.end,
        matchers,
        maxResolutionWindow: maxResolutionForHints(opts.maxSourceResolution, hints),
        aggregates,
        partialResponseStrategy: opts.partialResponseStrategy,
        partialResponseDisabled: opts.partialResponseStrategy === 'ABORT',
        skipChunks: hints.labelsOnly === true,
        step: hints.step ?? 0,
        range: hints.range ?? 0,
        queryHints: {
          stepMillis: hints.step ?? 0,
          func: hints.func,
          grouping: hints.grouping ? { by: hints.by ?? false, labels: hints.grouping } : undefined,
          rangeMillis: hints.range,
        },
        withoutReplicaLabels: without,
        ...(opts.shardInfo ? { shardInfo: opts.shardInfo } : {}),
      },
      signal,
    );
    const slice = createTimeSlice();
    for await (const r of responses) {
      const turn = slice.check();
      if (turn) await turn;
      if (r.type === 'warning') addWarnings([r.warning]);
      if (r.type !== 'series') continue;
      stats.series++;
      stats.chunks += r.series.chunks.length;
      onSeries(r.series.labels, r.series.chunks);
    }
  };
  const decodeParams = (hints: SelectHints, aggregates: Aggr[]): SeriesDecodeParams => ({
    aggregates,
    mint: hints.start,
    dedupFrom: readFrom(hints),
    maxt: hints.end,
    func: opts.deduplicationFunc ?? 'penalty',
    counter: isCounterFunc(hints.func),
  });
  // Decodes on the event loop, a slice at a time (the store's stream yields between slices).
  const select = async (
    matchers: readonly Matcher[],
    hints: SelectHints,
    signal?: AbortSignal,
  ): Promise<SeriesSamples[]> => {
    const aggregates = aggregatesForFunc(hints.func);
    const params = decodeParams(hints, aggregates);
    // Results of this select share slabs; intermediate replica columns reuse scratch buffers.
    const state = newDecodeState();
    const out: SeriesSamples[] = [];
    const empty = new Float64Array(0);
    await stream(matchers, hints, aggregates, signal, (labels, chunks) => {
      if (hints.labelsOnly) {
        out.push({ labels, timestamps: empty, values: empty });
        return;
      }
      const got = decodeStoreSeries(labels, chunks, params, state);
      stats.samples += got.samples;
      out.push(got.series);
    });
    return out;
  };
  // Copies the chunk bytes only; the evaluation worker decodes, merges and deduplicates them.
  const selectEncoded = async (
    matchers: readonly Matcher[],
    hints: SelectHints,
    signal?: AbortSignal,
  ): Promise<EncodedSeriesSet | SeriesSamples[]> => {
    const decoder = storeSeriesDecoder();
    if (hints.labelsOnly || decoder === null) return select(matchers, hints, signal);
    const aggregates = aggregatesForFunc(hints.func);
    const builder = new EncodedSetBuilder(decodeParams(hints, aggregates), decoder);
    await stream(matchers, hints, aggregates, signal, (labels, chunks) => builder.add(labels, chunks));
    return builder.finish((report) => {
      stats.samples += report.samples;
      addWarnings(report.warnings);
    });
  };
  return {
    warnings,
    stats,
    select(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): Promise<SeriesSamples[]> {
      return selectGate.run(() => select(matchers, hints, signal), signal);
    },
    selectEncoded(
      matchers: readonly Matcher[],
      hints: SelectHints,
      signal?: AbortSignal,
    ): Promise<EncodedSeriesSet | SeriesSamples[]> {
      return selectGate.run(() => selectEncoded(matchers, hints, signal), signal);
    },
    async labelNames(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): Promise<string[]> {
      const r = await opts.store.labelNames(
        {
          start: hints.start,
          end: hints.end,
          matchers,
          partialResponseStrategy: opts.partialResponseStrategy,
          partialResponseDisabled: opts.partialResponseStrategy === 'ABORT',
          withoutReplicaLabels: without,
        },
        signal,
      );
      addWarnings(r.warnings);
      return r.names;
    },
    async labelValues(
      name: string,
      matchers: readonly Matcher[],
      hints: SelectHints,
      signal?: AbortSignal,
    ): Promise<string[]> {
      const r = await opts.store.labelValues(
        {
          label: name,
          start: hints.start,
          end: hints.end,
          matchers,
          partialResponseStrategy: opts.partialResponseStrategy,
          partialResponseDisabled: opts.partialResponseStrategy === 'ABORT',
          withoutReplicaLabels: without,
        },
        signal,
      );
      addWarnings(r.warnings);
      return r.values;
    },
  };
}
