import { Counter, Gauge, type Registry } from 'prom-client';
import type { SyncState } from '../store/meta-fetcher.js';

/**
 * Metrics of `tools bucket web`: Thanos's meta fetcher metrics under its `thanos_bucket_` prefix
 * (cmd/thanos/tools_bucket.go), plus `thanos_bucket_web_refresh_degraded`.
 */
export interface BucketWebMetrics {
  syncs: Counter;
  syncFailures: Counter;
  synced: Gauge<'state'>;
  lastSuccess: Gauge;
  degraded: Gauge;
}

/** Every `state` value of `thanos_bucket_blocks_meta_synced`, set to 0 up front so dashboards see them all. */
const STATES: readonly (SyncState | 'duplicate')[] = [
  'loaded',
  'no-meta-json',
  'corrupted-meta-json',
  'failed',
  'time-excluded',
  'label-excluded',
  'duplicate',
];

/** Registers the bucket web metrics on `registry`. */
export function createBucketWebMetrics(registry: Registry): BucketWebMetrics {
  const registers = [registry];
  const synced = new Gauge<'state'>({
    name: 'thanos_bucket_blocks_meta_synced',
    help: 'Number of block metadata synced',
    labelNames: ['state'],
    registers,
  });
  for (const state of STATES) synced.set({ state }, 0);
  return {
    syncs: new Counter({
      name: 'thanos_bucket_blocks_meta_syncs_total',
      help: 'Total blocks metadata synchronization attempts',
      registers,
    }),
    syncFailures: new Counter({
      name: 'thanos_bucket_blocks_meta_sync_failures_total',
      help: 'Total blocks metadata synchronization failures',
      registers,
    }),
    synced,
    lastSuccess: new Gauge({
      name: 'thanos_bucket_blocks_meta_last_successful_sync_time_seconds',
      help: 'Unix time of the last successful refresh of the blocks view (thanos-ts).',
      registers,
    }),
    degraded: new Gauge({
      name: 'thanos_bucket_web_refresh_degraded',
      help: 'Set to 1 while the last refresh of the blocks view failed; the page shows the last good view (thanos-ts).',
      registers,
    }),
  };
}
