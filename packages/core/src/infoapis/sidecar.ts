import type { Server } from '@grpc/grpc-js';
import type { Labels } from '@thanos-ts/tsdb';
import { type ServeStoreAPIOptions, serveStoreAPI } from '../storeapi/grpc-server.js';
import type { StoreAPI } from '../storeapi/store-api.js';
import { serveInfoAPIs, withInfoAPIs } from './grpc.js';
import { createPrometheusInfoAPIs } from './prometheus.js';

/**
 * Serves Thanos's Metadata, Targets and Exemplars gRPC services on a sidecar's `server` from
 * the Prometheus at `prometheusURL`, adding `externalLabels()` (read on every call) to targets
 * and exemplars as Thanos's sidecar does. Info is left alone: see {@link serveSidecarAPIs}.
 */
export function servePrometheusInfoAPIs(server: Server, prometheusURL: string, externalLabels: () => Labels): void {
  const apis = createPrometheusInfoAPIs({ prometheusURL, externalLabels });
  serveInfoAPIs(server, { metadata: apis, targets: apis, exemplars: apis });
}

/**
 * Everything a sidecar serves over gRPC: `store` as the StoreAPI (serveStoreAPI), the
 * Metadata, Targets and Exemplars services from Prometheus ({@link servePrometheusInfoAPIs}),
 * and an Info answer advertising all of them (metric_metadata, targets, exemplars set as in
 * Thanos's sidecar), so a querier finds them. Drop-in for `serveStoreAPI(store, server)`.
 */
export function serveSidecarAPIs(
  store: StoreAPI,
  server: Server,
  prometheusURL: string,
  externalLabels: () => Labels,
  opts: Pick<ServeStoreAPIOptions, 'tracer'> = {},
): void {
  serveStoreAPI(store, server, { ...opts, extendInfo: (pb) => withInfoAPIs(pb) });
  servePrometheusInfoAPIs(server, prometheusURL, externalLabels);
}
