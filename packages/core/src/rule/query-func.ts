import { Labels, type Queryable, type SeriesSamples } from '@thanos-ts/tsdb';
import type { Logger } from '../log/logger.js';
import type { QueryCore } from '../query/query-core.js';
import { traceHeaders } from '../tracing/context.js';
import type { EndpointGroup, HTTPClient } from './clients.js';
import { RuleQueryError } from './errors.js';
import type { RulePartialResponseStrategy } from './rule-file.js';

/** One sample of an instant vector a rule query returns. */
export interface RuleSample {
  readonly labels: Labels;
  readonly value: number;
}

/** Per-query settings a ruler passes. */
export interface RuleQueryOptions {
  /** The rule group's partial-response strategy (Thanos). */
  partialResponseStrategy?: RulePartialResponseStrategy;
  signal?: AbortSignal;
}

/**
 * Evaluates `expr` at `timeMs` (ms since the epoch) and answers an instant vector; a scalar
 * answer is a one-sample vector without labels, as Prometheus's EngineQueryFunc makes it.
 * Rejects on query errors.
 */
export type RuleQueryFunc = (expr: string, timeMs: number, opts?: RuleQueryOptions) => Promise<RuleSample[]>;

/** Adapts an in-process querier (its `instantQuery`) to a {@link RuleQueryFunc}. */
export function querierQueryFunc(querier: Pick<QueryCore, 'instantQuery'>): RuleQueryFunc {
  return async (expr, timeMs, opts) => {
    const r = await querier.instantQuery(expr, timeMs, {
      partialResponse: opts?.partialResponseStrategy === 'WARN',
      ...(opts?.signal ? { signal: opts.signal } : {}),
    });
    const v = r.result;
    if (v.type === 'vector') return v.samples.map((s) => ({ labels: s.metric, value: s.f }));
    if (v.type === 'scalar') return [{ labels: Labels.EMPTY, value: v.v }];
    throw new RuleQueryError(`rule result is not a vector or scalar: ${v.type}`);
  };
}

/** Options of {@link httpQueryFunc}. */
export interface HttpQueryFuncOptions {
  /** Base URL of a Prometheus-compatible API (a Thanos or thanos-ts querier, Prometheus), without /api/v1. */
  url: string;
  /** HTTP method for /api/v1/query (--query.http-method). Default 'POST', as Thanos. */
  method?: 'GET' | 'POST';
  /** Per-request timeout, ms. Default 120_000; 0 means none. */
  timeoutMs?: number;
  /** Client from the endpoint's `http_config` (auth, TLS). Default: plain fetch. */
  client?: HTTPClient;
}

interface PromResponse {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: unknown };
}

function parseValue(v: unknown): number {
  const s = (v as [number, string] | undefined)?.[1];
  if (s === '+Inf') return Number.POSITIVE_INFINITY;
  if (s === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(s);
}

/**
 * A {@link RuleQueryFunc} over a Prometheus-compatible HTTP API (`/api/v1/query`), as Thanos's
 * ruler queries its --query endpoints. Sends Thanos's `partial_response` parameter. Errors name the
 * URL and carry the API's error text.
 */
export function httpQueryFunc(opts: HttpQueryFuncOptions): RuleQueryFunc {
  const base = opts.url.replace(/\/+$/, '');
  const method = opts.method ?? 'POST';
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return async (expr, timeMs, q) => {
    const params = new URLSearchParams({ query: expr, time: (timeMs / 1000).toFixed(3) });
    // Thanos's promclient always asks for deduplication and says the partial-response strategy.
    params.set('dedup', 'true');
    if (q?.partialResponseStrategy) params.set('partial_response', String(q.partialResponseStrategy === 'WARN'));
    const signals: AbortSignal[] = [];
    if (q?.signal) signals.push(q.signal);
    if (timeoutMs > 0) signals.push(AbortSignal.timeout(timeoutMs));
    // The active span (the rule's) goes along, so the querier's spans join the rule's trace.
    const headers: Record<string, string> = {
      ...traceHeaders(),
      ...(method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
    };
    const init: RequestInit = {
      method,
      headers,
      ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      ...(method === 'POST' ? { body: params.toString() } : {}),
    };
    const url = method === 'GET' ? `${base}/api/v1/query?${params}` : `${base}/api/v1/query`;
    let body: PromResponse;
    let status: number;
    try {
      let text: string;
      if (opts.client) {
        const res = await opts.client.request(url, {
          method,
          headers,
          ...(method === 'POST' ? { body: params.toString() } : {}),
          ...(init.signal ? { signal: init.signal } : {}),
        });
        status = res.status;
        text = res.body;
      } else {
        const res = await fetch(url, init);
        status = res.status;
        text = await res.text();
      }
      try {
        body = JSON.parse(text) as PromResponse;
      } catch {
        throw new RuleQueryError(`query ${base}: HTTP ${status}: ${text.slice(0, 200)}`);
      }
    } catch (err) {
      if (err instanceof RuleQueryError) throw err;
      throw new RuleQueryError(`query ${base}: ${(err as Error).message}`, { cause: err });
    }
    if (body.status !== 'success')
      throw new RuleQueryError(
        `query ${base}: HTTP ${status}: ${body.errorType ?? 'error'}: ${body.error ?? 'unknown error'}`,
      );
    const data = body.data ?? {};
    if (data.resultType === 'vector') {
      return ((data.result as Array<{ metric: Record<string, string>; value: unknown }>) ?? []).map((s) => ({
        labels: Labels.from(s.metric),
        value: parseValue(s.value),
      }));
    }
    if (data.resultType === 'scalar') return [{ labels: Labels.EMPTY, value: parseValue(data.result) }];
    throw new RuleQueryError(`query ${base}: rule result is not a vector or scalar: ${data.resultType}`);
  };
}

/** One configured set of query API servers: its discovered endpoints and its HTTP client. */
export interface QueryEndpointSet {
  group: Pick<EndpointGroup, 'urls'>;
  client?: HTTPClient;
}

/** Options of {@link failoverQueryFunc}. */
export interface FailoverQueryFuncOptions {
  sets: readonly QueryEndpointSet[];
  /** HTTP method (--query.http-method). Default 'POST'. */
  method?: 'GET' | 'POST';
  /** Per-request timeout, ms. Default 120_000. */
  timeoutMs?: number;
  logger?: Logger;
  /** Called once per endpoint address seen twice in one set (thanos_rule_duplicated_query_addresses_total). */
  onDuplicate?: () => void;
  /** Random source for the try order. Default Math.random. */
  random?: () => number;
}

function permutation(n: number, random: () => number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

/**
 * Thanos's ruler query function: tries the configured sets in random order and, inside each, its
 * endpoints (deduplicated) in random order, until one answers; each failure is logged. When none
 * answers it rejects with Thanos's `no query API server reachable`.
 */
export function failoverQueryFunc(opts: FailoverQueryFuncOptions): RuleQueryFunc {
  const random = opts.random ?? Math.random;
  const funcs = new Map<string, RuleQueryFunc>();
  const funcFor = (url: string, client: HTTPClient | undefined): RuleQueryFunc => {
    let f = funcs.get(url);
    if (!f) {
      f = httpQueryFunc({
        url,
        method: opts.method ?? 'POST',
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        ...(client ? { client } : {}),
      });
      funcs.set(url, f);
    }
    return f;
  };
  return async (expr, t, q) => {
    let last: unknown;
    for (const si of permutation(opts.sets.length, random)) {
      const set = opts.sets[si] as QueryEndpointSet;
      const all = set.group.urls();
      const urls = [...new Set(all)];
      for (let i = urls.length; i < all.length; i++) opts.onDuplicate?.();
      for (const ui of permutation(urls.length, random)) {
        q?.signal?.throwIfAborted();
        try {
          return await funcFor(urls[ui] as string, set.client)(expr, t, q);
        } catch (err) {
          last = err;
          opts.logger?.error('rule query failed', { query: expr, err: (err as Error).message });
        }
      }
    }
    throw new RuleQueryError('no query API server reachable', last !== undefined ? { cause: last } : undefined);
  };
}

/** Options of {@link failoverRestoreQueryable}. */
export interface RestoreQueryableOptions {
  sets: readonly QueryEndpointSet[];
  /** HTTP method (--query.http-method). Default 'POST'. */
  method?: 'GET' | 'POST';
  /** Step of the range queries, ms (--query.default-step). Default 1_000. */
  stepMs?: number;
  /** Labels removed from the answers (--restore-ignored-label). Default none. */
  ignoredLabels?: readonly string[];
  /** Per-request timeout, ms. Default 120_000. */
  timeoutMs?: number;
  logger?: Logger;
  /** Random source for the try order. Default Math.random. */
  random?: () => number;
}

/**
 * The stateless ruler's view of its past samples for restoring `for` state (Thanos's
 * pkg/rules/queryable.go promClientsQueryable): a select is a deduplicated range query of the
 * matchers over [start, end] at `stepMs`, to the query API servers in random order until one
 * answers; failures are logged and an answer from none is an empty result, as in Thanos. Label
 * names and values are not served (restoring never asks).
 */
export function failoverRestoreQueryable(opts: RestoreQueryableOptions): Queryable {
  const random = opts.random ?? Math.random;
  const method = opts.method ?? 'POST';
  const step = (opts.stepMs ?? 1000) / 1000;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const ignored = opts.ignoredLabels ?? [];
  async function rangeQuery(
    base: string,
    client: HTTPClient | undefined,
    params: URLSearchParams,
    signal?: AbortSignal,
  ): Promise<SeriesSamples[]> {
    const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const url = method === 'GET' ? `${base}/api/v1/query_range?${params}` : `${base}/api/v1/query_range`;
    const init = {
      method,
      signal: AbortSignal.any(signals),
      ...(method === 'POST' ? { body: params.toString(), headers: form } : {}),
    };
    let text: string;
    let status: number;
    if (client) {
      const res = await client.request(url, init);
      status = res.status;
      text = res.body;
    } else {
      const res = await fetch(url, init);
      status = res.status;
      text = await res.text();
    }
    let body: PromResponse;
    try {
      body = JSON.parse(text) as PromResponse;
    } catch {
      throw new RuleQueryError(`query ${base}: HTTP ${status}: ${text.slice(0, 200)}`);
    }
    if (body.status !== 'success' || body.data?.resultType !== 'matrix')
      throw new RuleQueryError(
        `query ${base}: HTTP ${status}: ${body.errorType ?? 'error'}: ${body.error ?? 'not a matrix'}`,
      );
    return ((body.data.result as Array<{ metric: Record<string, string>; values: unknown[] }>) ?? []).map((s) => {
      const metric = { ...s.metric };
      for (const l of ignored) delete metric[l];
      const timestamps = new Float64Array(s.values.length);
      const values = new Float64Array(s.values.length);
      s.values.forEach((p, i) => {
        timestamps[i] = Math.round(((p as [number, string])[0] as number) * 1000);
        values[i] = parseValue(p);
      });
      return { labels: Labels.from(metric), timestamps, values };
    });
  }
  return {
    async select(matchers, hints, signal) {
      const params = new URLSearchParams({
        query: `{${matchers.map(String).join(', ')}}`,
        start: (hints.start / 1000).toFixed(3),
        end: (hints.end / 1000).toFixed(3),
        step: String(step),
        dedup: 'true',
      });
      for (const si of permutation(opts.sets.length, random)) {
        const set = opts.sets[si] as QueryEndpointSet;
        const urls = [...new Set(set.group.urls())];
        for (const ui of permutation(urls.length, random)) {
          const base = (urls[ui] as string).replace(/\/+$/, '');
          try {
            return await rangeQuery(base, set.client, params, signal);
          } catch (err) {
            opts.logger?.error('restore query failed', { query: params.get('query'), err: (err as Error).message });
          }
        }
      }
      return [];
    },
    labelNames: async () => [],
    labelValues: async () => [],
  };
}
