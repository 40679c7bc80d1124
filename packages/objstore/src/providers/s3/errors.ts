import { ObjectNotFoundError, ObjstoreError, ObjstoreOperationError } from '../../errors.js';

/** Codes of errors that come from the network rather than from S3's answer. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

/** S3 error codes that say "try again later". */
const TRANSIENT_S3_CODES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestLimitExceeded',
]);

const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
]);

interface SdkError extends Error {
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/** Where a request went, to name in messages. */
export interface S3ErrorContext {
  bucket: string;
  endpointUrl: string;
}

/** The HTTP status of an SDK error, if the request got an answer. */
export function statusOf(err: unknown): number | undefined {
  const e = err as SdkError;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
}

/**
 * Turns whatever the AWS SDK threw into one of this package's typed errors with a one-line
 * message naming the setting to check. Aborts pass through untouched.
 */
export function mapS3Error(err: unknown, operation: string, objectName: string, ctx: S3ErrorContext): Error {
  if (err instanceof ObjstoreError) return err;
  const e = err as SdkError;
  if (e?.name === 'AbortError') return e;
  const status = statusOf(err);
  const s3Code = e?.name ?? '';
  if (s3Code === 'NoSuchKey' || (s3Code === 'NotFound' && status === 404)) {
    return new ObjectNotFoundError(objectName, ctx.bucket, { cause: err });
  }
  if (s3Code === 'NoSuchBucket') {
    return new ObjstoreOperationError(
      'ERR_OBJSTORE_BUCKET_NOT_FOUND',
      operation,
      objectName,
      `S3 bucket ${JSON.stringify(ctx.bucket)} does not exist at ${ctx.endpointUrl} (check config.bucket)`,
      false,
      { cause: err, status, setting: 'bucket' },
    );
  }
  if (CREDENTIAL_CODES.has(s3Code) || status === 403) {
    return new ObjstoreOperationError(
      'ERR_OBJSTORE_ACCESS_DENIED',
      operation,
      objectName,
      `access denied by ${ctx.endpointUrl}: ${s3Code || 'HTTP 403'} (check config.access_key and config.secret_key)`,
      false,
      { cause: err, status, setting: 'access_key' },
    );
  }
  const netCode = e?.code ?? (e?.cause as SdkError | undefined)?.code;
  if (status === undefined && (netCode !== undefined ? NETWORK_CODES.has(netCode) : false)) {
    return new ObjstoreOperationError(
      'ERR_OBJSTORE_UNREACHABLE',
      operation,
      objectName,
      `cannot reach S3 endpoint ${ctx.endpointUrl}: ${netCode} (check config.endpoint and config.insecure)`,
      // An unknown host will not appear by retrying; a refused or reset connection may.
      netCode !== 'ENOTFOUND',
      { cause: err, setting: 'endpoint' },
    );
  }
  if (status === undefined && (e?.name === 'TimeoutError' || /socket hang up|timed? ?out/i.test(e?.message ?? ''))) {
    return new ObjstoreOperationError(
      'ERR_OBJSTORE_UNREACHABLE',
      operation,
      objectName,
      `S3 request to ${ctx.endpointUrl} timed out: ${e.message}`,
      true,
      {
        cause: err,
        setting: 'http_config',
      },
    );
  }
  const retryable =
    TRANSIENT_S3_CODES.has(s3Code) ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    e?.$fault === 'server';
  const detail =
    status !== undefined
      ? `S3 ${s3Code || 'error'} (HTTP ${status}): ${oneLine(e?.message)}`
      : `S3 request failed: ${oneLine(e?.message ?? String(err))}`;
  return new ObjstoreOperationError('ERR_OBJSTORE_REQUEST', operation, objectName, detail, retryable, {
    cause: err,
    status,
  });
}

function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim() || 'no details';
}
