import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Cooperative time slicing for long synchronous loops on the event loop (decoding a query's
 * series, merging streams, the store gateway's series path): `await slice.check()` returns at
 * once until `sliceMs` of work have passed, then yields one macrotask turn so timers, health
 * checks and other requests run. `for await` over an in-process stream never yields on its own:
 * its items resolve as microtasks.
 *
 * One slice may be shared by concurrent loops of one request (blocks selected in parallel,
 * ranged reads parsed in parallel): while a yield is pending, every caller waits for that same
 * turn, so together they get one slice per turn. (With a turn each, N loops resumed in the same
 * turn would each run a full slice before timers could fire.)
 */
export interface TimeSlice {
  /** Yields to the event loop when the current slice is used up; otherwise resolves at once. */
  check(): Promise<void> | undefined;
}

/** Default slice, ms: short enough for a p99 of tens of ms on /-/healthy, long enough to cost nothing. */
export const DEFAULT_SLICE_MS = 10;

/** Creates a time slice; one per loop, or one shared by the concurrent loops of one request. */
export function createTimeSlice(sliceMs = DEFAULT_SLICE_MS): TimeSlice {
  let started = performance.now();
  let pending: Promise<void> | undefined;
  return {
    check() {
      if (pending) return pending;
      if (performance.now() - started < sliceMs) return undefined;
      pending = nextTurn().then(() => {
        started = performance.now();
        pending = undefined;
      });
      return pending;
    },
  };
}
