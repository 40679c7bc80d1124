import type { ServerResponse } from 'node:http';
import { ThanosError } from '@thanos-ts/tsdb';

/** Prometheus's API error types. */
export type APIErrorType =
  | 'bad_data'
  | 'execution'
  | 'timeout'
  | 'canceled'
  | 'internal'
  | 'unavailable'
  | 'not_found'
  | 'not_acceptable';

const STATUS: Record<APIErrorType, number> = {
  bad_data: 400,
  execution: 422,
  // Prometheus answers a cancelled query with nginx's "client closed request".
  canceled: 499,
  timeout: 503,
  internal: 500,
  unavailable: 503,
  not_found: 404,
  not_acceptable: 406,
};

/** An error answered as `{"status":"error","errorType":…,"error":…}` with Prometheus's HTTP status. */
export class APIError extends ThanosError {
  constructor(
    readonly type: APIErrorType,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`CORE_API_${type.toUpperCase()}`, message, options);
  }

  /** The HTTP status Prometheus uses for this error type. */
  get status(): number {
    return STATUS[this.type];
  }
}

/** `invalid parameter "<name>": <err>` as bad_data (Prometheus's invalidParamError). */
export function invalidParam(name: string, err: unknown): APIError {
  const msg = err instanceof Error ? err.message : String(err);
  return new APIError('bad_data', `invalid parameter ${JSON.stringify(name)}: ${msg}`, { cause: err });
}

/** Classifies an error from query execution like Prometheus's returnAPIError. */
export function apiErrorOf(err: unknown): APIError {
  if (err instanceof APIError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const code = err instanceof ThanosError ? err.code : '';
  if (code === 'PROMQL_TIMEOUT' || (err instanceof Error && err.name === 'TimeoutError')) {
    return new APIError('timeout', msg, { cause: err });
  }
  if (code === 'PROMQL_CANCELED' || (err instanceof Error && err.name === 'AbortError')) {
    return new APIError('canceled', msg, { cause: err });
  }
  // The evaluation workers are shut down or saturated: the querier cannot take the query now.
  if (code === 'PROMQL_POOL_QUEUE_FULL' || code === 'PROMQL_POOL_CLOSED')
    return new APIError('unavailable', msg, { cause: err });
  // Parse errors and the engine's rejections of a query's shape (Prometheus raises these when
  // creating the query, before executing it) are the client's fault.
  if (code === 'PROMQL_PARSE' || code === 'INVALID_ARGUMENT') return invalidParam('query', err);
  return new APIError('execution', msg, { cause: err });
}

/** Writes a Prometheus-shaped JSON error. */
export function writeAPIError(res: ServerResponse, err: APIError, data?: unknown): void {
  const body: Record<string, unknown> = { status: 'error', errorType: err.type, error: err.message };
  if (data !== undefined) body.data = data;
  const text = JSON.stringify(body);
  res.writeHead(err.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes `{"status":"success","data":<dataJSON>,"warnings":[…],"infos":[…]}`; `dataJSON` is JSON text or its UTF-8 bytes. */
export function writeSuccess(
  res: ServerResponse,
  dataJSON: string | Buffer,
  warnings: readonly string[] = [],
  infos: readonly string[] = [],
): void {
  let tail = '';
  if (warnings.length > 0) tail += `,"warnings":${JSON.stringify(warnings)}`;
  if (infos.length > 0) tail += `,"infos":${JSON.stringify(infos)}`;
  tail += '}';
  const head = '{"status":"success","data":';
  if (typeof dataJSON === 'string') {
    const text = head + dataJSON + tail;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  // Large answers come as bytes: written as they are, never joined into one string.
  const length = head.length + dataJSON.length + Buffer.byteLength(tail);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': length });
  res.write(head);
  res.write(dataJSON);
  res.end(tail);
}
