import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The compactor's metrics, with Thanos's names (cmd/thanos/compact.go, pkg/compact). */
export interface CompactorMetrics {
  halted: Gauge;
  quarantinedGroups: Gauge;
  retried: Counter;
  iterations: Counter;
  blocksCleaned: Counter;
  blockCleanupFailures: Counter;
  partialUploadDeleteAttempts: Counter;
  blocksMarked: Counter<'marker' | 'reason'>;
  garbageCollectedBlocks: Counter;
  compactions: Counter<'resolution'>;
  compactionRunsStarted: Counter<'resolution'>;
  compactionRunsCompleted: Counter<'resolution'>;
  compactionFailures: Counter<'resolution'>;
  verticalCompactions: Counter<'resolution'>;
  downsamples: Counter<'resolution'>;
  downsampleFailures: Counter<'resolution'>;
  downsampleDuration: Histogram<'resolution'>;
  deleteDelay: Gauge;
}

/** Registers the compactor's metrics on `registry`. */
export function createCompactorMetrics(registry: Registry): CompactorMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });
  return {
    halted: new Gauge({
      name: 'thanos_compact_halted',
      help: 'Set to 1 if the compactor halted due to an unexpected error (thanos-ts: a group is quarantined).',
      registers,
    }),
    quarantinedGroups: new Gauge({
      name: 'thanos_compact_quarantined_groups',
      help: 'Compaction groups holding blocks the compactor marked no-compact after a critical error.',
      registers,
    }),
    retried: counter('thanos_compact_retries_total', 'Total number of retries after retriable compactor error.'),
    iterations: counter(
      'thanos_compact_iterations_total',
      'Total number of iterations that were executed successfully.',
    ),
    blocksCleaned: counter('thanos_compact_blocks_cleaned_total', 'Total number of blocks deleted in compactor.'),
    blockCleanupFailures: counter(
      'thanos_compact_block_cleanup_failures_total',
      'Failures encountered while deleting blocks in compactor.',
    ),
    partialUploadDeleteAttempts: counter(
      'thanos_compact_aborted_partial_uploads_deletion_attempts_total',
      'Total number of started deletions of blocks that are assumed aborted and only partially uploaded.',
    ),
    blocksMarked: counter('thanos_compact_blocks_marked_total', 'Total number of blocks marked in compactor.', [
      'marker',
      'reason',
    ]),
    garbageCollectedBlocks: counter(
      'thanos_compact_garbage_collected_blocks_total',
      'Total number of blocks marked for deletion by compactor.',
    ),
    compactions: counter(
      'thanos_compact_group_compactions_total',
      'Total number of group compaction attempts that resulted in a new block.',
      ['resolution'],
    ),
    compactionRunsStarted: counter(
      'thanos_compact_group_compaction_runs_started_total',
      'Total number of group compaction attempts.',
      ['resolution'],
    ),
    compactionRunsCompleted: counter(
      'thanos_compact_group_compaction_runs_completed_total',
      'Total number of group completed compaction runs. This also includes compactor group runs that resulted with no compaction.',
      ['resolution'],
    ),
    compactionFailures: counter(
      'thanos_compact_group_compactions_failures_total',
      'Total number of failed group compactions.',
      ['resolution'],
    ),
    verticalCompactions: counter(
      'thanos_compact_group_vertical_compactions_total',
      'Total number of group compaction attempts that resulted in a new block based on overlapping blocks.',
      ['resolution'],
    ),
    downsamples: counter('thanos_compact_downsample_total', 'Total number of downsampling attempts.', ['resolution']),
    downsampleFailures: counter(
      'thanos_compact_downsample_failures_total',
      'Total number of failed downsampling attempts.',
      ['resolution'],
    ),
    downsampleDuration: new Histogram({
      name: 'thanos_compact_downsample_duration_seconds',
      help: 'Duration of downsample runs',
      labelNames: ['resolution'],
      buckets: [60, 300, 900, 1800, 3600, 7200, 14400],
      registers,
    }),
    deleteDelay: new Gauge({
      name: 'thanos_delete_delay_seconds',
      help: 'Configured delete delay in seconds.',
      registers,
    }),
  };
}
