import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { formatGoDuration } from '@thanos-ts/tsdb/goformat';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Agent, Dispatcher } from 'undici';
import type { Cache } from '../cache/cache.js';
import {
  type ComponentOptions,
  createLifecycle,
  DEFAULT_GRACE_PERIOD_MS,
  type Lifecycle,
  resolveComponentOptions,
  type ServingOptions,
} from '../component/component.js';
import { serveHTTP } from '../component/http-server.js';
import { componentHandler } from '../component/serve.js';
import { Gate } from '../concurrency/gate.js';
import type { ListeningHTTPServer } from '../http/http-server.js';
import { instrumentHandler } from '../http/instrument.js';
import { parseTime } from '../http/params.js';
import type { RequestHandler } from '../http/query-api.js';
import { traceIdOf } from '../tracing/context.js';
import { type CacheCompression, parseCacheCompression, withSnappy } from './cache-config.js';
import { createDownstream } from './downstream.js';
import { createDownstreamAgent, type DownstreamTripperConfig } from './downstream-config.js';
import { DownstreamError, FrontendConfigError, FrontendHTTPError } from './errors.js';
import { instantSortPlan, mergeInstantAnswers } from './instant.js';
import { createMetadataSplitter } from './labels.js';
import { type SampleStats, sampleStatsOf } from './matrix.js';
import { type FrontendFeature, frontendParseOptions } from './promql-features.js';
import { encodeSeconds, parseRangeRequest, type RangeRequest } from './range-request.js';
import { encodeRawMatrixParts, mergeRawMatrices, type RawMatrix, rawFirstTime } from './raw-matrix.js';
import { createResultsCache, hashKey, type ResultsCache } from './results-cache.js';
import { createShardAnalyzer, encodeShardInfo, queryShards } from './shard.js';
import { alignToStep, splitRangeRequest } from './split.js';

/** A results cache backend for {@link QueryFrontendOptions.responseCache}. */
export interface FrontendCache {
  /** The backend (see parseResponseCacheConfig for Thanos's YAML). Closed with the frontend. */
  cache: Cache;
  /** Name in the cortex_cache_* metrics' `name` label. Default `fifocache`. */
  name?: string;
  /** TTL of stored entries, ms; 0: the backend's own (memcached/redis `expiration`). Default 0. */
  ttlMs?: number;
}

/** Options of {@link createQueryFrontend}. Durations are ms. */
export interface QueryFrontendOptions extends ComponentOptions, ServingOptions {
  /**
   * Base URL of the Prometheus-compatible query API behind the frontend (--query-frontend.downstream-url).
   * A path prefix is kept. Default `http://localhost:9090`.
   */
  downstreamUrl?: string;
  /** undici dispatcher for the downstream calls (proxies, tests). Default: an own agent from `downstreamTripper`. */
  dispatcher?: Dispatcher;
  /**
   * Settings of the frontend's own HTTP client to the downstream: timeouts, connection limit, TLS
   * (--query-frontend.downstream-tripper-config; see parseDownstreamTripperConfig). Ignored with
   * `dispatcher`. Default: Thanos's (90 s idle connections, 10 s TLS handshake).
   */
  downstreamTripper?: DownstreamTripperConfig;
  /** Round range query start and end down to a multiple of the step (--query-range.align-range-with-step). Default true. */
  alignRangeWithStep?: boolean;
  /** Split range queries into pieces of this interval (--query-range.split-interval). Default 86_400_000 (24h); 0 does not split. */
  splitIntervalMs?: number;
  /**
   * Dynamic splitting (--query-range.min-split-interval): ranges longer than this are split into
   * `horizontalShards` equal pieces, or by `maxSplitIntervalMs` once at least twice that long;
   * shorter ones by this interval. Needs `splitIntervalMs: 0` and the other two set, as Thanos.
   * Default 0: off.
   */
  minSplitIntervalMs?: number;
  /** Dynamic splitting's largest piece (--query-range.max-split-interval). Default 0. */
  maxSplitIntervalMs?: number;
  /** Dynamic splitting's piece count below `maxSplitIntervalMs` (--query-range.horizontal-shards). Default 0. */
  horizontalShards?: number;
  /**
   * Ask again at coarser downsampling resolutions for the part of a `max_source_resolution=auto`
   * range query the answer lacks (--query-range.request-downsampled). Default true, as Thanos.
   */
  requestDownsampled?: boolean;
  /** Attempts per range query piece on 5xx/network errors (--query-range.max-retries-per-request). Default 5; 0 or 1: one attempt. */
  maxRetries?: number;
  /** The same for instant queries (--query.max-retries-per-request). Default 5. */
  instantMaxRetries?: number;
  /** Longest accepted range (end - start) (--query-range.max-query-length). Default 0: no limit. */
  maxQueryLengthMs?: number;
  /** Downstream requests one range query runs at once (--query-range.max-query-parallelism). Default 14. */
  maxQueryParallelism?: number;
  /** Answers for times newer than now minus this are never cached (--query-range.response-cache-max-freshness). Default 60_000. */
  maxCacheFreshnessMs?: number;
  /** `partial_response` of requests that do not set it (--query-range.partial-response). Default true. */
  partialResponse?: boolean;
  /** Results cache for range queries (--query-range.response-cache-config). Default: none. Needs `splitIntervalMs` > 0. */
  responseCache?: FrontendCache;
  /**
   * Split label names, label values and series requests into pieces aligned to this interval
   * (--labels.split-interval). Default 86_400_000 (24h); 0 does not split.
   */
  labelsSplitIntervalMs?: number;
  /** Attempts per labels/series piece on 5xx/network errors (--labels.max-retries-per-request). Default 5. */
  labelsMaxRetries?: number;
  /** Downstream requests one labels/series request runs at once (--labels.max-query-parallelism). Default 14. */
  labelsMaxQueryParallelism?: number;
  /** Labels/series pieces ending after now minus this are never cached (--labels.response-cache-max-freshness). Default 60_000. */
  labelsMaxCacheFreshnessMs?: number;
  /** `partial_response` of labels/series requests that do not set it (--labels.partial-response). Default true. */
  labelsPartialResponse?: boolean;
  /** Cache of whole labels/series pieces (--labels.response-cache-config). Default: none. */
  labelsResponseCache?: FrontendCache;
  /**
   * Range given to label names, label values and series requests that leave out `start` or `end`
   * (--labels.default-time-range): a missing `end` is now, a missing `start` now minus this, as
   * Thanos does. Default 86_400_000 (24h); 0 leaves them out (the downstream's default: all time).
   */
  labelsDefaultTimeRangeMs?: number;
  /**
   * Compress entries of both results caches (--cache-compression-type): `snappy` or '' (none).
   * Default ''.
   */
  cacheCompression?: CacheCompression;
  /** Gzip the answers the frontend builds when the client accepts gzip (--query-frontend.compress-responses). Default false. */
  compressResponses?: boolean;
  /**
   * Log queries slower than this (--query-frontend.log-queries-longer-than). Default 0: off;
   * negative: every query.
   */
  logQueriesLongerThanMs?: number;
  /**
   * Request headers naming the org in the slow query log's `org_id`, first present wins
   * (--query-frontend.org-id-header, deprecated in Thanos for the tenant header, and refused
   * together with a custom `tenantHeader`). Default none: the tenant header, else `anonymous`.
   */
  orgIdHeaders?: readonly string[];
  /**
   * Header whose value is the slow query log's `remote_user` (--query-frontend.slow-query-logs-user-header).
   * Default '': the user name of basic authentication.
   */
  slowQueryLogsUserHeader?: string;
  /** Request headers passed on to the downstream with split pieces (--query-frontend.forward-header). Default none. */
  forwardHeaders?: readonly string[];
  /** Header naming the tenant (part of cache keys, always forwarded). Default `THANOS-TENANT`, as Thanos. */
  tenantHeader?: string;
  /** Tenant of requests without the header. Default `default-tenant`, as Thanos. */
  defaultTenant?: string;
  /** Do not set Thanos's permissive CORS headers on API answers (--web.disable-cors). Default false. */
  disableCors?: boolean;
  /** How often the downstream's /-/ready is checked, ms. Default 10_000, as Thanos; 0: only at start. */
  downstreamCheckIntervalMs?: number;
  /**
   * Shards per shardable range query piece and instant query (--query-frontend.vertical-shards):
   * each shard goes downstream with a `shard_info` parameter naming its part of the series, and the
   * answers are merged. Needs a downstream that honours `shard_info` (Thanos's querier; Prometheus
   * ignores it, so every shard answers in full and the merge still gives the right answer at
   * `verticalShards` times the cost). Default 0: no sharding.
   */
  verticalShards?: number;
  /**
   * Read Thanos's x- functions (`xrate`, `xincrease`, `xdelta`) when analysing queries
   * (--query-frontend.enable-x-functions): such queries are then sharded, their `@ start()`/`@ end()`
   * resolved before splitting and their answers cached like any other. Set it when the downstream
   * querier has them. Default false: queries using them pass through whole.
   */
  enableXFunctions?: boolean;
  /**
   * Features (--enable-feature): `promql-experimental-functions` lets the frontend read PromQL's
   * experimental functions and aggregations (limitk, limit_ratio, mad_over_time, …), as
   * `enableXFunctions` does x- functions. Others are refused. Default none.
   */
  enableFeatures?: readonly FrontendFeature[];
  /**
   * Ask the downstream for query statistics on every range and instant query
   * (--query-frontend.force-query-stats), and report them: a `query stats` log line per request
   * and a `Server-Timing` header (`querier_wall_time`, `response_time`), and `peak_samples` /
   * `total_samples_loaded` in the slow query log. Samples count what the downstream loaded for the
   * request (pieces served from the results cache load none). A range query whose client asks
   * `stats` is answered with the pieces' statistics merged (cached with the extents). Default false.
   */
  forceQueryStats?: boolean;
  /**
   * Take the tenant from this field of the TLS client certificate instead of the tenant header
   * (--query-frontend.tenant-certificate-field): `organization`, `organizationalUnit` or
   * `commonName`, the first value. Needs a web config with TLS and client certificates. A request
   * without the field is refused (400), where Thanos falls back to an empty tenant. Default: the
   * tenant header.
   */
  tenantCertificateField?: TenantCertificateField;
}

/** The client certificate fields --query-frontend.tenant-certificate-field accepts (Thanos's tenancy package). */
export const TENANT_CERTIFICATE_FIELDS = ['organization', 'organizationalUnit', 'commonName'] as const;
/** One of {@link TENANT_CERTIFICATE_FIELDS}. */
export type TenantCertificateField = (typeof TENANT_CERTIFICATE_FIELDS)[number];

/** The first value of a subject field of an X509Certificate's `subject` text (`O=…\nOU=…\nCN=…`). */
function subjectField(subject: string, key: string): string | undefined {
  for (const line of subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && line.slice(0, eq) === key) return line.slice(eq + 1);
  }
  return undefined;
}
const CERT_FIELD_KEYS: Record<TenantCertificateField, string> = {
  organization: 'O',
  organizationalUnit: 'OU',
  commonName: 'CN',
};

/**
 * Thanos's query frontend: a Prometheus HTTP API in front of a querier that splits, aligns, retries
 * and caches range queries and passes everything else through.
 */
export interface QueryFrontend extends Lifecycle {
  /** Every HTTP endpoint (/metrics, /-/healthy, /-/ready, then the proxied API) to mount elsewhere. */
  readonly handler: RequestHandler;
  readonly registry: Registry;
  /** Bound HTTP address once started with `httpAddress`. */
  readonly httpAddress: string | undefined;
  /** Always undefined: the frontend serves no gRPC. */
  readonly grpcAddress: undefined;
  /** True once started, while the downstream answers its /-/ready, and until closed. */
  ready(): boolean;
  /** Why the frontend is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
}

const DAY_MS = 86_400_000;

/** Sample statistics of one client request, summed over its downstream answers (Thanos's stats middleware). */
class RequestStats {
  totalSamples = 0;
  peakSamples = 0;
  add(s: SampleStats | undefined): void {
    if (!s) return;
    this.totalSamples += s.totalQueryableSamples;
    this.peakSamples = Math.max(this.peakSamples, s.peakSamples);
  }
}
/** Thanos's downsampled middleware resolutions: 5m, then 1h. */
const DOWNSAMPLED_RESOLUTIONS = [300_000, 3_600_000];

/**
 * Thanos's minResponseTime: the earliest first sample of the answer's series, or undefined when
 * the answer is empty (judged, as Thanos does, by its first series).
 */
function firstSampleTime(r: RawMatrix): number | undefined {
  const s0 = r.series[0];
  if (!s0 || (s0.runs.length === 0 && s0.histograms.length === 0)) return undefined;
  return rawFirstTime(r);
}
/** The CORS headers Thanos sets on every API answer unless --web.disable-cors (pkg/api SetCORS). */
const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Headers': 'Accept, Accept-Encoding, Authorization, Content-Type, Origin',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Date',
};
const LABEL_VALUES_PATH = /\/api\/v1\/label\/.+\/values$/;
/** gzhttp's DefaultMinSize: smaller bodies are not worth compressing. */
const GZIP_MIN_BYTES = 1024;
const gzipAsync = promisify(gzip);

type Op = 'query_range' | 'query' | 'label_names' | 'label_values' | 'series';

/** Thanos's getOperation: which tripperware a request goes through. */
function operation(method: string, path: string): Op | undefined {
  if (method !== 'GET' && method !== 'POST') return undefined;
  if (path.endsWith('/api/v1/query')) return 'query';
  if (path.endsWith('/api/v1/query_range')) return 'query_range';
  if (path.endsWith('/api/v1/labels')) return 'label_names';
  if (path.endsWith('/api/v1/series')) return 'series';
  if (LABEL_VALUES_PATH.test(path)) return 'label_values';
  return undefined;
}

/** Largest form body accepted, as Thanos's frontend (10 MiB). */
const MAX_BODY_BYTES = 10 << 20;

async function readFormParams(req: IncomingMessage, url: URL): Promise<URLSearchParams> {
  const params = new URLSearchParams();
  const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (req.method === 'POST' && ct === 'application/x-www-form-urlencoded') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY_BYTES)
        throw FrontendHTTPError.api(413, 'bad_data', 'error parsing form values: http: request body too large');
      chunks.push(c as Buffer);
    }
    // Go's ParseForm puts body values before the URL's.
    for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) params.append(k, v);
  }
  for (const [k, v] of url.searchParams) params.append(k, v);
  return params;
}

/** Creates a query frontend; no I/O until `start()`. Throws FrontendConfigError for bad options. */
export function createQueryFrontend(opts: QueryFrontendOptions = {}): QueryFrontend {
  const { logger, registry, now, tracer } = resolveComponentOptions(opts);
  const downstreamUrl = opts.downstreamUrl ?? 'http://localhost:9090';
  const splitIntervalMs = opts.splitIntervalMs ?? DAY_MS;
  const align = opts.alignRangeWithStep ?? true;
  const maxQueryLengthMs = opts.maxQueryLengthMs ?? 0;
  const parallelism = opts.maxQueryParallelism ?? 14;
  const partialDefault = opts.partialResponse ?? true;
  const slowMs = opts.logQueriesLongerThanMs ?? 0;
  const userHeader = (opts.slowQueryLogsUserHeader ?? '').toLowerCase();
  const tenantHeader = (opts.tenantHeader ?? 'THANOS-TENANT').toLowerCase();
  const defaultTenant = opts.defaultTenant ?? 'default-tenant';
  // The tenant goes downstream as THANOS-TENANT, whatever header it came in (Thanos's
  // InternalTenancyConversionTripper), so neither tenant header is forwarded as it is.
  const forward = [...new Set((opts.forwardHeaders ?? []).map((h) => h.toLowerCase()))].filter(
    (h) => h !== tenantHeader && h !== 'thanos-tenant',
  );
  const certField = opts.tenantCertificateField;
  if (certField !== undefined && !(TENANT_CERTIFICATE_FIELDS as readonly string[]).includes(certField))
    throw new FrontendConfigError(
      `query-frontend: tenant certificate field must be one of ${TENANT_CERTIFICATE_FIELDS.join(', ')}, got ${JSON.stringify(certField)}`,
    );
  const parse = frontendParseOptions(opts);
  const forceStats = opts.forceQueryStats ?? false;

  /**
   * The request's tenant (Thanos's GetTenantFromHTTP): the tenant header, else THANOS-TENANT, else
   * the default tenant; with a certificate field, that field of the client certificate. Throws
   * FrontendHTTPError (400) when the certificate or its field is missing, or the name is not valid.
   */
  function tenantOf(req: IncomingMessage): string {
    const header = (name: string) => {
      const v = req.headers[name];
      return (Array.isArray(v) ? v[0] : v) || '';
    };
    let tenant = header(tenantHeader) || header('thanos-tenant') || defaultTenant;
    if (certField !== undefined) {
      const cert = (req.socket as Partial<TLSSocket>).getPeerX509Certificate?.();
      if (!cert)
        throw FrontendHTTPError.api(400, 'bad_data', 'could not get required certificate field from client cert');
      const v = subjectField(cert.subject, CERT_FIELD_KEYS[certField]);
      if (!v) throw FrontendHTTPError.api(400, 'bad_data', `could not get ${certField} field from client cert`);
      tenant = v;
    }
    // Thanos's IsTenantValid: a name that is its own path.Base (no slashes, not . or ..).
    if (tenant.includes('/') || tenant === '.' || tenant === '..')
      throw FrontendHTTPError.api(400, 'bad_data', 'tenant name not valid');
    return tenant;
  }
  if ((opts.orgIdHeaders ?? []).length > 0 && tenantHeader !== 'thanos-tenant')
    throw new FrontendConfigError(
      'query-frontend.org-id-header and query-frontend.tenant-header cannot be used together',
    );
  // Thanos's orgIdHeaders: the configured ones, a custom tenant header, then the default one.
  const orgIdHeaders = [
    ...new Set([
      ...(opts.orgIdHeaders ?? []).map((h) => h.toLowerCase()),
      ...(tenantHeader !== 'thanos-tenant' ? [tenantHeader] : []),
      'thanos-tenant',
    ]),
  ];
  const checkEveryMs = opts.downstreamCheckIntervalMs ?? 10_000;
  if (splitIntervalMs < 0) throw new FrontendConfigError('query-frontend: split interval must not be negative');
  const minSplitMs = opts.minSplitIntervalMs ?? 0;
  const maxSplitMs = opts.maxSplitIntervalMs ?? 0;
  const horizontalShards = opts.horizontalShards ?? 0;
  const dynamicSplit = minSplitMs > 0 || maxSplitMs > 0 || horizontalShards > 0;
  // Thanos's Config.Validate, in its order and words.
  if (dynamicSplit && splitIntervalMs !== 0)
    throw new FrontendConfigError(
      'split queries interval and dynamic query split interval cannot be set at the same time',
    );
  if (dynamicSplit) {
    if (horizontalShards <= 0)
      throw new FrontendConfigError(
        'min horizontal shards should be greater than 0 when query split threshold is enabled',
      );
    if (maxSplitMs <= 0)
      throw new FrontendConfigError(
        'max query split interval should be greater than 0 when query split threshold is enabled',
      );
    if (minSplitMs <= 0)
      throw new FrontendConfigError(
        'min query split interval should be greater than 0 when query split threshold is enabled',
      );
  }
  /** Thanos's dynamicIntervalFn: the interval a range query is split by. */
  const intervalFor = (r: RangeRequest): number => {
    if (!dynamicSplit) return splitIntervalMs;
    const length = r.end - r.start;
    if (Math.trunc(length / maxSplitMs) >= 2) return maxSplitMs;
    if (length > minSplitMs) return Math.max(1, Math.trunc(length / horizontalShards));
    return minSplitMs;
  };
  if (opts.responseCache && splitIntervalMs <= 0 && !dynamicSplit)
    throw new FrontendConfigError(
      'query-frontend: split queries or split threshold interval should be greater than 0 when caching is enabled',
    );
  if (!(parallelism >= 1)) throw new FrontendConfigError('query-frontend: max query parallelism must be at least 1');
  const verticalShards = opts.verticalShards ?? 0;
  if (!Number.isInteger(verticalShards) || verticalShards < 0)
    throw new FrontendConfigError(
      `query-frontend: vertical shards must be a non-negative integer, got ${verticalShards}`,
    );
  const analyze = createShardAnalyzer(256, parse);

  const queriesTotal = new Counter({
    name: 'thanos_query_frontend_queries_total',
    help: 'Total queries passing through query frontend',
    labelNames: ['op'],
    registers: [registry],
  });
  for (const op of ['query', 'query_range', 'label_names', 'label_values', 'series']) queriesTotal.inc({ op }, 0);
  const splitQueries = new Counter({
    name: 'thanos_frontend_split_queries_total',
    help: 'Total number of underlying query requests after the split by interval is applied',
    labelNames: ['tripperware'],
    registers: [registry],
  });
  const retries = new Histogram({
    name: 'cortex_query_frontend_retries',
    help: 'Number of times a request is retried.',
    labelNames: ['tripperware'],
    buckets: [0, 1, 2, 3, 4, 5],
    registers: [registry],
  });
  const fetchedKeys = new Counter({
    name: 'cortex_cache_fetched_keys_total',
    help: 'Total count of keys requested from cache.',
    labelNames: ['name', 'tripperware'],
    registers: [registry],
  });
  const cacheHits = new Counter({
    name: 'cortex_cache_hits_total',
    help: 'Total count of keys found in cache.',
    labelNames: ['name', 'tripperware'],
    registers: [registry],
  });
  const status = new Gauge({
    name: 'thanos_status',
    help: 'Represents status (0 indicates failure, 1 indicates success) of the component.',
    labelNames: ['check', 'component'],
    registers: [registry],
  });
  const downsampledExtra = new Counter({
    name: 'thanos_frontend_downsampled_extra_queries_total',
    help: 'Total number of additional queries for downsampled data',
    registers: [registry],
  });
  const requestDownsampled = opts.requestDownsampled ?? true;
  const shardingQueries = new Counter({
    name: 'thanos_frontend_sharding_middleware_queries_total',
    help: 'Total number of queries analyzed by the sharding middleware',
    labelNames: ['shardable', 'tripperware'],
    registers: [registry],
  });
  if (verticalShards > 0)
    for (const tripperware of ['query_range', 'query_instant'])
      for (const shardable of ['true', 'false']) shardingQueries.inc({ shardable, tripperware }, 0);
  const downstreamUp = new Gauge({
    name: 'thanos_query_frontend_downstream_up',
    help: 'Whether the last check of the downstream /-/ready succeeded (1) or not (0).',
    registers: [registry],
  });

  // One connection pool for every downstream call; closed with the frontend unless it was given.
  const ownAgent = opts.dispatcher ? undefined : createDownstreamAgent(opts.downstreamTripper);
  const dispatcher = opts.dispatcher ?? (ownAgent as Agent);
  const rangeDownstream = createDownstream({
    url: downstreamUrl,
    dispatcher,
    forceStats,
    maxRetries: opts.maxRetries ?? 5,
    logger,
    onRetries: (n) => retries.observe({ tripperware: 'query_range' }, n),
  });
  const instantDownstream = createDownstream({
    url: downstreamUrl,
    dispatcher,
    maxRetries: opts.instantMaxRetries ?? 5,
    logger,
    onRetries: (n) => retries.observe({ tripperware: 'query_instant' }, n),
  });
  const labelsDownstream = createDownstream({
    url: downstreamUrl,
    dispatcher,
    maxRetries: opts.labelsMaxRetries ?? 5,
    logger,
    onRetries: (n) => retries.observe({ tripperware: 'labels' }, n),
  });
  const compression = parseCacheCompression(opts.cacheCompression ?? '');
  const compressed = (c: Cache): Cache => (compression === 'snappy' ? withSnappy(c) : c);
  const labelsCacheName = opts.labelsResponseCache?.name ?? 'fifocache';
  const labelsSplitMs = opts.labelsSplitIntervalMs ?? DAY_MS;
  const labelsDefaultRangeMs = opts.labelsDefaultTimeRangeMs ?? DAY_MS;
  if (!(labelsDefaultRangeMs >= 0))
    throw new FrontendConfigError('query-frontend: labels default time range must not be negative');
  if (opts.labelsResponseCache && labelsSplitMs <= 0)
    throw new FrontendConfigError(
      'query-frontend: split queries interval should be greater than 0  when caching is enabled',
    );
  const metadata = createMetadataSplitter({
    downstream: labelsDownstream,
    splitIntervalMs: labelsSplitMs,
    maxParallelism: opts.labelsMaxQueryParallelism ?? 14,
    maxFreshnessMs: opts.labelsMaxCacheFreshnessMs ?? 60_000,
    ...(opts.labelsResponseCache ? { cache: compressed(opts.labelsResponseCache.cache) } : {}),
    ttlMs: opts.labelsResponseCache?.ttlMs ?? 0,
    now,
    onSplit: (n) => splitQueries.inc({ tripperware: 'labels' }, n),
    onFetch: (requested, hits) => {
      fetchedKeys.inc({ name: labelsCacheName, tripperware: 'labels' }, requested);
      cacheHits.inc({ name: labelsCacheName, tripperware: 'labels' }, hits);
    },
  });

  const cacheName = opts.responseCache?.name ?? 'fifocache';
  // The sample statistics of the client request a downstream answer belongs to (force-query-stats).
  const statsOf = new AsyncLocalStorage<RequestStats>();
  // The gate of the client request a downstream call belongs to, however deep in the results
  // cache the call is made.
  const gateOf = new AsyncLocalStorage<Gate>();
  const leaf = async (r: RangeRequest, signal: AbortSignal) => {
    const gate = gateOf.getStore();
    await gate?.acquire(signal);
    try {
      const a = await rangeDownstream.rangeQuery(r, signal);
      statsOf.getStore()?.add(a.samples);
      return a;
    } finally {
      gate?.release();
    }
  };
  const resultsCache: ResultsCache | undefined = opts.responseCache
    ? createResultsCache({
        cache: compressed(opts.responseCache.cache),
        ttlMs: opts.responseCache.ttlMs ?? 0,
        splitIntervalMs,
        maxFreshnessMs: opts.maxCacheFreshnessMs ?? 60_000,
        now,
        logger,
        parse,
        next: leaf,
        onFetch: (requested, hits) => {
          fetchedKeys.inc({ name: cacheName, tripperware: 'query_range' }, requested);
          cacheHits.inc({ name: cacheName, tripperware: 'query_range' }, hits);
        },
      })
    : undefined;
  if (resultsCache) {
    fetchedKeys.inc({ name: cacheName, tripperware: 'query_range' }, 0);
    cacheHits.inc({ name: cacheName, tripperware: 'query_range' }, 0);
  }

  function runPiece(piece: RangeRequest, gate: Gate, signal: AbortSignal): Promise<RawMatrix> {
    return gateOf.run(gate, async () =>
      resultsCache ? resultsCache.query(piece, signal) : (await leaf(piece, signal)).resp,
    );
  }

  /**
   * Thanos's PromQLShardingMiddleware, between the split and the results cache: a shardable piece
   * becomes `verticalShards` requests, each with its `shard_info` (so each shard has its own cache
   * entries), and their answers are merged; the others run as they are.
   */
  async function runShardedPiece(piece: RangeRequest, gate: Gate, signal: AbortSignal): Promise<RawMatrix> {
    if (verticalShards <= 0) return runPiece(piece, gate, signal);
    const a = analyze(piece.query);
    shardingQueries.inc({ shardable: String(a.shardable), tripperware: 'query_range' });
    if (!a.shardable) return runPiece(piece, gate, signal);
    const other = piece.other.filter(([k]) => k !== 'shard_info');
    const answers = await Promise.all(
      queryShards(a, verticalShards).map((shard) =>
        runPiece({ ...piece, other: [...other, ['shard_info', encodeShardInfo(shard)]] }, gate, signal),
      ),
    );
    return mergeRawMatrices(answers, { shards: true });
  }

  function headerValues(req: IncomingMessage): [string, string][] {
    const out: [string, string][] = [['thanos-tenant', tenantOf(req)]];
    for (const name of forward) {
      const v = req.headers[name];
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) out.push([name, one]);
    }
    return out;
  }

  async function handleRange(req: IncomingMessage, res: ServerResponse, url: URL, signal: AbortSignal, log: SlowLog) {
    const form = await readFormParams(req, url);
    log.form = form;
    const cc = req.headers['cache-control'];
    let r = parseRangeRequest(url.pathname, form, {
      defaultPartialResponse: partialDefault,
      headers: headerValues(req),
      tenant: tenantOf(req),
      noStore: (Array.isArray(cc) ? cc : [cc ?? '']).some((v) => v.includes('no-store')),
    });
    if (maxQueryLengthMs > 0 && r.end - r.start > maxQueryLengthMs)
      throw FrontendHTTPError.api(
        400,
        'bad_data',
        `the query time range exceeds the limit (query length: ${formatGoDuration(r.end - r.start)}, limit: ${formatGoDuration(maxQueryLengthMs)})`,
      );
    if (align) r = alignToStep(r);
    const answer =
      requestDownsampled && r.autoDownsampling ? await downsampled(r, signal) : await splitAndRun(r, signal);
    // Thanos answers with the merged statistics only when they were forced and the client asked
    // (its results cache strips them otherwise).
    const withStats = forceStats && (form.get('stats') ?? '') !== '';
    await writeBody(req, res, 200, 'application/json', encodeRawMatrixParts(answer, withStats));
  }

  /** Split by interval, then shard, cache and send each piece; the answers merged. */
  async function splitAndRun(r: RangeRequest, signal: AbortSignal): Promise<RawMatrix> {
    const interval = intervalFor(r);
    const pieces =
      interval > 0
        ? splitRangeRequest(r, interval, parse).map((p) => (dynamicSplit ? { ...p, splitIntervalMs: interval } : p))
        : [r];
    splitQueries.inc({ tripperware: 'query_range' }, pieces.length);
    const gate = new Gate(parallelism);
    // Pieces start one at a time (the cache lookup is cheap); the gate bounds downstream requests.
    const answers = await Promise.all(pieces.map((p) => runShardedPiece(p, gate, signal)));
    return mergeRawMatrices(answers);
  }

  /**
   * Thanos's DownsampledMiddleware (--query-range.request-downsampled) for `max_source_resolution=auto`
   * queries: when the answer starts after the query's start (raw data deleted by retention) or is
   * empty, the missing front part is asked again at the next downsampling resolution (5m, then
   * 1h), and the answers are merged.
   */
  async function downsampled(r: RangeRequest, signal: AbortSignal): Promise<RawMatrix> {
    const parts: RawMatrix[] = [];
    let q = r;
    let i = 0;
    while (i < DOWNSAMPLED_RESOLUTIONS.length) {
      if (parts.length > 0) downsampledExtra.inc();
      const resp = await splitAndRun(q, signal);
      parts.push(resp);
      for (; i < DOWNSAMPLED_RESOLUTIONS.length; i++) {
        const res = DOWNSAMPLED_RESOLUTIONS[i] as number;
        if (q.maxSourceResolution < res) {
          q = { ...q, autoDownsampling: false, maxSourceResolution: res };
          break;
        }
      }
      const first = firstSampleTime(resp);
      if (first === r.start) break;
      if (first !== undefined) q = { ...q, end: first - q.step };
      if (q.start > q.end) break;
    }
    return mergeRawMatrices(parts);
  }

  // Instant answers are cached whole, in the range results' cache backend (Thanos has no instant
  // cache; rulers and stat panels repeat instant queries at past times, e.g. `for` restores).
  const instantCache = opts.responseCache ? compressed(opts.responseCache.cache) : undefined;
  const instantFreshnessMs = opts.maxCacheFreshnessMs ?? 60_000;

  /**
   * The cache key of an instant query, or undefined when its answer must not be cached: no
   * `time` (it means now), a time within --query-range.max-freshness of now (data still
   * arriving), or `Cache-Control: no-store` from the client. Keyed by tenant, path and every
   * parameter but `stats`, so dedup, partial response and shards get their own entries.
   */
  function instantCacheKey(req: IncomingMessage, path: string, form: URLSearchParams): string | undefined {
    if (!instantCache) return undefined;
    const cc = req.headers['cache-control'];
    if ((Array.isArray(cc) ? cc : [cc ?? '']).some((v) => v.includes('no-store'))) return undefined;
    const t = form.get('time');
    if (!t) return undefined;
    let ms: number;
    try {
      ms = parseTime(t);
    } catch {
      return undefined; // The downstream answers the bad parameter.
    }
    if (ms > now() - instantFreshnessMs) return undefined;
    const tenant = tenantOf(req);
    const params = [...form.entries()].filter(([k]) => k !== 'stats').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `instant:${hashKey(JSON.stringify([tenant, path, params]))}`;
  }

  /**
   * Instant queries (Thanos's instant query tripperware): with sharding on, a shardable query goes
   * downstream as `verticalShards` requests with their `shard_info`, merged into one answer; any
   * other is re-sent as one request with the forwarded headers, as Thanos's codec does. With a
   * results cache, answers for times older than the max freshness are cached whole.
   */
  async function handleInstant(req: IncomingMessage, res: ServerResponse, url: URL, signal: AbortSignal, log: SlowLog) {
    const form = await readFormParams(req, url);
    log.form = form;
    if (!form.get('partial_response')) form.set('partial_response', String(partialDefault));
    const key = instantCacheKey(req, url.pathname, form);
    // Thanos's stats middleware; after the cache key, which leaves `stats` out.
    if (forceStats) form.set('stats', 'all');
    const countStats = (body: string) => {
      const st = statsOf.getStore();
      if (!st || !body.includes('"stats"')) return;
      try {
        st.add(sampleStatsOf((JSON.parse(body) as { data?: { stats?: unknown } }).data?.stats));
      } catch {
        // Not JSON: the client gets the body as it is; there are no statistics to count.
      }
    };
    if (key !== undefined && instantCache) {
      const hit = (await instantCache.fetch([key], signal)).get(key);
      fetchedKeys.inc({ name: cacheName, tripperware: 'query_instant' }, 1);
      if (hit) {
        cacheHits.inc({ name: cacheName, tripperware: 'query_instant' }, 1);
        await writeBody(req, res, 200, 'application/json', Buffer.from(hit).toString('utf8'));
        return;
      }
    }
    // Only complete successes are kept: no warnings (a partial answer), no downstream no-store.
    const remember = (body: string, noStore = false) => {
      if (key === undefined || !instantCache || noStore) return;
      if (!body.startsWith('{"status":"success"') || body.includes('"warnings"')) return;
      instantCache.store(key, Buffer.from(body, 'utf8'), opts.responseCache?.ttlMs ?? 0);
    };
    const query = form.get('query') ?? '';
    const a = analyze(query);
    const shardable = verticalShards > 0 && a.shardable && instantSortPlan(query, parse) !== 'unshardable';
    if (verticalShards > 0) shardingQueries.inc({ shardable: String(shardable), tripperware: 'query_instant' });
    const headers = headerValues(req);
    if (!shardable) {
      const reply = await instantDownstream.send(url.pathname, form, headers, signal);
      countStats(reply.body);
      if (reply.status === 200) remember(reply.body, reply.noStore);
      await writeBody(req, res, reply.status, reply.contentType, reply.body);
      return;
    }
    const gate = new Gate(parallelism);
    const replies = await Promise.all(
      queryShards(a, verticalShards).map(async (shard) => {
        const f = new URLSearchParams(form);
        f.set('shard_info', encodeShardInfo(shard));
        await gate.acquire(signal);
        try {
          return await instantDownstream.send(url.pathname, f, headers, signal);
        } finally {
          gate.release();
        }
      }),
    );
    for (const r of replies)
      if (r.status < 200 || r.status > 299) throw new FrontendHTTPError(r.status, r.body, r.contentType);
    for (const r of replies) countStats(r.body);
    const merged = mergeInstantAnswers(
      query,
      replies.map((r) => r.body),
      parse,
    );
    remember(
      merged,
      replies.some((r) => r.noStore),
    );
    await writeBody(req, res, 200, 'application/json', merged);
  }

  async function handleMetadata(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    op: Op,
    signal: AbortSignal,
    log: SlowLog,
  ) {
    const form = await readFormParams(req, url);
    log.form = form;
    if (!form.has('partial_response')) form.set('partial_response', String(opts.labelsPartialResponse ?? true));
    if (labelsDefaultRangeMs > 0) {
      // Thanos's parseMetadataTimeRange: each missing bound from now and the default range.
      const t = now();
      if (!form.get('start')) form.set('start', encodeSeconds(t - labelsDefaultRangeMs));
      if (!form.get('end')) form.set('end', encodeSeconds(t));
    }
    const cc = req.headers['cache-control'];
    const answer = await metadata.handle(
      {
        path: url.pathname,
        kind: op === 'series' ? 'series' : 'labels',
        form,
        headers: headerValues(req),
        tenant: tenantOf(req),
        noStore: (Array.isArray(cc) ? cc : [cc ?? '']).some((v) => v.includes('no-store')),
      },
      signal,
    );
    await writeBody(req, res, answer.status, answer.contentType, answer.body);
  }

  /**
   * Writes an answer with its Content-Length. `body` may be parts (a range answer's, which point
   * into the downstream bodies): they go out corked, as one write to the socket, unless gzip
   * needs them joined.
   */
  async function writeBody(
    req: IncomingMessage,
    res: ServerResponse,
    code: number,
    contentType: string,
    body: string | Buffer | readonly Uint8Array[],
  ) {
    let parts: readonly Uint8Array[] =
      typeof body === 'string' ? [Buffer.from(body)] : Array.isArray(body) ? body : [body as Buffer];
    let length = 0;
    for (const p of parts) length += p.length;
    const headers: Record<string, string | number> = { 'Content-Type': contentType };
    if (opts.compressResponses) {
      headers.Vary = 'Accept-Encoding';
      if (length >= GZIP_MIN_BYTES && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        const zipped = await gzipAsync(parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts));
        parts = [zipped];
        length = zipped.length;
        headers['Content-Encoding'] = 'gzip';
      }
    }
    headers['Content-Length'] = length;
    res.writeHead(code, headers);
    if (parts.length === 1) {
      res.end(parts[0]);
      return;
    }
    res.cork();
    for (const p of parts) res.write(p);
    res.end();
  }

  async function writeError(req: IncomingMessage, res: ServerResponse, err: unknown, signal: AbortSignal) {
    if (res.headersSent) {
      res.destroy(err as Error);
      return;
    }
    if (err instanceof FrontendHTTPError) return writeBody(req, res, err.status, err.contentType, err.body);
    if (signal.aborted) {
      // Thanos answers a cancelled request with nginx's 499 "client closed request".
      return writeBody(
        req,
        res,
        499,
        'application/json',
        JSON.stringify({ status: 'error', errorType: 'canceled', error: String(signal.reason) }),
      );
    }
    const message =
      err instanceof DownstreamError ? err.message : `query-frontend: ${(err as Error).message ?? String(err)}`;
    const code = err instanceof DownstreamError ? 502 : 500;
    logger.warn('request failed', { err: message, path: req.url });
    return writeBody(
      req,
      res,
      code,
      'application/json',
      JSON.stringify({ status: 'error', errorType: code === 502 ? 'unavailable' : 'internal', error: message }),
    );
  }

  interface SlowLog {
    form?: URLSearchParams;
  }

  /** The first of the org id headers the request carries (Thanos's extractOrgId), else `anonymous`. */
  function orgId(req: IncomingMessage): string {
    for (const h of orgIdHeaders) {
      const v = req.headers[h];
      const one = Array.isArray(v) ? v[0] : v;
      if (one) return one;
    }
    return 'anonymous';
  }

  /** The user of the slow query log: the configured header, else the basic auth user name. */
  function remoteUser(req: IncomingMessage): string {
    if (userHeader !== '') return String(req.headers[userHeader] ?? '');
    return basicAuthUser(req);
  }

  /** The user name of the request's basic authentication (Go's r.BasicAuth), or ''. */
  function basicAuthUser(req: IncomingMessage): string {
    const auth = String(req.headers.authorization ?? '');
    if (!/^basic /i.test(auth)) return '';
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? '' : decoded.slice(0, colon);
  }

  /** The fields of Thanos's slow query log line (cortex frontend transport reportSlowQuery). */
  function slowQueryFields(
    req: IncomingMessage,
    url: URL,
    form: URLSearchParams,
    tookMs: number,
  ): Record<string, unknown> {
    const header = (name: string) => {
      const v = req.headers[name];
      return (Array.isArray(v) ? v[0] : v) || '-';
    };
    const fields: Record<string, unknown> = {
      org_id: orgId(req),
      method: req.method,
      host: req.headers.host,
      path: url.pathname,
      remote_user: remoteUser(req),
      remote_addr: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      time_taken_ms: Math.trunc(tookMs),
      grafana_dashboard_uid: header('x-dashboard-uid'),
      grafana_panel_id: header('x-panel-id'),
      trace_id: traceIdOf() ?? '-',
    };
    for (const k of new Set(form.keys())) fields[`param_${k}`] = form.getAll(k).join(',');
    const start = form.get('start');
    const end = form.get('end');
    if (start && end) {
      try {
        const rangeMs = parseTime(end) - parseTime(start);
        if (rangeMs !== 0) {
          fields.query_range_hours = Math.trunc(rangeMs / 3600_000);
          fields.query_range_human = formatGoDuration(rangeMs);
        }
      } catch {
        // Unreadable times: no range fields, as Thanos.
      }
    }
    return fields;
  }

  const frontendHandler: RequestHandler = async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const started = performance.now();
    const op = operation(req.method ?? 'GET', url.pathname);
    if (op) queriesTotal.inc({ op });
    if (!opts.disableCors) for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort(new DOMException('client closed request', 'AbortError'));
    };
    res.once('close', onClose);
    const log: SlowLog = {};
    const stats = forceStats ? new RequestStats() : undefined;
    if (forceStats) {
      // Cortex's writeServiceTimingHeader: the time to the answer's head, on every answer.
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
      res.writeHead = ((...args: unknown[]) => {
        if (!res.headersSent) res.setHeader('Server-Timing', `response_time;dur=${performance.now() - started}`);
        return writeHead(...args);
      }) as typeof res.writeHead;
    }
    const run = async () => {
      if (op === 'query_range') await handleRange(req, res, url, abort.signal, log);
      else if (op === 'query' && (verticalShards > 0 || instantCache || forceStats))
        await handleInstant(req, res, url, abort.signal, log);
      else if (op === 'label_names' || op === 'label_values' || op === 'series')
        await handleMetadata(req, res, url, op, abort.signal, log);
      else
        await (op === 'query' ? instantDownstream : rangeDownstream).proxy(req, res, {
          retries: op === 'query',
          signal: abort.signal,
          tenant: { header: tenantHeader, value: tenantOf(req) },
        });
    };
    try {
      await (stats ? statsOf.run(stats, run) : run());
    } catch (err) {
      await writeError(req, res, err, abort.signal);
    } finally {
      res.off('close', onClose);
      const tookMs = performance.now() - started;
      const form = log.form ?? url.searchParams;
      // Thanos's isQueryEndpoint: every /api/v1 path, proxied ones included.
      if (url.pathname.includes('/api/v1') && slowMs !== 0 && (slowMs < 0 || tookMs > slowMs)) {
        const fields = slowQueryFields(req, url, form, tookMs);
        if (stats) Object.assign(fields, { peak_samples: stats.peakSamples, total_samples_loaded: stats.totalSamples });
        logger.info('slow query detected', fields);
      }
      if (stats) logger.info('query stats', queryStatsFields(req, url, form, tookMs, stats));
    }
    return true;
  };

  /** Cortex's reportQueryStats line, with the statistics the frontend has (samples from the downstream answers). */
  function queryStatsFields(
    req: IncomingMessage,
    url: URL,
    form: URLSearchParams,
    tookMs: number,
    stats: RequestStats,
  ): Record<string, unknown> {
    const all = slowQueryFields(req, url, form, tookMs);
    const fields: Record<string, unknown> = {
      method: req.method,
      path: url.pathname,
      remote_user: basicAuthUser(req),
      remote_addr: all.remote_addr,
      response_time: formatGoDuration(tookMs),
    };
    for (const [k, v] of Object.entries(all)) if (k.startsWith('param_')) fields[k] = v;
    fields.peak_samples = stats.peakSamples;
    fields.total_samples_loaded = stats.totalSamples;
    if (all.query_range_hours !== undefined) {
      fields.query_range_hours = all.query_range_hours;
      fields.query_range_human = all.query_range_human;
    }
    return fields;
  }

  let started = false;
  let downstreamError: string | undefined = 'not started';
  let servers: ListeningHTTPServer | undefined;
  const loop = new AbortController();
  const isReady = () => started && downstreamError === undefined;
  const notReadyReason = () => (!started ? 'query-frontend is not started' : downstreamError);
  const setReady = () => {
    status.set({ check: 'ready', component: 'query-frontend' }, isReady() ? 1 : 0);
  };

  async function check(signal: AbortSignal): Promise<void> {
    try {
      await rangeDownstream.checkReady(signal);
      if (downstreamError !== undefined) logger.info('downstream ready', { url: downstreamUrl });
      downstreamError = undefined;
      downstreamUp.set(1);
    } catch (err) {
      if (signal.aborted) return;
      const reason = (err as Error).message;
      if (downstreamError !== reason) logger.warn('downstream not ready', { url: downstreamUrl, err: reason });
      downstreamError = reason;
      downstreamUp.set(0);
    }
    setReady();
  }

  async function checkLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && checkEveryMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, checkEveryMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
      if (!signal.aborted) await check(signal);
    }
  }

  const readyAware: RequestHandler = async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/-/ready') {
      const reason = notReadyReason();
      res.writeHead(reason ? 503 : 200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(reason ? `NOT READY: ${reason}\n` : 'OK');
      return true;
    }
    return inner(req, res);
  };
  const endpoints = {
    registry,
    ready: isReady,
    // One server span per API request, continuing the caller's traceparent; the downstream
    // requests carry it on (traceHeaders in downstream.ts), so one query is one trace.
    tracer,
    handlers: [instrumentHandler(frontendHandler, registry)],
  };
  const inner = componentHandler(endpoints);
  let loopDone: Promise<void> | undefined;

  const lifecycle = createLifecycle('query-frontend', {
    async start(signal) {
      setReady();
      if (opts.httpAddress !== undefined) {
        const http = await serveHTTP(readyAware, {
          address: opts.httpAddress,
          gracePeriodMs: opts.httpGracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS,
          webConfig: opts.webConfig,
          requestLogging: opts.requestLogging?.http,
          logger,
          name: 'query-frontend',
        });
        servers = http;
        logger.info('listening', { http: http.address });
      }
      started = true;
      await check(AbortSignal.any([signal, loop.signal]));
      loopDone = checkLoop(loop.signal);
      logger.info('starting query frontend', { downstream: downstreamUrl });
    },
    async stop() {
      started = false;
      setReady();
      loop.abort();
      await loopDone;
      await servers?.close();
      await Promise.all([
        rangeDownstream.close(),
        instantDownstream.close(),
        labelsDownstream.close(),
        opts.responseCache?.cache.close(),
        opts.labelsResponseCache?.cache.close(),
      ]);
      await ownAgent?.close();
    },
  });

  return {
    ...lifecycle,
    handler: readyAware,
    registry,
    ready: isReady,
    notReadyReason,
    get httpAddress() {
      return servers?.address;
    },
    grpcAddress: undefined,
  };
}
