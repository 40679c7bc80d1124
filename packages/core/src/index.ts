// StoreAPI contract, gRPC, querier, HTTP API, discovery, TLS (core/querier helper).

export { type UploadBlockOptions, uploadBlock } from './block/upload.js';
// Store gateway and caches (store-gateway helper).
export type { Cache, CacheStats } from './cache/cache.js';
export { createCachingBucket } from './cache/caching-bucket.js';
export {
  type CachingBucketConfig,
  type IndexCacheConfig,
  type IndexCacheItem,
  parseBytes,
  parseCachingBucketConfig,
  parseIndexCacheConfig,
} from './cache/config.js';
export { createInMemoryCache, type InMemoryCacheOptions } from './cache/inmemory.js';
export { createMemcachedCache, type MemcachedOptions } from './cache/memcached.js';
export { createRedisCache, type RedisOptions } from './cache/redis.js';
export {
  type AddressKind,
  createDNSResolver,
  type DNSResolver,
  type DNSResolverOptions,
  parseAddress,
  resolveAddress,
} from './discovery/dns.js';
export {
  createEndpointDiscovery,
  type EndpointDiscovery,
  type EndpointDiscoveryOptions,
} from './discovery/endpoint-discovery.js';
export { createFileSD, type FileSD, type FileSDOptions, parseFileSD } from './discovery/file-sd.js';
export { APIError, type APIErrorType, apiErrorOf } from './http/api-error.js';
export {
  type ComponentHandlerOptions,
  createComponentHandler,
  type ListeningHTTPServer,
  listenHTTP,
  splitHostPort,
} from './http/http-server.js';
export { formatSampleValue, formatTimestamp } from './http/json.js';
export { parseDuration as parseAPIDuration, parsePromDuration, parseTime as parseAPITime } from './http/params.js';
export { type BuildInfo, createQueryAPIHandler, type QueryAPIOptions, type RequestHandler } from './http/query-api.js';
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
export {
  chainReplicas,
  type DeduplicationFunc,
  dedupPair,
  dedupReplicas,
  isCounterFunc,
  type SampleColumns,
  splitOverlapping,
} from './query/dedup.js';
export {
  createEndpointSet,
  type EndpointSet,
  type EndpointSetOptions,
  type EndpointStatus,
  type NamedStore,
} from './query/endpoint-set.js';
export type {
  EngineQueryOptions,
  EngineResult,
  EngineSample,
  EngineSeries,
  EngineValue,
  QueryEngine,
} from './query/engine.js';
export {
  createProxyStore,
  labelSetsMatch,
  mergeChunks,
  NO_STORES_AVAILABLE,
  NO_STORES_MATCHED,
  type ProxyEndpoint,
  type ProxyStoreOptions,
  storeMatches,
} from './query/proxy.js';
export {
  createQuerier,
  type Querier,
  type QuerierOptions,
  type QueryOptions,
  type QueryResponse,
  type QueryStats,
  QueryTimeoutError,
} from './query/querier.js';
export { createQueryComponent, type QueryComponent, type QueryComponentOptions } from './query/query-component.js';
export {
  aggregatesForFunc,
  createStoreQueryable,
  type StoreQueryable,
  type StoreQueryableOptions,
} from './query/queryable.js';
export {
  NoExternalLabelsError,
  PrometheusAPIError,
  RemoteReadError,
  ShipperError,
} from './sidecar/errors.js';
export {
  createPrometheusClient,
  type PrometheusClient,
  type PrometheusClientOptions,
  type PrometheusSeriesQuery,
  selector as promqlSelector,
  type WithWarnings,
} from './sidecar/prometheus-client.js';
export { createPrometheusStore, type PrometheusStoreOptions } from './sidecar/prometheus-store.js';
export { encodeWriteRequest, type PrompbSample, type PrompbTimeSeries } from './sidecar/prompb/prompb.js';
export { snappyDecode, snappyEncode } from './sidecar/prompb/snappy.js';
export {
  createReloader,
  expandEnv,
  type Reloader,
  ReloaderError,
  type ReloaderOptions,
} from './sidecar/reloader.js';
export {
  DEFAULT_FRAME_SIZE_LIMIT,
  type RemoteReadOptions,
  type RemoteReadQuery,
  type RemoteReadResponseType,
  type RemoteReadSeries,
  type RemoteReadStats,
  readChunkedFrames,
  remoteRead,
} from './sidecar/remote-read.js';
export {
  createShipper,
  readShipperMeta,
  SHIPPER_META_FILENAME,
  type Shipper,
  type ShipperMeta,
  type ShipperOptions,
  type ShipperSyncResult,
  writeShipperMeta,
} from './sidecar/shipper.js';
export { createSidecar, type Sidecar, type SidecarOptions } from './sidecar/sidecar.js';
export { BucketRangeSource, type RequestCounter } from './store/bucket-range-source.js';
export type { IndexCache } from './store/index-cache.js';
export { INDEX_HEADER_FILENAME, type IndexHeader } from './store/index-header.js';
export { type RequestLimits, StoreLimitError } from './store/limits.js';
export { createLoadedBlocksHandler } from './store/loaded.js';
export {
  BLOCK_ID_LABEL,
  createMetaFetcher,
  DELETION_MARK_FILENAME,
  type FetchResult,
  type MetaFetcher,
  type MetaFilters,
  type SyncState,
} from './store/meta-fetcher.js';
export { hashmod, parseRelabelConfig, type RelabelRule, relabel } from './store/relabel.js';
export { type ServedStoreGateway, type ServeStoreGatewayOptions, serveStoreGateway } from './store/serve.js';
export {
  createStoreGateway,
  type ServedBlock,
  type StoreGateway,
  type StoreGatewayOptions,
} from './store/store-gateway.js';
export { parseTimeOrDuration, resolveTime, type TimeOrDuration } from './store/time-range.js';
export { uploadTsdbBlocks } from './store/upload-blocks.js';
export { GrpcStatus, StoreAPIError } from './storeapi/errors.js';
export { type ConnectStoreAPIOptions, connectStoreAPI, type RemoteStoreAPI } from './storeapi/grpc-client.js';
export { grpcStatusOf, serveStoreAPI } from './storeapi/grpc-server.js';
export { createLocalStore, type LocalStoreOptions, matchExternalLabels } from './storeapi/local-store.js';
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
} from './storeapi/store-api.js';
export { MAX_TIME, MIN_TIME } from './storeapi/store-api.js';
export {
  type GrpcClientTLSOptions,
  type GrpcServerTLSOptions,
  grpcClientCredentials,
  grpcServerCredentials,
} from './tls/grpc-tls.js';
