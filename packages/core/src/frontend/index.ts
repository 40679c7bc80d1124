// @thanos-ts/core/frontend: the query frontend (split, align, shard, retry and cache queries).
export {
  type BoundedCacheOptions,
  type CacheCompression,
  createBoundedCache,
  parseCacheCompression,
  parseResponseCacheConfig,
  type ResponseCacheConfig,
  withSnappy,
} from './cache-config.js';
export { createDownstream, type Downstream, type DownstreamOptions, type DownstreamReply } from './downstream.js';
export {
  createDownstreamAgent,
  type DownstreamTripperConfig,
  parseDownstreamTripperConfig,
} from './downstream-config.js';
export { DownstreamError, FrontendConfigError, FrontendHTTPError } from './errors.js';
export { decodeExtents, encodeExtents } from './extent-codec.js';
export { type InstantSortPlan, instantSortPlan, mergeInstantAnswers } from './instant.js';
export {
  createMetadataSplitter,
  type MetadataAnswer,
  type MetadataRequest,
  type MetadataSplitterOptions,
} from './labels.js';
export {
  compareMetrics,
  decodeMatrixAnswer,
  decodeMatrixResponse,
  emptyMatrix,
  encodeMatrixResponse,
  extractMatrix,
  type MatrixResponse,
  type MatrixSeries,
  mergeMatrices,
  type SampleStats,
  sampleStatsOf,
} from './matrix.js';
export { bodyText, decodeRawMatrixAnswer, scanMatrixBody } from './matrix-scanner.js';
export { FRONTEND_FEATURES, type FrontendFeature, frontendParseOptions } from './promql-features.js';
export {
  createQueryFrontend,
  type FrontendCache,
  type QueryFrontend,
  type QueryFrontendOptions,
  TENANT_CERTIFICATE_FIELDS,
  type TenantCertificateField,
} from './query-frontend.js';
export {
  encodeRangeRequest,
  parseRangeRequest,
  type RangeRequest,
  rangeCacheKey,
  rangeStepIndexKey,
  withRange,
} from './range-request.js';
export {
  ColumnBuilder,
  encodeRawMatrix,
  encodeRawMatrixParts,
  extractRawMatrix,
  matrixFromRaw,
  mergeRawMatrices,
  type RawMatrix,
  type RawSeries,
  rawFromMatrix,
  type SampleColumn,
  type SampleRun,
} from './raw-matrix.js';
export {
  createResultsCache,
  type DownstreamAnswer,
  type Extent,
  hashKey,
  type ResultsCache,
  type ResultsCacheOptions,
} from './results-cache.js';
export {
  analyzeShardable,
  createShardAnalyzer,
  encodeShardInfo,
  matchesShard,
  metricString,
  parseShardInfo,
  type QueryShard,
  queryShards,
  type ShardAnalysis,
} from './shard.js';
export { alignToStep, isCacheableQuery, nextIntervalBoundary, resolveAtModifiers, splitRangeRequest } from './split.js';
