// The native histogram sample model (Prometheus's model/histogram): types, validation, copies,
// bucket bounds and the text form promtool prints.

export {
  decodeFloatHistogramChunk,
  FloatHistogramAppender,
  FloatHistogramChunk,
  FloatHistogramIterator,
} from '../chunkenc/float-histogram.js';
export {
  decodeHistogramChunk,
  HistogramAppender,
  HistogramChunk,
  HistogramIterator,
  MAX_HISTOGRAM_CHUNK_SAMPLES,
} from '../chunkenc/histogram.js';
// The chunk encodings (Prometheus's EncHistogram = 2 and EncFloatHistogram = 3) and their dump.
export {
  cutFloatHistogramChunks,
  cutHistogramChunks,
} from '../chunkenc/histogram-cut.js';
export { HistogramAppendError } from '../chunkenc/histogram-errors.js';
export { CounterResetHeader } from '../chunkenc/histogram-meta.js';
export { type DumpSample, dumpAllSamples, type HistogramDumpOptions } from '../dump/histogram-dump.js';
// Float histogram arithmetic with Prometheus's semantics (used by the PromQL engine).
export {
  addFloatHistograms,
  compactFloatHistogram,
  copyToSchema,
  detectFloatHistogramReset,
  divFloatHistogram,
  floatHistogramHasOverflow,
  type HistogramAddResult,
  INCOMPATIBLE_SCHEMA_MESSAGE,
  IncompatibleSchemaError,
  intersectCustomBounds,
  mulFloatHistogram,
  subFloatHistograms,
} from './float-ops.js';
export {
  type Bucket,
  bucketUpperBound,
  copyFloatHistogram,
  copyHistogram,
  deltasToAbsolute,
  floatHistogramEquals,
  formatBucket,
  formatFloatHistogram,
  formatHistogram,
  histogramEquals,
  histogramToFloat,
  isGaugeHistogram,
  iterateBuckets,
  spansMatch,
} from './histogram.js';
export {
  reduceBucketsResolution,
  reduceFloatHistogramResolution,
  reduceHistogramResolution,
  targetBucketIndex,
} from './reduce-resolution.js';
export {
  CounterResetHint,
  CUSTOM_BUCKETS_SCHEMA,
  countSpans,
  customBucketBoundsMatch,
  EXPONENTIAL_SCHEMA_MAX,
  EXPONENTIAL_SCHEMA_MAX_RESERVED,
  EXPONENTIAL_SCHEMA_MIN,
  EXPONENTIAL_SCHEMA_MIN_RESERVED,
  emptyFloatHistogram,
  emptyHistogram,
  type FloatHistogram,
  type Histogram,
  isCustomBucketsSchema,
  isExponentialSchema,
  isExponentialSchemaReserved,
  isKnownSchema,
  isValidSchema,
  type Span,
} from './types.js';
export {
  HISTOGRAM_ERRORS,
  HistogramError,
  type HistogramErrorKind,
  invalidSchemaError,
  unknownSchemaError,
  validateFloatHistogram,
  validateHistogram,
} from './validate.js';
