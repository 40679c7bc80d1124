import { status as grpcStatus } from '@grpc/grpc-js';
import { Labels } from '@thanos-ts/tsdb';
import { InfoAPIError } from './errors.js';
import type {
  ActiveTarget,
  DroppedTarget,
  ExemplarData,
  ExemplarsAPI,
  MetadataAPI,
  MetricMetadata,
  TargetDiscovery,
  TargetHealth,
  TargetsAPI,
} from './types.js';

/** Options of {@link createPrometheusInfoAPIs}. */
export interface PrometheusInfoAPIsOptions {
  /** Base URL of Prometheus (the sidecar's --prometheus.url), e.g. http://localhost:9090. */
  prometheusURL: string;
  /**
   * The sidecar's current external labels, added to targets' and exemplars' label sets
   * (Prometheus's API leaves them out); they win over a label of the same name, as in Thanos.
   */
  externalLabels: () => Labels;
  /** fetch to use (tests). Default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** The Metadata, Targets and Exemplars services a sidecar serves from its Prometheus. */
export interface PrometheusInfoAPIs extends MetadataAPI, TargetsAPI, ExemplarsAPI {}

/** Gives an InfoAPIError a gRPC status code, kept when it is served over gRPC. */
export class PrometheusInfoAPIError extends InfoAPIError {
  constructor(
    api: 'metadata' | 'targets' | 'exemplars',
    readonly grpcCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(api, message, options);
  }
}

/** `labels` with `ext` added, ext winning on a name clash (Thanos's labelpb.ExtendSortedLabels). */
export function extendLabels(labels: Labels, ext: Labels): Labels {
  if (ext.size === 0) return labels;
  let out = labels;
  for (const l of ext) out = out.with(l.name, l.value);
  return out;
}

/** Go's strconv.FormatFloat(sec, 'f', -1, 64) of a ms timestamp, as Thanos's promclient sends times. */
function formatTimeParam(ms: number): string {
  return String(ms / 1000);
}

function labelsOf(v: unknown): Labels {
  return v && typeof v === 'object' ? Labels.from(v as Record<string, string>) : Labels.EMPTY;
}

function healthOf(v: unknown): TargetHealth {
  return v === 'up' || v === 'down' ? v : 'unknown';
}

/**
 * Thanos's sidecar Metadata, Targets and Exemplars services over Prometheus's HTTP API
 * (`/api/v1/metadata`, `/api/v1/targets`, `/api/v1/query_exemplars`), with the external labels
 * applied to targets and exemplars as Thanos's sidecar does. Errors name the URL asked; a 400
 * from Prometheus becomes InvalidArgument over gRPC, any other failure Unknown.
 */
export function createPrometheusInfoAPIs(opts: PrometheusInfoAPIsOptions): PrometheusInfoAPIs {
  const base = opts.prometheusURL.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? globalThis.fetch;

  async function get(
    api: 'metadata' | 'targets' | 'exemplars',
    path: string,
    params: [string, string][],
    signal?: AbortSignal,
  ): Promise<unknown> {
    const qs = new URLSearchParams(params).toString();
    const url = `${base}${path}${qs ? `?${qs}` : ''}`;
    let res: Response;
    try {
      res = await doFetch(url, { signal: signal ?? null });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new PrometheusInfoAPIError(api, grpcStatus.UNAVAILABLE, `${url}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const text = await res.text();
    let body: { status?: string; data?: unknown; error?: string } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.status < 200 || res.status >= 300 || body?.status !== 'success') {
      const detail = body?.error ?? text.slice(0, 256);
      const code = res.status === 400 || res.status === 422 ? grpcStatus.INVALID_ARGUMENT : grpcStatus.UNKNOWN;
      throw new PrometheusInfoAPIError(api, code, `${url}: ${res.status} ${detail}`.trim());
    }
    return body.data;
  }

  return {
    async metricMetadata(req, signal) {
      const params: [string, string][] = [];
      if (req.metric) params.push(['metric', req.metric]);
      const limit = req.limit ?? -1;
      if (limit >= 0) params.push(['limit', String(limit)]);
      const data = (await get('metadata', '/api/v1/metadata', params, signal)) as Record<string, unknown[]> | null;
      const out: MetricMetadata = {};
      for (const [name, metas] of Object.entries(data ?? {})) {
        out[name] = (metas ?? []).map((m) => {
          const x = m as Record<string, unknown>;
          return { type: String(x.type ?? ''), help: String(x.help ?? ''), unit: String(x.unit ?? '') };
        });
      }
      return { data: out, warnings: [] };
    },

    async targets(req, signal) {
      const state = req.state ?? 'any';
      const params: [string, string][] = state === 'any' ? [] : [['state', state]];
      const data = ((await get('targets', '/api/v1/targets', params, signal)) ?? {}) as {
        activeTargets?: Record<string, unknown>[];
        droppedTargets?: Record<string, unknown>[];
      };
      const ext = opts.externalLabels();
      const activeTargets: ActiveTarget[] = (data.activeTargets ?? []).map((t) => ({
        discoveredLabels: extendLabels(labelsOf(t.discoveredLabels), ext),
        labels: extendLabels(labelsOf(t.labels), ext),
        scrapePool: String(t.scrapePool ?? ''),
        scrapeUrl: String(t.scrapeUrl ?? ''),
        globalUrl: String(t.globalUrl ?? ''),
        lastError: String(t.lastError ?? ''),
        lastScrape: typeof t.lastScrape === 'string' ? Math.max(0, Date.parse(t.lastScrape) || 0) : 0,
        lastScrapeDuration: Number(t.lastScrapeDuration ?? 0),
        health: healthOf(t.health),
      }));
      const droppedTargets: DroppedTarget[] = (data.droppedTargets ?? []).map((t) => ({
        discoveredLabels: extendLabels(labelsOf(t.discoveredLabels), ext),
      }));
      const out: TargetDiscovery = { activeTargets, droppedTargets };
      return { data: out, warnings: [] };
    },

    async exemplars(req, signal) {
      const params: [string, string][] = [
        ['query', req.query],
        ['start', formatTimeParam(req.start)],
        ['end', formatTimeParam(req.end)],
      ];
      const data = ((await get('exemplars', '/api/v1/query_exemplars', params, signal)) ?? []) as {
        seriesLabels?: Record<string, string>;
        exemplars?: { labels?: Record<string, string>; value?: string | number; timestamp?: number }[];
      }[];
      const ext = opts.externalLabels();
      const out: ExemplarData[] = data.map((d) => ({
        seriesLabels: extendLabels(labelsOf(d.seriesLabels), ext),
        exemplars: (d.exemplars ?? []).map((e) => ({
          labels: labelsOf(e.labels),
          value: Number(e.value),
          ts: Math.round(Number(e.timestamp) * 1000),
        })),
      }));
      return { data: out, warnings: [] };
    },
  };
}
