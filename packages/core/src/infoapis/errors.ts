import { ThanosError } from '@thanos-ts/tsdb';

/**
 * A Metadata, Targets or Exemplars call failed: Prometheus's API behind a sidecar answered an
 * error or could not be reached, or a store's gRPC call failed. The message names the URL or
 * endpoint and what was asked.
 */
export class InfoAPIError extends ThanosError {
  constructor(
    readonly api: 'metadata' | 'targets' | 'exemplars',
    message: string,
    options?: ErrorOptions,
  ) {
    super(`CORE_INFOAPI_${api.toUpperCase()}`, message, options);
  }
}
