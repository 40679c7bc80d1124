// @thanos-ts/core/concurrency: bounded concurrency, gates and time slicing for event-loop-friendly loops.

export { availableCores, cgroupCpuLimit, coresWithin, parseCfsQuota, parseCpuMax } from './cores.js';
export { Gate } from './gate.js';
export { forEachLimit, forEachLimitAsync, mapLimit } from './limit.js';
export { createTimeSlice, DEFAULT_SLICE_MS, type TimeSlice } from './time-slice.js';
