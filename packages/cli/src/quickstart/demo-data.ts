import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadTsdbBlocks } from '@thanos-ts/core/block';
import type { Bucket } from '@thanos-ts/objstore';
import { Labels, type SeriesToWrite, writeBlock } from '@thanos-ts/tsdb';

/** Shape of the demo data the quick start writes when its bucket is empty. */
export interface DemoDataOptions {
  /** Days of history (default 3), ending at `endMs`. */
  days?: number;
  /** End of the data, ms (default now); the last block ends there, the others are 8h long. */
  endMs?: number;
  /** Local scratch directory for building blocks before upload. */
  workDir: string;
  /** Scrape interval, ms (default 30 s). */
  scrapeIntervalMs?: number;
}

/** Simulated Prometheus servers: two clusters, each an HA pair told apart by `replica`. */
export const DEMO_REPLICAS: ReadonlyArray<Record<string, string>> = [
  { cluster: 'eu-1', replica: 'a' },
  { cluster: 'eu-1', replica: 'b' },
  { cluster: 'us-1', replica: 'a' },
  { cluster: 'us-1', replica: 'b' },
];

const BLOCK_MS = 8 * 3600_000; // what the compactor would have made of 2h blocks
const DAY_MS = 24 * 3600_000;
const INSTANCES = ['api-0:8080', 'api-1:8080', 'api-2:8080', 'api-3:8080'];
const BUCKETS = ['0.05', '0.1', '0.25', '0.5', '1', '+Inf'];

/**
 * Requests served by one instance from the epoch until t: a daily cycle (rate × (1 + ½·sin)) with a
 * per-instance share, integrated so counters are continuous across blocks. Both replicas of a pair
 * scrape the same targets, so they see the same curve at slightly different times.
 */
function requestsUntil(cluster: string, instance: number, t: number): number {
  const base = cluster === 'eu-1' ? 40 : 25;
  const s = t / 1000;
  const daySeconds = DAY_MS / 1000;
  return (
    base *
    (1 + 0.1 * instance) *
    (s + ((0.5 * daySeconds) / (2 * Math.PI)) * (1 - Math.cos((2 * Math.PI * s) / daySeconds)))
  );
}

function latencyShare(le: string): number {
  if (le === '+Inf') return 1;
  return 1 - Math.exp(-Number(le) / 0.2);
}

/** The series of one simulated Prometheus over [start, end), sorted by labels. */
function demoSeries(target: Record<string, string>, start: number, end: number, intervalMs: number): SeriesToWrite[] {
  const cluster = target.cluster as string;
  // Replica b scrapes 5 s after replica a and missed one hour on the second day (a restart).
  const offset = target.replica === 'b' ? 5_000 : 0;
  const gapStart = Math.floor(end / DAY_MS) * DAY_MS - DAY_MS + 10 * 3600_000;
  const times: number[] = [];
  for (let t = Math.ceil((start - offset) / intervalMs) * intervalMs + offset; t < end; t += intervalMs) {
    if (target.replica === 'b' && t >= gapStart && t < gapStart + 3600_000) continue;
    times.push(t);
  }
  const timestamps = Float64Array.from(times);
  const series: SeriesToWrite[] = [];
  const add = (labels: Record<string, string>, value: (t: number) => number) => {
    series.push({ labels: Labels.from(labels), timestamps, values: Float64Array.from(times, value) });
  };
  INSTANCES.forEach((instance, i) => {
    const job = { job: 'api', instance };
    add({ __name__: 'up', ...job }, () => 1);
    add({ __name__: 'process_resident_memory_bytes', ...job }, (t) =>
      Math.round(180e6 + 40e6 * Math.sin((2 * Math.PI * (t + i * 3600_000)) / DAY_MS)),
    );
    for (const [code, share] of [
      ['200', 0.98],
      ['500', 0.02],
    ] as const) {
      add({ __name__: 'http_requests_total', ...job, code }, (t) => Math.floor(requestsUntil(cluster, i, t) * share));
    }
    for (const le of BUCKETS) {
      add({ __name__: 'http_request_duration_seconds_bucket', ...job, le }, (t) =>
        Math.floor(requestsUntil(cluster, i, t) * latencyShare(le)),
      );
    }
    add({ __name__: 'http_request_duration_seconds_count', ...job }, (t) => Math.floor(requestsUntil(cluster, i, t)));
    add({ __name__: 'http_request_duration_seconds_sum', ...job }, (t) => requestsUntil(cluster, i, t) * 0.2);
  });
  return series.sort((a, b) => (a.labels.key() < b.labels.key() ? -1 : 1));
}

/**
 * Writes `days` of demo blocks for every simulated Prometheus into `bucket`, with the external
 * labels and thanos meta section a sidecar would have written. Returns the number of blocks.
 */
export async function writeDemoBlocks(bucket: Bucket, opts: DemoDataOptions): Promise<number> {
  const days = opts.days ?? 3;
  const interval = opts.scrapeIntervalMs ?? 30_000;
  const end = Math.floor((opts.endMs ?? Date.now()) / interval) * interval;
  const start = Math.floor((end - days * DAY_MS) / BLOCK_MS) * BLOCK_MS;
  let blocks = 0;
  for (const target of DEMO_REPLICAS) {
    for (let blockStart = start; blockStart < end; blockStart += BLOCK_MS) {
      const blockEnd = Math.min(blockStart + BLOCK_MS, end);
      const series = demoSeries(target, blockStart, blockEnd, interval);
      const written = await writeBlock(series, {
        outDir: opts.workDir,
        minTime: blockStart,
        maxTime: blockEnd,
        compactionLevel: 2,
      });
      if (written === undefined) continue;
      await uploadTsdbBlocks(bucket, opts.workDir, { labels: target, only: [written.ulid], source: 'quickstart' });
      await rm(join(opts.workDir, written.ulid), { recursive: true, force: true });
      blocks++;
    }
  }
  return blocks;
}
