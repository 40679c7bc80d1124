import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError, ThanosError } from '@thanos-ts/tsdb';
import { APIError, invalidParam, writeAPIError, writeSuccess } from '../http/api-error.js';
import { formatSampleValue } from '../http/json.js';
import { API_MAX_TIME, API_MIN_TIME, type FormValues, parseTime, readForm } from '../http/params.js';
import type { RequestHandler } from '../http/query-api.js';
import type { PartialResponseStrategy } from '../storeapi/store-api.js';
import type {
  ExemplarData,
  ExemplarsAPI,
  MetadataAPI,
  MetricMetadata,
  TargetDiscovery,
  TargetsAPI,
  TargetsState,
} from './types.js';

/** Options of {@link createInfoAPIsHandler}. */
export interface InfoAPIsHandlerOptions {
  /** Answers /api/v1/metadata; absent: the path is not handled. */
  metadata?: MetadataAPI;
  /** Answers /api/v1/targets; absent: the path is not handled. */
  targets?: TargetsAPI;
  /** Answers /api/v1/query_exemplars; absent: the path is not handled. */
  exemplars?: ExemplarsAPI;
  /**
   * A failing endpoint becomes a warning instead of failing the request (Thanos's
   * --query.partial-response, which these APIs follow rather than a request parameter). Default true.
   */
  partialResponse?: boolean;
  /** Mount point. Default '/api/v1'. */
  prefix?: string;
}

function labelsObject(l: { toRecord(): Record<string, string> }): Record<string, string> {
  return l.toRecord();
}

/** Go's time.Time JSON (RFC 3339 with trailing zeros of the fraction dropped); 0 is Go's zero time. */
export function goTimeJSON(ms: number): string {
  if (ms === 0) return '0001-01-01T00:00:00Z';
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

/** Prometheus's /api/v1/metadata data; `limitPerMetric` > 0 keeps that many entries per metric. */
export function metadataJSON(m: MetricMetadata, limitPerMetric = -1): string {
  const out: Record<string, { type: string; help: string; unit: string }[]> = {};
  for (const [k, metas] of Object.entries(m)) {
    const list = metas.map((x) => ({ type: x.type, help: x.help, unit: x.unit }));
    out[k] = limitPerMetric > 0 ? list.slice(0, limitPerMetric) : list;
  }
  return JSON.stringify(out);
}

/** Prometheus's /api/v1/targets data (Thanos's fields: no scrape interval or timeout). */
export function targetsJSON(t: TargetDiscovery): string {
  return JSON.stringify({
    activeTargets: t.activeTargets.map((a) => ({
      discoveredLabels: labelsObject(a.discoveredLabels),
      labels: labelsObject(a.labels),
      scrapePool: a.scrapePool,
      scrapeUrl: a.scrapeUrl,
      globalUrl: a.globalUrl,
      lastError: a.lastError,
      lastScrape: goTimeJSON(a.lastScrape),
      lastScrapeDuration: a.lastScrapeDuration,
      health: a.health,
    })),
    droppedTargets: t.droppedTargets.map((d) => ({ discoveredLabels: labelsObject(d.discoveredLabels) })),
  });
}

/** Prometheus's /api/v1/query_exemplars data: value as a string, timestamp in seconds. */
export function exemplarsJSON(data: readonly ExemplarData[]): string {
  const parts = data.map((d) => {
    const ex = d.exemplars.map(
      (e) =>
        `{"labels":${JSON.stringify(labelsObject(e.labels))},"value":"${formatSampleValue(e.value)}","timestamp":${e.ts / 1000}}`,
    );
    return `{"seriesLabels":${JSON.stringify(labelsObject(d.seriesLabels))},"exemplars":[${ex.join(',')}]}`;
  });
  return `[${parts.join(',')}]`;
}

function intParam(form: FormValues, name: string, def: number, msg: (raw: string) => string): number {
  const s = form.get(name);
  if (s === '') return def;
  if (!/^[+-]?\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new APIError('bad_data', msg(s));
  return Number(s);
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

function failure(what: string, err: unknown): APIError {
  if (err instanceof APIError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const code = err instanceof ThanosError ? err.code : '';
  if (err instanceof InvalidArgumentError || code === 'PROMQL_PARSE' || code === 'INVALID_ARGUMENT')
    return new APIError('bad_data', msg, { cause: err });
  if (err instanceof Error && err.name === 'AbortError') return new APIError('canceled', msg, { cause: err });
  return new APIError('internal', `${what}: ${msg}`, { cause: err });
}

/**
 * Prometheus's `/api/v1/metadata` (limit, limit_per_metric, metric), `/api/v1/targets`
 * (state=active|dropped|any) and `/api/v1/query_exemplars` (query, start, end) over the
 * querier's fan-out, in Prometheus's JSON with Thanos's warnings. Mount it before the query API
 * handler (which answers 404 for paths it does not know); resolves false for other paths.
 */
export function createInfoAPIsHandler(opts: InfoAPIsHandlerOptions): RequestHandler {
  const prefix = opts.prefix ?? '/api/v1';
  const strategy: PartialResponseStrategy = (opts.partialResponse ?? true) ? 'WARN' : 'ABORT';
  const routes: Record<
    string,
    (form: FormValues, signal: AbortSignal) => Promise<{ json: string; warnings: string[] }>
  > = {};
  const { metadata, targets, exemplars } = opts;
  if (metadata)
    routes['/metadata'] = async (form, signal) => {
      const limit = intParam(form, 'limit', -1, (s) => `invalid metric metadata limit='${s}'`);
      const perMetric = intParam(form, 'limit_per_metric', -1, () => 'limit_per_metric must be a number');
      try {
        const r = await metadata.metricMetadata(
          { metric: form.get('metric'), limit, partialResponseStrategy: strategy },
          signal,
        );
        return { json: metadataJSON(r.data, perMetric), warnings: r.warnings };
      } catch (err) {
        throw failure('retrieving metadata', err);
      }
    };
  if (targets)
    routes['/targets'] = async (form, signal) => {
      const raw = form.get('state');
      const state = raw.toLowerCase();
      if (raw !== '' && !['any', 'active', 'dropped'].includes(state))
        throw new APIError('bad_data', `invalid targets parameter state='${raw}'`);
      try {
        const r = await targets.targets(
          { state: (state || 'any') as TargetsState, partialResponseStrategy: strategy },
          signal,
        );
        return { json: targetsJSON(r.data), warnings: r.warnings };
      } catch (err) {
        throw failure('retrieving targets', err);
      }
    };
  if (exemplars)
    routes['/query_exemplars'] = async (form, signal) => {
      const start = timeParam(form, 'start', API_MIN_TIME);
      const end = timeParam(form, 'end', API_MAX_TIME);
      try {
        const r = await exemplars.exemplars(
          { query: form.get('query'), start, end, partialResponseStrategy: strategy },
          signal,
        );
        return { json: exemplarsJSON(r.data), warnings: r.warnings };
      } catch (err) {
        throw failure('retrieving exemplars', err);
      }
    };

  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(`${prefix}/`)) return false;
    const route = routes[url.pathname.slice(prefix.length)];
    if (!route) return false;
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Method Not Allowed\n');
      return true;
    }
    const ac = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) ac.abort(new DOMException('client closed the connection', 'AbortError'));
    });
    try {
      const form = await readForm(req, url);
      const { json, warnings } = await route(form, ac.signal);
      writeSuccess(res, json, warnings);
    } catch (err) {
      writeAPIError(res, failure('request', err));
    }
    return true;
  };
}
