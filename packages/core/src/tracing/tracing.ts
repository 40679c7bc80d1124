import { readFileSync } from 'node:fs';
import { checkServerIdentity } from 'node:tls';
import { credentials, Metadata } from '@grpc/grpc-js';
import type { Attributes, Context, Link, SpanKind, Tracer } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as OTLPGrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OTLPHttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { type Logger, NOP_LOGGER } from '../log/logger.js';
import { type JaegerTracingConfig, type OTLPTracingConfig, parseTracingConfig, type TracingConfig } from './config.js';
import { defaultTracer, ensureContextManager, FORCE_TRACING_ATTRIBUTE, TRACER_NAME } from './context.js';

/** Options of {@link createTracing}. */
export interface CreateTracingOptions {
  /** Where the one-line warnings (unsupported provider, failed exports) go. Default: nowhere. */
  logger?: Logger;
  /** `service.name` when the config gives none: the component, e.g. 'thanos-query'. Default 'thanos-ts'. */
  serviceName?: string;
  /** Flag (or file) the config text came from, named in errors. Default '--tracing.config'. */
  flag?: string;
  /**
   * Longest `shutdown()` waits for the last spans to be exported, ms. Default 5_000; a collector
   * that is down must not hold up a process that is stopping.
   */
  shutdownTimeoutMs?: number;
}

/** Tracing set up from a config: the tracer to hand to components, and how to flush it. */
export interface Tracing {
  /** The tracer for `ComponentOptions.tracer`; a no-op one when the config exports nowhere. */
  readonly tracer: Tracer;
  /** Whether spans are exported (false for unconfigured or unsupported providers). */
  readonly enabled: boolean;
  /** Exports what is buffered and stops, within `shutdownTimeoutMs`. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** Jaeger collector's OTLP/HTTP receiver port (Jaeger ≥ 1.35 accepts OTLP on 4317/4318). */
export const JAEGER_OTLP_HTTP_PORT = 4318;

/**
 * Sets up tracing from Thanos's tracing YAML (text or parsed): OTLP over gRPC or HTTP/protobuf,
 * JAEGER via its collector's OTLP endpoint, other providers with a one-line warning and no
 * export. No I/O happens here except reading TLS files; exports run in the background (batched)
 * and their failures are logged, never thrown at the traced work. Also registers an
 * AsyncLocalStorage context manager when the process has none, so spans find their parents.
 */
export function createTracing(config: TracingConfig | string | undefined, opts: CreateTracingOptions = {}): Tracing {
  const logger = opts.logger ?? NOP_LOGGER;
  const parsed = typeof config === 'string' ? parseTracingConfig(config, opts.flag) : config;
  const off: Tracing = { tracer: defaultTracer(), enabled: false, shutdown: async () => {} };
  if (!parsed) return off;
  if (parsed.type === 'OTLP') return startProvider(otlpSetup(parsed, opts, logger), opts, logger);
  if (parsed.type === 'JAEGER') {
    const setup = jaegerSetup(parsed, opts, logger);
    return setup ? startProvider(setup, opts, logger) : off;
  }
  logger.warn(
    `tracing type ${parsed.type} is not supported by thanos-ts; no spans are exported (use type: OTLP, which every one of these backends accepts)`,
  );
  return off;
}

interface ProviderSetup {
  exporter: SpanExporter;
  sampler: Sampler;
  resource: Attributes;
  target: string;
  maxQueueSize?: number;
  scheduledDelayMillis?: number;
}

function startProvider(setup: ProviderSetup, opts: CreateTracingOptions, logger: Logger): Tracing {
  ensureContextManager();
  const processor = new BatchSpanProcessor(loggingExporter(setup.exporter, setup.target, logger), {
    ...(setup.maxQueueSize ? { maxQueueSize: setup.maxQueueSize } : {}),
    ...(setup.scheduledDelayMillis ? { scheduledDelayMillis: setup.scheduledDelayMillis } : {}),
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(setup.resource),
    sampler: new ForceTracingSampler(setup.sampler),
    spanProcessors: [processor],
  });
  logger.info('tracing enabled', { exporter: setup.target, sampler: setup.sampler.toString() });
  const timeoutMs = opts.shutdownTimeoutMs ?? 5_000;
  let stopping: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(TRACER_NAME),
    enabled: true,
    shutdown() {
      stopping ??= (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), timeoutMs);
        });
        const done = await Promise.race([provider.shutdown().then(() => 'done' as const), late]).catch(
          (err: unknown) => {
            logger.warn('tracing shutdown', { err: String(err) });
            return 'done' as const;
          },
        );
        clearTimeout(timer);
        if (done === 'late') logger.warn('tracing shutdown: spans not exported in time', { timeout_ms: timeoutMs });
      })();
      return stopping;
    },
  };
}

function serviceResource(name: string, fallback: string | undefined, extra: Record<string, string>): Attributes {
  return { ...extra, [ATTR_SERVICE_NAME]: name || fallback || 'thanos-ts' };
}

function otlpSetup(c: OTLPTracingConfig, opts: CreateTracingOptions, logger: Logger): ProviderSetup {
  const sampler = otlpSampler(c, logger);
  const resource = serviceResource(c.serviceName, opts.serviceName, c.resourceAttributes);
  const compression = c.compression === 'gzip' ? ('gzip' as never) : ('none' as never);
  const timeout = c.timeoutMs > 0 ? { timeoutMillis: c.timeoutMs } : {};
  const scheme = c.insecure ? 'http' : 'https';
  if (c.clientType === 'http') {
    const endpoint = c.endpoint || 'localhost:4318';
    const path = c.urlPath || '/v1/traces';
    const url = `${scheme}://${endpoint}${path.startsWith('/') ? path : `/${path}`}`;
    const exporter = new OTLPHttpTraceExporter({
      url,
      headers: c.headers,
      compression,
      ...timeout,
      ...(c.insecure ? {} : { httpAgentOptions: httpsAgentOptions(c) }),
    });
    return { exporter, sampler, resource, target: url };
  }
  const endpoint = c.endpoint || 'localhost:4317';
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(c.headers)) metadata.set(k, v);
  const exporter = new OTLPGrpcTraceExporter({
    url: `${scheme}://${endpoint}`,
    credentials: c.insecure ? credentials.createInsecure() : grpcCredentials(c),
    metadata,
    compression,
    ...timeout,
  });
  return { exporter, sampler, resource, target: `grpc://${endpoint}` };
}

function readTLSFile(file: string | undefined, what: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(
      `tracing: tls_config: cannot read ${what} ${JSON.stringify(file)}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

function httpsAgentOptions(c: OTLPTracingConfig) {
  const ca = readTLSFile(c.tls.caFile, 'ca_file');
  const cert = readTLSFile(c.tls.certFile, 'cert_file');
  const key = readTLSFile(c.tls.keyFile, 'key_file');
  return {
    keepAlive: true,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(c.tls.serverName ? { servername: c.tls.serverName } : {}),
    rejectUnauthorized: !c.tls.insecureSkipVerify,
  };
}

function grpcCredentials(c: OTLPTracingConfig) {
  const ca = readTLSFile(c.tls.caFile, 'ca_file') ?? null;
  const cert = readTLSFile(c.tls.certFile, 'cert_file') ?? null;
  const key = readTLSFile(c.tls.keyFile, 'key_file') ?? null;
  const serverName = c.tls.serverName;
  // The exporter takes credentials only (no channel options), so server_name is honoured by
  // verifying the certificate against it rather than by overriding the dialled name.
  if (c.tls.insecureSkipVerify) return credentials.createSsl(ca, key, cert, { rejectUnauthorized: false });
  if (serverName)
    return credentials.createSsl(ca, key, cert, {
      checkServerIdentity: (_host, peer) => checkServerIdentity(serverName, peer),
    });
  return credentials.createSsl(ca, key, cert);
}

/**
 * Thanos's OTLP sampler (pkg/tracing/otlp/otlp.go getSampler): the six named samplers, and
 * parent-based ratio 1.0 for an empty or unknown `sampler_type`. A `sampler_param` that is not a
 * number is logged and ratio 1.0 used, as Thanos does.
 */
export function otlpSampler(
  c: Pick<OTLPTracingConfig, 'samplerType' | 'samplerParam'>,
  logger: Logger = NOP_LOGGER,
): Sampler {
  const ratio = (): number => {
    const v = Number(c.samplerParam.trim());
    if (c.samplerParam.trim() === '' || !Number.isFinite(v)) {
      logger.warn('tracing: sampler_param is not a number; sampling every trace', { sampler_param: c.samplerParam });
      return 1;
    }
    return v;
  };
  switch (c.samplerType) {
    case 'alwayssample':
      return new AlwaysOnSampler();
    case 'neversample':
      return new AlwaysOffSampler();
    case 'traceidratiobased':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbasedalwayssample':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbasedneversample':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbasedtraceidratiobased':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(1) });
  }
}

/**
 * Thanos's Jaeger sampler (pkg/tracing/jaeger/config_yaml.go getSampler): const (param rounded
 * to 0 or 1), probabilistic (param is the ratio), ratelimiting (param traces per second; the
 * default type) and remote (no sampling server here: `initial_sampler_rate`, else 0.001, as the
 * Jaeger remote sampler starts with), wrapped parent-based as `sampler_parent_config` says.
 */
export function jaegerSampler(
  c: JaegerTracingConfig,
  logger: Logger = NOP_LOGGER,
  now: () => number = Date.now,
): Sampler {
  const type = c.samplerType || 'ratelimiting';
  let root: Sampler;
  switch (type) {
    case 'const':
      root =
        Math.round(Math.min(1, Math.max(0, c.samplerParam))) === 1 ? new AlwaysOnSampler() : new AlwaysOffSampler();
      break;
    case 'probabilistic':
      root = new TraceIdRatioBasedSampler(c.samplerParam);
      break;
    case 'remote':
      logger.warn(
        'tracing: JAEGER sampler_type remote needs a sampling server thanos-ts does not poll; sampling at initial_sampler_rate',
        {
          rate: c.initialSamplerRate || 0.001,
        },
      );
      root = new TraceIdRatioBasedSampler(c.initialSamplerRate || 0.001);
      break;
    default:
      root = new RateLimitingSampler(Math.round(c.samplerParam), now);
  }
  return new ParentBasedSampler({
    root,
    ...(c.samplerParentConfig.localParentSampled ? { localParentSampled: root } : {}),
    ...(c.samplerParentConfig.remoteParentSampled ? { remoteParentSampled: root } : {}),
  });
}

function jaegerSetup(c: JaegerTracingConfig, opts: CreateTracingOptions, logger: Logger): ProviderSetup | undefined {
  if (!c.endpoint) {
    logger.warn(
      'tracing: JAEGER without endpoint would send to a Jaeger agent over UDP, which thanos-ts cannot; set config.endpoint to the Jaeger collector (its OTLP/HTTP port 4318 is used) or use type: OTLP',
      c.agentHost ? { agent_host: c.agentHost, agent_port: c.agentPort } : {},
    );
    return undefined;
  }
  let collector: URL;
  try {
    collector = new URL(c.endpoint);
  } catch {
    throw new InvalidArgumentError(
      `${opts.flag ?? '--tracing.config'}: config: endpoint ${JSON.stringify(c.endpoint)} is not a URL`,
    );
  }
  // The collector's Thrift endpoint (14268/api/traces) is replaced by its OTLP/HTTP receiver on the same host.
  const url = `${collector.protocol}//${collector.hostname.includes(':') ? `[${collector.hostname}]` : collector.hostname}:${JAEGER_OTLP_HTTP_PORT}/v1/traces`;
  const headers: Record<string, string> = {};
  if (c.user || c.password)
    headers.Authorization = `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}`;
  logger.info('tracing: JAEGER spans go to the collector over OTLP/HTTP', { endpoint: c.endpoint, otlp: url });
  return {
    exporter: new OTLPHttpTraceExporter({ url, headers }),
    sampler: jaegerSampler(c, logger),
    resource: serviceResource(c.serviceName, opts.serviceName, parseJaegerTags(c.tags)),
    target: url,
    ...(c.reporterMaxQueueSize > 0 ? { maxQueueSize: c.reporterMaxQueueSize } : {}),
    ...(c.reporterFlushIntervalMs > 0 ? { scheduledDelayMillis: c.reporterFlushIntervalMs } : {}),
  };
}

/** Jaeger `tags`: `k=v,k2=${ENV:default}` (pkg/tracing/jaeger/config_yaml.go parseTags). */
export function parseJaegerTags(tags: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  if (tags === '') return out;
  for (const pair of tags.split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const k = pair.slice(0, eq).trim();
    let v = pair.slice(eq + 1).trim();
    if (v.startsWith('${') && v.endsWith('}')) {
      const inner = v.slice(2, -1);
      const colon = inner.indexOf(':');
      const name = colon < 0 ? inner : inner.slice(0, colon);
      const dflt = colon < 0 ? '' : inner.slice(colon + 1);
      v = env[name] || dflt;
    }
    out[k] = v;
  }
  return out;
}

/**
 * Samples at most `perSecond` new traces a second (Jaeger's rate-limiting sampler: a token
 * bucket holding one second's worth, refilled continuously).
 */
export class RateLimitingSampler implements Sampler {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = Math.max(perSecond, 0);
    this.last = now();
  }

  shouldSample(): SamplingResult {
    const t = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return { decision: SamplingDecision.NOT_RECORD };
  }

  toString(): string {
    return `RateLimitingSampler{${this.perSecond}}`;
  }
}

/**
 * Samples every span carrying the `thanos.force_tracing` attribute (set from the
 * X-Thanos-Force-Tracing request header) and asks the configured sampler otherwise (Thanos's
 * migration.SamplerWithOverride).
 */
class ForceTracingSampler implements Sampler {
  constructor(private readonly base: Sampler) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (attributes[FORCE_TRACING_ATTRIBUTE] !== undefined) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.base.shouldSample(ctx, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `SamplerWithOverride{${this.base.toString()}}`;
  }
}

/**
 * Logs failed exports (at most one line a minute, with the count since the last line), so a
 * collector that is down is visible without flooding the log; spans are dropped, never retried
 * past the exporter's own retries.
 */
function loggingExporter(inner: SpanExporter, target: string, logger: Logger): SpanExporter {
  let lastLog = 0;
  let failed = 0;
  return {
    export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
      inner.export(spans, (r) => {
        if (r.code !== ExportResultCode.SUCCESS) {
          failed += spans.length;
          const t = Date.now();
          if (t - lastLog >= 60_000) {
            logger.warn('tracing: exporting spans', { exporter: target, dropped_spans: failed, err: String(r.error) });
            lastLog = t;
            failed = 0;
          }
        }
        done(r);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}
