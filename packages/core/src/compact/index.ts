// @thanos-ts/core/compact: the compactor (compaction, downsampling, retention, deletion) and its bucket markers.
export {
  type CompactDeduplicationFunc,
  type Compactor,
  type CompactorOptions,
  type CompactorStatus,
  createCompactor,
  type IterationResult,
  PARTIAL_UPLOAD_THRESHOLD_MS,
  type QuarantinedGroup,
} from './compactor.js';
export { CompactionHaltError, InsufficientDiskSpaceError } from './errors.js';
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
