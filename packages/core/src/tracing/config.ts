import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { DurationSyntaxError, goQuote, parseGoDuration } from '@thanos-ts/tsdb/goformat';
import { parse as parseYaml } from 'yaml';

// Thanos's tracing YAML (pkg/tracing/client/factory.go TracingConfig, pkg/tracing/otlp/config_yaml.go,
// pkg/tracing/jaeger/config_yaml.go): `type` picks the provider, `config` is that provider's struct.

/** The providers Thanos's `--tracing.config` accepts (upper-cased, as Thanos compares them). */
export const TRACING_TYPES = [
  'OTLP',
  'JAEGER',
  'STACKDRIVER',
  'GOOGLE_CLOUD',
  'ELASTIC_APM',
  'LIGHTSTEP',
  'DATADOG',
] as const;
/** One of {@link TRACING_TYPES}. */
export type TracingType = (typeof TRACING_TYPES)[number];

/** TLS of the OTLP exporter (Thanos's exthttp.TLSConfig). */
export interface TracingTLSConfig {
  /** PEM CA bundle to verify the collector with (`ca_file`); system roots when absent. */
  caFile?: string;
  /** Client certificate for mTLS (`cert_file`). */
  certFile?: string;
  /** Client key for mTLS (`key_file`). */
  keyFile?: string;
  /** Name the collector's certificate must carry (`server_name`). */
  serverName?: string;
  /** Accept any collector certificate (`insecure_skip_verify`). */
  insecureSkipVerify: boolean;
}

/** Thanos's `type: OTLP` config (pkg/tracing/otlp/config_yaml.go). */
export interface OTLPTracingConfig {
  type: 'OTLP';
  /** `client_type`: 'grpc' or 'http'. Default 'grpc' (Thanos refuses an empty one; see docs/tracing.md). */
  clientType: 'grpc' | 'http';
  /** `service_name`; empty: the component's name. */
  serviceName: string;
  /** `resource_attributes`, added to the exported resource. */
  resourceAttributes: Record<string, string>;
  /** `reconnection_period`, ms; accepted, no effect (the JS gRPC exporter reconnects by itself). */
  reconnectionPeriodMs: number;
  /** `compression`: 'gzip' compresses, anything else sends uncompressed (as Thanos). */
  compression: string;
  /** `insecure`: plaintext (http://) instead of TLS. */
  insecure: boolean;
  /** `endpoint`, host:port. Default localhost:4317 (grpc) or localhost:4318 (http), as the OTel Go SDK. */
  endpoint: string;
  /** `url_path` of the HTTP exporter. Default /v1/traces. */
  urlPath: string;
  /** `timeout` of one export, ms. 0: the exporter's default (10 s). */
  timeoutMs: number;
  /** `retry_config`; accepted, the JS exporters retry transient failures with their own backoff. */
  retry: { enabled: boolean; initialIntervalMs: number; maxIntervalMs: number; maxElapsedTimeMs: number };
  /** `headers` sent with every export (gRPC metadata for 'grpc'). */
  headers: Record<string, string>;
  /** `tls_config`, used unless `insecure`. */
  tls: TracingTLSConfig;
  /** `sampler_type` (lower-cased): alwayssample, neversample, traceidratiobased, parentbased…; '' = default. */
  samplerType: string;
  /** `sampler_param` as written (a float for the ratio samplers). */
  samplerParam: string;
}

/** Thanos's `type: JAEGER` config (pkg/tracing/jaeger/config_yaml.go); only the fields thanos-ts uses are typed. */
export interface JaegerTracingConfig {
  type: 'JAEGER';
  /** `service_name`; empty: the component's name. */
  serviceName: string;
  /** `tags`: `k=v,k2=${ENV:default}`, added to the resource. */
  tags: string;
  /** `sampler_type`: const, probabilistic, ratelimiting (default), remote. */
  samplerType: string;
  /** `sampler_param`: 0/1 for const, a ratio for probabilistic, traces per second for ratelimiting. */
  samplerParam: number;
  /** `initial_sampler_rate`: ratio used by the remote sampler until it hears from its server. */
  initialSamplerRate: number;
  /** `sampler_parent_config`. */
  samplerParentConfig: { localParentSampled: boolean; remoteParentSampled: boolean };
  /** `endpoint`: the Jaeger collector URL (e.g. http://jaeger:14268/api/traces). */
  endpoint: string;
  /** `agent_host` / `agent_port`: the UDP agent, which OTLP cannot reach. */
  agentHost: string;
  agentPort: number;
  /** `user`/`password`: basic auth towards the collector. */
  user: string;
  password: string;
  /** `reporter_max_queue_size`: spans buffered before dropping. 0: 2048. */
  reporterMaxQueueSize: number;
  /** `reporter_flush_interval`, ms between exports. 0: 5000. */
  reporterFlushIntervalMs: number;
}

/** A provider thanos-ts accepts but does not export to (a one-line warning at start). */
export interface UnsupportedTracingConfig {
  type: Exclude<TracingType, 'OTLP' | 'JAEGER'>;
}

/** A parsed `--tracing.config`. */
export type TracingConfig = OTLPTracingConfig | JaegerTracingConfig | UnsupportedTracingConfig;

const OTLP_FIELDS = [
  'client_type',
  'service_name',
  'resource_attributes',
  'reconnection_period',
  'compression',
  'insecure',
  'endpoint',
  'url_path',
  'timeout',
  'retry_config',
  'headers',
  'tls_config',
  'sampler_type',
  'sampler_param',
] as const;

const RETRY_FIELDS = ['retry_enabled', 'retry_initial_interval', 'retry_max_interval', 'retry_max_elapsed_time'];
const TLS_FIELDS = ['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify'];

const JAEGER_FIELDS = [
  'service_name',
  'disabled',
  'rpc_metrics',
  'tags',
  'sampler_type',
  'sampler_param',
  'sampler_manager_host_port',
  'sampler_max_operations',
  'sampler_refresh_interval',
  'sampler_parent_config',
  'sampling_server_url',
  'operation_name_late_binding',
  'initial_sampler_rate',
  'reporter_max_queue_size',
  'reporter_flush_interval',
  'reporter_log_spans',
  'reporter_disable_attempt_reconnecting',
  'reporter_attempt_reconnect_interval',
  'endpoint',
  'user',
  'password',
  'agent_host',
  'agent_port',
  'traceid_128bit',
] as const;

/**
 * Parses Thanos's tracing YAML (`type:` and `config:`). Errors name `flag` (the flag or file the
 * text came from). An empty document means no tracing: returns undefined. `type` is matched
 * case-insensitively, as Thanos does; unknown top-level keys are refused (Thanos unmarshals
 * strictly), and so are unknown keys inside OTLP and JAEGER configs (a typo there would silently
 * turn tracing off).
 */
export function parseTracingConfig(text: string, flag = '--tracing.config'): TracingConfig | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: parsing config tracing YAML: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || doc === undefined) return undefined;
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new InvalidArgumentError(`${flag}: parsing config tracing YAML: expected a mapping`);
  const top = doc as Record<string, unknown>;
  checkKeys(top, ['type', 'config'], flag);
  const rawType = top.type;
  if (typeof rawType !== 'string' || rawType === '')
    throw new InvalidArgumentError(`${flag}: tracing with type ${rawType ?? ''} is not supported`);
  const type = rawType.toUpperCase() as TracingType;
  if (!TRACING_TYPES.includes(type))
    // Thanos's factory.go wording.
    throw new InvalidArgumentError(`${flag}: tracing with type ${rawType} is not supported`);
  const config = top.config ?? {};
  if (typeof config !== 'object' || Array.isArray(config))
    throw new InvalidArgumentError(`${flag}: config: expected a mapping`);
  const c = config as Record<string, unknown>;
  if (type === 'OTLP') return parseOTLP(c, `${flag}: config`);
  if (type === 'JAEGER') return parseJaeger(c, `${flag}: config`);
  return { type };
}

function parseOTLP(c: Record<string, unknown>, where: string): OTLPTracingConfig {
  checkKeys(c, OTLP_FIELDS, where);
  const f = fields(c, where);
  const clientType = f.str('client_type', '') || 'grpc';
  if (clientType !== 'grpc' && clientType !== 'http')
    throw new InvalidArgumentError(`${where}: otlp: invalid client type. Only 'http' and 'grpc' are accepted.`);
  const retry = f.map('retry_config');
  checkKeys(retry, RETRY_FIELDS, `${where}: retry_config`);
  const r = fields(retry, `${where}: retry_config`);
  const tls = f.map('tls_config');
  checkKeys(tls, TLS_FIELDS, `${where}: tls_config`);
  const t = fields(tls, `${where}: tls_config`);
  return {
    type: 'OTLP',
    clientType,
    serviceName: f.str('service_name', ''),
    resourceAttributes: f.stringMap('resource_attributes'),
    reconnectionPeriodMs: f.duration('reconnection_period', 0),
    compression: f.str('compression', ''),
    insecure: f.bool('insecure', false),
    endpoint: f.str('endpoint', ''),
    urlPath: f.str('url_path', ''),
    timeoutMs: f.duration('timeout', 0),
    retry: {
      enabled: r.bool('retry_enabled', false),
      initialIntervalMs: r.duration('retry_initial_interval', 0),
      maxIntervalMs: r.duration('retry_max_interval', 0),
      maxElapsedTimeMs: r.duration('retry_max_elapsed_time', 0),
    },
    headers: f.stringMap('headers'),
    tls: {
      ...optional('caFile', t.str('ca_file', '')),
      ...optional('certFile', t.str('cert_file', '')),
      ...optional('keyFile', t.str('key_file', '')),
      ...optional('serverName', t.str('server_name', '')),
      insecureSkipVerify: t.bool('insecure_skip_verify', false),
    },
    samplerType: f.str('sampler_type', '').toLowerCase(),
    // Thanos declares it a string; YAML users write `sampler_param: 0.1` unquoted.
    samplerParam: f.scalarText('sampler_param'),
  };
}

function parseJaeger(c: Record<string, unknown>, where: string): JaegerTracingConfig {
  checkKeys(c, JAEGER_FIELDS, where);
  const f = fields(c, where);
  const parent = f.map('sampler_parent_config');
  checkKeys(parent, ['local_parent_sampled', 'remote_parent_sampled'], `${where}: sampler_parent_config`);
  const p = fields(parent, `${where}: sampler_parent_config`);
  return {
    type: 'JAEGER',
    serviceName: f.str('service_name', ''),
    tags: f.str('tags', ''),
    samplerType: f.str('sampler_type', ''),
    samplerParam: f.num('sampler_param', 0),
    initialSamplerRate: f.num('initial_sampler_rate', 0),
    samplerParentConfig: {
      localParentSampled: p.bool('local_parent_sampled', false),
      remoteParentSampled: p.bool('remote_parent_sampled', false),
    },
    endpoint: f.str('endpoint', ''),
    agentHost: f.str('agent_host', ''),
    agentPort: f.num('agent_port', 0),
    user: f.str('user', ''),
    password: f.str('password', ''),
    reporterMaxQueueSize: f.num('reporter_max_queue_size', 0),
    reporterFlushIntervalMs: f.duration('reporter_flush_interval', 0),
  };
}

function optional<K extends string>(key: K, value: string): { [P in K]?: string } {
  return (value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}

function checkKeys(doc: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(doc)) {
    if (!allowed.includes(k))
      throw new InvalidArgumentError(`${where}: field ${k} not found (allowed: ${allowed.join(', ')})`);
  }
}

/** Typed readers of one YAML mapping; each returns `dflt` when the key is absent or null. */
function fields(c: Record<string, unknown>, where: string) {
  const absent = (k: string) => c[k] === undefined || c[k] === null;
  const bad = (k: string, want: string): never => {
    throw new InvalidArgumentError(`${where}: ${k} must be ${want}, got ${JSON.stringify(c[k])}`);
  };
  return {
    str(k: string, dflt: string): string {
      if (absent(k)) return dflt;
      return typeof c[k] === 'string' ? (c[k] as string) : bad(k, 'a string');
    },
    scalarText(k: string): string {
      if (absent(k)) return '';
      const v = c[k];
      return typeof v === 'string' || typeof v === 'number' ? String(v) : bad(k, 'a string');
    },
    num(k: string, dflt: number): number {
      if (absent(k)) return dflt;
      return typeof c[k] === 'number' ? (c[k] as number) : bad(k, 'a number');
    },
    bool(k: string, dflt: boolean): boolean {
      if (absent(k)) return dflt;
      return typeof c[k] === 'boolean' ? (c[k] as boolean) : bad(k, 'true or false');
    },
    map(k: string): Record<string, unknown> {
      if (absent(k)) return {};
      const v = c[k];
      return typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : bad(k, 'a mapping');
    },
    stringMap(k: string): Record<string, string> {
      const m = this.map(k);
      const out: Record<string, string> = {};
      for (const [key, v] of Object.entries(m)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
          throw new InvalidArgumentError(`${where}: ${k}.${key} must be a string, got ${JSON.stringify(v)}`);
        out[key] = String(v);
      }
      return out;
    },
    /** A Go time.Duration: a string such as `5s`, or an integer of nanoseconds (yaml.v2). */
    duration(k: string, dflt: number): number {
      if (absent(k)) return dflt;
      const v = c[k];
      if (typeof v === 'number' && Number.isInteger(v)) return v / 1e6;
      if (typeof v !== 'string') return bad(k, 'a duration');
      try {
        return parseGoDuration(v.trim());
      } catch (err) {
        if (!(err instanceof DurationSyntaxError)) throw err;
        throw new InvalidArgumentError(`${where}: ${k}: invalid duration ${goQuote(v)}: ${err.message}`);
      }
    },
  };
}
