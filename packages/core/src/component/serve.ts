import type { Server } from '@grpc/grpc-js';
import type { Tracer } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { createComponentHandler, type ListeningHTTPServer } from '../http/http-server.js';
import type { RequestHandler } from '../http/query-api.js';
import type { Logger } from '../log/logger.js';
import type { ServingOptions } from './component.js';
import { type ServedGrpc, serveGrpc } from './grpc-server.js';
import { serveHTTP } from './http-server.js';

/** What a component exposes over the network. */
export interface ComponentEndpoints {
  /** Its metrics, at /metrics. */
  registry: Registry;
  /** /-/ready answers 200 only while this is true. */
  ready: () => boolean;
  /** The component's own HTTP handlers, after /metrics, /-/healthy and /-/ready. */
  handlers?: readonly RequestHandler[];
  /** Adds the component's gRPC services. */
  grpc?: (server: Server) => void;
  /** Tracer for one span per API request (the component's `tracer` option). Default: no spans. */
  tracer?: Tracer;
  /** The component's name in request log lines (`thanos.method_name`). Default `http`. */
  name?: string;
}

/** The servers a component bound in `start()`. */
export interface BoundServers {
  readonly httpAddress: string | undefined;
  readonly grpcAddress: string | undefined;
  /** Closes both, gracefully within the grace period. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds the HTTP handler a component serves (and an embedder can mount in its own server):
 * /metrics, /-/healthy, /-/ready, then the component's handlers.
 */
export function componentHandler(endpoints: ComponentEndpoints): RequestHandler {
  return createComponentHandler({
    registry: endpoints.registry,
    ready: endpoints.ready,
    handlers: endpoints.handlers ?? [],
    ...(endpoints.tracer ? { tracer: endpoints.tracer } : {}),
  });
}

/**
 * Binds the HTTP and gRPC servers `serving` asks for (none when it names no address), the HTTP one
 * with the web config (TLS, basic auth) and both with the request logging. If the second bind fails
 * the first is closed again, so a failed start leaves no port open.
 */
export async function bindServers(
  serving: ServingOptions,
  endpoints: ComponentEndpoints,
  logger: Logger,
): Promise<BoundServers> {
  let http: ListeningHTTPServer | undefined;
  let grpc: ServedGrpc | undefined;
  try {
    if (serving.httpAddress !== undefined)
      http = await serveHTTP(componentHandler(endpoints), {
        address: serving.httpAddress,
        gracePeriodMs: serving.httpGracePeriodMs,
        webConfig: serving.webConfig,
        requestLogging: serving.requestLogging?.http,
        logger,
        name: endpoints.name,
      });
    if (serving.grpcAddress !== undefined && endpoints.grpc)
      grpc = await serveGrpc(endpoints.grpc, {
        address: serving.grpcAddress,
        grpcServerTLS: serving.grpcServerTLS,
        grpcMaxConnectionAgeMs: serving.grpcMaxConnectionAgeMs,
        gracePeriodMs: serving.grpcGracePeriodMs,
        requestLogging: serving.requestLogging?.grpc,
        logger,
      });
  } catch (err) {
    await Promise.all([http?.close(), grpc?.close()]);
    throw err;
  }
  if (http || grpc) logger.info('listening', { http: http?.address, grpc: grpc?.address });
  let closing: Promise<void> | undefined;
  return {
    httpAddress: http?.address,
    grpcAddress: grpc?.address,
    close() {
      closing ??= Promise.all([http?.close(), grpc?.close()]).then(() => {});
      return closing;
    },
  };
}
