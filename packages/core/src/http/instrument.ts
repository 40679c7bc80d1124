import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Attributes, context, SpanKind, SpanStatusCode, TraceFlags, type Tracer } from '@opentelemetry/api';
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  extractTraceContext,
  FORCE_TRACING_ATTRIBUTE,
  FORCE_TRACING_HEADER,
  TRACE_ID_HEADER,
  withSpan,
} from '../tracing/context.js';
import type { RequestHandler } from './query-api.js';

/**
 * Thanos's handler names for the API paths (pkg/api/query/v1.go Register, pkg/receive): the
 * span of a request is `/<name> HTTP[server]`. Explain endpoints share `query`, as in Thanos.
 */
const HANDLER_NAMES: Readonly<Record<string, string>> = {
  '/api/v1/query': 'query',
  '/api/v1/query_explain': 'query',
  '/api/v1/query_range_explain': 'query',
  '/api/v1/query_range': 'query_range',
  '/api/v1/series': 'series',
  '/api/v1/labels': 'label_names',
  '/api/v1/stores': 'stores',
  '/api/v1/alerts': 'alerts',
  '/api/v1/rules': 'rules',
  '/api/v1/targets': 'targets',
  '/api/v1/metadata': 'metadata',
  '/api/v1/query_exemplars': 'exemplars',
  '/api/v1/status/tsdb': 'status_tsdb',
  '/api/v1/receive': 'receive',
};

/** The route and Thanos handler name of an API path (`/api/v1/label/job/values` → label_values). */
export function httpOperation(path: string): { name: string; route: string } {
  const known = HANDLER_NAMES[path];
  if (known) return { name: known, route: path };
  if (/^\/api\/v1\/label\/[^/]+\/values$/.test(path))
    return { name: 'label_values', route: '/api/v1/label/:name/values' };
  return {
    name: path
      .replace(/^\/api\/v1\//, '')
      .replace(/^\/+/, '')
      .replaceAll('/', '_'),
    route: path,
  };
}

/**
 * Runs `run` (the request's handlers) in a server span named as Thanos's HTTPMiddleware names it,
 * child of the request's W3C trace headers (or of an embedder's active span). A sampled request
 * answers with its trace id in X-Thanos-Trace-Id; X-Thanos-Force-Tracing forces sampling.
 */
export function traceHTTPRequest(
  tracer: Tracer,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  run: () => Promise<boolean>,
): Promise<boolean> {
  const { name, route } = httpOperation(path);
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const attributes: Attributes = {
    'http.request.method': req.method ?? 'GET',
    'url.path': path,
    'http.route': route,
  };
  if (q >= 0) attributes['url.query'] = url.slice(q + 1);
  if (req.headers[FORCE_TRACING_HEADER.toLowerCase()] !== undefined) attributes[FORCE_TRACING_ATTRIBUTE] = 'true';
  const parent = extractTraceContext(req.headers, context.active());
  return withSpan(
    tracer,
    `/${name} HTTP[server]`,
    attributes,
    async (span) => {
      const sc = span.spanContext();
      if (span.isRecording() && (sc.traceFlags & TraceFlags.SAMPLED) !== 0 && !res.headersSent)
        res.setHeader(TRACE_ID_HEADER, sc.traceId);
      const handled = await run();
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return handled;
    },
    { kind: SpanKind.SERVER, parent },
  );
}

/**
 * Counts and times API requests per handler with the metric names Thanos's HTTP instrumentation
 * uses (http_requests_total, http_request_duration_seconds).
 */
export function instrumentHandler(handler: RequestHandler, registry: Registry): RequestHandler {
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'Tracks the number of HTTP requests.',
    labelNames: ['code', 'handler', 'method'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Tracks the latencies for HTTP requests.',
    labelNames: ['code', 'handler', 'method'],
    buckets: [0.001, 0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120],
    registers: [registry],
  });
  return async (req, res) => {
    const started = performance.now();
    const handled = await handler(req, res);
    if (handled) {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const labels = {
        code: String(res.statusCode),
        handler: path.startsWith('/api/v1/label/') ? '/api/v1/label/:name/values' : path,
        method: req.method ?? 'GET',
      };
      requests.inc(labels);
      duration.observe(labels, (performance.now() - started) / 1000);
    }
    return handled;
  };
}
