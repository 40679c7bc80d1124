// @thanos-ts/core/storeapi: the StoreAPI contract, its gRPC adapters and the local block store.

export { TLS_VERSIONS, type TLSVersion } from '../tls/go-names.js';
export {
  type GrpcClientTLSOptions,
  type GrpcServerTLSOptions,
  grpcClientCredentials,
  grpcServerCredentials,
} from '../tls/grpc-tls.js';
export { GrpcStatus, StoreAPIError } from './errors.js';
export { type ConnectStoreAPIOptions, connectStoreAPI, type RemoteStoreAPI } from './grpc-client.js';
export { grpcStatusOf, serveStoreAPI } from './grpc-server.js';
export { createLocalStore, type LocalStoreOptions, matchExternalLabels } from './local-store.js';
export type {
  Aggr,
  AggrChunk,
  AnyMessage,
  Chunk,
  ChunkEncoding,
  ComponentType,
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  PartialResponseStrategy,
  QueryHints,
  SeriesRequest,
  SeriesResponse,
  ShardInfo,
  StoreAPI,
  StoreInfo,
  StoreSeries,
  TSDBInfo,
} from './store-api.js';
export { MAX_TIME, MIN_TIME } from './store-api.js';
