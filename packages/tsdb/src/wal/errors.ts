import { join } from 'node:path';
import { CorruptionError, ThanosError } from '../errors.js';
import { segmentFileName } from './segments.js';

/**
 * A WAL segment does not hold what the format promises: a bad CRC, a fragment out of order, a
 * torn last record, a bad snappy block. `segment` and `offset` say where reading stopped, as
 * Prometheus's `wlog.CorruptionErr` does: `offset` is the number of bytes of the segment consumed
 * when the problem was found (the end of the bad fragment), which is what {@link repairWAL}
 * needs to keep every record that ended before it.
 */
export class WalCorruptionError extends CorruptionError {
  /** Stable code to branch on. */
  override readonly code: 'TSDB_WAL_CORRUPT' = 'TSDB_WAL_CORRUPT';
  /** The directory holding the segment (the WAL or a checkpoint directory). */
  readonly dir: string;
  /** Index of the corrupt segment. */
  readonly segment: number;
  /** What was wrong, in Prometheus's words (e.g. `unexpected checksum 1a2b, expected 3c4d`). */
  readonly detail: string;

  constructor(dir: string, segment: number, offset: number, detail: string, options?: ErrorOptions) {
    const file = join(dir, segmentFileName(segment));
    super(file, offset, detail, options);
    this.dir = dir;
    this.segment = segment;
    this.detail = detail;
    // Prometheus's CorruptionErr.Error() text, so logs read the same in both.
    this.message = `corruption in segment ${file} at ${offset}: ${detail}`;
  }
}

/**
 * A WAL record's bytes do not decode as its type says (Prometheus's record.Decoder errors).
 * `offset` is the byte within the record where decoding failed.
 */
export class WalRecordError extends ThanosError {
  constructor(
    readonly recordType: number,
    readonly offset: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('TSDB_WAL_BAD_RECORD', `decode WAL record of type ${recordType} at byte ${offset}: ${detail}`, options);
  }
}
