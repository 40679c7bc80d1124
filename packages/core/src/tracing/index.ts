// @thanos-ts/core/tracing: Thanos's --tracing.config with the OpenTelemetry SDK, and the helpers
// components use to start spans and carry trace context over HTTP and gRPC.
export {
  type JaegerTracingConfig,
  type OTLPTracingConfig,
  parseTracingConfig,
  TRACING_TYPES,
  type TracingConfig,
  type TracingTLSConfig,
  type TracingType,
  type UnsupportedTracingConfig,
} from './config.js';
export {
  bindAsyncIterable,
  bucketSpanner,
  defaultTracer,
  ensureContextManager,
  extractGrpcMetadata,
  extractTraceContext,
  FORCE_TRACING_ATTRIBUTE,
  FORCE_TRACING_HEADER,
  injectGrpcMetadata,
  injectTraceHeaders,
  isTraced,
  recordError,
  TRACE_ID_HEADER,
  TRACER_NAME,
  traceHeaders,
  traceIdOf,
  type WithSpanOptions,
  withSpan,
} from './context.js';
export {
  type CreateTracingOptions,
  createTracing,
  JAEGER_OTLP_HTTP_PORT,
  jaegerSampler,
  otlpSampler,
  parseJaegerTags,
  RateLimitingSampler,
  type Tracing,
} from './tracing.js';
