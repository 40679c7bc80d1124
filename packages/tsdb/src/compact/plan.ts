import type { BlockMeta } from '../block/meta.js';

const HOUR_MS = 3_600_000;

/**
 * Thanos's default compaction ranges, ms: 2h blocks become 8h, then 2d, then 14d
 * (`--compact.levels` is not a flag; Thanos hard-codes these in cmd/thanos/compact.go).
 */
export const DEFAULT_COMPACTION_RANGES: readonly number[] = [2 * HOUR_MS, 8 * HOUR_MS, 48 * HOUR_MS, 336 * HOUR_MS];

/**
 * Prometheus's ExponentialBlockRanges (tsdb/compact.go): `steps` ranges starting at `minSizeMs`,
 * each `stepSize` times the previous. Prometheus itself uses (2h, 10, 3) capped by its max block
 * duration.
 */
export function exponentialBlockRanges(minSizeMs: number, steps: number, stepSize: number): number[] {
  const out: number[] = [];
  let cur = minSizeMs;
  for (let i = 0; i < steps; i++) {
    out.push(cur);
    cur *= stepSize;
  }
  return out;
}

/** Options for planCompaction. */
export interface PlanCompactionOptions {
  /** Compaction ranges in ms, smallest first. Default DEFAULT_COMPACTION_RANGES (2h, 8h, 2d, 14d). */
  ranges?: readonly number[];
  /**
   * ULIDs of blocks never to compact (Thanos's `no-compact-mark.json`). They are skipped without
   * merging blocks across them, so no gap is introduced.
   */
  exclude?: ReadonlySet<string>;
  /**
   * Plan overlapping blocks first (vertical compaction). Default true, as in Prometheus 2.39+ and
   * Thanos's planner; false is Prometheus's EnableOverlappingCompaction=false.
   */
  vertical?: boolean;
}

/**
 * Picks the next set of blocks to compact into one, or [] when there is nothing to do, with the
 * semantics of Prometheus's LeveledCompactor.Plan and Thanos's tsdbBasedPlanner
 * (pkg/compact/planner.go), which adds the `exclude` set:
 *
 * 1. Overlapping blocks first: the first run of blocks (by minTime) whose ranges overlap.
 * 2. Otherwise the block with the newest minTime is left out (it may just have been cut from the
 *    head or uploaded), and for each range after the first, smallest first, blocks are split into
 *    aligned windows of that range; the first window holding more than one block that either
 *    spans the whole range or lies entirely before the newest block is chosen. Windows holding a
 *    block whose compaction failed are skipped.
 * 3. Otherwise the newest block (the fresh one still left out) at least as long as the middle
 *    range (`ranges[len/2]`, 2d by default) with more than 5% tombstones by series is rewritten
 *    on its own, or, when shorter, one whose tombstones cover every series.
 *
 * Returned metas are in minTime order. Pure: safe to call concurrently.
 */
export function planCompaction(metas: readonly BlockMeta[], opts: PlanCompactionOptions = {}): BlockMeta[] {
  const ranges = opts.ranges ?? DEFAULT_COMPACTION_RANGES;
  const exclude = opts.exclude ?? new Set<string>();
  if (metas.length === 0) return [];
  // Thanos is given metas by minTime; Prometheus sorts them. A stable sort keeps equal minTimes
  // in the caller's order.
  const byMinTime = [...metas].sort((a, b) => a.minTime - b.minTime);
  let notExcluded = byMinTime.filter((m) => !exclude.has(m.ulid));

  if (opts.vertical ?? true) {
    const overlapping = selectOverlapping(notExcluded);
    if (overlapping.length > 0) return overlapping;
  }

  // Leave out the freshest block, so it can still be backed up or repaired before it is merged.
  const newest = byMinTime[byMinTime.length - 1] as BlockMeta;
  if (!exclude.has(newest.ulid)) notExcluded = notExcluded.slice(0, -1);
  const selected = selectForRanges(ranges, exclude, byMinTime.slice(0, -1));
  if (selected.length > 0) return selected;

  // Rewrite big blocks with many tombstones so deleted data is really dropped.
  const middle = ranges[Math.trunc(ranges.length / 2)] as number;
  for (let i = notExcluded.length - 1; i >= 0; i--) {
    const m = notExcluded[i] as BlockMeta;
    const numSeries = m.stats.numSeries ?? 0;
    const numTombstones = m.stats.numTombstones ?? 0;
    if (m.maxTime - m.minTime < middle) {
      // A block whose every series is deleted is worth rewriting whatever its size (Prometheus;
      // it assumes one tombstone per series).
      if (numTombstones > 0 && numTombstones >= numSeries) return [m];
      break;
    }
    if (numTombstones / (numSeries + 1) > 0.05) return [m];
  }
  return [];
}

// Prometheus's selectOverlappingDirs: the first run of blocks whose time ranges overlap.
function selectOverlapping(byMinTime: readonly BlockMeta[]): BlockMeta[] {
  if (byMinTime.length < 2) return [];
  const out: BlockMeta[] = [];
  let globalMaxt = (byMinTime[0] as BlockMeta).maxTime;
  for (let i = 1; i < byMinTime.length; i++) {
    const m = byMinTime[i] as BlockMeta;
    if (m.minTime < globalMaxt) {
      if (out.length === 0) out.push(byMinTime[i - 1] as BlockMeta);
      out.push(m);
    } else if (out.length > 0) {
      break;
    }
    if (m.maxTime > globalMaxt) globalMaxt = m.maxTime;
  }
  return out;
}

// Thanos's selectMetas (Prometheus's selectDirs plus exclusions).
function selectForRanges(
  ranges: readonly number[],
  exclude: ReadonlySet<string>,
  byMinTime: readonly BlockMeta[],
): BlockMeta[] {
  if (ranges.length < 2 || byMinTime.length < 1) return [];
  const highTime = (byMinTime[byMinTime.length - 1] as BlockMeta).minTime;
  for (const iv of ranges.slice(1)) {
    for (const part of splitByRange(byMinTime, iv)) {
      if (part.some((m) => m.compaction.failed)) continue;
      if (part.length < 2) continue;
      const mint = (part[0] as BlockMeta).minTime;
      const maxt = (part[part.length - 1] as BlockMeta).maxTime;
      // Only a window that is full, or that nothing newer can still land in, is compacted.
      if (maxt - mint !== iv && maxt > highTime) continue;
      // Excluded blocks split the window; the first run of two or more on either side is taken,
      // so compaction never bridges an excluded block.
      let lastExcluded = 0;
      for (let i = 0; i < part.length; i++) {
        if (!exclude.has((part[i] as BlockMeta).ulid)) continue;
        if (i - lastExcluded > 1) return part.slice(lastExcluded, i);
        lastExcluded = i + 1;
      }
      if (part.length - lastExcluded > 1) return part.slice(lastExcluded);
    }
  }
  return [];
}

/**
 * Groups blocks (sorted by minTime) into windows of `rangeMs` aligned to 0, as Prometheus's
 * splitByRange: blocks larger than their window, or crossing its end, are left out. For blocks
 * [0-10, 10-20, 50-60, 90-100] and range 30 the groups are [0-10, 10-20], [50-60], [90-100].
 */
export function splitByRange<T extends { minTime: number; maxTime: number }>(
  byMinTime: readonly T[],
  rangeMs: number,
): T[][] {
  const out: T[][] = [];
  let i = 0;
  while (i < byMinTime.length) {
    const m = byMinTime[i] as T;
    // Go's integer division truncates toward zero; for negative times step one window back.
    const t0 =
      m.minTime >= 0
        ? rangeMs * Math.trunc(m.minTime / rangeMs)
        : rangeMs * Math.trunc((m.minTime - rangeMs + 1) / rangeMs);
    if (m.maxTime > t0 + rangeMs) {
      i++;
      continue;
    }
    const group: T[] = [];
    for (; i < byMinTime.length; i++) {
      if ((byMinTime[i] as T).maxTime > t0 + rangeMs) break;
      group.push(byMinTime[i] as T);
    }
    if (group.length > 0) out.push(group);
  }
  return out;
}
