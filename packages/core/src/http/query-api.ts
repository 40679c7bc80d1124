import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseMetricSelector } from '@thanos-ts/promql';
import type { Matcher } from '@thanos-ts/tsdb';
import { goQuote } from '@thanos-ts/tsdb/goformat';
import { createTimeSlice } from '../concurrency/time-slice.js';
import type { EndpointStatus } from '../query/endpoint-set.js';
import type { EngineValue } from '../query/engine.js';
import { type StoreCandidate, selectStores } from '../query/proxy.js';
import type { QueryCore, QueryOptions, QueryResponse } from '../query/query-core.js';
import { parseShardInfo } from '../storeapi/shard.js';
import { APIError, apiErrorOf, invalidParam, writeAPIError, writeSuccess } from './api-error.js';
import { labelsJSON, queryDataJSONSliced } from './json.js';
import {
  API_MAX_TIME,
  API_MIN_TIME,
  type FormValues,
  parseDuration,
  parseGoBool,
  parseTime,
  readForm,
} from './params.js';

/** Version details served at /api/v1/status/buildinfo (Prometheus's field names). */
export interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
  goVersion: string;
}

/** Options of `createQueryAPIHandler`. */
export interface QueryAPIOptions {
  /** What answers the queries (a Querier, or its evaluation core). */
  querier: QueryCore;
  /** Parses a `match[]` series selector into matchers. Default: @thanos-ts/promql's parseMetricSelector. */
  parseSelector?: (selector: string) => Matcher[];
  /** Step of range queries without `step`, ms (Thanos's --query.default-step). Default 1 s. */
  defaultStepMs?: number;
  buildInfo?: Partial<BuildInfo>;
  /** Mount point. Default '/api/v1'. */
  prefix?: string;
  /** Current time in ms (for tests). Default Date.now. */
  now?: () => number;
}

/** A Node request handler answering under the prefix; resolves false when the path is not its own. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

// Prometheus limits range queries to 11,000 points per series.
const MAX_POINTS = 11_000;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseLimit(form: FormValues): number {
  const s = form.get('limit');
  if (s === '') return 0;
  if (!/^[+-]?\d+$/.test(s))
    throw invalidParam('limit', new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`));
  const n = Number(s);
  if (n < 0) throw invalidParam('limit', new Error('limit must be non-negative'));
  return n;
}

function timeParam(form: FormValues, name: string, def: number): number {
  const v = form.get(name);
  if (v === '') return def;
  try {
    return parseTime(v);
  } catch (err) {
    throw invalidParam(name, new Error(`invalid time value for '${name}': ${(err as Error).message}`));
  }
}

function boolParam(form: FormValues, name: string): boolean | undefined {
  const v = form.get(name);
  if (v === '') return undefined;
  try {
    return parseGoBool(v);
  } catch (err) {
    throw new APIError('bad_data', `'${name}' parameter: ${(err as Error).message}`);
  }
}

/**
 * The Prometheus HTTP API v1 over a querier, plus Thanos's query parameters (dedup,
 * replicaLabels[], partial_response, max_source_resolution, engine) and /api/v1/stores.
 * Mount it in any node:http server: it answers its own paths and resolves false for others.
 */
export function createQueryAPIHandler(opts: QueryAPIOptions): RequestHandler {
  const prefix = opts.prefix ?? '/api/v1';
  const now = opts.now ?? Date.now;
  const defaultStep = opts.defaultStepMs ?? 1000;
  const querier = opts.querier;
  const parseSelector = opts.parseSelector ?? parseMetricSelector;
  const buildInfo: BuildInfo = {
    version: '0.1.0',
    revision: 'unknown',
    branch: 'unknown',
    buildUser: 'unknown',
    buildDate: 'unknown',
    goVersion: `node${process.versions.node}`,
    ...opts.buildInfo,
  };

  /**
   * The request's tenant as Thanos's tenancy.GetTenantFromHTTP takes it with the default flags:
   * the THANOS-TENANT header, else `default-tenant`; a name that is not its own path base (one
   * with a `/`) is bad data with Thanos's text. Only the query telemetry uses it (no enforcement).
   */
  function tenantOf(req: IncomingMessage): string {
    const h = req.headers['thanos-tenant'];
    const tenant = (Array.isArray(h) ? h[0] : h) || 'default-tenant';
    if (tenant.includes('/') && tenant !== '/') throw new APIError('bad_data', 'tenant name not valid');
    return tenant;
  }

  function queryOptions(form: FormValues, signal: AbortSignal, autoResolution: number): QueryOptions {
    const q: { -readonly [K in keyof QueryOptions]: QueryOptions[K] } = { signal };
    const dedup = boolParam(form, 'dedup');
    if (dedup !== undefined) q.dedup = dedup;
    const partial = boolParam(form, 'partial_response');
    if (partial !== undefined) q.partialResponse = partial;
    const replicas = form.all('replicaLabels[]');
    if (replicas.length > 0) q.replicaLabels = replicas;
    const shard = form.get('shard_info');
    if (shard !== '') {
      // One shard of a query the query frontend split by series (--query-frontend.vertical-shards).
      try {
        q.shardInfo = parseShardInfo(shard);
      } catch (err) {
        throw new APIError('bad_data', (err as Error).message);
      }
    }
    const res = form.get('max_source_resolution');
    if (res === 'auto') q.maxSourceResolutionMs = autoResolution;
    else if (res !== '') {
      let ms: number;
      try {
        ms = parseDuration(res);
      } catch (err) {
        throw new APIError('bad_data', `'max_source_resolution' parameter: ${(err as Error).message}`);
      }
      if (ms < 0)
        throw new APIError('bad_data', "negative 'max_source_resolution' is not accepted. Try a positive integer");
      q.maxSourceResolutionMs = ms;
    }
    const lookback = form.get('lookback_delta');
    if (lookback !== '') {
      try {
        q.lookbackDeltaMs = parseDuration(lookback);
      } catch (err) {
        throw new APIError('bad_data', `error parsing lookback delta duration: ${(err as Error).message}`);
      }
    }
    const timeout = form.get('timeout');
    if (timeout !== '') {
      try {
        q.timeoutMs = parseDuration(timeout);
      } catch (err) {
        throw invalidParam('timeout', err);
      }
    }
    const engine = form.get('engine');
    if (engine !== '' && engine !== 'prometheus' && engine !== 'thanos')
      throw new APIError('bad_data', `'${engine}' bad engine`);
    return q;
  }

  function matcherSets(form: FormValues): Matcher[][] {
    return form.all('match[]').map((s) => {
      const ms = parseSelector(s);
      if (!ms.some((m) => !m.matchesEmpty())) throw new Error('match[] must contain at least one non-empty matcher');
      return ms;
    });
  }

  /**
   * For `stats=all`: every store with its health and range, and whether the query's time range
   * (`[start - lookback, end]`) reaches it, with the reason when not (the same words as the
   * `No StoreAPIs matched` warning; external labels are judged per selector in that warning).
   */
  function storesStatsJSON(range: { start: number; end: number; lookbackMs: number }): unknown {
    const statuses = querier.endpointStatuses();
    const endpoints = statuses.map(asStoreCandidate);
    const minTime = range.start - range.lookbackMs;
    const { excluded } = selectStores(endpoints, minTime, range.end, []);
    const why = new Map(excluded.map((x) => [x.name, x]));
    return {
      queryMinTime: minTime,
      queryMaxTime: range.end,
      stores: statuses.map((st) => ({
        ...storeStatusJSON(st),
        queried: !why.has(st.name),
        ...(why.has(st.name) ? { leftOutBecause: why.get(st.name)?.kind, reason: why.get(st.name)?.reason } : {}),
      })),
    };
  }

  function statsJSON(
    r: QueryResponse,
    all: boolean,
    range: { start: number; end: number; lookbackMs: number },
  ): unknown {
    const sec = (ms: number) => ms / 1000;
    return {
      ...(all ? { storeSelection: storesStatsJSON(range) } : {}),
      timings: {
        evalTotalTime: sec(r.stats.execTotalTime - r.stats.execQueueTime),
        resultSortTime: 0,
        queryPreparationTime: 0,
        innerEvalTime: sec(r.stats.execTotalTime - r.stats.execQueueTime),
        execQueueTime: sec(r.stats.execQueueTime),
        execTotalTime: sec(r.stats.execTotalTime),
      },
      samples: { totalQueryableSamples: r.stats.samplesFetched, peakSamples: r.stats.samplesFetched },
    };
  }

  function truncate(v: EngineValue, limit: number): { value: EngineValue; truncated: boolean } {
    if (limit <= 0) return { value: v, truncated: false };
    if (v.type === 'vector' && v.samples.length > limit)
      return { value: { type: 'vector', samples: v.samples.slice(0, limit) }, truncated: true };
    if (v.type === 'matrix' && v.series.length > limit)
      return { value: { type: 'matrix', series: v.series.slice(0, limit) }, truncated: true };
    return { value: v, truncated: false };
  }

  async function answerQuery(
    res: ServerResponse,
    form: FormValues,
    r: QueryResponse,
    limit: number,
    range: { start: number; end: number; lookbackMs: number },
    signal: AbortSignal,
  ): Promise<void> {
    const { value, truncated } = truncate(r.result, limit);
    const warnings = [...r.warnings];
    if (truncated) warnings.push('results truncated due to limit');
    const stats = form.get('stats');
    if (stats !== '' && stats !== 'true' && stats !== 'all') {
      warnings.push(
        `value ${goQuote(stats)} for parameter "stats" is deprecated and will be rejected in the next major release, use "true" or "all"`,
      );
    }
    const data = await queryDataJSONSliced(
      value,
      stats !== '' ? statsJSON(r, stats === 'all', range) : undefined,
      createTimeSlice(),
      signal,
    );
    // A client that went away while the answer was encoded gets nothing more.
    if (signal.aborted) return;
    writeSuccess(res, data, warnings, r.infos);
  }

  async function query(form: FormValues, res: ServerResponse, signal: AbortSignal, tenant: string): Promise<void> {
    const limit = parseLimit(form);
    const time = timeParam(form, 'time', now());
    const q = { ...queryOptions(form, signal, 0), tenant };
    const expr = form.get('query');
    let r: QueryResponse;
    try {
      r = await querier.instantQuery(expr, time, q);
    } catch (err) {
      throw apiErrorOf(err);
    }
    await answerQuery(
      res,
      form,
      r,
      limit,
      { start: time, end: time, lookbackMs: q.lookbackDeltaMs ?? DEFAULT_LOOKBACK_MS },
      signal,
    );
  }

  async function queryRange(form: FormValues, res: ServerResponse, signal: AbortSignal, tenant: string): Promise<void> {
    const limit = parseLimit(form);
    let start: number;
    let end: number;
    try {
      start = parseTime(form.get('start'));
    } catch (err) {
      throw invalidParam('start', err);
    }
    try {
      end = parseTime(form.get('end'));
    } catch (err) {
      throw invalidParam('end', err);
    }
    if (end < start) throw invalidParam('end', new Error('end timestamp must not be before start time'));
    let step: number;
    if (form.get('step') !== '') {
      try {
        step = parseDuration(form.get('step'));
      } catch (err) {
        throw invalidParam('step', err);
      }
    } else step = Math.max(Math.floor((end - start) / 1000 / 250) * 1000, defaultStep);
    if (step <= 0) {
      throw invalidParam(
        'step',
        new Error('zero or negative query resolution step widths are not accepted. Try a positive integer'),
      );
    }
    if ((end - start) / step > MAX_POINTS) {
      throw new APIError(
        'bad_data',
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      );
    }
    const q = { ...queryOptions(form, signal, Math.floor(step / 5)), tenant };
    let r: QueryResponse;
    try {
      r = await querier.rangeQuery(form.get('query'), start, end, step, q);
    } catch (err) {
      throw apiErrorOf(err);
    }
    await answerQuery(
      res,
      form,
      r,
      limit,
      { start, end, lookbackMs: q.lookbackDeltaMs ?? DEFAULT_LOOKBACK_MS },
      signal,
    );
  }

  /** Parameters shared by the series, labels and label-values endpoints (Prometheus's defaults). */
  function metadataParams(
    form: FormValues,
    signal: AbortSignal,
    badMatchers: (err: unknown) => Error = (err) => new APIError('bad_data', (err as Error).message),
  ): { limit: number; start: number; end: number; sets: Matcher[][]; q: QueryOptions } {
    const limit = parseLimit(form);
    const start = timeParam(form, 'start', API_MIN_TIME);
    const end = timeParam(form, 'end', API_MAX_TIME);
    let sets: Matcher[][];
    try {
      sets = matcherSets(form);
    } catch (err) {
      throw badMatchers(err);
    }
    return { limit, start, end, sets, q: queryOptions(form, signal, 0) };
  }

  async function series(form: FormValues, res: ServerResponse, signal: AbortSignal): Promise<void> {
    if (form.all('match[]').length === 0) throw new APIError('bad_data', 'no match[] parameter provided');
    const { limit, start, end, sets, q } = metadataParams(form, signal, (err) => invalidParam('match[]', err));
    try {
      const r = await querier.findSeries(sets, start, end, { ...q, limit });
      writeSuccess(res, `[${r.series.map(labelsJSON).join(',')}]`, r.warnings);
    } catch (err) {
      throw apiErrorOf(err);
    }
  }

  async function labels(form: FormValues, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const { limit, start, end, sets, q } = metadataParams(form, signal);
    let r: { names: string[]; warnings: string[] };
    try {
      r = await querier.findLabelNames(sets, start, end, q);
    } catch (err) {
      throw apiErrorOf(err);
    }
    writeLimited(res, r.names, r.warnings, limit);
  }

  async function labelValues(name: string, form: FormValues, res: ServerResponse, signal: AbortSignal): Promise<void> {
    if (!LABEL_NAME.test(name)) throw new APIError('bad_data', `invalid label name: ${goQuote(name)}`);
    const { limit, start, end, sets, q } = metadataParams(form, signal);
    let r: { values: string[]; warnings: string[] };
    try {
      r = await querier.findLabelValues(name, sets, start, end, q);
    } catch (err) {
      throw apiErrorOf(err);
    }
    writeLimited(res, r.values, r.warnings, limit);
  }

  function writeLimited(res: ServerResponse, items: string[], warnings: string[], limit: number): void {
    const w = [...warnings];
    let out = items;
    if (limit > 0 && items.length > limit) {
      out = items.slice(0, limit);
      w.push('results truncated due to limit');
    }
    writeSuccess(res, JSON.stringify(out), w);
  }

  // Thanos's /api/v1/stores: endpoints by component type. An endpoint never reached is listed
  // under "unknown" so a dead address is visible, not silently absent.
  function stores(res: ServerResponse): void {
    const byType: Record<string, unknown[]> = {};
    for (const s of querier.endpointStatuses()) {
      const type = s.info?.componentType ?? 'unknown';
      const list = byType[type] ?? [];
      byType[type] = list;
      list.push(storeStatusJSON(s));
    }
    writeSuccess(res, JSON.stringify(byType));
  }

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) return false;
    const path = url.pathname.slice(prefix.length);
    const method = req.method ?? 'GET';
    const ac = new AbortController();
    // A client that goes away cancels its query (Prometheus's request context).
    res.on('close', () => {
      if (!res.writableFinished) ac.abort(new DOMException('client closed the connection', 'AbortError'));
    });
    try {
      const getOrPost = method === 'GET' || method === 'POST';
      const route = routeOf(path);
      if (!route) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('404 page not found\n');
        return true;
      }
      const allowed = route.kind === 'buildinfo' || route.kind === 'stores' ? method === 'GET' : getOrPost;
      if (!allowed) {
        res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Method Not Allowed\n');
        return true;
      }
      let form: FormValues;
      try {
        form = await readForm(req, url);
      } catch (err) {
        throw new APIError('bad_data', (err as Error).message);
      }
      switch (route.kind) {
        case 'query':
          await query(form, res, ac.signal, tenantOf(req));
          break;
        case 'query_range':
          await queryRange(form, res, ac.signal, tenantOf(req));
          break;
        case 'series':
          await series(form, res, ac.signal);
          break;
        case 'labels':
          await labels(form, res, ac.signal);
          break;
        case 'label_values':
          await labelValues(route.name, form, res, ac.signal);
          break;
        case 'buildinfo':
          writeSuccess(res, JSON.stringify(buildInfo));
          break;
        case 'stores':
          stores(res);
          break;
      }
    } catch (err) {
      if (!res.headersSent) writeAPIError(res, err instanceof APIError ? err : apiErrorOf(err));
      else res.destroy();
    }
    return true;
  };
}

/** Prometheus's default --query.lookback-delta, ms (what a query without lookback_delta reaches back). */
const DEFAULT_LOOKBACK_MS = 300_000;

/**
 * One endpoint as /api/v1/stores shows it: Thanos's fields (name, lastCheck, lastError,
 * labelSets, minTime, maxTime) plus `healthy` and `unhealthySince` (ISO time, null while healthy).
 */
function storeStatusJSON(s: EndpointStatus): Record<string, unknown> {
  return {
    name: s.name,
    lastCheck: s.lastCheck?.toISOString() ?? null,
    lastError: s.lastError,
    healthy: s.healthy,
    unhealthySince: s.unhealthySince?.toISOString() ?? null,
    labelSets: s.info?.labelSets.map((l) => l.toRecord()) ?? [],
    minTime: s.info?.minTime ?? null,
    maxTime: s.info?.maxTime ?? null,
  };
}

/** An endpoint status in the shape store selection judges (a never-reached one has an empty range). */
function asStoreCandidate(s: EndpointStatus): StoreCandidate {
  const info = s.info ?? { labelSets: [], minTime: 1, maxTime: 0, componentType: 'unknown' as const };
  if (s.healthy) return { name: s.name, info };
  return {
    name: s.name,
    info,
    unhealthy: { since: s.unhealthySince ?? s.lastCheck ?? new Date(0), lastError: s.lastError },
  };
}

type Route =
  | { kind: 'query' | 'query_range' | 'series' | 'labels' | 'buildinfo' | 'stores' }
  | { kind: 'label_values'; name: string };

function routeOf(path: string): Route | undefined {
  switch (path) {
    case '/query':
      return { kind: 'query' };
    case '/query_range':
      return { kind: 'query_range' };
    case '/series':
      return { kind: 'series' };
    case '/labels':
      return { kind: 'labels' };
    case '/status/buildinfo':
      return { kind: 'buildinfo' };
    case '/stores':
      return { kind: 'stores' };
  }
  const m = /^\/label\/([^/]+)\/values$/.exec(path);
  if (m) return { kind: 'label_values', name: decodeURIComponent(m[1] as string) };
  return undefined;
}
