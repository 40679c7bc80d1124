export {
  type CompactBlocksOptions,
  type CompactThanosOptions,
  compactBlockMetas,
  compactBlocks,
} from './compact.js';
export { MERGED_CHUNK_SAMPLES, type MergeChunkOptions, mergeSeriesChunks } from './merge.js';
export {
  DEFAULT_COMPACTION_RANGES,
  exponentialBlockRanges,
  type PlanCompactionOptions,
  planCompaction,
  splitByRange,
} from './plan.js';
export { blocksBeyondRetention, type RetentionOptions } from './retention.js';
export {
  chainChunkSamples,
  decodeChunkSamples,
  encodeChunkSamples,
  type RewriteSample,
  type RewriteWhere,
} from './rewrite.js';
