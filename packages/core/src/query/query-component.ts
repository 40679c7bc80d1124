import { Server } from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DNSResolver } from '../discovery/dns.js';
import { createEndpointDiscovery, type EndpointDiscovery } from '../discovery/endpoint-discovery.js';
import { createComponentHandler, type ListeningHTTPServer, listenHTTP } from '../http/http-server.js';
import { type BuildInfo, createQueryAPIHandler, type RequestHandler } from '../http/query-api.js';
import { type Logger, NOP_LOGGER } from '../log/logger.js';
import { serveStoreAPI } from '../storeapi/grpc-server.js';
import { type GrpcServerTLSOptions, grpcServerCredentials } from '../tls/grpc-tls.js';
import { createEndpointSet } from './endpoint-set.js';
import { createQuerier, type Querier, type QuerierOptions } from './querier.js';

/** Options of `createQueryComponent`: the querier's, plus where to listen and how to discover. */
export interface QueryComponentOptions extends Omit<QuerierOptions, 'discover' | 'endpointSet' | 'endpoints'> {
  /** HTTP listen address (Prometheus API, /metrics, /-/healthy, /-/ready). Default 0.0.0.0:10902. */
  httpAddress?: string;
  /** gRPC listen address serving the querier as a StoreAPI. Default 0.0.0.0:10901. */
  grpcAddress?: string;
  grpcServerTLS?: GrpcServerTLSOptions;
  /** Endpoint addresses (--endpoint/--store): host:port, dns+…, dnssrv+…. */
  endpointAddresses?: readonly string[];
  /** File SD files (--store.sd-files) and their re-read interval (--store.sd-interval), ms. */
  fileSDFiles?: readonly string[];
  fileSDInterval?: number;
  /** DNS re-resolution interval, ms. Default 30 s. */
  dnsInterval?: number;
  resolver?: DNSResolver;
  /** Step of range queries without one, ms (--query.default-step). Default 1 s. */
  defaultStep?: number;
  /** prom-client registry for /metrics. Default: a new one. */
  registry?: Registry;
  buildInfo?: Partial<BuildInfo>;
  /** Where log lines go. Default: nowhere. */
  logger?: Logger;
}

/** A running `thanos-ts query`. */
export interface QueryComponent {
  readonly querier: Querier;
  readonly registry: Registry;
  /** Bound HTTP address (host:port). */
  readonly httpAddress: string;
  /** Bound gRPC port. */
  readonly grpcPort: number;
  close(): Promise<void>;
}

/**
 * Starts a complete querier: endpoint discovery and health checks, the Prometheus HTTP API with
 * /metrics and health endpoints, and the querier itself served as a StoreAPI over gRPC.
 */
export async function createQueryComponent(opts: QueryComponentOptions): Promise<QueryComponent> {
  const registry = opts.registry ?? new Registry();
  const log = opts.logger ?? NOP_LOGGER;
  const endpointsGauge = new Gauge({
    name: 'thanos_store_nodes_grpc_connections',
    help: 'Number of gRPC connection to Store APIs. Opened connection means healthy store APIs available for Querier.',
    labelNames: ['store_type'],
    registers: [registry],
  });
  const discovery: EndpointDiscovery = createEndpointDiscovery({
    addresses: opts.endpointAddresses,
    fileSDFiles: opts.fileSDFiles,
    fileSDInterval: opts.fileSDInterval,
    dnsInterval: opts.dnsInterval,
    resolver: opts.resolver,
    onError: (source, err) => log.warn('endpoint discovery failed', { source, err: String(err) }),
    onChange: (addresses) => {
      log.info('endpoints changed', { addresses });
      void endpointSet.refresh();
    },
  });
  const endpointSet = createEndpointSet({
    discover: () => discovery.addresses(),
    tls: opts.tls,
    refreshInterval: opts.endpointRefreshInterval,
    onRefresh: (statuses) => {
      endpointsGauge.reset();
      for (const s of statuses) if (s.healthy && s.info) endpointsGauge.inc({ store_type: s.info.componentType });
    },
  });
  const querier = createQuerier({ ...opts, endpointSet });
  const api = instrument(
    createQueryAPIHandler({ querier, defaultStep: opts.defaultStep, buildInfo: opts.buildInfo }),
    registry,
  );
  await discovery.start();
  await querier.start();

  const grpc = new Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
  serveStoreAPI(querier, grpc);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync(opts.grpcAddress ?? '0.0.0.0:10901', grpcServerCredentials(opts.grpcServerTLS), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  let http: ListeningHTTPServer;
  try {
    http = await listenHTTP(
      opts.httpAddress ?? '0.0.0.0:10902',
      createComponentHandler({
        registry,
        ready: () => true,
        handlers: [api],
      }),
    );
  } catch (err) {
    grpc.forceShutdown();
    await querier.close();
    discovery.close();
    throw err;
  }
  log.info('listening', { http: http.address, grpcPort });
  return {
    querier,
    registry,
    httpAddress: http.address,
    grpcPort,
    async close() {
      await http.close();
      // Streams still open after a grace period are cut.
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          grpc.forceShutdown();
          resolve();
        }, 2000);
        grpc.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
      discovery.close();
      await querier.close();
    },
  };
}

/**
 * Counts and times API requests per handler with the metric names Thanos's HTTP instrumentation
 * uses (http_requests_total, http_request_duration_seconds).
 */
function instrument(handler: RequestHandler, registry: Registry): RequestHandler {
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
