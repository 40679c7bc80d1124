import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { RequestHandler } from './query-api.js';

/** Options of `createComponentHandler`. */
export interface ComponentHandlerOptions {
  /** Metrics served at /metrics. */
  registry?: Registry;
  /** Readiness for /-/ready (e.g. endpoints discovered). Default: always ready. */
  ready?: () => boolean;
  /** Further handlers (such as the query API), tried in order. */
  handlers?: readonly RequestHandler[];
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
    for (const h of opts.handlers ?? []) if (await h(req, res)) return true;
    return false;
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

/** Starts a node:http server on `address` answering with `handler` (404 for unhandled paths). */
export async function listenHTTP(address: string, handler: RequestHandler): Promise<ListeningHTTPServer> {
  const { host, port } = splitHostPort(address);
  const server = createServer((req, res) => {
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
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host || undefined, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    server,
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    port: a.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
