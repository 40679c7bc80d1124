import { StoreAPIError } from '../storeapi/errors.js';

/** A Series request touched more series or samples than --store.limits.* allow (gRPC ResourceExhausted). */
export class StoreLimitError extends StoreAPIError {
  constructor(
    readonly kind: 'series' | 'samples',
    readonly limit: number,
    readonly got: number,
  ) {
    // 8 = gRPC RESOURCE_EXHAUSTED, as Thanos answers.
    super('ERR_STORE_LIMIT', 8, `exceeded ${kind} limit: limit ${limit} violated (got ${got})`);
  }
}

/** Per-request limits: 0 means unlimited (Thanos's defaults). */
export interface RequestLimits {
  /** --store.limits.request-series: series one Series call may touch. */
  seriesPerRequest?: number;
  /** --store.limits.request-samples: samples one Series call may return (counted from chunk headers). */
  samplesPerRequest?: number;
}

/**
 * Counts what one Series request reserves and throws StoreLimitError as soon as a limit is
 * crossed, before the data is fetched (like Thanos's Limiter.Reserve).
 */
export class RequestLimiter {
  private series = 0;
  private samples = 0;

  constructor(private readonly limits: RequestLimits) {}

  /** Reserves `n` more series. */
  reserveSeries(n: number): void {
    this.series += n;
    const limit = this.limits.seriesPerRequest ?? 0;
    if (limit > 0 && this.series > limit) throw new StoreLimitError('series', limit, this.series);
  }

  /** Reserves `n` more samples. */
  reserveSamples(n: number): void {
    this.samples += n;
    const limit = this.limits.samplesPerRequest ?? 0;
    if (limit > 0 && this.samples > limit) throw new StoreLimitError('samples', limit, this.samples);
  }
}
