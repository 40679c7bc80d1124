import { Counter, Gauge, Registry } from 'prom-client';
import type { Cache } from '../cache/cache.js';
import type { RequestCounter } from './bucket-range-source.js';

/** Prometheus metrics of one store gateway (Thanos's metric names where they exist). */
export interface StoreMetrics {
  registry: Registry;
  blocksLoaded: Gauge;
  blockLoads: Counter;
  blockLoadFailures: Counter;
  corruptedBlocks: Counter;
  blocksCorrupted: Gauge;
  blockDrops: Counter;
  metaSyncs: Counter;
  metaSyncFailures: Counter;
  metaSynced: Gauge<'state'>;
  lazyLoads: Counter;
  lazyUnloads: Counter;
  queriesDropped: Counter<'reason'>;
  seriesRequests: Counter;
  indexCacheRequests: Counter<'item_type'>;
  indexCacheHits: Counter<'item_type'>;
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
    corruptedBlocks: new Counter({
      name: 'thanos_ts_store_corrupted_blocks_total',
      help: 'Blocks found damaged (chunk checksum mismatch, truncated or missing file) while serving a query; each is no longer served until its meta.json changes.',
      registers,
    }),
    blocksCorrupted: new Gauge({
      name: 'thanos_ts_store_blocks_corrupted',
      help: 'Blocks currently not served because they were found damaged.',
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
    indexCacheRequests: new Counter({
      name: 'thanos_store_index_cache_requests_total',
      help: 'Total number of items requests to the cache.',
      labelNames: ['item_type'],
      registers,
    }),
    indexCacheHits: new Counter({
      name: 'thanos_store_index_cache_hits_total',
      help: 'Total number of items requests to the cache that were a hit.',
      labelNames: ['item_type'],
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
  // Backend-level counters of each cache (keys looked up, found, failed operations): a cache
  // server that is down shows as errors here while queries keep answering from the bucket.
  const backends = Object.entries(caches).filter((e): e is [string, Cache] => e[1] !== undefined);
  const backendGauge = (name: string, help: string, pick: (c: Cache) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['cache'],
      registers,
      collect() {
        for (const [which, cache] of backends) this.set({ cache: which }, pick(cache));
      },
    });
  backendGauge(
    'thanos_ts_store_cache_lookups',
    'Keys looked up in the cache backend since start.',
    (c) => c.stats().requests,
  );
  backendGauge('thanos_ts_store_cache_hits', 'Keys found in the cache backend since start.', (c) => c.stats().hits);
  backendGauge(
    'thanos_ts_store_cache_errors',
    'Failed cache backend operations (counted as misses) since start.',
    (c) => c.stats().errors,
  );
  return m;
}
