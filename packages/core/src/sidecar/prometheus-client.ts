import { Labels, type Matcher } from '@thanos-ts/tsdb';
import { type Dispatcher, request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { MIN_TIME } from '../storeapi/store-api.js';
import { PrometheusAPIError } from './errors.js';
import { apiUrl, describeNetworkError } from './remote-read.js';

/** Options of `createPrometheusClient`. */
export interface PrometheusClientOptions {
  /** Prometheus's base URL, e.g. http://localhost:9090 (a path prefix such as /prom is kept). */
  readonly url: string;
  /** Per-call timeout, ms (default 30 s, Thanos's --prometheus.get_config_timeout). */
  readonly timeout?: number;
  /** undici dispatcher (connection pool); the global one when absent. */
  readonly dispatcher?: Dispatcher;
}

/** Time range and selectors of a labels/series call. Times are ms; absent means unbounded. */
export interface PrometheusSeriesQuery {
  readonly matchers?: readonly Matcher[];
  readonly start?: number;
  readonly end?: number;
  /** Maximum number of results (0: none); sent as `limit` (Prometheus ≥ 2.51 applies it) and applied here too. */
  readonly limit?: number;
}

/** A result with the warnings Prometheus attached to it. */
export interface WithWarnings<T> {
  readonly data: T;
  readonly warnings: string[];
}

/** What the sidecar needs from Prometheus's HTTP API (`/api/v1/...`, `/-/ready`, `/metrics`). */
export interface PrometheusClient {
  readonly url: string;
  /** Whether /-/ready answers 200 (false while Prometheus replays its WAL or is unreachable). */
  ready(signal?: AbortSignal): Promise<boolean>;
  /** Prometheus's version from /api/v1/status/buildinfo ('0' for versions before 2.14 without it). */
  buildVersion(signal?: AbortSignal): Promise<string>;
  /** `global.external_labels` of the loaded configuration, from /api/v1/status/config. */
  externalLabels(signal?: AbortSignal): Promise<Labels>;
  /** Command-line flags from /api/v1/status/flags (undefined when the endpoint does not exist). */
  flags(signal?: AbortSignal): Promise<Record<string, string> | undefined>;
  /**
   * The oldest timestamp Prometheus holds, ms, from `prometheus_tsdb_lowest_timestamp_seconds` on
   * /metrics (as Thanos's promclient.LowestTimestamp). MIN_TIME while the TSDB is empty.
   */
  lowestTimestamp(signal?: AbortSignal): Promise<number>;
  labelNames(q: PrometheusSeriesQuery, signal?: AbortSignal): Promise<WithWarnings<string[]>>;
  labelValues(label: string, q: PrometheusSeriesQuery, signal?: AbortSignal): Promise<WithWarnings<string[]>>;
  series(q: PrometheusSeriesQuery, signal?: AbortSignal): Promise<WithWarnings<Record<string, string>[]>>;
}

/**
 * A client for the parts of Prometheus's HTTP API the sidecar uses. Every failure is a
 * PrometheusAPIError naming the URL asked and, when Prometheus answered, its status and error.
 */
export function createPrometheusClient(opts: PrometheusClientOptions): PrometheusClient {
  let parsed: URL;
  try {
    parsed = new URL(opts.url);
  } catch {
    throw new PrometheusAPIError(opts.url, 0, 'not a valid URL (want e.g. http://localhost:9090)');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new PrometheusAPIError(opts.url, 0, `unsupported scheme ${parsed.protocol} (want http or https)`);
  }
  const base = opts.url.replace(/\/+$/, '');
  const timeout = opts.timeout ?? 30_000;

  async function call(
    path: string,
    init: { method?: 'GET' | 'POST'; form?: URLSearchParams; signal?: AbortSignal | undefined } = {},
  ): Promise<{ status: number; text: string; url: string }> {
    const url = apiUrl(base, path);
    const signals = [AbortSignal.timeout(timeout)];
    if (init.signal) signals.push(init.signal);
    const signal = AbortSignal.any(signals);
    try {
      const res = await request(url, {
        method: init.method ?? 'GET',
        signal,
        headers: {
          'user-agent': 'thanos-ts-sidecar',
          ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(init.form ? { body: init.form.toString() } : {}),
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      });
      return { status: res.statusCode, text: await res.body.text(), url };
    } catch (err) {
      if (init.signal?.aborted) throw err;
      if (signal.aborted) throw new PrometheusAPIError(url, 0, `no answer within ${timeout} ms`, { cause: err });
      throw new PrometheusAPIError(url, 0, describeNetworkError(err), { cause: err });
    }
  }

  async function apiData<T>(
    path: string,
    init: { method?: 'GET' | 'POST'; form?: URLSearchParams; signal?: AbortSignal | undefined } = {},
  ): Promise<WithWarnings<T>> {
    const res = await call(path, init);
    let body: { status?: string; data?: T; error?: string; errorType?: string; warnings?: string[] } | undefined;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = undefined;
    }
    if (res.status < 200 || res.status > 299 || body?.status !== 'success') {
      const detail = body?.error
        ? `${body.errorType ?? 'error'}: ${body.error}`
        : res.text.trim().slice(0, 300) || 'empty body';
      throw new PrometheusAPIError(res.url, res.status, `answered ${res.status}: ${detail}`);
    }
    return { data: body.data as T, warnings: body.warnings ?? [] };
  }

  function seriesForm(q: PrometheusSeriesQuery): URLSearchParams {
    const form = new URLSearchParams();
    if (q.matchers && q.matchers.length > 0) form.append('match[]', selector(q.matchers));
    const start = apiTime(q.start);
    const end = apiTime(q.end);
    if (start !== undefined) form.set('start', start);
    if (end !== undefined) form.set('end', end);
    if (q.limit && q.limit > 0) form.set('limit', String(q.limit));
    return form;
  }

  const limited = <T>(r: WithWarnings<T[]>, limit: number | undefined): WithWarnings<T[]> =>
    limit && limit > 0 && r.data.length > limit ? { data: r.data.slice(0, limit), warnings: r.warnings } : r;

  return {
    url: base,
    async ready(signal) {
      try {
        return (await call('/-/ready', { signal })).status === 200;
      } catch (err) {
        if (signal?.aborted) throw err;
        return false;
      }
    },
    async buildVersion(signal) {
      const res = await call('/api/v1/status/buildinfo', { signal });
      // Prometheus before 2.14 has no buildinfo endpoint (404/405): Thanos reports version "0".
      if (res.status === 404 || res.status === 405) return '0';
      if (res.status !== 200) throw new PrometheusAPIError(res.url, res.status, `answered ${res.status}`);
      try {
        return String((JSON.parse(res.text) as { data?: { version?: string } }).data?.version ?? '');
      } catch (err) {
        throw new PrometheusAPIError(res.url, res.status, 'build info is not JSON', { cause: err });
      }
    },
    async externalLabels(signal) {
      const { data } = await apiData<{ yaml?: string }>('/api/v1/status/config', { signal });
      let cfg: { global?: { external_labels?: Record<string, unknown> } } | null;
      try {
        cfg = parseYaml(data?.yaml ?? '') as typeof cfg;
      } catch (err) {
        throw new PrometheusAPIError(apiUrl(base, '/api/v1/status/config'), 200, 'cannot parse Prometheus config', {
          cause: err,
        });
      }
      const ext = cfg?.global?.external_labels ?? {};
      const rec: Record<string, string> = {};
      for (const [k, v] of Object.entries(ext)) rec[k] = String(v);
      return Labels.from(rec);
    },
    async flags(signal) {
      const res = await call('/api/v1/status/flags', { signal });
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw new PrometheusAPIError(res.url, res.status, `answered ${res.status}`);
      try {
        return ((JSON.parse(res.text) as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
      } catch (err) {
        throw new PrometheusAPIError(res.url, res.status, 'flags are not JSON', { cause: err });
      }
    },
    async lowestTimestamp(signal) {
      const res = await call('/metrics', { signal });
      if (res.status !== 200) throw new PrometheusAPIError(res.url, res.status, `answered ${res.status}`);
      const m = /^prometheus_tsdb_lowest_timestamp_seconds(?:\{[^}]*\})?\s+(\S+)/m.exec(res.text);
      if (!m) {
        throw new PrometheusAPIError(res.url, res.status, 'no prometheus_tsdb_lowest_timestamp_seconds metric');
      }
      const ms = Number(m[1]) * 1000;
      if (!Number.isFinite(ms)) throw new PrometheusAPIError(res.url, res.status, `bad lowest timestamp ${m[1]}`);
      // An empty TSDB reports math.MaxInt64 ms as seconds; Thanos then advertises the minimum time
      // so that queriers still fan out to this Prometheus.
      if (ms >= 9.2e18) return MIN_TIME;
      return Math.round(ms);
    },
    async labelNames(q, signal) {
      const r = await apiData<string[] | null>('/api/v1/labels', { method: 'POST', form: seriesForm(q), signal });
      return limited({ data: r.data ?? [], warnings: r.warnings }, q.limit);
    },
    async labelValues(label, q, signal) {
      const form = seriesForm(q);
      const r = await apiData<string[] | null>(`/api/v1/label/${encodeURIComponent(label)}/values?${form}`, {
        signal,
      });
      return limited({ data: r.data ?? [], warnings: r.warnings }, q.limit);
    },
    async series(q, signal) {
      const r = await apiData<Record<string, string>[] | null>('/api/v1/series', {
        method: 'POST',
        form: seriesForm(q),
        signal,
      });
      return limited({ data: r.data ?? [], warnings: r.warnings }, q.limit);
    },
  };
}

/** A PromQL series selector for matchers: `{__name__="up",job=~"a.*"}`. */
export function selector(matchers: readonly Matcher[]): string {
  return `{${matchers.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(',')}}`;
}

/**
 * A time for Prometheus's API (seconds with ms precision), or undefined for times at the ends of
 * the range: Prometheus defaults to its own min/max then, and huge values would overflow its parsing.
 */
function apiTime(ms: number | undefined): string | undefined {
  if (ms === undefined || !Number.isFinite(ms) || Math.abs(ms) >= 9e15) return undefined;
  return (ms / 1000).toFixed(3);
}
