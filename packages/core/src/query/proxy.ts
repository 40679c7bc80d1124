import { context, type Span, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { compareLabels, compareStrings, type Labels, type Matcher } from '@thanos-ts/tsdb';
import { GrpcStatus, StoreAPIError } from '../storeapi/errors.js';
import type { RemoteStoreAPI } from '../storeapi/grpc-client.js';
import { matchesShard } from '../storeapi/shard.js';
import type {
  AggrChunk,
  ComponentType,
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
  StoreSeries,
} from '../storeapi/store-api.js';
import { defaultTracer, isTraced, recordError } from '../tracing/context.js';
import { PrefetchCursor } from './cursor.js';

/**
 * Warning (or error) text when no store can hold data for a query, as Thanos words it. The
 * warning starts with it and goes on to name each store left out and why.
 */
export const NO_STORES_MATCHED = 'No StoreAPIs matched for this query';
/** Error text when there are no stores at all, as Thanos words it. */
export const NO_STORES_AVAILABLE = 'No StoreAPIs available';

/** One store behind a proxy, with the info it last reported. */
export interface ProxyEndpoint {
  /** Address or name used in warnings and /api/v1/stores. */
  readonly name: string;
  readonly store: StoreAPI;
  /** The last Info it answered (for a never-reached endpoint: no labels and an empty range). */
  readonly info: StoreInfo;
  /**
   * Set when the endpoint failed its last health check: it is never queried, only named (with
   * since when and the last error) when a request finds no store to ask.
   */
  readonly unhealthy?: { readonly since: Date; readonly lastError: string | null };
}

/** A store a request left out, and why (what the `No StoreAPIs matched` warning lists). */
export interface StoreExclusion {
  readonly name: string;
  readonly componentType: ComponentType;
  /** Thanos's wording where it has one: `does not have data within this time period: …`. */
  readonly reason: string;
  /** Why, as a word: its time range, its external labels, its health, or it holds no data yet. */
  readonly kind: 'time-range' | 'external-labels' | 'unhealthy' | 'no-data';
}

/** Which stores a request asks and which it leaves out (see {@link selectStores}). */
export interface StoreSelection<T extends StoreCandidate = ProxyEndpoint> {
  readonly matched: T[];
  readonly excluded: StoreExclusion[];
}

/** What {@link selectStores} judges a store by. */
export type StoreCandidate = Pick<ProxyEndpoint, 'name' | 'info' | 'unhealthy'>;

/** Options of `createProxyStore`. */
export interface ProxyStoreOptions {
  /** The healthy endpoints at the time of each call. */
  endpoints: () => readonly ProxyEndpoint[];
  /**
   * Longest wait for the next message of one store's stream, ms, before that store counts as
   * failed (Thanos's --store.response-timeout). 0 disables it. Default 0.
   */
  responseTimeout?: number;
  /** Component type reported by `info`. Default 'query'. */
  componentType?: ComponentType;
  /** Called for each store failure turned into a warning (for logs and metrics). */
  onStoreError?: (endpoint: string, err: unknown) => void;
  /**
   * Tracer for one client span per store asked (`/thanos.Store/Series` with the store's address as
   * `target` and the matchers), parent of the call's propagated context. Default: the global API's.
   */
  tracer?: Tracer;
}

/** Whether any of the store's label sets can satisfy the matchers (Thanos's LabelSetsMatch). */
export function labelSetsMatch(matchers: readonly Matcher[], labelSets: readonly Labels[]): boolean {
  if (labelSets.length === 0) return true;
  return labelSets.some((ls) => matchers.every((m) => !ls.has(m.name) || m.matches(ls.get(m.name))));
}

/** Whether a store's time range and external labels allow it to hold matching data. */
export function storeMatches(info: StoreInfo, minTime: number, maxTime: number, matchers: readonly Matcher[]): boolean {
  if (minTime > info.maxTime || maxTime < info.minTime) return false;
  return labelSetsMatch(matchers, info.labelSets);
}

/** `ms (ISO time)` for a StoreAPI timestamp; the open ends (±2^63) have no date. */
function timeText(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : `${ms} (${d.toISOString()})`;
}

function labelSetsText(sets: readonly Labels[]): string {
  return `[${sets.map((l) => l.toString()).join(' ')}]`;
}

/**
 * Splits endpoints into those a request over [minTime, maxTime] with `matchers` must ask and
 * those it leaves out, with the reason for each (Thanos's storeMatches texts). A healthy store
 * holding no data yet (empty time range) is left out as `no-data`.
 */
export function selectStores<T extends StoreCandidate>(
  endpoints: readonly T[],
  minTime: number,
  maxTime: number,
  matchers: readonly Matcher[],
): StoreSelection<T> {
  const matched: T[] = [];
  const excluded: StoreExclusion[] = [];
  for (const e of endpoints) {
    const out = (kind: StoreExclusion['kind'], reason: string) =>
      excluded.push({ name: e.name, componentType: e.info.componentType, kind, reason });
    if (e.unhealthy) {
      out(
        'unhealthy',
        `unhealthy since ${e.unhealthy.since.toISOString()}${e.unhealthy.lastError ? ` (last error: ${e.unhealthy.lastError})` : ''}`,
      );
    } else if (e.info.minTime > e.info.maxTime) {
      out('no-data', 'has no data yet');
    } else if (minTime > e.info.maxTime || maxTime < e.info.minTime) {
      out(
        'time-range',
        `does not have data within this time period: [${minTime},${maxTime}]. Store time ranges: [${timeText(e.info.minTime)},${timeText(e.info.maxTime)}]`,
      );
    } else if (!labelSetsMatch(matchers, e.info.labelSets)) {
      out(
        'external-labels',
        `external labels ${labelSetsText(e.info.labelSets)} does not match request label matchers: {${matchers.map(String).join(', ')}}`,
      );
    } else matched.push(e);
  }
  return { matched, excluded };
}

/**
 * The `No StoreAPIs matched for this query` warning for a request that asks no store, naming
 * the query's time range and each store left out with the reason; undefined when nothing
 * useful was left out (only stores without data yet): an empty answer then needs no warning.
 */
export function noStoresMatchedWarning(
  selection: StoreSelection<StoreCandidate>,
  minTime: number,
  maxTime: number,
  total: number,
): string | undefined {
  if (total === 0) return `${NO_STORES_MATCHED}: no StoreAPIs are configured or discovered`;
  if (selection.excluded.every((x) => x.kind === 'no-data')) return undefined;
  const why = selection.excluded.map((x) => `store ${x.name} (${x.componentType}) filtered out: ${x.reason}`);
  return `${NO_STORES_MATCHED}: query time range [${timeText(minTime)},${timeText(maxTime)}]; ${why.join('; ')}`;
}

/**
 * Throws `No StoreAPIs available` (gRPC UNAVAILABLE) when no endpoint is healthy, naming the
 * unhealthy ones; used under the ABORT strategy, where a request must not answer without data.
 */
function noneAvailable(all: readonly ProxyEndpoint[], selection: StoreSelection<StoreCandidate>): void {
  if (all.some((e) => !e.unhealthy)) return;
  const down = selection.excluded.map((x) => `store ${x.name} filtered out: ${x.reason}`);
  throw new StoreAPIError(
    'CORE_NO_STORES',
    GrpcStatus.UNAVAILABLE,
    down.length > 0 ? `${NO_STORES_AVAILABLE}: ${down.join('; ')}` : NO_STORES_AVAILABLE,
  );
}

/**
 * A store refused the request itself: over one of its limits (gRPC RESOURCE_EXHAUSTED) or not
 * acceptable (INVALID_ARGUMENT, e.g. too many matchers). Every store would answer the same, and
 * a partial answer silently lacking that store's data would be wrong, so such an error fails the
 * query whatever the partial-response strategy.
 */
function isLimitError(err: unknown): boolean {
  return err instanceof StoreAPIError && (err.grpcCode === 8 || err.grpcCode === GrpcStatus.INVALID_ARGUMENT);
}

function abortsRequest(r: { partialResponseDisabled?: boolean; partialResponseStrategy?: PartialResponseStrategy }) {
  return r.partialResponseDisabled === true || r.partialResponseStrategy === 'ABORT';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Raises `err` as the request's failure under the ABORT strategy. */
function abortError(name: string, err: unknown): Error {
  if (err instanceof StoreAPIError) return err;
  return new StoreAPIError('CORE_PARTIAL_RESPONSE_ABORTED', GrpcStatus.ABORTED, `${name}: ${errorText(err)}`, {
    cause: err,
  });
}

/**
 * Merges the sorted streams of several series responses with equal labels into one series whose
 * chunks are sorted by time, dropping chunks that are byte-identical (the same block served by
 * two stores, or an HA pair's identical data).
 */
export function mergeChunks(series: readonly StoreSeries[]): AggrChunk[] {
  if (series.length === 1) return series[0]?.chunks as AggrChunk[];
  const all: AggrChunk[] = [];
  for (const s of series) for (const c of s.chunks) all.push(c);
  all.sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
  const out: AggrChunk[] = [];
  for (const c of all) {
    let dup = false;
    for (let j = out.length - 1; j >= 0; j--) {
      const o = out[j] as AggrChunk;
      if (o.minTime !== c.minTime || o.maxTime !== c.maxTime) break;
      if (sameChunk(o, c)) {
        dup = true;
        break;
      }
    }
    if (!dup) out.push(c);
  }
  return out;
}

function sameChunk(a: AggrChunk, b: AggrChunk): boolean {
  const pa = a.raw ?? a.counter ?? a.sum ?? a.count ?? a.min ?? a.max;
  const pb = b.raw ?? b.counter ?? b.sum ?? b.count ?? b.min ?? b.max;
  if (!pa || !pb) return pa === pb;
  return Buffer.from(pa.data.buffer, pa.data.byteOffset, pa.data.byteLength).equals(pb.data);
}

interface StoreStream {
  readonly name: string;
  readonly cursor: PrefetchCursor;
  readonly controller: AbortController;
  head: StoreSeries | undefined;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * A StoreAPI over other StoreAPIs (Thanos's ProxyStore): picks the stores whose time range and
 * external labels can match, fans out concurrently, k-way merges their sorted series by labels
 * (stripping replica labels when asked) and turns a failing store into a warning (WARN) or the
 * request's error (ABORT). Store responses are read ahead a little per store and streamed on.
 */
export function createProxyStore(opts: ProxyStoreOptions): StoreAPI {
  const responseTimeout = opts.responseTimeout ?? 0;
  const tracer = opts.tracer ?? defaultTracer();

  /** The client span of one store call, or undefined when nothing is traced (no cost then). */
  function storeSpan(
    method: string,
    e: ProxyEndpoint,
    req: { matchers?: readonly Matcher[] },
    range: [number, number],
  ) {
    const parent = context.active();
    if (!trace.getSpan(parent)) return undefined;
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          target: e.name,
          'store.component_type': e.info.componentType,
          'store.matchers': `{${(req.matchers ?? []).map(String).join(',')}}`,
          'store.min_time': range[0],
          'store.max_time': range[1],
        },
      },
      parent,
    );
    if (!isTraced(span)) {
      span.end();
      return undefined;
    }
    return { span, ctx: trace.setSpan(parent, span) };
  }

  const healthy = () => opts.endpoints().filter((e) => !e.unhealthy);

  async function* series(req: SeriesRequest, signal?: AbortSignal): AsyncGenerator<SeriesResponse> {
    signal?.throwIfAborted();
    // Thanos's ProxyStore.Series refuses this before asking any store.
    if (req.matchers.length === 0)
      throw new StoreAPIError(
        'INVALID_ARGUMENT',
        GrpcStatus.INVALID_ARGUMENT,
        'no matchers specified (excluding external labels)',
      );
    const all = opts.endpoints();
    const selection = selectStores(all, req.minTime, req.maxTime, req.matchers);
    if (abortsRequest(req)) noneAvailable(all, selection);
    const stores = selection.matched;
    if (stores.length === 0) {
      const warning = noStoresMatchedWarning(selection, req.minTime, req.maxTime, all.length);
      if (warning) yield { type: 'warning', warning };
      return;
    }
    const strip = req.withoutReplicaLabels ?? [];
    const warnings: string[] = [];
    const streams: StoreStream[] = stores.map((e) => openStream(e, req, strip, signal));
    const onAbort = () => {
      for (const s of streams) s.controller.abort(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const fail = (s: StoreStream, err: unknown) => {
      if (signal?.aborted) throw signal.reason;
      if (isLimitError(err)) throw err;
      if (abortsRequest(req)) throw abortError(s.name, err);
      opts.onStoreError?.(s.name, err);
      warnings.push(`receive series from ${s.name}: ${errorText(err)}`);
    };

    // Pulls the stream's next series into `head`; warnings are queued, errors handled per strategy.
    // Handles one response; true when the stream's next head is settled (a series or the end).
    const take = (s: StoreStream, r: SeriesResponse | undefined): boolean => {
      if (r === undefined) {
        clearTimeout(s.timer);
        return true;
      }
      if (r.type === 'series') {
        s.head = r.series;
        return true;
      }
      if (r.type === 'warning') {
        if (abortsRequest(req)) throw abortError(s.name, r.warning);
        warnings.push(r.warning);
      }
      return false;
    };

    // Pulls the stream's next series into `head`; warnings are queued, errors handled per strategy.
    // Responses already read ahead are taken synchronously: most series cost no promise at all.
    const advance = (s: StoreStream): Promise<void> | undefined => {
      s.head = undefined;
      for (;;) {
        const r = s.cursor.takeBuffered();
        if (r === undefined) break;
        if (take(s, r)) return undefined;
      }
      return (async () => {
        for (;;) {
          let r: SeriesResponse | undefined;
          try {
            r = await s.cursor.next();
          } catch (err) {
            clearTimeout(s.timer);
            fail(s, err);
            return;
          }
          if (take(s, r)) return;
        }
      })();
    };
    const advanceAll = (list: readonly StoreStream[]): Promise<unknown> | undefined => {
      const pending: Promise<void>[] = [];
      for (const s of list) {
        const p = advance(s);
        if (p) pending.push(p);
      }
      if (pending.length === 0) return undefined;
      return pending.length === 1 ? pending[0] : Promise.all(pending);
    };

    try {
      await advanceAll(streams);
      let emitted = 0;
      const limit = req.limit ?? 0;
      const group: StoreStream[] = [];
      for (;;) {
        while (warnings.length > 0) yield { type: 'warning', warning: warnings.shift() as string };
        // Stores are few: a linear scan for the smallest head beats a heap's bookkeeping.
        let min: Labels | undefined;
        group.length = 0;
        for (const s of streams) {
          if (!s.head) continue;
          const c = min === undefined ? -1 : compareLabels(s.head.labels, min);
          if (c < 0) {
            min = s.head.labels;
            group.length = 0;
            group.push(s);
          } else if (c === 0) group.push(s);
        }
        if (min === undefined) break;
        const parts: StoreSeries[] = group.map((s) => s.head as StoreSeries);
        const waiting = advanceAll(group);
        if (waiting) await waiting;
        // A store holding several replicas answers the same (stripped) labels more than once in a row.
        for (;;) {
          const again = streams.filter((s) => s.head?.labels.equals(min as Labels));
          if (again.length === 0) break;
          for (const s of again) parts.push(s.head as StoreSeries);
          const more = advanceAll(again);
          if (more) await more;
        }
        const merged: StoreSeries =
          parts.length === 1 ? (parts[0] as StoreSeries) : { labels: min, chunks: mergeChunks(parts) };
        yield { type: 'series', series: merged };
        emitted++;
        if (limit > 0 && emitted >= limit) break;
      }
      while (warnings.length > 0) yield { type: 'warning', warning: warnings.shift() as string };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const s of streams) {
        clearTimeout(s.timer);
        s.cursor.close();
        s.controller.abort();
      }
    }
  }

  function openStream(
    e: ProxyEndpoint,
    req: SeriesRequest,
    strip: readonly string[],
    signal?: AbortSignal,
  ): StoreStream {
    const controller = new AbortController();
    if (signal?.aborted) controller.abort(signal.reason);
    const batched = (e.store as Partial<RemoteStoreAPI>).seriesBatches;
    // A sharded request to a store that cannot shard: its other shards' series are dropped here,
    // hashed without the replica labels so every replica of a series lands in the same shard
    // (Thanos's proxy does the same with its ShardMatcher).
    const shard =
      req.shardInfo && req.shardInfo.totalShards >= 1 && !e.info.supportsSharding ? req.shardInfo : undefined;
    let source: AsyncIterable<SeriesResponse> | AsyncIterable<readonly SeriesResponse[]> =
      typeof batched === 'function' && !shard
        ? batched.call(e.store, req, controller.signal)
        : e.store.series(req, controller.signal);
    let map: ((r: SeriesResponse) => SeriesResponse) | undefined;
    if (strip.length > 0) {
      if (e.info.supportsWithoutReplicaLabels) map = (r) => stripReplicaLabels(r, strip);
      else source = strippedSorted(source as AsyncIterable<SeriesResponse>, strip);
    }
    if (shard) source = shardFiltered(source as AsyncIterable<SeriesResponse>, shard, strip);
    const traced = storeSpan('/thanos.Store/Series', e, req, [req.minTime, req.maxTime]);
    if (traced) source = countedStream(source, traced.span) as typeof source;
    // The cursor starts pulling at once: under the store's span, so a remote call carries it.
    const cursor = traced
      ? context.with(traced.ctx, () => new PrefetchCursor(source, 256, map))
      : new PrefetchCursor(source, 256, map);
    const s: StoreStream = {
      name: e.name,
      cursor,
      controller,
      head: undefined,
    };
    if (responseTimeout > 0) {
      // One re-armed timer per store instead of one per message: cheap at 100k series.
      const check = () => {
        // Only a store that owes us data counts as idle; a slow consumer is not the store's fault.
        const idle = s.cursor.buffered > 0 ? 0 : Date.now() - s.cursor.lastReceived;
        if (s.cursor.finished) return;
        if (idle >= responseTimeout) {
          const err = new StoreAPIError(
            'CORE_STORE_RESPONSE_TIMEOUT',
            GrpcStatus.DEADLINE_EXCEEDED,
            `no response within ${responseTimeout}ms (--store.response-timeout)`,
          );
          s.cursor.fail(err);
          controller.abort(err);
        } else s.timer = setTimeout(check, responseTimeout - idle);
      };
      s.timer = setTimeout(check, responseTimeout);
    }
    controller.signal.addEventListener('abort', () => s.cursor.fail(controller.signal.reason), { once: true });
    return s;
  }

  async function fanOutLabels<T extends { warnings: string[] }>(
    method: string,
    req: LabelNamesRequest,
    call: (store: StoreAPI, signal: AbortSignal) => Promise<T>,
    pick: (r: T) => string[],
    signal?: AbortSignal,
  ): Promise<{ items: string[]; warnings: string[] }> {
    const all = opts.endpoints();
    const selection = selectStores(all, req.start, req.end, req.matchers ?? []);
    const stores = selection.matched;
    if (stores.length === 0) {
      if (abortsRequest(req)) noneAvailable(all, selection);
      const warning = noStoresMatchedWarning(selection, req.start, req.end, all.length);
      return { items: [], warnings: warning ? [warning] : [] };
    }
    const warnings: string[] = [];
    const set = new Set<string>();
    await Promise.all(
      stores.map(async (e) => {
        const ctl = new AbortController();
        const onAbort = () => ctl.abort(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        const timer =
          responseTimeout > 0
            ? setTimeout(() => ctl.abort(new Error(`no response within ${responseTimeout}ms`)), responseTimeout)
            : undefined;
        const traced = storeSpan(method, e, req, [req.start, req.end]);
        try {
          const r = await Promise.race([
            traced ? context.with(traced.ctx, () => call(e.store, ctl.signal)) : call(e.store, ctl.signal),
            new Promise<never>((_, reject) =>
              ctl.signal.addEventListener('abort', () => reject(ctl.signal.reason), { once: true }),
            ),
          ]);
          for (const v of pick(r)) set.add(v);
          warnings.push(...r.warnings);
        } catch (err) {
          if (traced) recordError(traced.span, err);
          if (signal?.aborted) throw signal.reason;
          if (isLimitError(err)) throw err;
          if (abortsRequest(req)) throw abortError(e.name, err);
          opts.onStoreError?.(e.name, err);
          warnings.push(`${e.name}: ${errorText(err)}`);
        } finally {
          traced?.span.end();
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        }
      }),
    );
    const items = [...set].sort(compareStrings);
    return { items, warnings };
  }

  return {
    async info(): Promise<StoreInfo> {
      const eps = healthy();
      const seen = new Map<string, Labels>();
      let minTime = Number.POSITIVE_INFINITY;
      let maxTime = Number.NEGATIVE_INFINITY;
      for (const e of eps) {
        for (const ls of e.info.labelSets) seen.set(ls.key(), ls);
        minTime = Math.min(minTime, e.info.minTime);
        maxTime = Math.max(maxTime, e.info.maxTime);
      }
      return {
        labelSets: [...seen.values()].sort(compareLabels),
        minTime: eps.length ? minTime : 0,
        maxTime: eps.length ? maxTime : -1,
        componentType: opts.componentType ?? 'query',
        supportsWithoutReplicaLabels: true,
      };
    },
    series,
    async labelNames(req: LabelNamesRequest, signal?: AbortSignal): Promise<LabelNamesResponse> {
      const drop = new Set(req.withoutReplicaLabels ?? []);
      const { items, warnings } = await fanOutLabels(
        '/thanos.Store/LabelNames',
        req,
        (s, sig) => s.labelNames(req, sig),
        (r) => r.names,
        signal,
      );
      return { names: drop.size ? items.filter((n) => !drop.has(n)) : items, warnings };
    },
    async labelValues(req: LabelValuesRequest, signal?: AbortSignal): Promise<LabelValuesResponse> {
      if (req.label === '')
        throw new StoreAPIError(
          'INVALID_ARGUMENT',
          GrpcStatus.INVALID_ARGUMENT,
          'label name parameter cannot be empty',
        );
      const { items, warnings } = await fanOutLabels(
        '/thanos.Store/LabelValues',
        req,
        (s, sig) => s.labelValues(req, sig),
        (r) => r.values,
        signal,
      );
      return { values: items, warnings };
    },
  };
}

/**
 * Passes a store's stream through, counting its series onto `span` and ending it when the stream
 * ends, fails (recorded) or is abandoned.
 */
async function* countedStream(
  source: AsyncIterable<SeriesResponse> | AsyncIterable<readonly SeriesResponse[]>,
  span: Span,
): AsyncGenerator<SeriesResponse | readonly SeriesResponse[]> {
  let series = 0;
  let warnings = 0;
  try {
    for await (const item of source) {
      if (Array.isArray(item)) {
        for (const r of item as readonly SeriesResponse[])
          if (r.type === 'series') series++;
          else if (r.type === 'warning') warnings++;
      } else if ((item as SeriesResponse).type === 'series') series++;
      else if ((item as SeriesResponse).type === 'warning') warnings++;
      yield item;
    }
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.setAttributes({ 'store.series': series, 'store.warnings': warnings });
    span.end();
  }
}

// Stores that support without_replica_labels drop them already; this only catches stragglers.
function stripReplicaLabels(r: SeriesResponse, names: readonly string[]): SeriesResponse {
  if (r.type !== 'series') return r;
  const labels = r.series.labels.without(names);
  return labels === r.series.labels ? r : { type: 'series', series: { labels, chunks: r.series.chunks } };
}

// A store that cannot drop replica labels itself keeps its order with them; dropping them may
// unsort it, so its whole answer is gathered and sorted (Thanos does the same for such stores).
async function* strippedSorted(
  source: AsyncIterable<SeriesResponse>,
  names: readonly string[],
): AsyncGenerator<SeriesResponse> {
  const all: StoreSeries[] = [];
  for await (const r of source) {
    if (r.type === 'series') all.push({ labels: r.series.labels.without(names), chunks: r.series.chunks });
    else yield r;
  }
  all.sort((a, b) => compareLabels(a.labels, b.labels));
  for (const s of all) yield { type: 'series', series: s };
}

// Keeps the series of one shard (and every non-series response) from a store that does not shard.
async function* shardFiltered(
  source: AsyncIterable<SeriesResponse>,
  shard: ShardInfo,
  strip: readonly string[],
): AsyncGenerator<SeriesResponse> {
  for await (const r of source) {
    if (r.type !== 'series' || matchesShard(r.series.labels.without(strip).toRecord(), shard)) yield r;
  }
}
