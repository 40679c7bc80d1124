import { context, type Span, type Tracer, trace } from '@opentelemetry/api';
import { createEngine, type EvaluationPool, type Expr, parseExpr, QueryTimeoutError } from '@thanos-ts/promql';
import {
  compareLabels,
  compareStrings,
  InvalidArgumentError,
  type Labels,
  type Matcher,
  type SelectHints,
} from '@thanos-ts/tsdb';
import { Histogram, type Registry } from 'prom-client';
import { Gate } from '../concurrency/gate.js';
import type {
  Chunk,
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  PartialResponseStrategy,
  SeriesRequest,
  SeriesResponse,
  ShardInfo,
  StoreAPI,
  StoreInfo,
} from '../storeapi/store-api.js';
import { defaultTracer, withSpan } from '../tracing/context.js';
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
   * Buckets, seconds, of `thanos_store_api_query_duration_seconds`
   * (--query.telemetry.request-duration-seconds-quantiles). Default {@link DEFAULT_DURATION_QUANTILES}.
   */
  telemetryDurationQuantiles?: readonly number[];
  /**
   * Sample counts naming its `samples_le` label (--query.telemetry.request-samples-quantiles), in
   * ascending order; a query with at least the last one is `+Inf`. Default {@link DEFAULT_SAMPLES_QUANTILES}.
   */
  telemetrySamplesQuantiles?: readonly number[];
  /**
   * Series counts naming its `series_le` label (--query.telemetry.request-series-seconds-quantiles),
   * ascending. Default {@link DEFAULT_SERIES_QUANTILES}.
   */
  telemetrySeriesQuantiles?: readonly number[];
  /**
   * Worker threads the default engine evaluates in, off the caller's event loop; asked when the
   * first query runs. Absent (or returning undefined), queries evaluate on the calling thread.
   */
  evaluationPool?: () => EvaluationPool | undefined;
}

/** Thanos's default --query.telemetry.request-duration-seconds-quantiles. */
export const DEFAULT_DURATION_QUANTILES: readonly number[] = [0.1, 0.25, 0.75, 1.25, 1.75, 2.5, 3, 5, 10];
/** Thanos's default --query.telemetry.request-samples-quantiles. */
export const DEFAULT_SAMPLES_QUANTILES: readonly number[] = [100, 1000, 10000, 100000, 1000000];
/** Thanos's default --query.telemetry.request-series-seconds-quantiles. */
export const DEFAULT_SERIES_QUANTILES: readonly number[] = [10, 100, 1000, 10000, 100000];

/** The tenant label of the telemetry histogram when the request names none: Thanos's default tenant. */
const DEFAULT_TENANT = 'default-tenant';

/**
 * The bucket label for `value` (Thanos pkg/store/telemetry.go findBucket): `+Inf` when there are no
 * quantiles or the value reaches the last one, else the first quantile >= value found by Go's
 * binary search (sort.SearchFloat64s, so the list is assumed ascending), printed as Go's
 * strconv.FormatFloat(v, 'f', -1, 64) (no exponent).
 */
export function findTelemetryBucket(value: number, quantiles: readonly number[]): string {
  const n = quantiles.length;
  if (n === 0 || value >= (quantiles[n - 1] as number)) return '+Inf';
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((quantiles[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return formatGoFloat(quantiles[lo] as number);
}

function formatGoFloat(v: number): string {
  const s = String(v);
  if (!/e/i.test(s)) return s;
  return v.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 100 });
}

/** Series, chunks and samples a query's selects received (Thanos's storepb.SeriesStatsCounter). */
interface SeriesStatsCounter {
  series: number;
  chunks: number;
  samples: number;
}

/**
 * Counts what the store sends, as Thanos's proxy does for its telemetry (storepb
 * SeriesStatsCounter.Count): every series frame, every aggregate chunk, and the samples an XOR
 * chunk's header declares (histogram chunks count 0 samples there).
 */
function countingStore(store: StoreAPI, counter: SeriesStatsCounter): StoreAPI {
  const count = (x: Chunk | undefined): void => {
    if (x === undefined) return;
    counter.chunks++;
    if (x.type === 'XOR' && x.data.length >= 2) counter.samples += ((x.data[0] as number) << 8) | (x.data[1] as number);
  };
  async function* counted(it: AsyncIterable<SeriesResponse>): AsyncGenerator<SeriesResponse> {
    for await (const r of it) {
      if (r.type === 'series') {
        counter.series++;
        // Field by field: an array per chunk here cost more than the count itself.
        for (const c of r.series.chunks) {
          count(c.raw);
          count(c.count);
          count(c.counter);
          count(c.max);
          count(c.min);
          count(c.sum);
        }
      }
      yield r;
    }
  }
  return Object.create(store, {
    series: { value: (req: SeriesRequest, signal?: AbortSignal) => counted(store.series(req, signal)) },
  }) as StoreAPI;
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
  /**
   * Only this shard of the series (the query frontend's vertical sharding, `shard_info`): passed
   * to the stores, and applied here to the answers of stores that do not shard themselves.
   */
  shardInfo?: ShardInfo;
  /** Lookback delta for this request, ms. */
  lookbackDeltaMs?: number;
  /** Overrides the querier's timeout when shorter, ms. */
  timeoutMs?: number;
  /** Tenant label of the query telemetry (the THANOS-TENANT header). Default 'default-tenant'. */
  tenant?: string;
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
export function createQueryCore(
  opts: QueryCoreOptions & {
    endpointSet: EndpointSet;
    /** Tracer for the query's spans (create, gate, exec, selects, stores). Default: the global API's. */
    tracer?: Tracer;
    /**
     * Registry of `thanos_store_api_query_duration_seconds`; without one no telemetry is kept
     * (and selects are not counted).
     */
    registry?: Registry;
  },
): QueryCore {
  const tracer = opts.tracer ?? defaultTracer();
  const replicaLabels = [...(opts.replicaLabels ?? [])];
  const timeout = opts.timeoutMs ?? 120_000;
  const partialDefault = opts.partialResponse ?? true;
  const endpointSet = opts.endpointSet;
  const proxy = createProxyStore({
    endpoints: () => endpointSet.endpoints(),
    responseTimeout: opts.responseTimeoutMs,
    tracer,
  });
  const gate = new Gate(opts.maxConcurrent ?? 20);
  const seriesQuantiles = [...(opts.telemetrySeriesQuantiles ?? DEFAULT_SERIES_QUANTILES)];
  const samplesQuantiles = [...(opts.telemetrySamplesQuantiles ?? DEFAULT_SAMPLES_QUANTILES)];
  const queryDuration = opts.registry
    ? new Histogram({
        name: 'thanos_store_api_query_duration_seconds',
        help: 'Duration of the Thanos Store API select phase for a query.',
        buckets: [...(opts.telemetryDurationQuantiles ?? DEFAULT_DURATION_QUANTILES)],
        labelNames: ['series_le', 'samples_le', 'tenant'],
        registers: [opts.registry],
      })
    : undefined;
  // Thanos's seriesStatsAggregator.Observe: one observation per query, skipped when any count is 0.
  function observeTelemetry(c: SeriesStatsCounter, seconds: number, tenant: string): void {
    if (!queryDuration || c.series === 0 || c.samples === 0 || c.chunks === 0) return;
    queryDuration.observe(
      {
        series_le: findTelemetryBucket(c.series, seriesQuantiles),
        samples_le: findTelemetryBucket(c.samples, samplesQuantiles),
        tenant,
      },
      seconds,
    );
  }
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

  function queryableFor(
    q: QueryOptions | undefined,
    autoResolution: number,
    counter?: SeriesStatsCounter,
  ): StoreQueryable {
    const labels = q?.replicaLabels && q.replicaLabels.length > 0 ? q.replicaLabels : replicaLabels;
    return createStoreQueryable({
      store: counter ? countingStore(proxy, counter) : proxy,
      dedup: (q?.dedup ?? true) && labels.length > 0,
      replicaLabels: labels,
      partialResponseStrategy: strategy(q),
      maxSourceResolution: q?.maxSourceResolutionMs ?? (opts.autoDownsampling ? autoResolution : 0),
      ...(q?.shardInfo ? { shardInfo: q.shardInfo } : {}),
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
      const queuedSince = Date.now();
      const value = await gate.run(() => {
        queued = performance.now() - queuedAt;
        gateSpan(queuedSince);
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

  // Thanos's query_gate_ismyturn span: the wait for a --query.max-concurrent slot, recorded once it ends.
  function gateSpan(since: number): void {
    const parent = trace.getSpan(context.active());
    if (!parent?.isRecording()) return;
    tracer.startSpan('query_gate_ismyturn', { startTime: since }).end();
  }

  async function evaluate(
    kind: 'instant' | 'range',
    expr: string,
    q: QueryOptions | undefined,
    autoResolution: number,
    run: (
      engine: QueryEngine,
      query: string | Expr,
      queryable: StoreQueryable,
      signal: AbortSignal,
    ) => Promise<{ result: EngineValue; warnings: readonly string[]; infos: readonly string[] }>,
  ): Promise<QueryResponse> {
    const started = performance.now();
    const counter: SeriesStatsCounter | undefined = queryDuration ? { series: 0, chunks: 0, samples: 0 } : undefined;
    const queryable = queryableFor(q, autoResolution, counter);
    const traced = trace.getSpan(context.active())?.isRecording() === true;
    let query: string | Expr = expr;
    // Thanos's <kind>_query_create span: the parse, done ahead of the engine (which accepts the
    // tree) when the querier's own engine runs and the request is traced; otherwise the engine parses.
    if (traced && opts.engine === undefined)
      query = withSpan(tracer, `${kind}_query_create`, { query: expr }, () => parseExpr(expr));
    const { value, queued } = await withDeadline(q, (signal) =>
      traced
        ? withSpan(tracer, `${kind}_query_exec`, { query: expr }, (span) =>
            execTraced(span, (qb) => run(engineFor(), query, qb, signal), queryable),
          )
        : run(engineFor(), query, queryable, signal),
    );
    const total = performance.now() - started;
    // Thanos times from the gate's admission to the end of execution (v1.go beforeRange).
    if (counter) observeTelemetry(counter, (total - queued) / 1000, q?.tenant ?? DEFAULT_TENANT);
    return {
      result: value.result,
      warnings: [...queryable.warnings, ...value.warnings],
      infos: [...value.infos],
      stats: {
        execTotalTime: total,
        execQueueTime: queued,
        seriesFetched: queryable.stats.series,
        chunksFetched: queryable.stats.chunks,
        samplesFetched: queryable.stats.samples,
      },
    };
  }

  /**
   * Runs the engine with a queryable that traces each select (Thanos's querier_select, with its
   * time range and matchers), inside a promqlPrepare span (plan and fetch, as Prometheus names
   * it) that ends when the last select has its data; the rest, promqlInnerEval, is recorded after.
   */
  async function execTraced<T>(
    exec: Span,
    runWith: (queryable: StoreQueryable) => Promise<T>,
    queryable: StoreQueryable,
  ): Promise<T> {
    const execCtx = trace.setSpan(context.active(), exec);
    const prepare = tracer.startSpan('promqlPrepare', {}, execCtx);
    let fetchedAt: number | undefined;
    // Both select forms are traced: an engine with an evaluation pool asks for encoded series.
    const tracedSelect =
      <R extends { length: number } | { labels: { length: number } }>(
        select: (matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal) => Promise<R>,
      ) =>
      (matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): Promise<R> =>
        withSpan(
          tracer,
          'querier_select',
          {
            minTime: hints.start,
            maxTime: hints.end,
            matchers: `{${matchers.map(String).join(',')}}`,
          },
          async (span) => {
            const got = await select(matchers, hints, signal);
            span.setAttribute('series', 'labels' in got ? got.labels.length : got.length);
            fetchedAt = Date.now();
            return got;
          },
        );
    const traced: StoreQueryable = Object.create(queryable, {
      select: { value: tracedSelect(queryable.select) },
      selectEncoded: { value: tracedSelect(queryable.selectEncoded) },
    });
    try {
      return await context.with(trace.setSpan(execCtx, prepare), () => runWith(traced));
    } finally {
      const end = Date.now();
      prepare.end(fetchedAt ?? end);
      tracer.startSpan('promqlInnerEval', { startTime: fetchedAt ?? end }, execCtx).end(end);
    }
  }

  /**
   * Thanos's querier_series / querier_label_names / querier_label_values span around a metadata
   * call, when the request is traced (a child of its HTTP or gRPC span); otherwise just `fn()`.
   */
  function childSpan<T>(
    name: string,
    matcherSets: readonly (readonly Matcher[])[],
    start: number,
    end: number,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (trace.getSpan(context.active())?.isRecording() !== true) return fn();
    const matchers = matcherSets.map((ms) => `{${ms.map(String).join(',')}}`).join(' ');
    return withSpan(tracer, name, { minTime: start, maxTime: end, matchers }, fn);
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
      return evaluate('instant', expr, q, 0, (engine, query, queryable, signal) =>
        asTreeEngine(engine).instantQuery(queryable, query, time, {
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
      return evaluate('range', expr, q, Math.floor(step / 5), (engine, query, queryable, signal) =>
        asTreeEngine(engine).rangeQuery(queryable, query, start, end, step, {
          signal,
          lookbackDelta: q?.lookbackDeltaMs ?? opts.lookbackDeltaMs,
        }),
      );
    },
    async findSeries(matcherSets, start, end, q) {
      const queryable = queryableFor(q, 0);
      const { value } = await withDeadline(q, (signal) =>
        childSpan('querier_series', matcherSets, start, end, () =>
          perMatcherSet(matcherSets, async (ms) =>
            (await queryable.select(ms, { start, end, labelsOnly: true }, signal)).map((s) => s.labels),
          ),
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
        childSpan('querier_label_names', matcherSets, start, end, () =>
          perMatcherSet(matcherSets, (ms) => queryable.labelNames(ms, { start, end }, signal)),
        ),
      );
      return { names: sortedUnion(value), warnings: [...queryable.warnings] };
    },
    async findLabelValues(name, matcherSets, start, end, q) {
      const queryable = queryableFor(q, 0);
      const { value } = await withDeadline(q, (signal) =>
        childSpan('querier_label_values', matcherSets, start, end, () =>
          perMatcherSet(matcherSets, (ms) => queryable.labelValues(name, ms, { start, end }, signal)),
        ),
      );
      return { values: sortedUnion(value), warnings: [...queryable.warnings] };
    },
    endpointStatuses() {
      return endpointSet.statuses();
    },
  };
  return core;
}

/**
 * The engine as one that also takes a parsed tree. Only the querier's own (@thanos-ts/promql)
 * engine is ever given one: `evaluate` parses ahead only when no engine was injected.
 */
function asTreeEngine(engine: QueryEngine): {
  instantQuery(
    q: Parameters<QueryEngine['instantQuery']>[0],
    expr: string | Expr,
    ...rest: DropTwo<Parameters<QueryEngine['instantQuery']>>
  ): ReturnType<QueryEngine['instantQuery']>;
  rangeQuery(
    q: Parameters<QueryEngine['rangeQuery']>[0],
    expr: string | Expr,
    ...rest: DropTwo<Parameters<QueryEngine['rangeQuery']>>
  ): ReturnType<QueryEngine['rangeQuery']>;
} {
  return engine as never;
}

type DropTwo<T extends unknown[]> = T extends [unknown, unknown, ...infer R] ? R : never;

function sortedUnion(lists: readonly (readonly string[])[]): string[] {
  if (lists.length === 1) return [...(lists[0] ?? [])];
  const set = new Set<string>();
  for (const l of lists) for (const v of l) set.add(v);
  return [...set].sort(compareStrings);
}
