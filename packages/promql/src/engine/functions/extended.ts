/**
 * The experimental `anchored` and `smoothed` range modifiers (Prometheus 3's extended range
 * selectors): rate/increase/delta over a window whose edges are pinned to the sample at or
 * before the start (anchored) or interpolated at both edges (smoothed), and resets/changes
 * counted from the anchored sample. Windows here already include the extra lookback.
 */
import type { RangeWindow } from './types.js';

function interpolate(
  t1: number,
  y1: number,
  t2: number,
  y2: number,
  t: number,
  isCounter: boolean,
  leftEdge: boolean,
): number {
  if (isCounter && y2 < y1) {
    if (leftEdge) y1 = 0;
    else y2 += y1;
  }
  return y1 + ((y2 - y1) * (t - t1)) / (t2 - t1);
}

/** First index in [lo, hi) whose timestamp satisfies `pred`, or hi (Go's sort.Search). */
function search(ts: Float64Array, lo: number, hi: number, pred: (t: number) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(ts[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The samples an `anchored`/`smoothed` range [start, end] starts and ends on, among ts[lo..hi):
 * the last sample at or before `start` (or the first after it), the last sample (with `smoothed`:
 * the first at or after `end`), and the values at the edges — interpolated at `start`/`end` when
 * smoothing. Undefined when nothing lies after `start`.
 */
function edgePoints(
  ts: Float64Array,
  vs: Float64Array,
  lo: number,
  hi: number,
  start: number,
  end: number,
  smoothed: boolean,
  isCounter: boolean,
): { first: number; last: number; left: number; right: number } | undefined {
  if (hi <= lo) return undefined;
  let last = hi - 1;
  const first = Math.max(lo, search(ts, lo, last, (t) => t > start) - 1);
  if (smoothed) last = search(ts, lo, last, (t) => t >= end);
  if ((ts[last] as number) <= start) return undefined;
  let left = vs[first] as number;
  if (smoothed && (ts[first] as number) < start) {
    left = interpolate(
      ts[first] as number,
      vs[first] as number,
      ts[first + 1] as number,
      vs[first + 1] as number,
      start,
      isCounter,
      true,
    );
  }
  let right = vs[last] as number;
  if (smoothed && last > lo && (ts[last] as number) > end) {
    right = interpolate(
      ts[last - 1] as number,
      vs[last - 1] as number,
      ts[last] as number,
      vs[last] as number,
      end,
      isCounter,
      false,
    );
  }
  return { first, last, left, right };
}

/**
 * extendedRate: `w` holds the extended window's samples; `w.rangeStart`/`w.rangeEnd` are the
 * nominal range edges.
 */
export function extendedRate(
  w: RangeWindow,
  smoothed: boolean,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  const { ts, vs, rangeStart, rangeEnd } = w;
  const edges = edgePoints(ts, vs, w.lo, w.hi, rangeStart, rangeEnd, smoothed, isCounter);
  if (edges === undefined) return undefined;
  let { first, last } = edges;
  const { left, right } = edges;
  let result = right - left;
  if (isCounter) {
    if ((ts[first] as number) <= rangeStart) first++;
    if ((ts[last] as number) >= rangeEnd) last--;
    let correction = 0;
    let prev = left;
    for (let i = first; i <= last; i++) {
      const v = vs[i] as number;
      if (v < prev) correction += prev;
      prev = v;
    }
    if (right < prev) correction += prev;
    result += correction;
  }
  if (isRate) result /= w.range / 1000;
  return result;
}

/** The index resets/changes start from under `anchored`, or undefined for no output. */
export function anchoredFirstIndex(w: RangeWindow): number | undefined {
  const { ts, lo, hi, rangeStart } = w;
  if (hi <= lo || (ts[hi - 1] as number) <= rangeStart) return undefined;
  return Math.max(lo, search(ts, lo, hi - 1, (t) => t > rangeStart) - 1);
}

/**
 * extendFloats: the samples of a range vector under `anchored`/`smoothed`, with synthetic points
 * at both edges (`mint`, `maxt`).
 */
export function extendFloats(
  ts: Float64Array,
  vs: Float64Array,
  mint: number,
  maxt: number,
  smoothed: boolean,
): { ts: Float64Array; vs: Float64Array } {
  const edges = edgePoints(ts, vs, 0, ts.length, mint, maxt, smoothed, false);
  if (edges === undefined) return { ts: new Float64Array(0), vs: new Float64Array(0) };
  let { first, last } = edges;
  const { left, right } = edges;
  if ((ts[first] as number) <= mint) first++;
  if ((ts[last] as number) >= maxt) last--;
  const n = Math.max(0, last - first + 1) + 2;
  const ots = new Float64Array(n);
  const ovs = new Float64Array(n);
  ots[0] = mint;
  ovs[0] = left;
  for (let i = first, j = 1; i <= last; i++, j++) {
    ots[j] = ts[i] as number;
    ovs[j] = vs[i] as number;
  }
  ots[n - 1] = maxt;
  ovs[n - 1] = right;
  return { ts: ots, vs: ovs };
}

/** The value of a smoothed instant selector at `t` from the samples in [t - lookback, t + lookback]. */
export function smoothedValue(
  ts: Float64Array,
  vs: Float64Array,
  lo: number,
  hi: number,
  t: number,
): number | undefined {
  if (hi <= lo) return undefined;
  const i = search(ts, lo, hi, (x) => x >= t);
  if (i < hi && ts[i] === t) return vs[i] as number;
  if (i > lo && i < hi) {
    return interpolate(ts[i - 1] as number, vs[i - 1] as number, ts[i] as number, vs[i] as number, t, false, false);
  }
  if (i > lo) return vs[i - 1] as number;
  return undefined;
}
