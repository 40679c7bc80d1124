import { createRandom } from '@thanos-ts/testing';
import { describe, expect, it } from 'vitest';
import { Annotations } from '../annotations.js';
import { maxOverTime, minOverTime } from './over-time.js';
import type { FunctionContext, RangeWindow } from './types.js';

/** Prometheus's scan: the first value, replaced by a strictly better one or when it is NaN. */
function scan(vs: Float64Array, lo: number, hi: number, max: boolean): number | undefined {
  if (hi <= lo) return undefined;
  let best = vs[lo] as number;
  for (let i = lo; i < hi; i++) {
    const f = vs[i] as number;
    if ((max ? f > best : f < best) || Number.isNaN(best)) best = f;
  }
  return best;
}

describe('max_over_time / min_over_time over sliding windows', () => {
  it.each([
    { name: 'forward steps', seed: 1, back: false },
    { name: 'windows that move back restart', seed: 2, back: true },
  ])('equal Prometheus’s scan at every step: $name', ({ seed, back }) => {
    const rand = createRandom(seed);
    for (let round = 0; round < 40; round++) {
      const n = 200 + Math.floor(rand() * 2000);
      const vs = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const r = rand();
        // NaN runs, repeated values, signed zeros and ordinary values.
        // Every third round only signed zeros, -1 and NaN: the extreme is then often a zero.
        if (round % 3 === 0) vs[i] = r < 0.1 ? Number.NaN : r < 0.45 ? -0 : r < 0.8 ? 0 : -1;
        else vs[i] = r < 0.05 ? Number.NaN : r < 0.1 ? -0 : r < 0.15 ? 0 : r < 0.3 ? 7 : Math.round(rand() * 100) - 50;
      }
      if (round % 5 === 0) vs.fill(Number.NaN, 10, 150);
      for (const [fn, max] of [
        [maxOverTime, true],
        [minOverTime, false],
      ] as const) {
        const ctx: FunctionContext = { annos: new Annotations(), metricName: '', params: new Float64Array(0) };
        const slot = new Float64Array(1);
        const w: RangeWindow = {
          ts: new Float64Array(n),
          vs,
          lo: 0,
          hi: 0,
          rangeStart: 0,
          rangeEnd: 0,
          range: 0,
          stepTime: 0,
        };
        const size = 1 + Math.floor(rand() * 300);
        let lo = 0;
        for (let step = 0; step < 60 && lo < n; step++) {
          w.lo = lo;
          w.hi = Math.min(n, lo + size - Math.floor(rand() * 20));
          const want = scan(vs, w.lo, w.hi, max);
          const got = fn(w, ctx, slot) ? (slot[0] as number) : undefined;
          if (want === undefined) expect(got).toBeUndefined();
          else expect(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)), `${w.lo}..${w.hi}`).toBe(true);
          lo += back && rand() < 0.2 ? -Math.floor(rand() * 50) : Math.floor(rand() * 40);
          if (lo < 0) lo = 0;
        }
      }
    }
  });
});
