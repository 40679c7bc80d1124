// The write-ahead log, byte-compatible with Prometheus 2.42's tsdb/wlog and tsdb/record.
export {
  type CheckpointOptions,
  type CheckpointResult,
  checkpoint,
  checkpointDirName,
  lastCheckpoint,
} from './checkpoint.js';
export { WalCorruptionError, WalRecordError } from './errors.js';
export { readWAL, repairWAL, type WalEntry } from './reader.js';
export {
  decodeRecord,
  decodeSamplesInto,
  encodeFloatHistogramSamplesRecords,
  encodeHistogramSamplesRecords,
  encodeSamplesRecord,
  encodeSeriesRecord,
  encodeTombstonesRecord,
  RECORD_CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES,
  RECORD_CUSTOM_BUCKETS_HISTOGRAM_SAMPLES,
  RECORD_EXEMPLARS,
  RECORD_FLOAT_HISTOGRAM_SAMPLES,
  RECORD_HISTOGRAM_SAMPLES,
  RECORD_METADATA,
  RECORD_MMAP_MARKERS,
  RECORD_SAMPLES,
  RECORD_SERIES,
  RECORD_TOMBSTONES,
  RECORD_UNKNOWN,
  type RefFloatHistogramSample,
  type RefHistogramSample,
  type RefSample,
  type RefSeries,
  type RefTombstone,
  recordType,
  type SampleColumns,
  type WalRecord,
} from './records.js';
export {
  segmentFileName,
  WAL_DEFAULT_SEGMENT_SIZE,
  WAL_PAGE_SIZE,
  WAL_RECORD_HEADER_SIZE,
} from './segments.js';
export { openWAL, type WAL, type WALOptions } from './wal.js';
