/**
 * Kahan–Babuška compensated summation step, as Prometheus's `kahanSumInc`: returns the new sum
 * and writes the new compensation into `state[0]`. Infinite sums reset the compensation.
 */
export function kahanSumInc(inc: number, sum: number, c: number, out: Float64Array, at: number): number {
  const t = sum + inc;
  if (t === Number.POSITIVE_INFINITY || t === Number.NEGATIVE_INFINITY) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  out[at] = c;
  return t;
}

/** Scratch slot for single-value Kahan sums. */
export const kahanScratch = new Float64Array(4);
