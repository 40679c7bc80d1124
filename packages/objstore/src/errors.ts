/**
 * Typed errors of @thanos-ts/objstore. objstore is a leaf package (it depends on no other
 * thanos-ts package), so it defines its own base class; every error carries a stable `code`
 * that callers and tests can match on instead of parsing messages.
 */

/** Base class of every error raised by this package. `code` is stable across releases. */
export class ObjstoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The object does not exist. Thanos's `IsObjNotFoundErr` is true for exactly these. */
export class ObjectNotFoundError extends ObjstoreError {
  constructor(
    readonly objectName: string,
    readonly bucketName: string,
    options?: { cause?: unknown },
  ) {
    super('OBJSTORE_NOT_FOUND', `object ${JSON.stringify(objectName)} not found in bucket ${bucketName}`, options);
  }
}

/** The objstore YAML (or an options object) is invalid; the message names the setting. */
export class ObjstoreConfigError extends ObjstoreError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('OBJSTORE_CONFIG', `objstore config: ${detail}`, options);
  }
}

/** A caller passed an argument the bucket cannot honour (empty name, `..`, negative offset). */
export class ObjstoreInvalidArgumentError extends ObjstoreError {
  constructor(detail: string) {
    super('OBJSTORE_INVALID_ARGUMENT', detail);
  }
}

/**
 * A bucket operation failed. `retryable` is true for transient failures (network errors,
 * HTTP 5xx, 429 and S3's SlowDown) that the retry wrapper may try again; `setting` names the
 * config key most likely at fault (e.g. `endpoint`, `access_key`) so the message can point at it.
 */
export class ObjstoreOperationError extends ObjstoreError {
  constructor(
    code: string,
    readonly operation: string,
    readonly objectName: string,
    detail: string,
    readonly retryable: boolean,
    options?: { cause?: unknown; status?: number; setting?: string },
  ) {
    const target = objectName === '' ? '' : ` ${JSON.stringify(objectName)}`;
    super(code, `${operation}${target}: ${detail}`, options);
    this.status = options?.status;
    this.setting = options?.setting;
  }
  /** HTTP status of the failed request, when there was one. */
  readonly status: number | undefined;
  /** The config key a user should look at, when the failure points at one. */
  readonly setting: string | undefined;
}

/** True when `err` says the object does not exist (any backend, any wrapper). */
export function isObjNotFoundErr(err: unknown): err is ObjectNotFoundError {
  return err instanceof ObjectNotFoundError;
}

/** True when `err` is a transient failure worth retrying (never for not-found or aborts). */
export function isRetryableErr(err: unknown): boolean {
  return err instanceof ObjstoreOperationError && err.retryable;
}

/** True when `err` is the rejection of an aborted `AbortSignal`. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** A provider's error message on one line, for log lines and error texts. */
export function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim() || 'no details';
}
