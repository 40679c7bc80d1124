import { Counter, Gauge, Registry } from 'prom-client';
import type { Cache } from '../cache/cache.js';
import type { RequestCounter } from './bucket-range-source.js';

/** Prometheus metrics of one store gateway (Thanos's metric names where they exist). */
export interface StoreMetrics {
  registry: Registry;
  blocksLoaded: Gauge;
  blockLoads: Counter;
  blockLoadFailures: Counter;
  blockDrops: Counter;
  metaSyncs: Counter;
  metaSyncFailures: Counter;
  metaSynced: Gauge<'state'>;
  lazyLoads: Counter;
  lazyUnloads: Counter;
  queriesDropped: Counter<'reason'>;
  seriesRequests: Counter;
}

/** Creates the metrics on `registry` (a private one when absent, so two gateways never clash). */
export function createStoreMetrics(
  registry: Registry | undefined,
  caches: { index?: Cache | undefined; bucket?: Cache | undefined },
  counter: RequestCounter,
): StoreMetrics {
  const reg = registry ?? new Registry();
  const registers = [reg];
  const m: StoreMetrics = {
    registry: reg,
    blocksLoaded: new Gauge({
      name: 'thanos_bucket_store_blocks_loaded',
      help: 'Number of currently loaded blocks.',
      registers,
    }),
    blockLoads: new Counter({
      name: 'thanos_bucket_store_block_loads_total',
      help: 'Total number of remote block loading attempts.',
      registers,
    }),
    blockLoadFailures: new Counter({
      name: 'thanos_bucket_store_block_load_failures_total',
      help: 'Total number of failed remote block loading attempts (corrupt or unreadable blocks).',
      registers,
    }),
    blockDrops: new Counter({
      name: 'thanos_bucket_store_block_drops_total',
      help: 'Total number of local blocks that were dropped.',
      registers,
    }),
    metaSyncs: new Counter({
      name: 'thanos_blocks_meta_syncs_total',
      help: 'Total blocks metadata synchronization attempts.',
      registers,
    }),
    metaSyncFailures: new Counter({
      name: 'thanos_blocks_meta_sync_failures_total',
      help: 'Total blocks metadata synchronization failures.',
      registers,
    }),
    metaSynced: new Gauge({
      name: 'thanos_blocks_meta_synced',
      help: 'Number of block metadata synced, by state.',
      labelNames: ['state'],
      registers,
    }),
    lazyLoads: new Counter({
      name: 'thanos_bucket_store_indexheader_lazy_load_total',
      help: 'Total number of index-header lazy load operations.',
      registers,
    }),
    lazyUnloads: new Counter({
      name: 'thanos_bucket_store_indexheader_lazy_unload_total',
      help: 'Total number of index-header lazy unload operations.',
      registers,
    }),
    queriesDropped: new Counter({
      name: 'thanos_bucket_store_queries_dropped_total',
      help: 'Number of queries that were dropped due to the limit.',
      labelNames: ['reason'],
      registers,
    }),
    seriesRequests: new Counter({
      name: 'thanos_bucket_store_series_requests_total',
      help: 'Total Series calls.',
      registers,
    }),
  };
  new Gauge({
    name: 'thanos_store_bucket_range_requests',
    help: 'Ranged GET requests made to object storage by this gateway since start.',
    registers,
    collect() {
      this.set(counter.getRange);
    },
  });
  for (const [item, cache] of Object.entries(caches)) {
    if (!cache) continue;
    new Gauge({
      name: `thanos_store_${item}_cache_requests`,
      help: `Keys looked up in the ${item} cache since start.`,
      registers,
      collect() {
        this.set(cache.stats().requests);
      },
    });
    new Gauge({
      name: `thanos_store_${item}_cache_hits`,
      help: `Keys found in the ${item} cache since start.`,
      registers,
      collect() {
        this.set(cache.stats().hits);
      },
    });
  }
  return m;
}
