// @thanos-ts/core/bucketweb: `tools bucket web`, a refreshed view of a bucket's blocks as JSON and as a page.
export {
  type BlockMarks,
  type BlocksView,
  type BucketWeb,
  type BucketWebOptions,
  createBucketWeb,
  DEFAULT_REFRESH_INTERVAL_MS,
  DEFAULT_REFRESH_TIMEOUT_MS,
  DEFAULT_RETRY_INTERVAL_MS,
  MANUAL_NO_COMPACT_REASON,
} from './bucket-web.js';
export { BucketWebRefreshTimeoutError } from './errors.js';
export { type BucketWebMetrics, createBucketWebMetrics } from './metrics.js';
