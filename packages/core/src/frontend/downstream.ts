import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Agent, type Dispatcher, request } from 'undici';
import type { Logger } from '../log/logger.js';
import { traceHeaders } from '../tracing/context.js';
import { DownstreamError, FrontendHTTPError } from './errors.js';
import { bodyText, decodeRawMatrixAnswer } from './matrix-scanner.js';
import { encodeRangeRequest, type RangeRequest } from './range-request.js';
import type { DownstreamAnswer } from './results-cache.js';

/** Options of {@link createDownstream}. */
export interface DownstreamOptions {
  /** Base URL of the Prometheus-compatible API (--query-frontend.downstream-url); a path prefix is kept. */
  url: string;
  /** undici dispatcher to send through. Default: an own keep-alive Agent, closed with the client. */
  dispatcher?: Dispatcher;
  /** Attempts per request before the error is returned; 0 or 1: no retries. */
  maxRetries: number;
  logger: Logger;
  /** Observes how many retries each request took (cortex_query_frontend_retries). */
  onRetries?: (tries: number) => void;
  /** Ask range query pieces with `stats=all` (--query-frontend.force-query-stats). Default false. */
  forceStats?: boolean;
}

/** A downstream answer as received (non-5xx). */
export interface DownstreamReply {
  status: number;
  contentType: string;
  body: string;
  /** The downstream said `Cache-Control: no-store`. */
  noStore: boolean;
}

/** The HTTP client to the downstream querier. */
export interface Downstream {
  /**
   * Sends form values to `path`: as a query string with GET for label values (Prometheus serves
   * that endpoint on GET only), as an urlencoded POST body otherwise. 5xx answers and network
   * errors are retried and, after the last attempt, thrown as FrontendHTTPError / DownstreamError.
   */
  send(
    path: string,
    form: URLSearchParams,
    headers: readonly (readonly [string, string])[],
    signal: AbortSignal,
  ): Promise<DownstreamReply>;
  /** Runs one range query piece, retrying 5xx answers and network errors with backoff. */
  rangeQuery(r: RangeRequest, signal: AbortSignal): Promise<DownstreamAnswer>;
  /**
   * Passes a request through unchanged (path, query string, headers, body) and streams the answer
   * back. With `retries`, the request body is buffered so 5xx answers can be retried.
   */
  proxy(
    req: IncomingMessage,
    res: ServerResponse,
    opts: {
      retries: boolean;
      signal: AbortSignal;
      /** Sent as THANOS-TENANT in place of both tenant headers; `header` is the configured tenant header. */
      tenant?: { header: string; value: string };
    },
  ): Promise<void>;
  /** Resolves when the downstream's /-/ready answers 2xx/3xx within 10 s; rejects with the reason. */
  checkReady(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) that a proxy must not pass on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/** Cortex's retry backoff: 200 ms doubling up to 2 s, with jitter. */
function backoffMs(attempt: number): number {
  const base = Math.min(2000, 200 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retried: network errors, undecodable answers and 5xx; not: 4xx and cancellation. */
function retryable(err: unknown, signal: AbortSignal): boolean {
  if (signal.aborted) return false;
  if (err instanceof FrontendHTTPError) return err.status >= 500;
  return true;
}

/** Creates the downstream client; opens connections lazily. */
export function createDownstream(opts: DownstreamOptions): Downstream {
  let base: URL;
  try {
    base = new URL(opts.url);
  } catch (err) {
    throw new DownstreamError(opts.url, 'invalid URL', { cause: err });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new DownstreamError(opts.url, `unsupported scheme ${base.protocol} (want http or https)`);
  const own = opts.dispatcher ? undefined : new Agent({ keepAliveTimeout: 90_000 });
  const dispatcher = opts.dispatcher ?? (own as Agent);
  const prefix = base.pathname.replace(/\/+$/, '');

  /** Thanos's downstream round tripper joins the downstream URL's path with the request's. */
  function target(pathAndQuery: string): string {
    return `${base.origin}${prefix}${pathAndQuery}`;
  }

  async function withRetries<T>(what: () => Promise<T>, signal: AbortSignal, desc: string): Promise<T> {
    const attempts = Math.max(1, opts.maxRetries);
    let tries = 0;
    try {
      for (;;) {
        try {
          return await what();
        } catch (err) {
          tries++;
          if (!retryable(err, signal) || tries >= attempts) throw err;
          const wait = backoffMs(tries - 1);
          opts.logger.warn('error processing request', {
            try: tries,
            err: String((err as Error).message ?? err),
            wait_time_ms: Math.round(wait),
            request: desc,
          });
          await sleep(wait, signal);
        }
      }
    } finally {
      opts.onRetries?.(tries);
    }
  }

  async function once(r: RangeRequest, signal: AbortSignal): Promise<DownstreamAnswer> {
    const url = target(r.path);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...traceHeaders() };
    for (const [k, v] of r.headers) headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    let res: Dispatcher.ResponseData;
    try {
      const form = encodeRangeRequest(r);
      // Thanos's stats middleware (r.WithStats("all")) when query stats are forced.
      if (opts.forceStats) form.set('stats', 'all');
      res = await request(url, { method: 'POST', headers, body: form.toString(), dispatcher, signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new DownstreamError(opts.url, `request ${r.path}: ${(err as Error).message}`, { cause: err });
    }
    // Bytes, not text: a success body is scanned where it lies (decodeRawMatrixAnswer).
    const body = await res.body.bytes();
    if (res.statusCode < 200 || res.statusCode > 299) {
      const ct = String(res.headers['content-type'] ?? 'text/plain; charset=utf-8');
      throw new FrontendHTTPError(res.statusCode, bodyText(body), ct);
    }
    let decoded: ReturnType<typeof decodeRawMatrixAnswer>;
    try {
      decoded = decodeRawMatrixAnswer(body);
    } catch (err) {
      throw FrontendHTTPError.api(500, 'internal', `${(err as Error).message} (from ${opts.url})`);
    }
    const cc = res.headers['cache-control'];
    const noStore = (Array.isArray(cc) ? cc : [cc ?? '']).some((v) => v.includes('no-store'));
    return { ...decoded, cacheable: !noStore };
  }

  function requestHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    const connectionListed = new Set(
      String(h.connection ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase()),
    );
    for (const [k, v] of Object.entries(h)) {
      if (v === undefined || HOP_BY_HOP.has(k) || connectionListed.has(k)) continue;
      out[k] = v;
    }
    // The frontend's own span is the parent downstream (replaces the caller's traceparent).
    return Object.assign(out, traceHeaders());
  }

  async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
    if (req.method === 'GET' || req.method === 'HEAD') return undefined;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async function sendOnce(
    path: string,
    form: URLSearchParams,
    hdrs: readonly (readonly [string, string])[],
    signal: AbortSignal,
  ): Promise<DownstreamReply> {
    const get = /\/api\/v1\/label\/[^/]+\/values$/.test(path);
    const headers: Record<string, string> = get
      ? traceHeaders()
      : { 'content-type': 'application/x-www-form-urlencoded', ...traceHeaders() };
    for (const [k, v] of hdrs) headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    let res: Dispatcher.ResponseData;
    try {
      res = get
        ? await request(target(`${path}?${form}`), { method: 'GET', headers, dispatcher, signal })
        : await request(target(path), { method: 'POST', headers, body: form.toString(), dispatcher, signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new DownstreamError(opts.url, `request ${path}: ${(err as Error).message}`, { cause: err });
    }
    const body = await res.body.text();
    const contentType = String(res.headers['content-type'] ?? 'text/plain; charset=utf-8');
    if (res.statusCode >= 500) throw new FrontendHTTPError(res.statusCode, body, contentType);
    const cc = res.headers['cache-control'];
    const noStore = (Array.isArray(cc) ? cc : [cc ?? '']).some((v) => v.includes('no-store'));
    return { status: res.statusCode, contentType, body, noStore };
  }

  return {
    send(path, form, hdrs, signal) {
      return withRetries(() => sendOnce(path, form, hdrs, signal), signal, path);
    },

    rangeQuery(r, signal) {
      return withRetries(() => once(r, signal), signal, `${r.path} ${r.start}-${r.end}`);
    },

    async proxy(req, res, { retries, signal, tenant }) {
      const url = target(req.url ?? '/');
      const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
      const headers = requestHeaders(req.headers);
      if (tenant) {
        delete headers[tenant.header.toLowerCase()];
        headers['thanos-tenant'] = tenant.value;
      }
      const body = retries ? await readBody(req) : method === 'GET' || method === 'HEAD' ? undefined : req;
      const send = async (): Promise<Dispatcher.ResponseData> => {
        let r: Dispatcher.ResponseData;
        try {
          r = await request(url, { method, headers, body: body ?? null, dispatcher, signal });
        } catch (err) {
          if (signal.aborted) throw signal.reason;
          throw new DownstreamError(opts.url, `request ${req.url}: ${(err as Error).message}`, { cause: err });
        }
        if (retries && r.statusCode >= 500) {
          const text = await r.body.text();
          throw new FrontendHTTPError(
            r.statusCode,
            text,
            String(r.headers['content-type'] ?? 'text/plain; charset=utf-8'),
          );
        }
        return r;
      };
      let r: Dispatcher.ResponseData;
      if (retries) r = await withRetries(send, signal, String(req.url));
      else r = await send();
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(r.statusCode, out);
      for await (const chunk of r.body) res.write(chunk);
      res.end();
    },

    async checkReady(signal) {
      const url = target('/-/ready');
      const timeout = AbortSignal.any([signal, AbortSignal.timeout(10_000)]);
      let r: Dispatcher.ResponseData;
      try {
        r = await request(url, { method: 'GET', dispatcher, signal: timeout });
      } catch (err) {
        throw new DownstreamError(opts.url, `roundtripping to downstream URL ${url}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      await r.body.dump();
      if (r.statusCode >= 400)
        throw new DownstreamError(opts.url, `downstream URL ${url} returned an error: ${r.statusCode}`);
    },

    async close() {
      await own?.close();
    },
  };
}
