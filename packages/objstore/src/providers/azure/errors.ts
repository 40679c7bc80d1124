import { ObjectNotFoundError, ObjstoreError, ObjstoreOperationError, oneLine } from '../../errors.js';
import { describeTlsFailure } from '../http-agents.js';

/** Where a request went and which keys configured it, to name in messages. */
export interface AzureErrorContext {
  container: string;
  /** The container URL, e.g. https://acct.blob.core.windows.net/thanos. */
  url: string;
  /** The key holding the credentials and the address ("storage_connection_string" or the account keys). */
  credentialKey: string;
  addressKey: string;
}

/** Network failures with no HTTP answer (core-rest-pipeline copies Node's code onto RestError). */
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
  'REQUEST_SEND_ERROR',
]);

/** Azure error codes meaning "try again later" (besides any 5xx). */
const TRANSIENT_CODES = new Set(['ServerBusy', 'OperationTimedOut', 'InternalError']);

/** Authentication and authorisation failures (Thanos's `IsAccessDeniedErr` plus bad signatures). */
const ACCESS_CODES = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'InsufficientAccountPermissions',
  'AccountIsDisabled',
]);

interface RestErrorLike extends Error {
  code?: string;
  statusCode?: number;
  details?: { errorCode?: string };
  response?: { headers?: { get(name: string): string | undefined } };
  cause?: unknown;
}

/** The Azure error code of a failed call (body `Code` or the x-ms-error-code header of a HEAD). */
export function azureErrorCode(err: unknown): string | undefined {
  const e = err as RestErrorLike | undefined;
  return e?.details?.errorCode ?? e?.response?.headers?.get('x-ms-error-code') ?? e?.code;
}

/** The HTTP status of a failed call, when the service answered. */
export function azureStatus(err: unknown): number | undefined {
  return (err as RestErrorLike | undefined)?.statusCode;
}

/**
 * Turns what @azure/storage-blob threw into this package's typed errors, one line each, naming
 * the config key to check. Aborts pass through untouched. `BlobNotFound` (and a 404 HEAD on a
 * blob) is `ObjectNotFoundError`, as Thanos's `IsObjNotFoundErr`.
 */
export function mapAzureError(err: unknown, operation: string, objectName: string, ctx: AzureErrorContext): Error {
  if (err instanceof ObjstoreError) return err as Error;
  const e = err as RestErrorLike;
  if (e?.name === 'AbortError') return e;
  const status = azureStatus(err);
  const code = azureErrorCode(err) ?? '';
  if (code === 'ContainerNotFound') {
    return new ObjstoreOperationError(
      'OBJSTORE_BUCKET_NOT_FOUND',
      operation,
      objectName,
      `Azure container ${JSON.stringify(ctx.container)} does not exist at ${ctx.url} (check config.container, or set storage_create_container: true)`,
      false,
      { cause: err, status, setting: 'container' },
    );
  }
  if (code === 'BlobNotFound' || code === 'InvalidURI' || (status === 404 && objectName !== '')) {
    return new ObjectNotFoundError(objectName, ctx.container, { cause: err });
  }
  if (ACCESS_CODES.has(code) || status === 403) {
    return new ObjstoreOperationError(
      'OBJSTORE_ACCESS_DENIED',
      operation,
      objectName,
      `access denied by ${ctx.url}: ${code || 'HTTP 403'} (check config.${ctx.credentialKey})`,
      false,
      { cause: err, status, setting: ctx.credentialKey },
    );
  }
  if (status === undefined) {
    const tls = describeTlsFailure(err, ctx.url);
    if (tls) {
      return new ObjstoreOperationError('OBJSTORE_TLS', operation, objectName, tls.detail, false, {
        cause: err,
        setting: tls.setting === 'insecure' ? ctx.addressKey : tls.setting,
      });
    }
    const netCode = NETWORK_CODES.has(code) ? code : ((e?.cause as { code?: string } | undefined)?.code ?? '');
    if (NETWORK_CODES.has(netCode)) {
      return new ObjstoreOperationError(
        'OBJSTORE_UNREACHABLE',
        operation,
        objectName,
        `cannot reach Azure blob endpoint ${ctx.url}: ${netCode} (check config.${ctx.addressKey})`,
        // An unknown host will not appear by retrying; a refused or reset connection may.
        netCode !== 'ENOTFOUND',
        { cause: err, setting: ctx.addressKey },
      );
    }
    if (e?.name === 'TimeoutError' || /timed? ?out|socket hang up/i.test(e?.message ?? '')) {
      return new ObjstoreOperationError(
        'OBJSTORE_UNREACHABLE',
        operation,
        objectName,
        `Azure request to ${ctx.url} timed out: ${oneLine(e?.message)} (check config.http_config and pipeline_config.try_timeout)`,
        true,
        { cause: err, setting: 'http_config' },
      );
    }
  }
  const retryable = TRANSIENT_CODES.has(code) || status === 429 || (status !== undefined && status >= 500);
  const detail =
    status !== undefined
      ? `Azure ${code || 'error'} (HTTP ${status}): ${oneLine(e?.message)}`
      : `Azure request failed: ${oneLine(e?.message ?? String(err))}`;
  return new ObjstoreOperationError('OBJSTORE_REQUEST', operation, objectName, detail, retryable, {
    cause: err,
    status,
  });
}
