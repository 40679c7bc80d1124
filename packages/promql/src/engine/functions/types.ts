import type { Annotations } from '../annotations.js';

/**
 * The samples of one series inside one evaluation step's range window: indices `[lo, hi)` of
 * `ts`/`vs`, with the window `(rangeStart, rangeEnd]` in ms. The object is reused from step to
 * step; functions must not keep it.
 */
export interface RangeWindow {
  ts: Float64Array;
  vs: Float64Array;
  lo: number;
  hi: number;
  rangeStart: number;
  rangeEnd: number;
  /** Range of the selector, ms. */
  range: number;
  /** The evaluation timestamp of this step (Prometheus's `enh.Ts`). */
  stepTime: number;
}

/** What a function may need besides its samples. */
export interface FunctionContext {
  annos: Annotations;
  /** `__name__` of the input series ('' when none), for annotation messages. */
  metricName: string;
  /** Values of the scalar arguments at this step, in argument order (the range argument left out). */
  params: Float64Array;
  /**
   * For counter functions over long windows: running sum of counter-reset corrections of the
   * current series (`[i]` = corrections of samples 1..i), so a window's total is one subtraction.
   */
  resetPrefix?: Float64Array;
  /**
   * Scratch a range function keeps between the steps of one call (one range argument), e.g. the
   * sliding-window state of max_over_time. Functions check that it is theirs and for this series.
   */
  slide?: SlidingExtreme;
  /**
   * rate()/increase()/delta(): what the last window asked derives from its samples alone; the
   * caller clears it between series (their columns may be reused).
   */
  window?: WindowFacts;
}

/** What extrapolatedRate derives from a window's samples alone (not from its edges), by the window's indices in `vs`. */
export interface WindowFacts {
  vs: Float64Array;
  lo: number;
  hi: number;
  /** Counter-corrected increase (or plain difference for gauges). */
  result: number;
  /** Seconds between the first and last sample. */
  sampledInterval: number;
  averageDurationBetweenSamples: number;
  extrapolationThreshold: number;
  /** Seconds back to the counter's zero point; +Inf when it does not apply. */
  durationToZero: number;
}

/**
 * Sliding-window maximum (or minimum) over one series' values: a monotonic queue of indices of
 * candidate extremes, NaNs left out. Valid while windows only move forward over the same `vs`.
 */
export interface SlidingExtreme {
  vs: Float64Array;
  /** Whether it keeps the maximum (else the minimum). */
  max: boolean;
  /** The last window: its start, and the end (exclusive) of the indices pushed so far. */
  lo: number;
  hi: number;
  queue: Int32Array;
  head: number;
  tail: number;
}

/**
 * A function over a range vector: writes the window's output value to `out[0]` and returns true,
 * or returns false for no value. Through a slot rather than returned because the evaluator calls
 * it for every step of every series from one call site that sees every function, which V8 does not
 * inline, and a double returned from a call that is not inlined is boxed in a fresh heap number:
 * a dashboard's rate subquery made 8 MB of such garbage per query.
 */
export type RangeFunction = (w: RangeWindow, ctx: FunctionContext, out: Float64Array) => boolean;

/** Writes `v` to a RangeFunction's slot: `return put(out, v)`. */
export function put(out: Float64Array, v: number): true {
  out[0] = v;
  return true;
}
