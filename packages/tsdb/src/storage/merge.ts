/** Samples of one series as parallel typed-array columns, sorted by timestamp. */
export interface SampleColumns {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

/**
 * Merges sample columns by timestamp; where several hold the same timestamp the earliest part
 * wins (Prometheus's chained series merge). Used to join a series across overlapping blocks and
 * for Thanos's `chain` deduplication of replicas.
 */
export function mergeSampleColumns(parts: readonly SampleColumns[]): SampleColumns {
  if (parts.length === 1) return parts[0] as SampleColumns;
  let total = 0;
  for (const p of parts) total += p.timestamps.length;
  const outT = new Float64Array(total);
  const outV = new Float64Array(total);
  const pos = new Array<number>(parts.length).fill(0);
  let n = 0;
  for (;;) {
    let best = -1;
    let bestT = Number.POSITIVE_INFINITY;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as SampleColumns;
      const j = pos[i] as number;
      if (j < p.timestamps.length && (p.timestamps[j] as number) < bestT) {
        bestT = p.timestamps[j] as number;
        best = i;
      }
    }
    if (best < 0) break;
    outT[n] = bestT;
    outV[n] = (parts[best] as SampleColumns).values[pos[best] as number] as number;
    n++;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as SampleColumns;
      const j = pos[i] as number;
      if (j < p.timestamps.length && p.timestamps[j] === bestT) pos[i] = j + 1;
    }
  }
  return { timestamps: outT.subarray(0, n), values: outV.subarray(0, n) };
}
