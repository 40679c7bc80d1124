import { ThanosError } from '@thanos-ts/tsdb';

/**
 * A response the frontend must pass back as it is: a downstream answer with a non-2xx status, or
 * the frontend's own rejection of a request (bad parameters, a limit). `body` is the response text
 * (Prometheus's error JSON when the downstream sent one), `status` its HTTP status.
 */
export class FrontendHTTPError extends ThanosError {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType = 'application/json',
    message = `HTTP ${status}: ${body.slice(0, 200)}`,
    options?: ErrorOptions,
  ) {
    super('CORE_FRONTEND_HTTP', message, options);
  }

  /** A Prometheus-shaped JSON error (`{"status":"error","errorType":…,"error":…}`). */
  static api(status: number, errorType: string, error: string): FrontendHTTPError {
    return new FrontendHTTPError(
      status,
      JSON.stringify({ status: 'error', errorType, error }),
      'application/json',
      error,
    );
  }
}

/** The downstream could not be reached or sent something that is not a Prometheus answer. */
export class DownstreamError extends ThanosError {
  constructor(
    readonly url: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('CORE_FRONTEND_DOWNSTREAM', `query-frontend downstream ${url}: ${detail}`, options);
  }
}

/** A bad query-frontend configuration (cache YAML, split interval, downstream URL). */
export class FrontendConfigError extends ThanosError {
  constructor(message: string, options?: ErrorOptions) {
    super('CORE_FRONTEND_CONFIG', message, options);
  }
}
