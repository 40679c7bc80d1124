import { mergeSampleColumns, type SampleColumns } from '@thanos-ts/tsdb';
import type { AggrChunk } from '../storeapi/store-api.js';

/** Sample columns of one series (or one replica of it): timestamps in ms, values. */
export type { SampleColumns };

/** Functions over counters, for which deduplication corrects counter drops between replicas. */
export function isCounterFunc(func: string | undefined): boolean {
  return func === 'increase' || func === 'rate' || func === 'irate' || func === 'resets';
}

/**
 * Splits one series' time-sorted chunks into chains of non-overlapping chunks (Thanos's
 * dedup.NewOverlapSplit): each chunk joins the first chain whose last chunk ends before it
 * starts. Chunks of HA replicas that were merged under one label set overlap, so each replica's
 * data ends up in its own chain, ready for penalty deduplication.
 */
export function splitOverlapping(chunks: readonly AggrChunk[]): AggrChunk[][] {
  if (chunks.length === 0) return [[]];
  const chains: AggrChunk[][] = [[chunks[0] as AggrChunk]];
  outer: for (let i = 1; i < chunks.length; i++) {
    const c = chunks[i] as AggrChunk;
    for (const chain of chains) {
      if ((chain[chain.length - 1] as AggrChunk).maxTime < c.minTime) {
        chain.push(c);
        continue outer;
      }
    }
    chains.push([c]);
  }
  return chains;
}

// Penalty when no sample delta is known yet: timestamps are ms and scrape intervals seconds.
const INITIAL_PENALTY = 5000;

/**
 * Deduplicates two replicas of a series with Thanos's penalty algorithm (pkg/dedup/iter.go):
 * take the earlier sample of the two; the replica not taken is then only considered again after
 * twice the last observed sample gap, so switching replicas never raises the sampling rate and a
 * gap in one replica is filled from the other. With `counter` set (rate/increase/irate/resets),
 * a replica whose value is below the last value returned when switching to it gets the
 * difference added from then on, so a switch never looks like a counter reset.
 */
export function dedupPair(a: SampleColumns, b: SampleColumns, counter: boolean): SampleColumns {
  const n = a.timestamps.length + b.timestamps.length;
  const outT = new Float64Array(n);
  const outV = new Float64Array(n);
  const got = dedupPairInto(a, b, counter, outT, outV);
  return { timestamps: outT.subarray(0, got), values: outV.subarray(0, got) };
}

/**
 * dedupPair writing into `outT`/`outV` (room for both inputs' lengths); returns the number of
 * samples written. Lets callers reuse buffers.
 */
export function dedupPairInto(
  a: SampleColumns,
  b: SampleColumns,
  counter: boolean,
  outT: Float64Array,
  outV: Float64Array,
): number {
  const ta = a.timestamps;
  const va = a.values;
  const tb = b.timestamps;
  const vb = b.values;
  const na = ta.length;
  const nb = tb.length;
  let n = 0;
  let ia = 0;
  let ib = 0;
  let errA = 0;
  let errB = 0;
  let lastT = Number.NEGATIVE_INFINITY;
  let penA = 0;
  let penB = 0;
  let useA = true;
  // Like Thanos, before the first sample the "last value" is replica a's first value: the
  // iterator starts positioned on it, so picking b first already counts as a switch.
  let haveLast = na > 0;
  let lastV = na > 0 ? (va[0] as number) : 0;
  for (;;) {
    const prevUseA: boolean = useA;
    // Seek both replicas to at least lastT + 1 + their penalty.
    if (ia < na) {
      const target = lastT + 1 + penA;
      while (ia < na && (ta[ia] as number) < target) ia++;
    }
    if (ib < nb) {
      const target = lastT + 1 + penB;
      while (ib < nb && (tb[ib] as number) < target) ib++;
    }
    const aOk = ia < na;
    const bOk = ib < nb;
    if (!aOk && !bOk) break;
    let t: number;
    if (!aOk) {
      useA = false;
      t = tb[ib] as number;
      penB = 0;
    } else if (!bOk) {
      useA = true;
      t = ta[ia] as number;
      penA = 0;
    } else {
      const xa = ta[ia] as number;
      const xb = tb[ib] as number;
      useA = xa <= xb;
      if (useA) {
        penB = lastT !== Number.NEGATIVE_INFINITY ? 2 * (xa - lastT) : INITIAL_PENALTY;
        penA = 0;
        t = xa;
      } else {
        penA = lastT !== Number.NEGATIVE_INFINITY ? 2 * (xb - lastT) : INITIAL_PENALTY;
        penB = 0;
        t = xb;
      }
    }
    if (counter && haveLast && useA !== prevUseA) {
      // Thanos adjusts both replicas (whichever still has data) against the last value returned.
      if (aOk) {
        const cur = (va[ia] as number) + errA;
        if (lastV > cur) errA += lastV - cur;
      }
      if (bOk) {
        const cur = (vb[ib] as number) + errB;
        if (lastV > cur) errB += lastV - cur;
      }
    }
    lastT = t;
    const v = useA ? (va[ia] as number) + errA : (vb[ib] as number) + errB;
    outT[n] = t;
    outV[n] = v;
    n++;
    haveLast = true;
    lastV = v;
  }
  return n;
}

/**
 * Deduplicates any number of replicas by folding dedupPair left to right, as Thanos nests its
 * dedup iterators: ((r0 ⊕ r1) ⊕ r2) ⊕ …
 */
export function dedupReplicas(replicas: readonly SampleColumns[], counter: boolean): SampleColumns {
  if (replicas.length === 0) return { timestamps: new Float64Array(0), values: new Float64Array(0) };
  let acc = replicas[0] as SampleColumns;
  for (let i = 1; i < replicas.length; i++) acc = dedupPair(acc, replicas[i] as SampleColumns, counter);
  return acc;
}

/** Deduplication algorithms of Thanos's --deduplication.func. */
export type DeduplicationFunc = 'penalty' | 'chain';

/**
 * Merges replicas by timestamp, keeping the first replica's sample when several share a
 * timestamp (Prometheus's ChainedSeriesMerge, Thanos's `chain` deduplication). Exact when the
 * replicas scrape at identical timestamps; otherwise it keeps every sample of every replica.
 */
export function chainReplicas(replicas: readonly SampleColumns[]): SampleColumns {
  return mergeSampleColumns(replicas);
}

/**
 * Folds dedupPairInto or merges by chain over several replicas, writing into `outT`/`outV` (room
 * for all replicas' samples); returns the number written.
 */
export function dedupReplicasInto(
  replicas: readonly SampleColumns[],
  func: DeduplicationFunc,
  counter: boolean,
  outT: Float64Array,
  outV: Float64Array,
): number {
  if (func === 'chain' || replicas.length !== 2) {
    const r = func === 'chain' ? chainReplicas(replicas) : dedupReplicas(replicas, counter);
    outT.set(r.timestamps);
    outV.set(r.values);
    return r.timestamps.length;
  }
  return dedupPairInto(replicas[0] as SampleColumns, replicas[1] as SampleColumns, counter, outT, outV);
}
