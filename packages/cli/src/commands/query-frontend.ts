import { readFile } from 'node:fs/promises';
import {
  createQueryFrontend,
  type DownstreamTripperConfig,
  FRONTEND_FEATURES,
  type FrontendCache,
  type FrontendFeature,
  parseCacheCompression,
  parseDownstreamTripperConfig,
  parseResponseCacheConfig,
  type QueryFrontendOptions,
  TENANT_CERTIFICATE_FIELDS,
  type TenantCertificateField,
} from '@thanos-ts/core/frontend';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { DurationSyntaxError, parseGoDuration } from '@thanos-ts/tsdb/goformat';
import { Command, Option } from 'commander';
import { Registry } from 'prom-client';
import { collect, intFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addServingFlags, type ServingFlags, servingFromFlags } from '../flags/serving.js';
import { definedOnly, type FlagsFor } from '../flags/typed.js';
import { runUntilSignal } from '../run.js';

/** Raw values of `thanos-ts query-frontend` flags as commander stores them. */
export interface QueryFrontendFlags extends ServingFlags, LogFlags {
  'queryFrontend.downstreamUrl': string;
  'web.disableCors': boolean;
  'queryRange.alignRangeWithStep': boolean;
  'queryRange.requestDownsampled': boolean;
  'queryRange.splitInterval': string;
  'queryRange.minSplitInterval': string;
  'queryRange.maxSplitInterval': string;
  'queryRange.horizontalShards': string;
  cacheCompressionType: string;
  'queryFrontend.downstreamTripperConfig'?: string;
  'queryFrontend.downstreamTripperConfigFile'?: string;
  'queryFrontend.orgIdHeader'?: string[];
  'queryFrontend.slowQueryLogsUserHeader': string;
  'queryRange.maxRetriesPerRequest': string;
  'query.maxRetriesPerRequest': string;
  'queryRange.maxQueryLength': string;
  'queryRange.maxQueryParallelism': string;
  'queryRange.responseCacheMaxFreshness': string;
  'queryRange.partialResponse': boolean;
  'queryRange.responseCacheConfig'?: string;
  'queryRange.responseCacheConfigFile'?: string;
  'labels.splitInterval': string;
  'labels.maxRetriesPerRequest': string;
  'labels.maxQueryParallelism': string;
  'labels.responseCacheMaxFreshness': string;
  'labels.partialResponse': boolean;
  'labels.defaultTimeRange': string;
  'labels.responseCacheConfig'?: string;
  'labels.responseCacheConfigFile'?: string;
  'queryFrontend.compressResponses': boolean;
  'queryFrontend.logQueriesLongerThan': string;
  'queryFrontend.forwardHeader'?: string[];
  'queryFrontend.tenantHeader': string;
  'queryFrontend.defaultTenantId': string;
  'queryFrontend.verticalShards'?: string;
  'queryFrontend.forceQueryStats': boolean;
  'queryFrontend.enableXFunctions': boolean;
  enableFeature?: string[];
  'queryFrontend.tenantCertificateField'?: string;
}

/** Options no flag sets: in-process objects and the downstream probe interval (Thanos's fixed 10s). */
type NotFrontendFlags =
  | 'logger'
  | 'registry'
  | 'now'
  | 'dispatcher'
  | 'grpcAddress'
  | 'grpcServerTLS'
  | 'grpcGracePeriodMs'
  | 'downstreamCheckIntervalMs';

/** A Go duration flag (`24h`, `1m30s`, `500ms`, `0`) in ms, negative allowed only when `signed`. */
function goDurationFlag(value: string, flag: string, signed = false): number {
  const neg = signed && value.startsWith('-');
  try {
    const ms = parseGoDuration(neg ? value.slice(1) : value);
    return neg ? -ms : ms;
  } catch (err) {
    if (!(err instanceof DurationSyntaxError) && !(err instanceof InvalidArgumentError)) throw err;
    throw new InvalidArgumentError(`--${flag}: invalid duration ${JSON.stringify(value)} (want e.g. 30s, 5m, 24h)`);
  }
}

async function fileOrInline(
  file: string | undefined,
  inline: string | undefined,
  flag: string,
): Promise<string | undefined> {
  if (file !== undefined && inline !== undefined)
    throw new InvalidArgumentError(`--${flag}-file and --${flag} are mutually exclusive; set only one`);
  if (file === undefined) return inline;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`--${flag}-file: cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Validates the flags and builds the frontend's options (the cache backend is created, not yet
 * connected); errors name the flag. `warn` receives configuration warnings (an IN-MEMORY cache
 * without a size).
 */
export async function parseQueryFrontendFlags(
  o: QueryFrontendFlags,
  warn: (msg: string) => void = () => {},
): Promise<Omit<QueryFrontendOptions, NotFrontendFlags>> {
  const downstreamUrl = o['queryFrontend.downstreamUrl'];
  if (downstreamUrl === '')
    throw new InvalidArgumentError('--query-frontend.downstream-url: downstream URL should be configured');
  try {
    const u = new URL(downstreamUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported scheme ${u.protocol}`);
  } catch (err) {
    throw new InvalidArgumentError(
      `--query-frontend.downstream-url: ${JSON.stringify(downstreamUrl)}: ${(err as Error).message}`,
    );
  }
  const shards = o['queryFrontend.verticalShards'];
  const splitIntervalMs = goDurationFlag(o['queryRange.splitInterval'], 'query-range.split-interval');
  const minSplitIntervalMs = goDurationFlag(o['queryRange.minSplitInterval'], 'query-range.min-split-interval');
  const maxSplitIntervalMs = goDurationFlag(o['queryRange.maxSplitInterval'], 'query-range.max-split-interval');
  const horizontalShards = intFlag(o['queryRange.horizontalShards'], 'query-range.horizontal-shards', 0);
  const dynamicSplit = minSplitIntervalMs > 0 || maxSplitIntervalMs > 0 || horizontalShards > 0;
  // Thanos's Config.Validate, naming the flags.
  if (dynamicSplit && splitIntervalMs !== 0)
    throw new InvalidArgumentError(
      '--query-range.split-interval: split queries interval and dynamic query split interval cannot be set at the same time (set --query-range.split-interval=0)',
    );
  if (dynamicSplit && horizontalShards <= 0)
    throw new InvalidArgumentError(
      '--query-range.horizontal-shards: min horizontal shards should be greater than 0 when query split threshold is enabled',
    );
  if (dynamicSplit && maxSplitIntervalMs <= 0)
    throw new InvalidArgumentError(
      '--query-range.max-split-interval: max query split interval should be greater than 0 when query split threshold is enabled',
    );
  if (dynamicSplit && minSplitIntervalMs <= 0)
    throw new InvalidArgumentError(
      '--query-range.min-split-interval: min query split interval should be greater than 0 when query split threshold is enabled',
    );
  let cacheCompression: QueryFrontendOptions['cacheCompression'];
  try {
    cacheCompression = parseCacheCompression(o.cacheCompressionType);
  } catch (err) {
    throw new InvalidArgumentError(`--cache-compression-type: ${(err as Error).message}`);
  }
  const labelsDefaultTimeRangeMs = goDurationFlag(o['labels.defaultTimeRange'], 'labels.default-time-range');
  if (labelsDefaultTimeRangeMs === 0)
    throw new InvalidArgumentError('--labels.default-time-range: labels.default-time-range cannot be set to 0');
  const orgIdHeaders = o['queryFrontend.orgIdHeader'] ?? [];
  if (orgIdHeaders.length > 0 && o['queryFrontend.tenantHeader'].toLowerCase() !== 'thanos-tenant')
    throw new InvalidArgumentError(
      '--query-frontend.org-id-header: query-frontend.org-id-header and query-frontend.tenant-header cannot be used together',
    );
  const tripperText = await fileOrInline(
    o['queryFrontend.downstreamTripperConfigFile'],
    o['queryFrontend.downstreamTripperConfig'],
    'query-frontend.downstream-tripper-config',
  );
  let downstreamTripper: DownstreamTripperConfig | undefined;
  if (tripperText !== undefined && tripperText.trim() !== '')
    downstreamTripper = await parseDownstreamTripperConfig(tripperText, '--query-frontend.downstream-tripper-config');
  const cacheText = await fileOrInline(
    o['queryRange.responseCacheConfigFile'],
    o['queryRange.responseCacheConfig'],
    'query-range.response-cache-config',
  );
  let responseCache: FrontendCache | undefined;
  if (cacheText !== undefined && cacheText.trim() !== '') {
    if (splitIntervalMs <= 0 && !dynamicSplit)
      throw new InvalidArgumentError(
        '--query-range.split-interval: split queries or split threshold interval should be greater than 0 when caching is enabled',
      );
    const parsed = parseResponseCacheConfig(cacheText, '--query-range.response-cache-config');
    if (parsed.cache) responseCache = { cache: parsed.cache, name: parsed.name };
    else if (parsed.warning) warn(parsed.warning);
  }
  const labelsSplitIntervalMs = goDurationFlag(o['labels.splitInterval'], 'labels.split-interval');
  const labelsCacheText = await fileOrInline(
    o['labels.responseCacheConfigFile'],
    o['labels.responseCacheConfig'],
    'labels.response-cache-config',
  );
  let labelsResponseCache: FrontendCache | undefined;
  if (labelsCacheText !== undefined && labelsCacheText.trim() !== '') {
    if (labelsSplitIntervalMs <= 0)
      throw new InvalidArgumentError(
        '--labels.split-interval: split queries interval should be greater than 0 when caching is enabled',
      );
    const parsed = parseResponseCacheConfig(labelsCacheText, '--labels.response-cache-config');
    if (parsed.cache) labelsResponseCache = { cache: parsed.cache, name: parsed.name };
    else if (parsed.warning) warn(`--labels.response-cache-config: ${parsed.warning}`);
  }
  const serving = servingFromFlags(o);
  // Thanos takes --enable-feature repeated; comma-separated lists are split too, as its help says.
  const enableFeatures = (o.enableFeature ?? []).flatMap((v) => v.split(',')).filter((v) => v.trim() !== '');
  for (const f of enableFeatures)
    if (!(FRONTEND_FEATURES as readonly string[]).includes(f))
      throw new InvalidArgumentError(
        `--enable-feature: ${JSON.stringify(f)} is not a feature of the query frontend (valid: ${FRONTEND_FEATURES.join(', ')})`,
      );
  const certField = o['queryFrontend.tenantCertificateField'] ?? '';
  if (certField !== '' && !(TENANT_CERTIFICATE_FIELDS as readonly string[]).includes(certField))
    throw new InvalidArgumentError(
      `--query-frontend.tenant-certificate-field: enum value must be one of ,${TENANT_CERTIFICATE_FIELDS.join(',')}, got '${certField}'`,
    );
  const clientAuth = serving.webConfig?.tlsServerConfig?.clientAuthType ?? 'NoClientCert';
  if (certField !== '' && clientAuth === 'NoClientCert')
    throw new InvalidArgumentError(
      '--query-frontend.tenant-certificate-field: needs client certificates: an --http.config with tls_server_config and a client_auth_type other than NoClientCert',
    );
  const flags: FlagsFor<QueryFrontendOptions, NotFrontendFlags> = {
    ...serving,
    forceQueryStats: o['queryFrontend.forceQueryStats'],
    enableXFunctions: o['queryFrontend.enableXFunctions'],
    enableFeatures: enableFeatures as FrontendFeature[],
    tenantCertificateField: certField === '' ? undefined : (certField as TenantCertificateField),
    downstreamUrl,
    disableCors: o['web.disableCors'],
    alignRangeWithStep: o['queryRange.alignRangeWithStep'],
    requestDownsampled: o['queryRange.requestDownsampled'],
    splitIntervalMs,
    maxRetries: intFlag(o['queryRange.maxRetriesPerRequest'], 'query-range.max-retries-per-request', 0),
    instantMaxRetries: intFlag(o['query.maxRetriesPerRequest'], 'query.max-retries-per-request', 0),
    maxQueryLengthMs: goDurationFlag(o['queryRange.maxQueryLength'], 'query-range.max-query-length'),
    maxQueryParallelism: intFlag(o['queryRange.maxQueryParallelism'], 'query-range.max-query-parallelism', 1),
    maxCacheFreshnessMs: goDurationFlag(
      o['queryRange.responseCacheMaxFreshness'],
      'query-range.response-cache-max-freshness',
    ),
    partialResponse: o['queryRange.partialResponse'],
    responseCache,
    labelsSplitIntervalMs,
    labelsMaxRetries: intFlag(o['labels.maxRetriesPerRequest'], 'labels.max-retries-per-request', 0),
    labelsMaxQueryParallelism: intFlag(o['labels.maxQueryParallelism'], 'labels.max-query-parallelism', 1),
    labelsMaxCacheFreshnessMs: goDurationFlag(
      o['labels.responseCacheMaxFreshness'],
      'labels.response-cache-max-freshness',
    ),
    labelsPartialResponse: o['labels.partialResponse'],
    labelsResponseCache,
    labelsDefaultTimeRangeMs,
    minSplitIntervalMs,
    maxSplitIntervalMs,
    horizontalShards,
    cacheCompression,
    downstreamTripper,
    orgIdHeaders,
    slowQueryLogsUserHeader: o['queryFrontend.slowQueryLogsUserHeader'],
    compressResponses: o['queryFrontend.compressResponses'],
    logQueriesLongerThanMs: goDurationFlag(
      o['queryFrontend.logQueriesLongerThan'],
      'query-frontend.log-queries-longer-than',
      true,
    ),
    forwardHeaders: o['queryFrontend.forwardHeader'] ?? [],
    tenantHeader: o['queryFrontend.tenantHeader'],
    defaultTenant: o['queryFrontend.defaultTenantId'],
    verticalShards: shards === undefined ? undefined : intFlag(shards, 'query-frontend.vertical-shards', 0),
  };
  return definedOnly(flags);
}

/** Defines the `query-frontend` command and its flags (Thanos's names and defaults). */
export function defineQueryFrontendCommand(): Command {
  const cmd = new Command('query-frontend').description(
    'Query frontend command implements a service deployed in front of queriers to improve query parallelization and caching.',
  );
  const opt = (flags: string, help: string, dflt?: string | boolean) => {
    const o = new Option(flags, help);
    if (dflt !== undefined) o.default(dflt);
    cmd.addOption(o);
  };
  opt(
    '--web.disable-cors',
    'Whether to disable CORS headers to be set by Thanos. By default Thanos sets CORS headers to be allowed by all.',
    false,
  );
  opt(
    '--query-frontend.downstream-url <url>',
    'URL of downstream Prometheus Query compatible API.',
    'http://localhost:9090',
  );
  opt(
    '--query-range.align-range-with-step',
    'Mutate incoming queries to align their start and end with their step for better cache-ability. Note: Grafana dashboards do that by default.',
    true,
  );
  opt('--no-query-range.align-range-with-step', 'Do not align range queries to their step.');
  opt(
    '--query-range.request-downsampled',
    'Make additional query for downsampled data in case of empty or incomplete response to range request.',
    true,
  );
  opt('--no-query-range.request-downsampled', 'Do not ask again for downsampled data.');
  opt(
    '--query-range.split-interval <duration>',
    'Split query range requests by an interval and execute in parallel, it should be greater than 0 when query-range.response-cache-config is configured.',
    '24h',
  );
  opt(
    '--query-range.min-split-interval <duration>',
    'Split query range requests above this interval in query-range.horizontal-shards requests of equal range. Using this parameter is not allowed with query-range.split-interval. One should also set query-range.split-min-horizontal-shards to a value greater than 1 to enable splitting.',
    '0',
  );
  opt(
    '--query-range.max-split-interval <duration>',
    'Split query range below this interval in query-range.horizontal-shards. Queries with a range longer than this value will be split in multiple requests of this length.',
    '0',
  );
  opt(
    '--query-range.horizontal-shards <n>',
    'Split queries in this many requests when query duration is below query-range.max-split-interval.',
    '0',
  );
  opt(
    '--query-range.max-retries-per-request <n>',
    'Maximum number of retries for a single query range request; beyond this, the downstream error is returned.',
    '5',
  );
  opt(
    '--query.max-retries-per-request <n>',
    'Maximum number of retries for a single instant query request; beyond this, the downstream error is returned.',
    '5',
  );
  opt(
    '--query-range.max-query-length <duration>',
    'Limit the query time range (end - start time) in the query-frontend, 0 disables it.',
    '0',
  );
  opt(
    '--query-range.max-query-parallelism <n>',
    'Maximum number of query range requests will be scheduled in parallel by the Frontend.',
    '14',
  );
  opt(
    '--query-range.response-cache-max-freshness <duration>',
    'Most recent allowed cacheable result for query range requests, to prevent caching very recent results that might still be in flux.',
    '1m',
  );
  opt(
    '--query-range.partial-response',
    'Enable partial response for query range requests if no partial_response param is specified. --no-query-range.partial-response for disabling.',
    true,
  );
  opt('--no-query-range.partial-response', 'Disable partial response by default.');
  opt(
    '--query-range.response-cache-config-file <path>',
    'Path to YAML file that contains response cache configuration (type: IN-MEMORY, MEMCACHED or REDIS).',
  );
  opt(
    '--query-range.response-cache-config <yaml>',
    "Alternative to 'query-range.response-cache-config-file' flag (mutually exclusive).",
  );
  opt(
    '--labels.split-interval <duration>',
    'Split labels requests by an interval and execute in parallel, it should be greater than 0 when labels.response-cache-config is configured.',
    '24h',
  );
  opt(
    '--labels.max-retries-per-request <n>',
    'Maximum number of retries for a single label/series API request; beyond this, the downstream error is returned.',
    '5',
  );
  opt(
    '--labels.max-query-parallelism <n>',
    'Maximum number of labels requests will be scheduled in parallel by the Frontend.',
    '14',
  );
  opt(
    '--labels.response-cache-max-freshness <duration>',
    'Most recent allowed cacheable result for labels requests, to prevent caching very recent results that might still be in flux.',
    '1m',
  );
  opt(
    '--labels.partial-response',
    'Enable partial response for labels requests if no partial_response param is specified. --no-labels.partial-response for disabling.',
    true,
  );
  opt('--no-labels.partial-response', 'Disable partial response for labels requests by default.');
  opt(
    '--labels.default-time-range <duration>',
    'The default metadata time range duration for retrieving labels through Labels and Series API when the range parameters are not specified.',
    '24h',
  );
  opt(
    '--labels.response-cache-config-file <path>',
    'Path to YAML file that contains response cache configuration for labels and series requests.',
  );
  opt(
    '--labels.response-cache-config <yaml>',
    "Alternative to 'labels.response-cache-config-file' flag (mutually exclusive).",
  );
  opt(
    '--cache-compression-type <type>',
    "Use compression in results cache. Supported values are: 'snappy' and '' (disable compression).",
    '',
  );
  opt(
    '--query-frontend.downstream-tripper-config-file <path>',
    'Path to YAML file that contains downstream tripper configuration. If your downstream URL is localhost or 127.0.0.1 then it is highly recommended to increase max_idle_conns_per_host to at least 100.',
  );
  opt(
    '--query-frontend.downstream-tripper-config <yaml>',
    "Alternative to 'query-frontend.downstream-tripper-config-file' flag (mutually exclusive).",
  );
  opt('--query-frontend.compress-responses', 'Compress HTTP responses.', false);
  opt(
    '--query-frontend.log-queries-longer-than <duration>',
    'Log queries that are slower than the specified duration. Set to 0 to disable. Set to < 0 to enable on all queries.',
    '0',
  );
  cmd.addOption(
    new Option(
      '--query-frontend.forward-header <http-header-name>',
      'List of headers forwarded by the query-frontend to downstream queriers, default is empty (repeatable).',
    ).argParser(collect),
  );
  cmd.addOption(
    new Option(
      '--query-frontend.org-id-header <http-header-name>',
      "Deprecation Warning - This flag will be soon deprecated in favor of query-frontend.tenant-header and both flags cannot be used at the same time. Request header names used to identify the source of slow queries (repeated flag). The values of the header will be added to the org id field in the slow query log. If multiple headers match the request, the first matching arg specified will take precedence. If no headers match 'anonymous' will be used.",
    ).argParser(collect),
  );
  opt(
    '--query-frontend.slow-query-logs-user-header <http-header-name>',
    'Set the value of the field remote_user in the slow query logs to the value of the given HTTP header. Falls back to reading the user from the basic auth header.',
    '',
  );
  opt('--query-frontend.tenant-header <header>', 'HTTP header to determine tenant.', 'THANOS-TENANT');
  opt(
    '--query-frontend.default-tenant-id <id>',
    'Default tenant ID to use if tenant header is not present.',
    'default-tenant',
  );
  opt(
    '--query-frontend.vertical-shards <n>',
    'Number of shards to use when distributing shardable PromQL queries. For more details, you can refer to the Vertical query sharding proposal: https://thanos.io/tip/proposals-accepted/202205-vertical-query-sharding.md',
  );
  opt(
    '--query-frontend.force-query-stats',
    'Enables query statistics for all queries and will export statistics as logs and service headers.',
    false,
  );
  opt(
    '--query-frontend.enable-x-functions',
    'Enable experimental x- functions in query-frontend. --no-query-frontend.enable-x-functions for disabling.',
    false,
  );
  opt('--no-query-frontend.enable-x-functions', 'Do not read x- functions.');
  cmd.addOption(
    new Option(
      '--enable-feature <feature>',
      'Comma separated feature names to enable. Valid options for now: promql-experimental-functions (enables promql experimental functions in query-frontend) (repeatable).',
    ).argParser(collect),
  );
  opt(
    '--query-frontend.tenant-certificate-field <field>',
    "Use TLS client's certificate field to determine tenant for requests. Must be one of organization, organizationalUnit or commonName. This setting will cause the query-frontend.tenant-header flag value to be ignored.",
  );
  addServingFlags(cmd, { grpc: false });
  addLogFlags(cmd);
  return cmd;
}

/** Adds `thanos-ts query-frontend` to the program. */
export function registerQueryFrontend(program: Command): void {
  const cmd = defineQueryFrontendCommand().action(async (o: QueryFrontendFlags) => {
    const logger = loggerFromFlags(o, 'query-frontend');
    const cfg = await parseQueryFrontendFlags(o, (msg) => logger.warn(msg));
    const frontend = createQueryFrontend({ ...cfg, logger, registry: new Registry() });
    await runUntilSignal(frontend, { logger });
  });
  program.addCommand(cmd);
}
