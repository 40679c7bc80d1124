import { createEngine, type EvaluationPool, QueryTimeoutError } from '@thanos-ts/promql';
import { compareLabels, compareStrings, InvalidArgumentError, type Labels, type Matcher } from '@thanos-ts/tsdb';
import { Gate } from '../concurrency/gate.js';
import type {
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  PartialResponseStrategy,
  SeriesRequest,
  SeriesResponse,
  StoreAPI,
  StoreInfo,
} from '../storeapi/store-api.js';
import type { DeduplicationFunc } from './dedup.js';
import type { EndpointSet, EndpointStatus } from './endpoint-set.js';
import type { EngineValue, QueryEngine } from './engine.js';
import { createProxyStore } from './proxy.js';
import { createStoreQueryable, type StoreQueryable } from './queryable.js';

/** Options of the query core: what {@link createQuerier} evaluates with. */
export interface QueryCoreOptions {
  /** Labels telling HA replicas apart (--query.replica-label); deduplicated away by default. */
  replicaLabels?: readonly string[];
  /** PromQL lookback delta, ms (--query.lookback-delta). Default 300_000. */
  lookbackDeltaMs?: number;
  /** Longest a query may run, ms (--query.timeout). Default 120_000. */
  timeoutMs?: number;
  /** Queries evaluated at once (--query.max-concurrent). Default 20. */
  maxConcurrent?: number;
  /** Series requests one query runs at once (--query.max-concurrent-select). Default 4. */
  maxConcurrentSelect?: number;
  /** Answer with data from the stores that replied when others fail (--query.partial-response). Default true. */
  partialResponse?: boolean;
  /** How replicas are merged (--deduplication.func): Thanos's 'penalty' (default) or 'chain'. */
  deduplicationFunc?: DeduplicationFunc;
  /** Per-store idle timeout, ms (--store.response-timeout). Default 0 (off). */
  responseTimeoutMs?: number;
  /** Use step/5 as max source resolution when the request gives none (--query.auto-downsampling). Default false. */
  autoDownsampling?: boolean;
  /** How often endpoints are asked for Info, ms. Default 5_000. */
  endpointRefreshIntervalMs?: number;
  /** Step of subqueries written without one, ms (--query.default-evaluation-interval). Default 60_000. */
  defaultEvaluationIntervalMs?: number;
  /** The PromQL engine. Default: @thanos-ts/promql's engine with the options above. */
  engine?: QueryEngine;
  /**
   * Worker threads the default engine evaluates in, off the caller's event loop; asked when the
   * first query runs. Absent (or returning undefined), queries evaluate on the calling thread.
   */
  evaluationPool?: () => EvaluationPool | undefined;
}

/** Per-request settings (the HTTP API's dedup, replicaLabels[], partial_response, max_source_resolution). */
export interface QueryOptions {
  /** Deduplicate replicas. Default true (when replica labels are configured). */
  dedup?: boolean;
  /** Replica labels for this request instead of the configured ones. */
  replicaLabels?: readonly string[];
  partialResponse?: boolean;
  /** Coarsest downsampled resolution to read, ms ('auto' resolves to step/5 before this). */
  maxSourceResolutionMs?: number;
  /** Lookback delta for this request, ms. */
  lookbackDeltaMs?: number;
  /** Overrides the querier's timeout when shorter, ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Work a query did, for `stats=all`. */
export interface QueryStats {
  /** Wall time of the whole query, ms. */
  execTotalTime: number;
  /** Time spent waiting for the concurrency gate, ms. */
  execQueueTime: number;
  seriesFetched: number;
  chunksFetched: number;
  samplesFetched: number;
}

/** The answer of an instant or range query. */
export interface QueryResponse {
  readonly result: EngineValue;
  readonly warnings: string[];
  readonly infos: string[];
  readonly stats: QueryStats;
}

/** PromQL over StoreAPIs, itself a StoreAPI (for queries of queriers and rulers). */
export interface QueryCore extends StoreAPI {
  instantQuery(expr: string, time: number, opts?: QueryOptions): Promise<QueryResponse>;
  rangeQuery(expr: string, start: number, end: number, step: number, opts?: QueryOptions): Promise<QueryResponse>;
  /** Series label sets matching any of the matcher sets, within [start, end]. */
  findSeries(
    matcherSets: readonly (readonly Matcher[])[],
    start: number,
    end: number,
    opts?: QueryOptions & { limit?: number },
  ): Promise<{ series: Labels[]; warnings: string[] }>;
  /** Label names of series matching any matcher set (all series when none). */
  findLabelNames(
    matcherSets: readonly (readonly Matcher[])[],
    start: number,
    end: number,
    opts?: QueryOptions,
  ): Promise<{ names: string[]; warnings: string[] }>;
  /** Values of `name` over series matching any matcher set. */
  findLabelValues(
    name: string,
    matcherSets: readonly (readonly Matcher[])[],
    start: number,
    end: number,
    opts?: QueryOptions,
  ): Promise<{ values: string[]; warnings: string[] }>;
  /** Every known endpoint and its health (what /api/v1/stores shows). */
  endpointStatuses(): EndpointStatus[];
  /** Replica labels configured by default. */
  readonly replicaLabels: readonly string[];
}

/**
 * The querier's evaluation half (no I/O of its own): PromQL over the endpoint set's StoreAPIs,
 * merged and deduplicated. {@link createQuerier} wraps it with discovery, servers and a lifecycle.
 */
export function createQueryCore(opts: QueryCoreOptions & { endpointSet: EndpointSet }): QueryCore {
  const replicaLabels = [...(opts.replicaLabels ?? [])];
  const timeout = opts.timeoutMs ?? 120_000;
  const partialDefault = opts.partialResponse ?? true;
  const endpointSet = opts.endpointSet;
  const proxy = createProxyStore({ endpoints: () => endpointSet.endpoints(), responseTimeout: opts.responseTimeoutMs });
  const gate = new Gate(opts.maxConcurrent ?? 20);
  // Built on first use: the querier's evaluation pool only exists once it has started.
  let defaultEngine: QueryEngine | undefined;
  const engineFor = (): QueryEngine => {
    if (opts.engine) return opts.engine;
    defaultEngine ??= createEngine({
      lookbackDelta: opts.lookbackDeltaMs,
      timeout,
      noStepSubqueryInterval: opts.defaultEvaluationIntervalMs,
      pool: opts.evaluationPool?.(),
    });
    return defaultEngine;
  };

  function strategy(q: QueryOptions | undefined): PartialResponseStrategy {
    return (q?.partialResponse ?? partialDefault) ? 'WARN' : 'ABORT';
  }

  function queryableFor(q: QueryOptions | undefined, autoResolution: number): StoreQueryable {
    const labels = q?.replicaLabels && q.replicaLabels.length > 0 ? q.replicaLabels : replicaLabels;
    return createStoreQueryable({
      store: proxy,
      dedup: (q?.dedup ?? true) && labels.length > 0,
      replicaLabels: labels,
      partialResponseStrategy: strategy(q),
      maxSourceResolution: q?.maxSourceResolutionMs ?? (opts.autoDownsampling ? autoResolution : 0),
      deduplicationFunc: opts.deduplicationFunc,
      maxConcurrentSelect: opts.maxConcurrentSelect,
    });
  }

  async function withDeadline<T>(
    q: QueryOptions | undefined,
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<{ value: T; queued: number }> {
    const ms = Math.min(timeout, q?.timeoutMs ?? timeout);
    const deadline = AbortSignal.timeout(ms);
    const signal = q?.signal ? AbortSignal.any([q.signal, deadline]) : deadline;
    const queuedAt = performance.now();
    let queued = 0;
    try {
      // The deadline also bounds a store that ignores cancellation: the race never waits past it.
      const value = await gate.run(() => {
        queued = performance.now() - queuedAt;
        return Promise.race([
          run(signal),
          new Promise<never>((_, reject) => {
            if (signal.aborted) reject(signal.reason);
            signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          }),
        ]);
      }, signal);
      return { value, queued };
    } catch (err) {
      if (deadline.aborted && !q?.signal?.aborted) throw new QueryTimeoutError('query execution');
      throw err;
    }
  }

  async function evaluate(
    q: QueryOptions | undefined,
    autoResolution: number,
    run: (
      engine: QueryEngine,
      queryable: StoreQueryable,
      signal: AbortSignal,
    ) => Promise<{ result: EngineValue; warnings: readonly string[]; infos: readonly string[] }>,
  ): Promise<QueryResponse> {
    const started = performance.now();
    const queryable = queryableFor(q, autoResolution);
    const { value, queued } = await withDeadline(q, (signal) => run(engineFor(), queryable, signal));
    return {
      result: value.result,
      warnings: [...queryable.warnings, ...value.warnings],
      infos: [...value.infos],
      stats: {
        execTotalTime: performance.now() - started,
        execQueueTime: queued,
        seriesFetched: queryable.stats.series,
        chunksFetched: queryable.stats.chunks,
        samplesFetched: queryable.stats.samples,
      },
    };
  }

  async function perMatcherSet<T>(
    matcherSets: readonly (readonly Matcher[])[],
    one: (matchers: readonly Matcher[]) => Promise<T[]>,
  ): Promise<T[][]> {
    if (matcherSets.length === 0) return [await one([])];
    return Promise.all(matcherSets.map(one));
  }

  const core: QueryCore = {
    replicaLabels,
    info(signal?: AbortSignal): Promise<StoreInfo> {
      return proxy.info(signal);
    },
    series(req: SeriesRequest, signal?: AbortSignal): AsyncIterable<SeriesResponse> {
      return proxy.series(req, signal);
    },
    labelNames(req: LabelNamesRequest, signal?: AbortSignal): Promise<LabelNamesResponse> {
      return proxy.labelNames(req, signal);
    },
    labelValues(req: LabelValuesRequest, signal?: AbortSignal): Promise<LabelValuesResponse> {
      return proxy.labelValues(req, signal);
    },
    instantQuery(expr, time, q) {
      return evaluate(q, 0, (engine, queryable, signal) =>
        engine.instantQuery(queryable, expr, time, {
          signal,
          lookbackDelta: q?.lookbackDeltaMs ?? opts.lookbackDeltaMs,
        }),
      );
    },
    async rangeQuery(expr, start, end, step, q) {
      if (!(step > 0))
        throw new InvalidArgumentError(
          'zero or negative query resolution step widths are not accepted. Try a positive integer',
        );
      return evaluate(q, Math.floor(step / 5), (engine, queryable, signal) =>
        engine.rangeQuery(queryable, expr, start, end, step, {
          signal,
          lookbackDelta: q?.lookbackDeltaMs ?? opts.lookbackDeltaMs,
        }),
      );
    },
    async findSeries(matcherSets, start, end, q) {
      const queryable = queryableFor(q, 0);
      const { value } = await withDeadline(q, (signal) =>
        perMatcherSet(matcherSets, async (ms) =>
          (await queryable.select(ms, { start, end, labelsOnly: true }, signal)).map((s) => s.labels),
        ),
      );
      // Union of the matcher sets' answers, sorted, each label set once (Prometheus merges them).
      const seen = new Map<string, Labels>();
      for (const list of value) for (const l of list) seen.set(l.key(), l);
      let series = [...seen.values()].sort(compareLabels);
      const limit = q?.limit ?? 0;
      const warnings = [...queryable.warnings];
      if (limit > 0 && series.length > limit) {
        series = series.slice(0, limit);
        warnings.push('results truncated due to limit');
      }
      return { series, warnings };
    },
    async findLabelNames(matcherSets, start, end, q) {
      const queryable = queryableFor(q, 0);
      const { value } = await withDeadline(q, (signal) =>
        perMatcherSet(matcherSets, (ms) => queryable.labelNames(ms, { start, end }, signal)),
      );
      return { names: sortedUnion(value), warnings: [...queryable.warnings] };
    },
    async findLabelValues(name, matcherSets, start, end, q) {
      const queryable = queryableFor(q, 0);
      const { value } = await withDeadline(q, (signal) =>
        perMatcherSet(matcherSets, (ms) => queryable.labelValues(name, ms, { start, end }, signal)),
      );
      return { values: sortedUnion(value), warnings: [...queryable.warnings] };
    },
    endpointStatuses() {
      return endpointSet.statuses();
    },
  };
  return core;
}

function sortedUnion(lists: readonly (readonly string[])[]): string[] {
  if (lists.length === 1) return [...(lists[0] ?? [])];
  const set = new Set<string>();
  for (const l of lists) for (const v of l) set.add(v);
  return [...set].sort(compareStrings);
}
