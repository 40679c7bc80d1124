import { ObjectNotFoundError, ObjstoreError, ObjstoreOperationError, oneLine } from '../../errors.js';
import { describeTlsFailure } from '../http-agents.js';
import type { S3ConfigKeyNames } from './options.js';

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
  /** Config key names for messages (default: the S3 keys). */
  keys?: S3ConfigKeyNames;
}

const S3_KEYS: S3ConfigKeyNames = {
  bucket: 'bucket',
  endpoint: 'endpoint',
  accessKey: 'access_key',
  secretKey: 'secret_key',
  insecure: 'insecure',
};

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
  const keys = ctx.keys ?? S3_KEYS;
  if (status === undefined) {
    const tls = describeTlsFailure(err, ctx.endpointUrl);
    if (tls) {
      return new ObjstoreOperationError('OBJSTORE_TLS', operation, objectName, tls.detail, false, {
        cause: err,
        setting: tls.setting === 'insecure' ? keys.insecure : tls.setting,
      });
    }
  }
  if (s3Code === 'NoSuchKey' || (s3Code === 'NotFound' && status === 404)) {
    return new ObjectNotFoundError(objectName, ctx.bucket, { cause: err });
  }
  if (s3Code === 'NoSuchBucket') {
    return new ObjstoreOperationError(
      'OBJSTORE_BUCKET_NOT_FOUND',
      operation,
      objectName,
      `S3 bucket ${JSON.stringify(ctx.bucket)} does not exist at ${ctx.endpointUrl} (check config.${keys.bucket})`,
      false,
      { cause: err, status, setting: keys.bucket },
    );
  }
  if (CREDENTIAL_CODES.has(s3Code) || status === 403) {
    return new ObjstoreOperationError(
      'OBJSTORE_ACCESS_DENIED',
      operation,
      objectName,
      `access denied by ${ctx.endpointUrl}: ${s3Code || 'HTTP 403'} (check config.${keys.accessKey} and config.${keys.secretKey})`,
      false,
      { cause: err, status, setting: keys.accessKey },
    );
  }
  const netCode = e?.code ?? (e?.cause as SdkError | undefined)?.code;
  if (status === undefined && (netCode !== undefined ? NETWORK_CODES.has(netCode) : false)) {
    return new ObjstoreOperationError(
      'OBJSTORE_UNREACHABLE',
      operation,
      objectName,
      `cannot reach S3 endpoint ${ctx.endpointUrl}: ${netCode} (check config.${keys.endpoint} and config.${keys.insecure})`,
      // An unknown host will not appear by retrying; a refused or reset connection may.
      netCode !== 'ENOTFOUND',
      { cause: err, setting: keys.endpoint },
    );
  }
  if (status === undefined && (e?.name === 'TimeoutError' || /socket hang up|timed? ?out/i.test(e?.message ?? ''))) {
    return new ObjstoreOperationError(
      'OBJSTORE_UNREACHABLE',
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
  return new ObjstoreOperationError('OBJSTORE_REQUEST', operation, objectName, detail, retryable, {
    cause: err,
    status,
  });
}
