import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Cooperative time slicing for long synchronous loops on the event loop (decoding a query's
 * series, merging streams, the store gateway's series path, encoding an answer):
 * `await slice.check()` returns at once until `sliceMs` of work have passed, then yields one
 * macrotask turn so timers, health checks and other requests run. `for await` over an in-process
 * stream never yields on its own: its items resolve as microtasks.
 *
 * The budget is the process's, not the loop's: every sliced loop of every request draws on the
 * same `sliceMs` between two turns of the event loop, and while a yield is pending every caller
 * waits for that same turn. With a slice each, N loops resumed in one turn would each run a full
 * slice before the server could read the next request (two 13 MB answers being encoded beside two
 * fetches kept `/-/healthy` waiting ~100 ms at p99). Now one turn holds about `sliceMs` of sliced
 * work, plus one step of each other waiting loop (keep steps short).
 */
export interface TimeSlice {
  /** Yields to the event loop when the current slice is used up; otherwise resolves at once. */
  check(): Promise<void> | undefined;
}

/** Default slice, ms: short enough for a p99 of tens of ms on /-/healthy, long enough to cost nothing. */
export const DEFAULT_SLICE_MS = 10;

// The process's slice: when the current one began, and the turn every caller waits for once it
// is used up. After an idle spell the first check yields once (the slice began long ago), which
// costs one turn of an otherwise idle loop.
let turnStarted = performance.now();
let pendingTurn: Promise<void> | undefined;

function nextTurnShared(): Promise<void> {
  pendingTurn ??= nextTurn().then(() => {
    turnStarted = performance.now();
    pendingTurn = undefined;
  });
  return pendingTurn;
}

/**
 * A handle on the process's time slice that yields once `sliceMs` of sliced work have passed since
 * the event loop's last turn; one per loop, or one shared by the concurrent loops of a request.
 */
export function createTimeSlice(sliceMs = DEFAULT_SLICE_MS): TimeSlice {
  return {
    check() {
      if (pendingTurn) return pendingTurn;
      if (performance.now() - turnStarted < sliceMs) return undefined;
      return nextTurnShared();
    },
  };
}
