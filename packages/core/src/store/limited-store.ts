import { Counter, type Registry } from 'prom-client';
import { StoreAPIError } from '../storeapi/errors.js';
import type { SeriesRequest, SeriesResponse, StoreAPI } from '../storeapi/store-api.js';
import { MAX_SAMPLES_PER_CHUNK } from './limits.js';

/** gRPC RESOURCE_EXHAUSTED, as Thanos answers a Series call over --store.limits.*. */
const RESOURCE_EXHAUSTED = 8;

/** Options of {@link limitStoreSeries} (Thanos's SeriesSelectLimits). */
export interface SeriesSelectLimits {
  /** Series one Series call may return (--store.limits.request-series). 0: no limit. */
  seriesPerRequest?: number;
  /**
   * Samples one Series call may return (--store.limits.request-samples), counted as
   * 120 per chunk as Thanos does. 0: no limit.
   */
  samplesPerRequest?: number;
  /** Where `thanos_store_selects_dropped_total{reason}` is registered. Default: not exported. */
  registry?: Registry;
}

/**
 * A StoreAPI whose Series calls stop with RESOURCE_EXHAUSTED once they have sent more series or
 * samples than allowed (Thanos's NewLimitedStoreServer, used by the receiver over its TSDBs, where
 * the store gateway checks its limits from postings instead). The error names the flag:
 * `failed to send series: limit 10 violated (got 11) (--store.limits.request-series)`. Without
 * limits the store is returned as is.
 */
export function limitStoreSeries(store: StoreAPI, limits: SeriesSelectLimits): StoreAPI {
  const maxSeries = limits.seriesPerRequest ?? 0;
  const maxSamples = limits.samplesPerRequest ?? 0;
  if (maxSeries <= 0 && maxSamples <= 0) return store;
  const dropped = new Counter({
    name: 'thanos_store_selects_dropped_total',
    help: 'Number of select queries that were dropped due to configured limits.',
    labelNames: ['reason'],
    registers: limits.registry ? [limits.registry] : [],
  });
  const exceeded = (what: 'series' | 'samples', limit: number, got: number, reason: string) => {
    dropped.inc({ reason });
    const flag = what === 'series' ? 'store.limits.request-series' : 'store.limits.request-samples';
    return new StoreAPIError(
      'CORE_STORE_LIMIT',
      RESOURCE_EXHAUSTED,
      `failed to send ${what}: limit ${limit} violated (got ${got}) (--${flag})`,
    );
  };
  return {
    info: (signal) => store.info(signal),
    labelNames: (req, signal) => store.labelNames(req, signal),
    labelValues: (req, signal) => store.labelValues(req, signal),
    async *series(req: SeriesRequest, signal?: AbortSignal): AsyncGenerator<SeriesResponse> {
      let series = 0;
      let samples = 0;
      for await (const r of store.series(req, signal)) {
        if (r.type === 'series') {
          series++;
          if (maxSeries > 0 && series > maxSeries) throw exceeded('series', maxSeries, series, 'series');
          samples += r.series.chunks.length * MAX_SAMPLES_PER_CHUNK;
          if (maxSamples > 0 && samples > maxSamples) throw exceeded('samples', maxSamples, samples, 'chunks');
        }
        yield r;
      }
    },
  };
}
