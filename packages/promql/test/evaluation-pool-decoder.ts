/**
 * A series decoder for evaluation-pool-encoded.test.ts, imported by the evaluation workers: the
 * payload is one Float64Array per series of (t, v) pairs; `fail` makes the decode throw (to test
 * errors crossing back).
 */
import type { Labels, SeriesSamples } from '@thanos-ts/tsdb';
import type { DecodedSeries } from '../src/index.js';

/** What the test's Queryable encodes: interleaved (t, v) pairs per series. */
export interface PairsPayload {
  pairs: Float64Array[];
  /** A warning the decoder reports back. */
  warning?: string;
  /** Throw this message instead of decoding. */
  fail?: string;
}

/** Decodes {@link PairsPayload} into sample columns. */
export function decodePairs(labels: readonly Labels[], payload: unknown, stopped: () => boolean): DecodedSeries {
  const p = payload as PairsPayload;
  if (p.fail !== undefined) throw new Error(p.fail);
  const series: SeriesSamples[] = [];
  let samples = 0;
  labels.forEach((l, i) => {
    if (stopped()) return;
    const pairs = p.pairs[i] as Float64Array;
    const n = pairs.length / 2;
    const timestamps = new Float64Array(n);
    const values = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      timestamps[k] = pairs[2 * k] as number;
      values[k] = pairs[2 * k + 1] as number;
    }
    samples += n;
    series.push({ labels: l, timestamps, values });
  });
  return { series, samples, warnings: p.warning === undefined ? [] : [p.warning] };
}
