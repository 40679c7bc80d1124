// @thanos-ts/core/store: the store gateway and its parts.
export { BucketRangeSource, type RequestCounter } from './bucket-range-source.js';
export type { IndexCache } from './index-cache.js';
export { INDEX_HEADER_FILENAME, type IndexHeader } from './index-header.js';
export { limitStoreSeries, type SeriesSelectLimits } from './limited-store.js';
export {
  checkMatcherLimits,
  DEFAULT_MAX_MATCHERS_PER_REQUEST,
  DEFAULT_MAX_REGEX_BYTES,
  MAX_SAMPLES_PER_CHUNK,
  MatcherLimitError,
  type RequestLimits,
  StoreLimitError,
} from './limits.js';
export { createLoadedBlocksHandler } from './loaded.js';
export {
  BLOCK_ID_LABEL,
  createMetaFetcher,
  DELETION_MARK_FILENAME,
  type FetchResult,
  type MetaFetcher,
  type MetaFilters,
  metaSanityError,
  type SyncState,
} from './meta-fetcher.js';
export { hashmod, parseRelabelConfig, type RelabelRule, relabel } from './relabel.js';
export {
  createStoreGateway,
  type ServedBlock,
  type SkippedBlock,
  type StoreGateway,
  type StoreGatewayOptions,
} from './store-gateway.js';
export { parseTimeOrDuration, resolveTime, type TimeOrDuration } from './time-range.js';
