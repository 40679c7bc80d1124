// @thanos-ts/core/compact: the compactor (compaction, downsampling, retention, deletion) and its bucket markers.
export {
  type CompactDeduplicationFunc,
  type Compactor,
  type CompactorOptions,
  type CompactorProgress,
  type CompactorStatus,
  createCompactor,
  type IterationResult,
  type QuarantinedGroup,
} from './compactor.js';
export {
  type BucketDownsampler,
  type BucketDownsamplerOptions,
  createBucketDownsampler,
  createDownsampleMetrics,
  type DownsampleBlocksOptions,
  type DownsampleBlocksResult,
  type DownsampleMetrics,
  type DownsampleProgress,
  type DownsampleRunResult,
  downsampleBlocks,
  downsampleCandidates,
} from './downsample.js';
export { CompactionHaltError, InsufficientDiskSpaceError, InvalidMarkRequestError } from './errors.js';
export {
  type BlockGroup,
  duplicateBlocks,
  groupBlocks,
  groupKey,
  groupName,
  labelsHash,
  overlappingBlocks,
  removeReplicaLabels,
  resolutionOf,
} from './groups.js';
export {
  applyBucketRetention,
  applyRetentionPolicy,
  type BucketRetentionOptions,
  type BucketSync,
  type BucketSyncOptions,
  blocksPastRetention,
  type CleanupBucketOptions,
  type CleanupHooks,
  cleanAbortedPartialUploads,
  cleanupBucket,
  deleteMarkedBlocks,
  MANUAL_REASON,
  MARKER_FILENAMES,
  type MarkBlocksOptions,
  type MarkerFilename,
  markBlocks,
  PARTIAL_UPLOAD_THRESHOLD_MS,
  type RetentionByResolution,
  removeMark,
  syncBucketMetas,
} from './maintenance.js';
export {
  DELETION_MARK_FILENAME,
  type DeletionMark,
  deleteBlock,
  downloadBlock,
  markForDeletion,
  markForNoCompact,
  markForNoDownsample,
  NO_COMPACT_MARK_FILENAME,
  NO_DOWNSAMPLE_MARK_FILENAME,
  type NoCompactMark,
  type NoDownsampleMark,
  QUARANTINE_REASON,
  readMarker,
} from './markers.js';
export { type CompactorMetrics, createCompactorMetrics } from './metrics.js';
export { compactBlocksPenalty, type PenaltyCompactOptions, penaltyMergeChunks } from './penalty.js';
export {
  DEFAULT_BLOCK_MAX_INDEX_SIZE_BYTES,
  INDEX_SIZE_EXCEEDING_REASON,
  type IndexSizeLimitOptions,
  listedIndexSize,
  planWithIndexSizeLimit,
} from './planner.js';
export {
  BUCKET_REWRITE_SOURCE,
  CHANGE_LOG_FILENAME,
  type DeletionInterval,
  type DeletionRequest,
  parseDeletionRequests,
  type RewriteBlocksOptions,
  type RewriteResult,
  rewriteBlocks,
} from './rewrite.js';
export {
  BUCKET_REPAIR_SOURCE,
  backupAndRetire,
  duplicatedCompactionBlocks,
  gatherIndexHealthStats,
  type IndexHealthStats,
  indexHealthError,
  type RepairBlockOptions,
  type RetireBlockOptions,
  repairBlockIndex,
  sanitizeChunks,
} from './verify.js';
