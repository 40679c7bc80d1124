export {
  CHUNKS_DIRNAME,
  DELETION_MARK_FILENAME,
  INDEX_FILENAME,
  NO_COMPACT_MARK_FILENAME,
  NO_DOWNSAMPLE_MARK_FILENAME,
} from './block/files.js';
export {
  type BlockDesc,
  type BlockMeta,
  type BlockMetaCompaction,
  type BlockStats,
  META_FILENAME,
  parseBlockMeta,
  readBlockMeta,
  serializeBlockMeta,
  type ThanosFile,
  type ThanosMeta,
  writeBlockMeta,
} from './block/meta.js';
export { createBlockQueryable, mergeBlockSampleBatches, mergeBlockSamples, mergeSamples } from './block/queryable.js';
export { type ByteRangeSource, BytesRangeSource, FileRangeSource } from './block/range-source.js';
export {
  type BlockChunk,
  BlockReader,
  type BlockSelectOptions,
  type BlockSeries,
  type BlockSources,
  decodeSeries,
  type OpenBlockOptions,
  openBlock,
} from './block/reader.js';
export {
  encodeTombstones,
  type Interval,
  parseTombstones,
  readTombstones,
  TOMBSTONES_FILENAME,
  type Tombstones,
  writeTombstones,
} from './block/tombstones.js';
export { blockIdOfDir, isULID, newBlockId, ulidTime } from './block/ulid.js';
export {
  BlockWriter,
  DEFAULT_BLOCK_DURATION,
  type SeriesToWrite,
  type WriteBlockOptions,
  type WrittenBlock,
  writeBlock,
} from './block/writer.js';
export { BitWriter } from './chunkenc/bitstream.js';
export {
  ChunkEncoding,
  cutXorChunks,
  type EncodedChunk,
  rangeForTimestamp,
  SAMPLES_PER_CHUNK,
} from './chunkenc/chunk.js';
export { decodeXorInto, XorChunk, XorEncoder, XorIterator, xorNumSamples } from './chunkenc/xor.js';
export { encodeXorChunk } from './chunkenc/xor-bulk.js';
export {
  CHUNKS_MAGIC,
  chunkRef,
  chunkRefOffset,
  chunkRefSegment,
  DEFAULT_SEGMENT_SIZE,
  SEGMENT_HEADER_SIZE,
  segmentFileName,
} from './chunks/segment.js';
export { ChunkSegmentReader, parseChunkAt, type RawChunk } from './chunks/segment-reader.js';
export { ChunkSegmentWriter } from './chunks/segment-writer.js';
export { HeadChunkDiskMapper, type LoadedHeadChunks } from './chunks-head/disk-mapper.js';
export { HeadChunksCorruptionError } from './chunks-head/errors.js';
export { headChunkFileName, iterateHeadChunkFile } from './chunks-head/format.js';
export {
  blocksBeyondRetention,
  type CompactBlocksOptions,
  compactBlocks,
  DEFAULT_COMPACTION_RANGES,
  type PlanCompactionOptions,
  planCompaction,
} from './compact/index.js';
export {
  ChunkSnapshotError,
  type CompactHeadResult,
  chunkSnapshotDirName,
  type DB,
  type DBLogger,
  type DBOptions,
  DEFAULT_RETENTION_MS,
  type DumpDBOptions,
  dumpDB,
  openDB,
  openDBReadOnly,
  type ReadOnlyDB,
  type ReadOnlyDBOptions,
} from './db/index.js';
export { type DumpOptions, dumpSamples, findBlockDirs } from './dump/dump.js';
export { crc32c } from './encoding/crc32c.js';
export { CorruptionError, InvalidArgumentError, ThanosError } from './errors.js';
export {
  AppenderClosedError,
  ClosedError,
  CommitSampleLimitError,
  createHead,
  DuplicateSampleError,
  Head,
  HeadAppender,
  type HeadOptions,
  type HeadStats,
  InvalidSampleError,
  OutOfBoundsError,
  OutOfOrderSampleError,
  SampleError,
  SeriesLimitError,
  TooOldSampleError,
} from './head/index.js';
export { EMPTY_POSTINGS, intersectPostings, mergePostings, withoutPostings } from './index/postings.js';
export { IndexReader, type IndexReaderOptions, type IndexSeries } from './index/reader.js';
export { encodeIndexToc, INDEX_FORMAT_V2, INDEX_MAGIC, type IndexToc, parseIndexToc } from './index/toc.js';
export { type ChunkMeta, IndexWriter } from './index/writer.js';
export { compareLabels, compareStrings, type Label, Labels, METRIC_NAME } from './labels/labels.js';
export { Matcher, type MatchType, matcher } from './labels/matcher.js';
export { FastRegexMatcher } from './labels/regex.js';
export {
  type CreateBlocksOptions,
  compatibleBlockDuration,
  createBlocksFromOpenMetrics,
  readOpenMetricsFile,
} from './openmetrics/backfill.js';
export {
  type OpenMetricsEntry,
  type OpenMetricsMetadata,
  OpenMetricsParseError,
  OpenMetricsParser,
  type OpenMetricsSample,
  parseGoFloat,
  parseOpenMetrics,
} from './openmetrics/parser.js';
export { mergeSampleColumns, type SampleColumns } from './storage/merge.js';
export type { HistogramSamples, Queryable, SelectHints, SeriesSamples } from './storage/queryable.js';
export { isStaleNaN, STALE_NAN } from './storage/stale.js';
export { resolveWorkerEntry, type WorkerEntry } from './worker/entry.js';
