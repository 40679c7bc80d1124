import type { Server, ServiceDefinition, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Labels } from '@thanos-ts/tsdb';
import { infoToPb } from '../storeapi/codec.js';
import { grpcStatusOf, serveStoreAPI } from '../storeapi/grpc-server.js';
import { infoServiceDefinition } from '../storeapi/services.js';
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
): void {
  const infoDef = infoServiceDefinition();
  const infoPath = (infoDef.Info as { path: string }).path;
  // serveStoreAPI registers its own Info; it gets a view of the server that skips that one.
  const withoutInfo = new Proxy(server, {
    get(target, prop) {
      if (prop === 'addService')
        return (def: ServiceDefinition, impl: UntypedServiceImplementation) => {
          if (Object.values(def).some((m) => m.path === infoPath)) return;
          target.addService(def, impl);
        };
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  serveStoreAPI(store, withoutInfo);
  server.addService(infoDef, {
    Info: (_call: unknown, cb: sendUnaryData<unknown>) => {
      store.info().then(
        (info) => cb(null, withInfoAPIs(infoToPb(info))),
        (err: unknown) => cb(grpcStatusOf(err)),
      );
    },
  });
  servePrometheusInfoAPIs(server, prometheusURL, externalLabels);
}
