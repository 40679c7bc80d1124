// @thanos-ts/core/store: the store gateway and its parts.
export { BucketRangeSource, type RequestCounter } from './bucket-range-source.js';
export type { IndexCache } from './index-cache.js';
export { INDEX_HEADER_FILENAME, type IndexHeader } from './index-header.js';
export { type RequestLimits, StoreLimitError } from './limits.js';
export { createLoadedBlocksHandler } from './loaded.js';
export {
  BLOCK_ID_LABEL,
  createMetaFetcher,
  DELETION_MARK_FILENAME,
  type FetchResult,
  type MetaFetcher,
  type MetaFilters,
  type SyncState,
} from './meta-fetcher.js';
export { hashmod, parseRelabelConfig, type RelabelRule, relabel } from './relabel.js';
export {
  createStoreGateway,
  type ServedBlock,
  type StoreGateway,
  type StoreGatewayOptions,
} from './store-gateway.js';
export { parseTimeOrDuration, resolveTime, type TimeOrDuration } from './time-range.js';
