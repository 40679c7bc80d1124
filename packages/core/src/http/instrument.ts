import { Counter, Histogram, type Registry } from 'prom-client';
import type { RequestHandler } from './query-api.js';

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
