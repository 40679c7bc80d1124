import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Cooperative time slicing for long synchronous loops on the event loop (decoding a query's
 * series, merging streams): `await slice.check()` returns at once until `sliceMs` of work have
 * passed, then yields one macrotask turn so timers, health checks and other requests run.
 * `for await` over an in-process stream never yields on its own: its items resolve as microtasks.
 */
export interface TimeSlice {
  /** Yields to the event loop when the current slice is used up; otherwise resolves at once. */
  check(): Promise<void> | undefined;
}

/** Default slice, ms: short enough for a p99 of tens of ms on /-/healthy, long enough to cost nothing. */
export const DEFAULT_SLICE_MS = 10;

/** Creates a time slice; one per loop. */
export function createTimeSlice(sliceMs = DEFAULT_SLICE_MS): TimeSlice {
  let started = performance.now();
  return {
    check() {
      const now = performance.now();
      if (now - started < sliceMs) return undefined;
      return nextTurn().then(() => {
        started = performance.now();
      });
    },
  };
}
