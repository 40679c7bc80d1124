import { ThanosError } from '@thanos-ts/tsdb';

/**
 * A group cannot be compacted safely (Thanos's HaltError): overlapping blocks without vertical
 * compaction, a corrupt source block, or a result that would overlap. `blocks` are the ULIDs that
 * caused it; the compactor puts a no-compact mark on them and quarantines the group.
 */
export class CompactionHaltError extends ThanosError {
  constructor(
    readonly group: string,
    readonly blocks: readonly string[],
    detail: string,
    options?: ErrorOptions,
  ) {
    super('CORE_COMPACT_HALT', `group ${group}: ${detail}`, options);
  }
}

/** The data directory has too little free space for the next compaction or downsampling. */
export class InsufficientDiskSpaceError extends ThanosError {
  constructor(
    readonly dir: string,
    readonly neededBytes: number,
    readonly freeBytes: number,
    what: string,
  ) {
    super(
      'CORE_COMPACT_DISK_SPACE',
      `${what}: needs ${neededBytes} bytes of scratch space in ${dir} (sources plus output), only ${freeBytes} free; free space or use a larger --data-dir volume`,
    );
  }
}

/** `tools bucket mark` was asked for something it cannot do: a bad ULID, an unknown marker, no details. */
export class InvalidMarkRequestError extends ThanosError {
  constructor(detail: string) {
    super('CORE_COMPACT_INVALID_MARK', detail);
  }
}
