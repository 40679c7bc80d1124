import { ThanosError } from '@thanos-ts/tsdb';

/**
 * A call to Prometheus's HTTP API failed: not reachable, a non-2xx answer or a body that is not
 * what the API promises. `url` is the exact URL asked, `status` the HTTP status (0 when no answer
 * came), so operators can tell a wrong --prometheus.url from a Prometheus that is still starting.
 */
export class PrometheusAPIError extends ThanosError {
  constructor(
    readonly url: string,
    readonly status: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('CORE_PROMETHEUS_API', `${url}: ${detail}`, options);
  }
}

/** Prometheus's remote-read endpoint failed or sent a stream that does not follow its format. */
export class RemoteReadError extends ThanosError {
  constructor(
    readonly url: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('CORE_REMOTE_READ', `remote read ${url}: ${detail}`, options);
  }
}

/**
 * Prometheus has no external labels. Thanos refuses to run a sidecar then: without labels that
 * uniquely identify this Prometheus its data cannot be told apart from any other in a querier or
 * in the bucket.
 */
export class NoExternalLabelsError extends ThanosError {
  constructor(readonly prometheusUrl: string) {
    super(
      'CORE_NO_EXTERNAL_LABELS',
      `no external labels configured on Prometheus server, uniquely identifying external labels must be configured (Prometheus at ${prometheusUrl}: set global.external_labels in its configuration); see https://thanos.io/tip/thanos/storage.md#external-labels for details`,
    );
  }
}

/** Uploading a block (or keeping the shipper's state file) failed. */
export class ShipperError extends ThanosError {
  constructor(message: string, options?: ErrorOptions) {
    super('CORE_SHIPPER', message, options);
  }
}
