import { ThanosError } from '../errors.js';

// Errors of the head and its appender. The messages of the sample errors are Prometheus's exact
// texts (storage/interface.go), because remote-write clients and dashboards match on them; the
// series and timestamp travel as fields instead.

/** Base of the errors a head appender rejects a sample with; `labels` and `timestamp` say which. */
export class SampleError extends ThanosError {
  constructor(
    code: string,
    message: string,
    /** Prometheus text form of the series' labels, when known. */
    readonly series: string,
    /** The rejected sample's timestamp, ms. */
    readonly timestamp: number,
  ) {
    super(code, message);
  }
}

/** The sample is older than the series' newest sample (Prometheus's ErrOutOfOrderSample). */
export class OutOfOrderSampleError extends SampleError {
  constructor(series: string, timestamp: number) {
    super('TSDB_OUT_OF_ORDER_SAMPLE', 'out of order sample', series, timestamp);
  }
}

/** Same timestamp as the series' newest sample but another value (ErrDuplicateSampleForTimestamp). */
export class DuplicateSampleError extends SampleError {
  constructor(series: string, timestamp: number) {
    super('TSDB_DUPLICATE_SAMPLE_FOR_TIMESTAMP', 'duplicate sample for timestamp', series, timestamp);
  }
}

/**
 * The sample is older than the head accepts: before its compaction window or a persisted block
 * (ErrOutOfBounds).
 */
export class OutOfBoundsError extends SampleError {
  constructor(series: string, timestamp: number) {
    super('TSDB_OUT_OF_BOUNDS', 'out of bounds', series, timestamp);
  }
}

/** With an out-of-order window, the sample is older than the window allows (ErrTooOldSample). */
export class TooOldSampleError extends SampleError {
  constructor(series: string, timestamp: number) {
    super('TSDB_TOO_OLD_SAMPLE', 'too old sample', series, timestamp);
  }
}

/** The labels cannot name a series: empty, or a duplicate label name (ErrInvalidSample). */
export class InvalidSampleError extends SampleError {
  constructor(series: string, timestamp: number, detail: string) {
    super('TSDB_INVALID_SAMPLE', `${detail}: invalid sample`, series, timestamp);
  }
}

/** A series reference the head does not know (garbage collected, or never handed out). */
export class UnknownSeriesRefError extends ThanosError {
  constructor(readonly ref: number) {
    super('TSDB_UNKNOWN_SERIES_REF', `unknown series ref ${ref}: append by labels instead`);
  }
}

/** Creating the series would take the head past its `maxSeries` limit. */
export class SeriesLimitError extends ThanosError {
  constructor(
    readonly limit: number,
    readonly series: string,
  ) {
    super('TSDB_SERIES_LIMIT', `series limit of ${limit} exceeded: cannot create series ${series}`);
  }
}

/** One commit would hold more samples than `maxSamplesPerCommit` allows. */
export class CommitSampleLimitError extends ThanosError {
  constructor(readonly limit: number) {
    super('TSDB_SAMPLES_PER_COMMIT_LIMIT', `samples per commit limit of ${limit} exceeded: commit in smaller batches`);
  }
}

/** The appender was already committed or rolled back (Prometheus's ErrAppenderClosed text). */
export class AppenderClosedError extends ThanosError {
  constructor() {
    super('TSDB_APPENDER_CLOSED', 'append was already committed/rolled back');
  }
}

/** Writing the commit's records to the WAL failed; nothing of the commit was applied. */
export class WalWriteError extends ThanosError {
  constructor(cause: unknown) {
    super('TSDB_WAL_WRITE', `write to WAL: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** The DB (or head) was used after close(). */
export class ClosedError extends ThanosError {
  constructor(what: string) {
    super('TSDB_CLOSED', `${what} is closed`);
  }
}
