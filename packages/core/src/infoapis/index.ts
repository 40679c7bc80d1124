// @thanos-ts/core/infoapis: Thanos's Metadata, Targets and Exemplars APIs — served by the sidecar
// from Prometheus, fanned out and merged by the querier, answered in Prometheus's JSON — and the
// /api/v1/status/{flags,runtimeinfo,buildinfo} handlers.

export {
  createInfoAPIsEndpointSet,
  type InfoAPIsEndpointSet,
  type InfoAPIsEndpointSetOptions,
} from './endpoints.js';
export { InfoAPIError } from './errors.js';
export {
  createInfoAPIsFanout,
  dedupExemplars,
  dedupTargets,
  exemplarQueryFor,
  extractSelectors,
  type InfoAPIsEndpoint,
  type InfoAPIsFanout,
  type InfoAPIsFanoutOptions,
  mergeMetadata,
} from './fanout.js';
export {
  type AdvertisedInfoAPIs,
  advertisedInfoAPIs,
  type ConnectInfoAPIsOptions,
  connectInfoAPIs,
  type InfoAPIs,
  infoAPIServiceDefinitions,
  type RemoteInfoAPIs,
  serveInfoAPIs,
  withInfoAPIs,
} from './grpc.js';
export {
  createInfoAPIsHandler,
  exemplarsJSON,
  goTimeJSON,
  type InfoAPIsHandlerOptions,
  metadataJSON,
  targetsJSON,
} from './http.js';
export {
  createPrometheusInfoAPIs,
  extendLabels,
  PrometheusInfoAPIError,
  type PrometheusInfoAPIs,
  type PrometheusInfoAPIsOptions,
} from './prometheus.js';
export { type InfoAPIProtos, infoAPIProtos } from './protos.js';
export { servePrometheusInfoAPIs, serveSidecarAPIs } from './sidecar.js';
export { createStatusHandler, runtimeInfo, type StatusHandlerOptions } from './status.js';
export type * from './types.js';
