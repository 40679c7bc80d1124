import { ThanosError } from '@thanos-ts/tsdb';

/**
 * How a failed write is answered, as Thanos's receive handler classifies errors
 * (pkg/receive/handler.go): `conflict` (409 / gRPC AlreadyExists) and `bad-data` (400 /
 * InvalidArgument) are never retried by the sender; `unavailable` (503 / Unavailable) and
 * `internal` (500 / Internal) are.
 */
export type WriteFailureKind = 'conflict' | 'bad-data' | 'unavailable' | 'internal';

/** HTTP status of each failure kind, as Thanos answers remote write. */
export const HTTP_STATUS_OF: Readonly<Record<WriteFailureKind, number>> = {
  conflict: 409,
  'bad-data': 400,
  unavailable: 503,
  internal: 500,
};

/**
 * A remote-write request (or a forwarded one) that failed in whole or in part. The message is
 * Thanos's: reasons such as `add 3 samples: out of order sample`, sorted and joined with `; `,
 * prefixed by `N errors: ` when there are several.
 */
export class WriteError extends ThanosError {
  constructor(
    readonly kind: WriteFailureKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(
      kind === 'conflict'
        ? 'CORE_RECEIVE_CONFLICT'
        : kind === 'bad-data'
          ? 'CORE_RECEIVE_BAD_DATA'
          : kind === 'unavailable'
            ? 'CORE_RECEIVE_UNAVAILABLE'
            : 'CORE_RECEIVE_INTERNAL',
      message,
      options,
    );
  }

  /** The HTTP status a remote-write client gets for this error. */
  get status(): number {
    return HTTP_STATUS_OF[this.kind];
  }
}

/** The request body is not a snappy-compressed remote-write protobuf (answered with 400). */
export class DecodeRequestError extends ThanosError {
  constructor(detail: string, options?: ErrorOptions) {
    super('CORE_RECEIVE_DECODE', detail, options);
  }
}

/** The tenant named in the tenant header cannot be a directory name (Thanos: `tenant name not valid`). */
export class InvalidTenantError extends ThanosError {
  constructor(readonly tenant: string) {
    super('CORE_RECEIVE_TENANT_INVALID', `tenant name not valid: ${JSON.stringify(tenant)}`);
  }
}

/**
 * A configured limit refused the request; the message names the limit and its value. `status`
 * is Thanos's: 413 for request size, series and samples limits, 429 for the active-series limit.
 */
export class LimitError extends ThanosError {
  constructor(
    /** Which limit: a key of the limits file, such as `request.series_limit` or `head_series_limit`. */
    readonly limit: string,
    readonly status: 413 | 429,
    message: string,
  ) {
    super('CORE_RECEIVE_LIMIT', message);
  }
}

/** The hashring (or limits) configuration cannot be used; says which file and what is wrong. */
export class ReceiveConfigError extends ThanosError {
  constructor(what: string, detail: string, options?: ErrorOptions) {
    super('CORE_RECEIVE_CONFIG', `${what}: ${detail}`, options);
  }
}

/** A hashring has fewer endpoints than a replica asks for (Thanos's insufficientNodesError text). */
export class InsufficientNodesError extends ThanosError {
  constructor(
    readonly have: number,
    readonly want: number,
  ) {
    super('CORE_RECEIVE_INSUFFICIENT_NODES', `insufficient nodes; have ${have}, want ${want}`);
  }
}

/** Closing an idle tenant failed; its TSDB stays (or is re-opened) and the next prune retries. */
export class PruneTenantError extends ThanosError {
  constructor(
    readonly tenant: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('CORE_RECEIVE_PRUNE', `prune tenant ${tenant}: ${detail}`, options);
  }
}
