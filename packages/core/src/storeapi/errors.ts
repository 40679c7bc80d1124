import { ThanosError } from '@thanos-ts/tsdb';

/**
 * A StoreAPI call failed. `grpcCode` is the gRPC status code (as numbers in @grpc/grpc-js's
 * `status`) the failure maps to on the wire, so errors keep their meaning across hops.
 */
export class StoreAPIError extends ThanosError {
  constructor(
    code: string,
    readonly grpcCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** gRPC status codes used by the StoreAPI (values of grpc-js `status`). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
