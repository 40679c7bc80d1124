import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import {
  type ListeningHTTPServer,
  listenGraceful,
  listenHTTP,
  MAX_HEADER_BYTES,
  serveRequest,
  splitHostPort,
} from '../http/http-server.js';
import type { RequestHandler } from '../http/query-api.js';
import { type Logger, NOP_LOGGER } from '../log/logger.js';
import type { ServingOptions } from './component.js';
import { DEFAULT_GRACE_PERIOD_MS } from './component.js';
import { type ProtocolRequestLogging, withRequestLogging } from './request-logging.js';
import { checkClientCert, type WebConfig, webTLSOptions, withWebConfig } from './web-config.js';

/** Options of {@link serveHTTP}. */
export interface ServeHTTPOptions {
  /** host:port to listen on; port 0 picks a free one. */
  address: string;
  /** How long `close()` lets running requests finish before cutting them, ms. Default 120_000 (--http-grace-period). */
  gracePeriodMs?: number | undefined;
  /** TLS, basic auth, headers and rate limit (--http.config). Default: plain HTTP, open. */
  webConfig?: WebConfig | undefined;
  /** Request logging of the HTTP server (--request.logging-config's `http`). Default: none. */
  requestLogging?: ProtocolRequestLogging | undefined;
  /** Where request log lines and refused TLS clients are logged. Default: nowhere. */
  logger?: Logger | undefined;
  /** `thanos.method_name` of request log lines: the component's name. Default `http`. */
  name?: string | undefined;
}

/**
 * Starts a component's HTTP server (the one every component shares): node:http, or node:https when
 * the web config has TLS, with the web config's basic auth, headers and rate limit and the request
 * logging in front of `handler` (404 for unhandled paths). Throws WebConfigError before binding
 * when the certificate or key cannot be used. Closed as listenHTTP's servers are: idle connections
 * at once, running requests after the grace period. Safe to call for several servers at once.
 */
export async function serveHTTP(handler: RequestHandler, opts: ServeHTTPOptions): Promise<ListeningHTTPServer> {
  const logger = opts.logger ?? NOP_LOGGER;
  let h = handler;
  // Inside the web config, as in Thanos: exporter-toolkit's handler wraps the whole server and the
  // logging middleware only the routes, so refused (401, 429) requests are not logged.
  if (opts.requestLogging) h = withRequestLogging(h, opts.requestLogging, logger, opts.name ?? 'http');
  if (opts.webConfig) h = withWebConfig(h, opts.webConfig);
  const grace = opts.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS;
  const tls = opts.webConfig ? webTLSOptions(opts.webConfig) : undefined;
  if (!tls) return listenHTTP(opts.address, h, { gracePeriodMs: grace });

  const { host, port } = splitHostPort(opts.address);
  const tlsConfig = opts.webConfig?.tlsServerConfig;
  const server = createServer({ ...tls, maxHeaderSize: MAX_HEADER_BYTES }, serveRequest(h));
  // The client certificate policies OpenSSL does not enforce itself (see checkClientCert); Go's
  // server ends such handshakes, this ends the connection before any request is read.
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    const refused = checkClientCert(socket, tlsConfig);
    if (refused) {
      logger.debug('tls client refused', { remote: socket.remoteAddress, err: refused });
      socket.destroy();
    }
  });
  server.on('tlsClientError', (err, socket) => {
    logger.debug('tls handshake failed', { remote: socket.remoteAddress, err: err.message });
  });
  return listenGraceful(server, host, port, grace);
}

/**
 * A component's own HTTP server on `address`, from its serving options: the grace period,
 * --http.config's web config and the HTTP part of --request.logging-config, as every component
 * serves (see {@link serveHTTP}). `name` is the component's name in request log lines.
 */
export function serveComponentHTTP(
  handler: RequestHandler,
  address: string,
  serving: Pick<ServingOptions, 'httpGracePeriodMs' | 'webConfig' | 'requestLogging'>,
  logger: Logger,
  name: string,
): Promise<ListeningHTTPServer> {
  return serveHTTP(handler, {
    address,
    gracePeriodMs: serving.httpGracePeriodMs,
    webConfig: serving.webConfig,
    requestLogging: serving.requestLogging?.http,
    logger,
    name,
  });
}
