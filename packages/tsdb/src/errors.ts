/**
 * Base class of every error thanos-ts throws on purpose. `code` is stable and safe to branch on;
 * the message says what was wrong and where (file and offset, flag, query position).
 */
export class ThanosError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A file on disk or in a bucket does not hold what its format promises. */
export class CorruptionError extends ThanosError {
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('TSDB_CORRUPT_BLOCK', `${file} at byte ${offset}: ${detail}`, options);
  }
}

/** Input from a user (flag, config, query parameter, request body) is not acceptable. */
export class InvalidArgumentError extends ThanosError {
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_ARGUMENT', message, options);
  }
}
