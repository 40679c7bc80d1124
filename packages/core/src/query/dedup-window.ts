// Penalty deduplication that does not depend on where a query starts.
//
// Thanos's penalty algorithm (dedupPair) picks a replica at the first sample it reads and keeps
// it until that replica has a gap. Which replica answers a given time therefore depends on the
// query's start: a query frontend that splits a range at midnight got another replica from
// midnight on than the querier answering the whole range, and so another answer on replicated
// data. Here the algorithm restarts at fixed boundaries of absolute time, so the samples kept in
// a window depend only on the replicas' samples inside that window. A querier reads replicated
// series from the start of the window holding its first timestamp (dedupWindowStart), so every
// query over a time sees the same samples there.
import type { FloatHistogram } from '@thanos-ts/tsdb/histogram';

/**
 * Length of a deduplication window (ms): 10 minutes. A multiple of every common scrape interval
 * (5 s … 5 m), so the replica that scrapes first in the cycle starts every window and windows
 * add no replica switches of their own; short enough that the extra read before a query's start
 * mostly falls in the chunk the query reads anyway.
 */
export const DEDUP_WINDOW_MS = 600_000;

/** Start (ms) of the deduplication window holding `t`: where a querier starts reading replicas. */
export function dedupWindowStart(t: number): number {
  return Math.floor(t / DEDUP_WINDOW_MS) * DEDUP_WINDOW_MS;
}

// Thanos's penalty for the replica not taken while no sample gap is known yet (ms).
const INITIAL_PENALTY = 5000;

/**
 * Where each kept sample comes from: `src[i]` is the replica, `at[i]` the index in it, for i < n.
 * The arrays are scratch of this thread, valid until the next penaltyWindowPicks call.
 */
export interface DedupPicks {
  readonly src: Int32Array;
  readonly at: Int32Array;
  readonly n: number;
}

/**
 * Thanos's penalty algorithm over a[loA, hiA) and b[loB, hiB) (timestamps in ms, ascending):
 * take the earlier sample of the two, the replica not taken only considered again after twice
 * the last sample gap (`initialPenalty` after the first sample). Writes `fromB[k]` (0: a, 1: b)
 * and `at[k]` for each kept sample; returns their number. At equal first timestamps a is taken.
 */
function penaltyPair(
  ta: ArrayLike<number>,
  loA: number,
  hiA: number,
  tb: ArrayLike<number>,
  loB: number,
  hiB: number,
  initialPenalty: number,
  fromB: Uint8Array,
  at: Int32Array,
): number {
  let n = 0;
  let ia = loA;
  let ib = loB;
  let lastT = Number.NEGATIVE_INFINITY;
  let penA = 0;
  let penB = 0;
  for (;;) {
    while (ia < hiA && (ta[ia] as number) < lastT + 1 + penA) ia++;
    while (ib < hiB && (tb[ib] as number) < lastT + 1 + penB) ib++;
    const aOk = ia < hiA;
    const bOk = ib < hiB;
    if (!aOk && !bOk) return n;
    let useA: boolean;
    if (!aOk) {
      useA = false;
      penB = 0;
    } else if (!bOk) {
      useA = true;
      penA = 0;
    } else {
      const xa = ta[ia] as number;
      const xb = tb[ib] as number;
      useA = xa <= xb;
      const gap = lastT === Number.NEGATIVE_INFINITY ? initialPenalty : 2 * ((useA ? xa : xb) - lastT);
      if (useA) {
        penB = gap;
        penA = 0;
      } else {
        penA = gap;
        penB = 0;
      }
    }
    if (useA) {
      lastT = ta[ia] as number;
      fromB[n] = 0;
      at[n] = ia;
    } else {
      lastT = tb[ib] as number;
      fromB[n] = 1;
      at[n] = ib;
    }
    n++;
  }
}

/** Orders numbers ascending with NaN after every number. */
function compareNaNLast(x: number, y: number): number {
  const nx = Number.isNaN(x);
  const ny = Number.isNaN(y);
  if (nx || ny) return nx === ny ? 0 : nx ? 1 : -1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The penalty after a window's first sample: twice the shorter first sample interval of the two
 * replicas there (their scrape interval), Thanos's flat 5 s when neither has two samples. With
 * Thanos's 5 s, a replica scraping more than 5 s later in the cycle took over at the second
 * sample, a switch at every window start.
 */
function firstPenalty(
  ta: ArrayLike<number>,
  loA: number,
  hiA: number,
  tb: ArrayLike<number>,
  loB: number,
  hiB: number,
): number {
  const da = loA + 1 < hiA ? (ta[loA + 1] as number) - (ta[loA] as number) : Number.POSITIVE_INFINITY;
  const db = loB + 1 < hiB ? (tb[loB + 1] as number) - (tb[loB] as number) : Number.POSITIVE_INFINITY;
  const d = Math.min(da, db);
  return d === Number.POSITIVE_INFINITY ? INITIAL_PENALTY : 2 * d;
}

function newScratch(size: number) {
  return {
    src: new Int32Array(size),
    at: new Int32Array(size),
    fromB: new Uint8Array(size),
    pairAt: new Int32Array(size),
    // Timestamps of the fold's running result within a window (more than two replicas).
    accT: new Float64Array(size),
  };
}

// Reused by every call on this thread (a query decodes series one after the other): fresh
// arrays per series were most of deduplication's garbage.
let scratch = newScratch(1024);

/** First index in `t` from `lo` whose timestamp is at least `end`. */
function lowerBound(t: ArrayLike<number>, end: number, lo: number): number {
  let hi = t.length;
  // Windows hold a few dozen samples: walk the first few, then bisect.
  for (let k = 0; k < 8 && lo < hi; k++, lo++) if ((t[lo] as number) >= end) return lo;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((t[mid] as number) < end) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Picks the samples penalty deduplication keeps from `replicas` (each one's timestamps,
 * ascending), window by window (DEDUP_WINDOW_MS of absolute time). In each window the replicas
 * with samples there are ordered by their first sample (earlier first; at equal timestamps by
 * `tieBreak`, lower first) and folded pairwise with Thanos's algorithm in that order, starting
 * afresh (see firstPenalty): nothing outside the window decides what is kept inside it.
 */
export function penaltyWindowPicks(
  replicas: readonly ArrayLike<number>[],
  tieBreak: (replica: number, index: number) => number,
): DedupPicks {
  let total = 0;
  for (const t of replicas) total += t.length;
  if (scratch.src.length < total) scratch = newScratch(Math.max(total, 2 * scratch.src.length));
  const { src, at, fromB, pairAt, accT } = scratch;
  const k = replicas.length;
  const pos = new Int32Array(k);
  const hi = new Int32Array(k);
  const order: number[] = [];
  let n = 0;
  for (;;) {
    let first = Number.POSITIVE_INFINITY;
    for (let r = 0; r < k; r++) {
      const t = replicas[r] as ArrayLike<number>;
      if ((pos[r] as number) < t.length) first = Math.min(first, t[pos[r] as number] as number);
    }
    if (first === Number.POSITIVE_INFINITY) break;
    const end = dedupWindowStart(first) + DEDUP_WINDOW_MS;
    order.length = 0;
    for (let r = 0; r < k; r++) {
      hi[r] = lowerBound(replicas[r] as ArrayLike<number>, end, pos[r] as number);
      if ((hi[r] as number) > (pos[r] as number)) order.push(r);
    }
    if (order.length === 1) {
      const r = order[0] as number;
      for (let i = pos[r] as number; i < (hi[r] as number); i++, n++) {
        src[n] = r;
        at[n] = i;
      }
    } else {
      const before = (x: number, y: number): number => {
        const tx = (replicas[x] as ArrayLike<number>)[pos[x] as number] as number;
        const ty = (replicas[y] as ArrayLike<number>)[pos[y] as number] as number;
        if (tx !== ty) return tx - ty;
        return compareNaNLast(tieBreak(x, pos[x] as number), tieBreak(y, pos[y] as number)) || x - y;
      };
      // Two replicas (the usual HA pair) need one comparison, not a sort.
      if (order.length === 2) {
        if (before(order[0] as number, order[1] as number) > 0) order.reverse();
      } else order.sort(before);
      const r0 = order[0] as number;
      const r1 = order[1] as number;
      const t0 = replicas[r0] as ArrayLike<number>;
      const t1 = replicas[r1] as ArrayLike<number>;
      const p0 = pos[r0] as number;
      const p1 = pos[r1] as number;
      const h0 = hi[r0] as number;
      const h1 = hi[r1] as number;
      let m = penaltyPair(t0, p0, h0, t1, p1, h1, firstPenalty(t0, p0, h0, t1, p1, h1), fromB, pairAt);
      // The picks go straight to the output, from n on.
      for (let j = 0; j < m; j++) {
        src[n + j] = fromB[j] === 0 ? r0 : r1;
        at[n + j] = pairAt[j] as number;
      }
      // More replicas fold into the result so far, as Thanos nests its iterators.
      for (let o = 2; o < order.length; o++) {
        for (let j = 0; j < m; j++)
          accT[j] = (replicas[src[n + j] as number] as ArrayLike<number>)[at[n + j] as number] as number;
        const r = order[o] as number;
        const tr = replicas[r] as ArrayLike<number>;
        const pr = pos[r] as number;
        const hr = hi[r] as number;
        const got = penaltyPair(accT, 0, m, tr, pr, hr, firstPenalty(accT, 0, m, tr, pr, hr), fromB, pairAt);
        const prevSrc = src.slice(n, n + m);
        const prevAt = at.slice(n, n + m);
        for (let j = 0; j < got; j++) {
          const p = pairAt[j] as number;
          src[n + j] = fromB[j] === 0 ? (prevSrc[p] as number) : r;
          at[n + j] = fromB[j] === 0 ? (prevAt[p] as number) : p;
        }
        m = got;
      }
      n += m;
    }
    for (let r = 0; r < k; r++) pos[r] = hi[r] as number;
  }
  return { src, at, n };
}

/**
 * The counter adjustment of a deduplicated series: a switch to another replica never lowers the
 * value. When the new replica's sample is below the last value kept, the last value is held
 * until the new replica reaches it (or drops on its own: a real counter reset, kept). Thanos
 * instead raises the new replica by the difference for good, and these raises add up switch
 * after switch: values then depend on every switch since the query's start, down to float
 * rounding. Holding keeps the stored values everywhere but in those few samples.
 */
class CounterHold {
  private lastSrc = -1;
  private lastRaw = 0;
  private lastOut = 0;
  private held = Number.NaN;

  /** The value to keep for sample `raw` of replica `src`. */
  next(src: number, raw: number): number {
    // NaNs (stale markers among them) are kept bit for bit and change nothing.
    if (Number.isNaN(raw)) return raw;
    if (this.lastSrc >= 0 && src !== this.lastSrc) {
      this.held = raw < this.lastOut ? this.lastOut : Number.NaN;
    } else if (!Number.isNaN(this.held) && (raw < this.lastRaw || raw >= this.held)) {
      this.held = Number.NaN;
    }
    const out = Number.isNaN(this.held) ? raw : this.held;
    this.lastSrc = src;
    this.lastRaw = raw;
    this.lastOut = out;
    return out;
  }
}

/**
 * Float replicas deduplicated with penaltyWindowPicks, written to `outT`/`outV` (room for all
 * replicas' samples); returns the number written. With `counter` (rate, increase, irate,
 * resets), switches between replicas never lower the value (CounterHold).
 */
export function penaltyWindowFloats(
  replicas: readonly { readonly timestamps: Float64Array; readonly values: Float64Array }[],
  counter: boolean,
  outT: Float64Array,
  outV: Float64Array,
): number {
  const picks = penaltyWindowPicks(
    replicas.map((r) => r.timestamps),
    (r, i) => (replicas[r] as { values: Float64Array }).values[i] as number,
  );
  const hold = counter ? new CounterHold() : undefined;
  for (let j = 0; j < picks.n; j++) {
    const src = picks.src[j] as number;
    const r = replicas[src] as { timestamps: Float64Array; values: Float64Array };
    const i = picks.at[j] as number;
    const raw = r.values[i] as number;
    outT[j] = r.timestamps[i] as number;
    outV[j] = hold ? hold.next(src, raw) : raw;
  }
  return picks.n;
}

/**
 * One replica as a timeline of floats and float histograms, for penaltyWindowTimelines.
 * `t` ascending, in ms.
 */
export interface WindowTimeline {
  t: number[];
  v: (number | FloatHistogram)[];
}

/**
 * penaltyWindowFloats over timelines holding floats and histograms (replicas of a native
 * histogram series): picks are made on timestamps whatever the sample type, the counter
 * adjustment applies to floats only (Thanos does not adjust histograms either).
 */
export function penaltyWindowTimelines(replicas: readonly WindowTimeline[], counter: boolean): WindowTimeline {
  const picks = penaltyWindowPicks(
    replicas.map((r) => r.t),
    (r, i) => {
      const v = (replicas[r] as WindowTimeline).v[i];
      return typeof v === 'number' ? v : (v as FloatHistogram).sum;
    },
  );
  const out: WindowTimeline = { t: new Array(picks.n), v: new Array(picks.n) };
  const hold = counter ? new CounterHold() : undefined;
  for (let j = 0; j < picks.n; j++) {
    const src = picks.src[j] as number;
    const r = replicas[src] as WindowTimeline;
    const i = picks.at[j] as number;
    const raw = r.v[i] as number | FloatHistogram;
    out.t[j] = r.t[i] as number;
    out.v[j] = hold && typeof raw === 'number' ? hold.next(src, raw) : raw;
  }
  return out;
}
