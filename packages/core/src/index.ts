// @thanos-ts/core: the components and the contracts they share. Everything else is at a subpath
// (`@thanos-ts/core/query`, `/store`, `/sidecar`, `/receive`, `/rule`, `/compact`, `/frontend`,
// `/storeapi`, `/cache`, `/discovery`, `/http`, `/block`, `/component`, `/testing`).

export { type Compactor, type CompactorOptions, createCompactor } from './compact/compactor.js';
export {
  ComponentClosedError,
  type ComponentOptions,
  DEFAULT_GRACE_PERIOD_MS,
  type Lifecycle,
  type ServingOptions,
} from './component/component.js';
export { createQueryFrontend, type QueryFrontend, type QueryFrontendOptions } from './frontend/query-frontend.js';
export {
  createLogger,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  NOP_LOGGER,
} from './log/logger.js';
export { createQuerier, type Querier, type QuerierOptions } from './query/querier.js';
export type { QueryOptions, QueryResponse, QueryStats } from './query/query-core.js';
export { createReceiver, type Receiver, type ReceiverOptions } from './receive/receiver.js';
export { createRuler, type Ruler, type RulerOptions } from './rule/ruler.js';
export { createSidecar, type Sidecar, type SidecarOptions } from './sidecar/sidecar.js';
export { createStoreGateway, type StoreGateway, type StoreGatewayOptions } from './store/store-gateway.js';
export { GrpcStatus, StoreAPIError } from './storeapi/errors.js';
export { type ConnectStoreAPIOptions, connectStoreAPI, type RemoteStoreAPI } from './storeapi/grpc-client.js';
export { serveStoreAPI } from './storeapi/grpc-server.js';
export { createLocalStore, type LocalStoreOptions } from './storeapi/local-store.js';
export type {
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  PartialResponseStrategy,
  SeriesRequest,
  SeriesResponse,
  StoreAPI,
  StoreInfo,
  StoreSeries,
} from './storeapi/store-api.js';
export { MAX_TIME, MIN_TIME } from './storeapi/store-api.js';
