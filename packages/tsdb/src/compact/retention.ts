import type { BlockMeta } from '../block/meta.js';

/** Options for blocksBeyondRetention. */
export interface RetentionOptions {
  /** Time retention, ms. 0 (or less) disables it: nothing is returned. */
  retentionMs: number;
  /**
   * Current time, ms since the epoch. When given, Thanos's rule applies (compactor,
   * pkg/compact/retention.go): a block goes once `now` is past its maxTime, truncated to whole
   * seconds, plus the retention. When omitted, Prometheus's rule applies (tsdb/db.go
   * BeyondTimeRetention): time is measured from the newest block's maxTime, and the newest block
   * is never deleted.
   */
  nowMs?: number;
}

/**
 * The blocks entirely older than a time retention, in the order given. Used by a DB (Prometheus
 * rule, relative to its newest block) and by the compactor per resolution (Thanos rule, relative
 * to the wall clock, `--retention.resolution-*`). Pure; the caller deletes or marks the blocks.
 */
export function blocksBeyondRetention(metas: readonly BlockMeta[], opts: RetentionOptions): BlockMeta[] {
  if (metas.length === 0 || !(opts.retentionMs > 0)) return [];
  const { nowMs } = opts;
  if (nowMs !== undefined) {
    return metas.filter((m) => nowMs > Math.trunc(m.maxTime / 1000) * 1000 + opts.retentionMs);
  }
  // Prometheus sorts by maxTime, newest first, and drops everything from the first block whose
  // maxTime is more than the retention behind the newest one.
  const newestFirst = [...metas].sort((a, b) => b.maxTime - a.maxTime);
  const newest = (newestFirst[0] as BlockMeta).maxTime;
  const firstOld = newestFirst.findIndex((m, i) => i > 0 && newest - m.maxTime > opts.retentionMs);
  if (firstOld < 0) return [];
  const gone = new Set(newestFirst.slice(firstOld).map((m) => m.ulid));
  return metas.filter((m) => gone.has(m.ulid));
}
