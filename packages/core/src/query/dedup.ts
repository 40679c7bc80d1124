import { type HistogramSamples, mergeSampleColumns, type SampleColumns } from '@thanos-ts/tsdb';
import type { FloatHistogram } from '@thanos-ts/tsdb/histogram';
import type { AggrChunk } from '../storeapi/store-api.js';
import { penaltyWindowFloats, penaltyWindowTimelines, type WindowTimeline } from './dedup-window.js';

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
 * Over whole series, as Thanos does: the compactor's vertical deduplication uses it. A querier
 * deduplicates window by window instead (dedupReplicasInto), so its answers do not depend on the
 * query's start.
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
 * samples written.
 */
function dedupPairInto(
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
 * Deduplicates replicas for a querier, writing into `outT`/`outV` (room for all replicas'
 * samples); returns the number written. `penalty` runs Thanos's penalty algorithm window by
 * window (penaltyWindowFloats), so the answer at a time does not depend on the query's start;
 * `chain` merges by timestamp.
 */
export function dedupReplicasInto(
  replicas: readonly SampleColumns[],
  func: DeduplicationFunc,
  counter: boolean,
  outT: Float64Array,
  outV: Float64Array,
): number {
  if (func === 'chain') {
    const r = chainReplicas(replicas);
    outT.set(r.timestamps);
    outV.set(r.values);
    return r.timestamps.length;
  }
  return penaltyWindowFloats(replicas, counter, outT, outV);
}

/**
 * Samples of one replica of a series with native histograms: float columns plus histogram
 * columns (timestamps never shared between the two).
 */
export interface MixedSamples {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly histograms?: HistogramSamples;
}

// One replica as a single timeline: a value is a number (float sample) or a FloatHistogram.
type Timeline = WindowTimeline;

function toTimeline(r: MixedSamples): Timeline {
  const ft = r.timestamps;
  const ht = r.histograms?.timestamps ?? new Float64Array(0);
  const hv = r.histograms?.values ?? [];
  const t: number[] = [];
  const v: (number | FloatHistogram)[] = [];
  let i = 0;
  let j = 0;
  while (i < ft.length || j < ht.length) {
    if (j >= ht.length || (i < ft.length && (ft[i] as number) <= (ht[j] as number))) {
      // A float and a histogram at one timestamp cannot both be kept: the float wins, as in
      // the tsdb's merge (see withoutFloatTimestamps).
      if (j < ht.length && ft[i] === ht[j]) j++;
      t.push(ft[i] as number);
      v.push(r.values[i] as number);
      i++;
    } else {
      t.push(ht[j] as number);
      v.push(hv[j] as FloatHistogram);
      j++;
    }
  }
  return { t, v };
}

function fromTimeline(tl: Timeline): MixedSamples {
  let nf = 0;
  for (const x of tl.v) if (typeof x === 'number') nf++;
  const timestamps = new Float64Array(nf);
  const values = new Float64Array(nf);
  const ht: number[] = [];
  const hv: FloatHistogram[] = [];
  let k = 0;
  for (let i = 0; i < tl.t.length; i++) {
    const x = tl.v[i] as number | FloatHistogram;
    if (typeof x === 'number') {
      timestamps[k] = tl.t[i] as number;
      values[k] = x;
      k++;
    } else {
      ht.push(tl.t[i] as number);
      hv.push(x);
    }
  }
  if (hv.length === 0) return { timestamps, values };
  return { timestamps, values, histograms: { timestamps: Float64Array.from(ht), values: hv } };
}

// Chain merge of timelines: by timestamp, the first replica's sample winning a timestamp.
function chainTimelines(parts: readonly Timeline[]): Timeline {
  const out: Timeline = { t: [], v: [] };
  const pos = new Array<number>(parts.length).fill(0);
  for (;;) {
    let best = -1;
    let bestT = Number.POSITIVE_INFINITY;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as Timeline;
      const j = pos[i] as number;
      if (j < p.t.length && (p.t[j] as number) < bestT) {
        bestT = p.t[j] as number;
        best = i;
      }
    }
    if (best < 0) break;
    out.t.push(bestT);
    out.v.push((parts[best] as Timeline).v[pos[best] as number] as number | FloatHistogram);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as Timeline;
      const j = pos[i] as number;
      if (j < p.t.length && p.t[j] === bestT) pos[i] = j + 1;
    }
  }
  return out;
}

/**
 * Deduplicates replicas of a series that holds native histograms, by the same rules as floats:
 * `penalty` runs Thanos's penalty algorithm window by window over each replica's timeline
 * (floats and histograms together, as Thanos's dedup iterator walks them; see
 * penaltyWindowTimelines), `chain` merges by timestamp with the first replica winning. The
 * counter adjustment of `counter` functions applies to floats only, as in Thanos.
 */
export function dedupMixedReplicas(
  replicas: readonly MixedSamples[],
  func: DeduplicationFunc,
  counter: boolean,
): MixedSamples {
  if (replicas.length === 0) return { timestamps: new Float64Array(0), values: new Float64Array(0) };
  if (replicas.length === 1) return replicas[0] as MixedSamples;
  const tls = replicas.map(toTimeline);
  if (func === 'chain') return fromTimeline(chainTimelines(tls));
  return fromTimeline(penaltyWindowTimelines(tls, counter));
}
