import { parse as parseYaml } from 'yaml';
import { LimitError, ReceiveConfigError } from './errors.js';

/** Per-request limits (Thanos's `request` section); 0 or absent = no limit. */
export interface RequestLimits {
  /** Largest body, bytes, compressed and after snappy decoding (`size_bytes_limit`). */
  readonly sizeBytesLimit?: number;
  /** Most series in one request (`series_limit`). */
  readonly seriesLimit?: number;
  /** Most samples in one request (`samples_limit`). */
  readonly samplesLimit?: number;
}

/** Limits of one tenant: the defaults overlaid with its own entry. */
export interface TenantLimits {
  readonly request: RequestLimits;
  /** Most active (head) series of the tenant on this receiver; 0 = no limit (`head_series_limit`). */
  readonly headSeriesLimit: number;
}

/**
 * Thanos's receive limits file (--receive.limits-config-file):
 * ```yaml
 * write:
 *   global: { max_concurrency: 30 }
 *   default: { request: { size_bytes_limit: 0, series_limit: 0, samples_limit: 0 }, head_series_limit: 0 }
 *   tenants: { acme: { request: { series_limit: 100 }, head_series_limit: 1000 } }
 * ```
 * The head series limit counts this receiver's own head series of the tenant (Thanos asks a
 * meta-monitoring Prometheus instead; `meta_monitoring_*` keys are accepted and ignored).
 */
export interface LimitsConfig {
  /** Write requests handled at once; more wait (`global.max_concurrency`). 0 = no limit. */
  readonly maxConcurrency: number;
  readonly defaults: TenantLimits;
  readonly tenants: ReadonlyMap<string, { request?: RequestLimits; headSeriesLimit?: number }>;
}

/** No limits at all. */
export const NO_LIMITS: LimitsConfig = {
  maxConcurrency: 0,
  defaults: { request: {}, headSeriesLimit: 0 },
  tenants: new Map(),
};

function num(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new ReceiveConfigError('limits config', `${where}: want a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function keys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      throw new ReceiveConfigError(
        'limits config',
        `${where}: field ${k} not found (want one of ${allowed.join(', ')})`,
      );
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new ReceiveConfigError('limits config', `${where}: want a mapping`);
  return v as Record<string, unknown>;
}

function requestLimits(v: unknown, where: string): RequestLimits | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v, where);
  keys(o, ['size_bytes_limit', 'series_limit', 'samples_limit'], where);
  const out: { sizeBytesLimit?: number; seriesLimit?: number; samplesLimit?: number } = {};
  const size = num(o.size_bytes_limit, `${where}.size_bytes_limit`);
  const series = num(o.series_limit, `${where}.series_limit`);
  const samples = num(o.samples_limit, `${where}.samples_limit`);
  if (size !== undefined) out.sizeBytesLimit = size;
  if (series !== undefined) out.seriesLimit = series;
  if (samples !== undefined) out.samplesLimit = samples;
  return out;
}

/** Parses the limits YAML strictly (unknown keys fail, as Thanos's yaml.UnmarshalStrict). */
export function parseLimitsConfig(text: string): LimitsConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ReceiveConfigError('limits config', `parse YAML: ${(err as Error).message}`, { cause: err });
  }
  const root = obj(raw, 'root');
  keys(root, ['write'], 'root');
  const write = obj(root.write, 'write');
  keys(write, ['global', 'default', 'tenants'], 'write');
  const global = obj(write.global, 'write.global');
  keys(
    global,
    ['max_concurrency', 'meta_monitoring_url', 'meta_monitoring_http_client', 'meta_monitoring_limit_query'],
    'write.global',
  );
  const def = obj(write.default, 'write.default');
  keys(def, ['request', 'head_series_limit'], 'write.default');
  const tenants = new Map<string, { request?: RequestLimits; headSeriesLimit?: number }>();
  for (const [name, v] of Object.entries(obj(write.tenants, 'write.tenants'))) {
    const where = `write.tenants.${name}`;
    const t = obj(v, where);
    keys(t, ['request', 'head_series_limit'], where);
    const request = requestLimits(t.request, `${where}.request`);
    const head = num(t.head_series_limit, `${where}.head_series_limit`);
    tenants.set(name, { ...(request ? { request } : {}), ...(head !== undefined ? { headSeriesLimit: head } : {}) });
  }
  return {
    maxConcurrency: num(global.max_concurrency, 'write.global.max_concurrency') ?? 0,
    defaults: {
      request: requestLimits(def.request, 'write.default.request') ?? {},
      headSeriesLimit: num(def.head_series_limit, 'write.default.head_series_limit') ?? 0,
    },
    tenants,
  };
}

/** The limits that apply to `tenant`: its own values over the defaults, field by field (Thanos's OverlayWith). */
export function tenantLimits(cfg: LimitsConfig, tenant: string): TenantLimits {
  const t = cfg.tenants.get(tenant);
  if (!t) return cfg.defaults;
  return {
    request: { ...cfg.defaults.request, ...t.request },
    headSeriesLimit: t.headSeriesLimit ?? cfg.defaults.headSeriesLimit,
  };
}

/** 413 when a request body is over `size_bytes_limit` (Thanos: `write request too large`). */
export function checkSize(limits: TenantLimits, tenant: string, bytes: number): void {
  const max = limits.request.sizeBytesLimit ?? 0;
  if (max > 0 && bytes > max)
    throw new LimitError(
      'request.size_bytes_limit',
      413,
      `write request too large: ${bytes} bytes, limit ${max} bytes for tenant ${tenant} (request.size_bytes_limit)`,
    );
}

/** 413 when a request holds more series or samples than allowed (Thanos: `too many timeseries`, `too many samples`). */
export function checkCounts(limits: TenantLimits, tenant: string, series: number, samples: number): void {
  const maxSeries = limits.request.seriesLimit ?? 0;
  if (maxSeries > 0 && series > maxSeries)
    throw new LimitError(
      'request.series_limit',
      413,
      `too many timeseries: ${series} in the request, limit ${maxSeries} for tenant ${tenant} (request.series_limit)`,
    );
  const maxSamples = limits.request.samplesLimit ?? 0;
  if (maxSamples > 0 && samples > maxSamples)
    throw new LimitError(
      'request.samples_limit',
      413,
      `too many samples: ${samples} in the request, limit ${maxSamples} for tenant ${tenant} (request.samples_limit)`,
    );
}

/** 429 when the tenant already has as many head series as allowed (Thanos: `tenant is above active series limit`). */
export function checkHeadSeries(limits: TenantLimits, tenant: string, active: number): void {
  const max = limits.headSeriesLimit;
  if (max > 0 && active >= max)
    throw new LimitError(
      'head_series_limit',
      429,
      `tenant is above active series limit: tenant ${tenant} has ${active} active series, limit ${max} (head_series_limit)`,
    );
}
