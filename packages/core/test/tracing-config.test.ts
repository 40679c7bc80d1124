import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../src/log/logger.js';
import {
  createTracing,
  type JaegerTracingConfig,
  jaegerSampler,
  otlpSampler,
  parseJaegerTags,
  parseTracingConfig,
  RateLimitingSampler,
} from '../src/tracing/index.js';

function capture(): { logger: Logger; lines: { level: string; msg: string; fields?: object }[] } {
  const lines: { level: string; msg: string; fields?: object }[] = [];
  const at = (level: string) => (msg: string, fields?: object) =>
    lines.push({ level, msg, ...(fields ? { fields } : {}) });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as Logger, lines };
}

// Trace ids the SDK's ratio sampler (XOR of the four 32-bit words) ranks lowest and highest.
const LOW_ID = '00000000000000000000000000000001';
const HIGH_ID = 'ffffffff000000000000000000000000';
const sample = (s: { shouldSample: (...a: never[]) => { decision: SamplingDecision } }, id = LOW_ID) =>
  (s.shouldSample as (...a: unknown[]) => { decision: SamplingDecision })(
    ROOT_CONTEXT,
    id,
    'x',
    SpanKind.INTERNAL,
    {},
    [],
  ).decision === SamplingDecision.RECORD_AND_SAMPLED;

describe('parseTracingConfig', () => {
  it('reads every OTLP field with Thanos names', () => {
    const c = parseTracingConfig(`type: otlp
config:
  client_type: http
  service_name: q
  resource_attributes: { cluster: eu1 }
  reconnection_period: 5s
  compression: gzip
  insecure: false
  endpoint: collector:4318
  url_path: /otlp/v1/traces
  timeout: 2s
  retry_config:
    retry_enabled: true
    retry_initial_interval: 1s
    retry_max_interval: 10s
    retry_max_elapsed_time: 1m
  headers: { authorization: Bearer x }
  tls_config:
    ca_file: /ca.pem
    server_name: collector.example
    insecure_skip_verify: true
  sampler_type: TraceIDRatioBased
  sampler_param: 0.25
`);
    expect(c).toEqual({
      type: 'OTLP',
      clientType: 'http',
      serviceName: 'q',
      resourceAttributes: { cluster: 'eu1' },
      reconnectionPeriodMs: 5000,
      compression: 'gzip',
      insecure: false,
      endpoint: 'collector:4318',
      urlPath: '/otlp/v1/traces',
      timeoutMs: 2000,
      retry: { enabled: true, initialIntervalMs: 1000, maxIntervalMs: 10_000, maxElapsedTimeMs: 60_000 },
      headers: { authorization: 'Bearer x' },
      tls: { caFile: '/ca.pem', serverName: 'collector.example', insecureSkipVerify: true },
      samplerType: 'traceidratiobased',
      samplerParam: '0.25',
    });
  });

  it('an empty document is no tracing', () => {
    expect(parseTracingConfig('')).toBeUndefined();
    expect(parseTracingConfig('# nothing\n')).toBeUndefined();
  });

  it('reads the JAEGER fields', () => {
    const c = parseTracingConfig(`type: JAEGER
config:
  service_name: store
  sampler_type: probabilistic
  sampler_param: 0.5
  sampler_parent_config: { local_parent_sampled: true }
  endpoint: http://jaeger:14268/api/traces
  tags: a=b
  reporter_flush_interval: 1s
  traceid_128bit: true
`) as JaegerTracingConfig;
    expect([c.serviceName, c.samplerType, c.samplerParam, c.endpoint, c.reporterFlushIntervalMs]).toEqual([
      'store',
      'probabilistic',
      0.5,
      'http://jaeger:14268/api/traces',
      1000,
    ]);
    expect(c.samplerParentConfig).toEqual({ localParentSampled: true, remoteParentSampled: false });
  });
});

describe('samplers as Thanos configures them', () => {
  it.each([
    { type: 'alwayssample', param: '', low: true, high: true },
    { type: 'neversample', param: '', low: false, high: false },
    { type: 'traceidratiobased', param: '0.5', low: true, high: false },
    { type: 'parentbasedalwayssample', param: '', low: true, high: true },
    { type: 'parentbasedneversample', param: '', low: false, high: false },
    { type: 'parentbasedtraceidratiobased', param: '0.5', low: true, high: false },
    { type: '', param: '', low: true, high: true },
    { type: 'traceidratiobased', param: 'lots', low: true, high: true },
  ])('OTLP $type $param', ({ type, param, low, high }) => {
    const s = otlpSampler({ samplerType: type, samplerParam: param });
    expect([sample(s, LOW_ID), sample(s, HIGH_ID)]).toEqual([low, high]);
  });

  const jaeger = (samplerType: string, samplerParam: number): JaegerTracingConfig => ({
    type: 'JAEGER',
    serviceName: '',
    tags: '',
    samplerType,
    samplerParam,
    initialSamplerRate: 0,
    samplerParentConfig: { localParentSampled: false, remoteParentSampled: false },
    endpoint: '',
    agentHost: '',
    agentPort: 0,
    user: '',
    password: '',
    reporterMaxQueueSize: 0,
    reporterFlushIntervalMs: 0,
  });

  it.each([
    { type: 'const', param: 1, low: true, high: true },
    { type: 'const', param: 0.4, low: false, high: false },
    { type: 'probabilistic', param: 0.5, low: true, high: false },
  ])('JAEGER $type $param', ({ type, param, low, high }) => {
    const s = jaegerSampler(jaeger(type, param));
    expect([sample(s, LOW_ID), sample(s, HIGH_ID)]).toEqual([low, high]);
  });

  it('JAEGER ratelimiting lets through sampler_param traces a second', () => {
    let now = 0;
    const s = new RateLimitingSampler(2, () => now);
    const burst = [sample(s), sample(s), sample(s)];
    expect(burst).toEqual([true, true, false]);
    now += 500;
    expect([sample(s), sample(s)]).toEqual([true, false]);
  });
});

describe('createTracing for the providers thanos-ts does not export to', () => {
  it.each(['STACKDRIVER', 'ELASTIC_APM', 'LIGHTSTEP', 'DATADOG'])('%s: one warning, no export', (type) => {
    const { logger, lines } = capture();
    const t = createTracing(`type: ${type}\nconfig:\n  anything: goes\n`, { logger });
    expect(t.enabled).toBe(false);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(lines[0]?.msg).toContain(type);
  });

  it('JAEGER without an endpoint says what to set', () => {
    const { logger, lines } = capture();
    const t = createTracing('type: JAEGER\nconfig:\n  agent_host: localhost\n  agent_port: 6831\n', { logger });
    expect(t.enabled).toBe(false);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      expect.stringContaining('set config.endpoint to the Jaeger collector'),
    ]);
  });

  it("JAEGER with a collector endpoint exports OTLP to the collector's OTLP/HTTP port", async () => {
    const { logger, lines } = capture();
    const t = createTracing('type: JAEGER\nconfig:\n  endpoint: http://jaeger.example:14268/api/traces\n', { logger });
    expect(t.enabled).toBe(true);
    expect(lines.find((l) => l.msg.includes('JAEGER spans go to the collector'))?.fields).toEqual({
      endpoint: 'http://jaeger.example:14268/api/traces',
      otlp: 'http://jaeger.example:4318/v1/traces',
    });
    await t.shutdown();
  });

  it('parses Jaeger tags with environment defaults', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Jaeger's ${ENV:default} syntax, not a template.
    expect(parseJaegerTags('a=b, c = ${NOPE:dflt},d=${HOME_X},broken', { HOME_X: 'h' })).toEqual({
      a: 'b',
      c: 'dflt',
      d: 'h',
    });
  });
});
