// Public names of the head; the package entry re-exports them.
export { HeadAppender } from './appender.js';
export {
  AppenderClosedError,
  ClosedError,
  CommitSampleLimitError,
  DuplicateSampleError,
  InvalidSampleError,
  OutOfBoundsError,
  OutOfOrderSampleError,
  SampleError,
  SeriesLimitError,
  TooOldSampleError,
  UnknownSeriesRefError,
  WalWriteError,
} from './errors.js';
export {
  createHead,
  Head,
  type HeadHistogramRecord,
  type HeadLog,
  type HeadOptions,
  type HeadSampleRecord,
  type HeadSeriesRecord,
  type HeadStats,
} from './head.js';
export { MemPostings } from './postings.js';
export { createHeadQueryable, selectHeadSamples } from './queryable.js';
export { computeChunkEndTime, type HeadChunk, MemSeries, OOO_CAP_MAX } from './series.js';
