import { ThanosError } from '@thanos-ts/tsdb';

// Errors shared across core's components. A component's own errors live in its folder
// (`storeapi/errors.ts`, `sidecar/errors.ts`, `rule/errors.ts`, …); every code starts with CORE_.

/**
 * Bytes received over the wire (a gRPC message, a remote-read frame, a remote-write body) that do
 * not decode as the protobuf they claim to be. Distinct from `CorruptionError`, which means data
 * at rest (a block in a bucket) is damaged: a bad peer or client is not a reason to stop serving
 * a block.
 */
export class WireDecodeError extends ThanosError {
  constructor(
    /** The message being decoded, e.g. 'SeriesResponse' or 'WriteRequest'. */
    readonly what: string,
    /** Byte offset where decoding failed. */
    readonly offset: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('CORE_WIRE_DECODE', `${what} at byte ${offset}: ${detail}`, options);
  }
}
