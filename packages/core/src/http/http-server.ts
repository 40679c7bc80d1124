import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Tracer } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { traceHTTPRequest } from './instrument.js';
import type { RequestHandler } from './query-api.js';

/** Options of `createComponentHandler`. */
export interface ComponentHandlerOptions {
  /** Metrics served at /metrics. */
  registry?: Registry;
  /** Readiness for /-/ready (e.g. endpoints discovered). Default: always ready. */
  ready?: () => boolean;
  /** Further handlers (such as the query API), tried in order. */
  handlers?: readonly RequestHandler[];
  /**
   * Tracer for one span per API request (`/query HTTP[server]`, as Thanos names them), child of
   * the request's W3C `traceparent` when it has one. Default: no spans.
   */
  tracer?: Tracer;
}

/**
 * The HTTP endpoints every component serves: /metrics (prom-client), /-/healthy, /-/ready, then
 * the component's own handlers. Usable as a node:http request listener or inside another server.
 */
export function createComponentHandler(opts: ComponentHandlerOptions): RequestHandler {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/-/healthy') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('OK');
      return true;
    }
    if (path === '/-/ready') {
      const ok = opts.ready ? opts.ready() : true;
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(ok ? 'OK' : 'NOT READY');
      return true;
    }
    if (path === '/metrics' && opts.registry) {
      const body = await opts.registry.metrics();
      res.writeHead(200, { 'Content-Type': opts.registry.contentType });
      res.end(body);
      return true;
    }
    const handlers = opts.handlers ?? [];
    const run = async (): Promise<boolean> => {
      for (const h of handlers) if (await h(req, res)) return true;
      return false;
    };
    // Only the API is traced, as in Thanos: health checks, metrics scrapes and page assets would
    // drown the traces that matter.
    if (opts.tracer && path.startsWith('/api/')) return traceHTTPRequest(opts.tracer, req, res, path, run);
    return run();
  };
}

/** A started HTTP server. */
export interface ListeningHTTPServer {
  readonly server: Server;
  /** host:port actually bound (port resolved when 0 was asked). */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Parses `host:port` (Thanos's --http-address form; `[::1]:9090` for IPv6). */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid address ${JSON.stringify(address)}: want host:port`);
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

/** Options of {@link listenHTTP}. */
export interface ListenHTTPOptions {
  /** How long `close()` lets in-flight requests finish before cutting them, ms. Default 120_000 (Thanos's --http-grace-period). */
  gracePeriodMs?: number;
}

/**
 * Largest request line plus headers accepted, bytes: Go's http.DefaultMaxHeaderBytes (1 MiB) plus the
 * 4096 bytes of bufio slop net/http allows (server.go initialReadLimitSize), which Prometheus and
 * Thanos serve with, so long GET queries (regex alternations from Grafana) fit.
 */
export const MAX_HEADER_BYTES: number = (1 << 20) + 4096;

/**
 * The node:http request listener of every server: runs `handler`, answers Go's `404 page not
 * found` when no route took the request, and a plain 500 with the message when the handler threw
 * (or ends the connection when the answer had already begun).
 */
export function serveRequest(handler: RequestHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handler(req, res).then(
      (handled) => {
        if (!handled && !res.headersSent) {
          res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('404 page not found\n');
        }
      },
      (err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(`${err instanceof Error ? err.message : String(err)}\n`);
        } else res.destroy();
      },
    );
  };
}

/**
 * Starts a node:http server on `address` answering with `handler` (404 for unhandled paths).
 * Requests the server refuses before a handler runs (headers too large, malformed) get a
 * Prometheus-style JSON error instead of an empty body or a reset.
 */
export async function listenHTTP(
  address: string,
  handler: RequestHandler,
  opts: ListenHTTPOptions = {},
): Promise<ListeningHTTPServer> {
  const { host, port } = splitHostPort(address);
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, serveRequest(handler));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (err as { bytesParsed?: number }).bytesParsed === undefined) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    const body = JSON.stringify({
      status: 'error',
      errorType: 'bad_data',
      error: tooLarge
        ? `request line and headers exceed ${MAX_HEADER_BYTES} bytes; send long queries with POST`
        : `malformed HTTP request: ${err.message}`,
    });
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return listenGraceful(server, host, port, opts.gracePeriodMs ?? 120_000);
}

/**
 * Binds `server` to host:port and returns it as a ListeningHTTPServer whose `close()` stops
 * accepting, drops idle keep-alive connections at once, lets running requests finish for
 * `graceMs`, then cuts whatever is left (idempotent). Shared by every HTTP and HTTPS server.
 */
export async function listenGraceful(
  server: Server,
  host: string,
  port: number,
  graceMs: number,
): Promise<ListeningHTTPServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host || undefined, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    server,
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    port: a.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const t = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(t);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
