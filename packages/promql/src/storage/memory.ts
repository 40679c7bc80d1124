import {
  compareLabels,
  compareStrings,
  isStaleNaN,
  Labels,
  type Matcher,
  type Queryable,
  type SelectHints,
  type SeriesSamples,
} from '@thanos-ts/tsdb';
import { CounterResetHint, detectFloatHistogramReset, type FloatHistogram } from '@thanos-ts/tsdb/histogram';

/** One series as handed to `MemoryStorage.load`. */
export interface SeriesInput {
  labels: Labels | Record<string, string>;
  timestamps: ArrayLike<number>;
  values: ArrayLike<number>;
}

/**
 * An in-memory `Queryable` for tests, benchmarks and the promqltest runner: float samples per
 * series, kept sorted by time, returned sorted by labels.
 */
export interface MemoryStorage extends Queryable {
  /** Adds one sample; out-of-order appends are sorted in before the next read. */
  append(labels: Labels | Record<string, string>, t: number, v: number): void;
  /**
   * Adds one native histogram sample (kept by reference; do not modify it afterwards). A float
   * and a histogram at one timestamp: the later append wins.
   */
  appendHistogram(labels: Labels | Record<string, string>, t: number, h: FloatHistogram): void;
  /** Adds many samples of many series at once. */
  load(series: Iterable<SeriesInput>): void;
  /** Drops everything. */
  clear(): void;
  /** Number of series held. */
  readonly seriesCount: number;
}

interface StoredSeries {
  labels: Labels;
  ts: Float64Array;
  vs: Float64Array;
  len: number;
  sorted: boolean;
  /** Histogram samples in append order (undefined for float-only series). */
  hist?: { t: number; h: FloatHistogram; seq: number }[];
  /** Float samples' append sequence numbers, kept only once the series has histograms. */
  seq?: number[];
  histSorted?: { timestamps: Float64Array; values: FloatHistogram[] };
}

/** Creates an empty in-memory storage. */
export function createMemoryStorage(): MemoryStorage {
  const byKey = new Map<string, StoredSeries>();
  let sortedList: StoredSeries[] | undefined;

  const get = (labelsIn: Labels | Record<string, string>): StoredSeries => {
    const labels = labelsIn instanceof Labels ? labelsIn : Labels.from(labelsIn);
    const key = labels.key();
    let s = byKey.get(key);
    if (s === undefined) {
      s = { labels, ts: new Float64Array(16), vs: new Float64Array(16), len: 0, sorted: true };
      byKey.set(key, s);
      sortedList = undefined;
    }
    return s;
  };

  let seq = 0;
  const push = (s: StoredSeries, t: number, v: number): void => {
    if (s.hist !== undefined) {
      s.seq ??= [];
      s.seq[s.len] = seq++;
      s.histSorted = undefined;
    }
    if (s.len === s.ts.length) {
      const ts = new Float64Array(s.ts.length * 2);
      ts.set(s.ts);
      const vs = new Float64Array(s.vs.length * 2);
      vs.set(s.vs);
      s.ts = ts;
      s.vs = vs;
    }
    if (s.len > 0 && (s.ts[s.len - 1] as number) >= t) s.sorted = false;
    s.ts[s.len] = t;
    s.vs[s.len] = v;
    s.len++;
  };

  const pushHistogram = (s: StoredSeries, t: number, h: FloatHistogram): void => {
    if (s.hist === undefined) {
      s.hist = [];
      // Floats appended before the first histogram count as older than every histogram.
      s.seq = new Array<number>(s.len).fill(-1);
    }
    s.hist.push({ t, h, seq: seq++ });
    s.histSorted = undefined;
  };

  /** Sorts histogram samples; at a timestamp held by a float and a histogram, the later append stays. */
  const finishHistograms = (s: StoredSeries): void => {
    if (s.hist === undefined || s.histSorted !== undefined) return;
    const byT = new Map<number, { t: number; h: FloatHistogram; seq: number }>();
    for (const e of s.hist) {
      const prev = byT.get(e.t);
      if (prev === undefined || prev.seq < e.seq) byT.set(e.t, e);
    }
    const floatSeq = new Map<number, number>();
    for (let i = 0; i < s.len; i++) floatSeq.set(s.ts[i] as number, s.seq?.[i] ?? -1);
    const kept = [...byT.values()].filter((e) => (floatSeq.get(e.t) ?? -2) < e.seq).sort((a, b) => a.t - b.t);
    // Floats shadowed by a later histogram at the same timestamp go.
    const drop = new Set(kept.filter((e) => floatSeq.has(e.t)).map((e) => e.t));
    if (drop.size > 0) {
      let n = 0;
      for (let i = 0; i < s.len; i++) {
        if (drop.has(s.ts[i] as number)) continue;
        s.ts[n] = s.ts[i] as number;
        s.vs[n] = s.vs[i] as number;
        if (s.seq !== undefined) s.seq[n] = s.seq[i] as number;
        n++;
      }
      s.len = n;
    }
    s.hist = kept;
    s.histSorted = { timestamps: Float64Array.from(kept, (e) => e.t), values: withReadHints(kept, s) };
  };

  const finish = (s: StoredSeries): void => {
    if (s.sorted) {
      finishHistograms(s);
      return;
    }
    const idx = Array.from({ length: s.len }, (_, i) => i).sort((a, b) => (s.ts[a] as number) - (s.ts[b] as number));
    const ts = new Float64Array(s.ts.length);
    const vs = new Float64Array(s.vs.length);
    const sq: number[] | undefined = s.seq === undefined ? undefined : [];
    let n = 0;
    for (const i of idx) {
      // A later append at the same timestamp replaces the earlier one.
      if (n > 0 && ts[n - 1] === s.ts[i]) n--;
      ts[n] = s.ts[i] as number;
      vs[n] = s.vs[i] as number;
      if (sq !== undefined) sq[n] = s.seq?.[i] as number;
      n++;
    }
    s.ts = ts;
    s.vs = vs;
    s.len = n;
    if (sq !== undefined) s.seq = sq;
    s.sorted = true;
    s.histSorted = undefined;
    finishHistograms(s);
  };

  let byName: Map<string, StoredSeries[]> | undefined;
  const list = (): StoredSeries[] => {
    if (sortedList === undefined) {
      sortedList = [...byKey.values()].sort((a, b) => compareLabels(a.labels, b.labels));
      byName = new Map();
      for (const s of sortedList) {
        const name = s.labels.get('__name__');
        const l = byName.get(name);
        if (l === undefined) byName.set(name, [s]);
        else l.push(s);
      }
    }
    return sortedList;
  };

  const matching = (matchers: readonly Matcher[]): StoredSeries[] => {
    let candidates = list();
    // An equality matcher on the metric name narrows the scan to that metric's series.
    const nameEq = matchers.find((m) => m.name === '__name__' && m.type === '=');
    if (nameEq !== undefined) candidates = byName?.get(nameEq.value) ?? [];
    const out: StoredSeries[] = [];
    for (const s of candidates) {
      let ok = true;
      for (const m of matchers) {
        if (!m.matches(s.labels.get(m.name))) {
          ok = false;
          break;
        }
      }
      if (ok) out.push(s);
    }
    return out;
  };

  return {
    append(labels, t, v) {
      push(get(labels), t, v);
    },
    appendHistogram(labels, t, h) {
      pushHistogram(get(labels), t, h);
    },
    load(series) {
      for (const s of series) {
        const st = get(s.labels);
        for (let i = 0; i < s.timestamps.length; i++) push(st, s.timestamps[i] as number, s.values[i] as number);
      }
    },
    clear() {
      byKey.clear();
      sortedList = undefined;
      byName = undefined;
    },
    get seriesCount() {
      return byKey.size;
    },
    async select(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): Promise<SeriesSamples[]> {
      signal?.throwIfAborted();
      const out: SeriesSamples[] = [];
      for (const s of matching(matchers)) {
        finish(s);
        const lo = lowerBound(s.ts, s.len, hints.start);
        const hi = lowerBound(s.ts, s.len, hints.end + 1);
        if (hints.labelsOnly) {
          out.push({ labels: s.labels, timestamps: new Float64Array(0), values: new Float64Array(0) });
          continue;
        }
        const hs = s.histSorted;
        if (hs !== undefined) {
          const hlo = lowerBound(hs.timestamps, hs.timestamps.length, hints.start);
          const hhi = lowerBound(hs.timestamps, hs.timestamps.length, hints.end + 1);
          if (hi <= lo && hhi <= hlo) continue;
          out.push({
            labels: s.labels,
            timestamps: s.ts.subarray(lo, hi),
            values: s.vs.subarray(lo, hi),
            histograms: { timestamps: hs.timestamps.subarray(hlo, hhi), values: hs.values.slice(hlo, hhi) },
          });
          continue;
        }
        if (hi <= lo) continue;
        // Subarrays share memory with the store: callers treat samples as read-only.
        out.push({ labels: s.labels, timestamps: s.ts.subarray(lo, hi), values: s.vs.subarray(lo, hi) });
      }
      return out;
    },
    async labelNames(matchers: readonly Matcher[]): Promise<string[]> {
      const names = new Set<string>();
      for (const s of matchers.length === 0 ? list() : matching(matchers)) for (const l of s.labels) names.add(l.name);
      return [...names].sort(compareStrings);
    },
    async labelValues(name: string, matchers: readonly Matcher[]): Promise<string[]> {
      const values = new Set<string>();
      for (const s of matchers.length === 0 ? list() : matching(matchers)) {
        const v = s.labels.get(name);
        if (v !== '') values.add(v);
      }
      return [...values].sort(compareStrings);
    },
  };
}

/**
 * The counter reset hints a reader of Prometheus's TSDB sees: a gauge stays a gauge; a counter
 * histogram that continues a chunk (after another counter histogram, no float, stale marker or
 * counter reset in between) reads as NotCounterReset, one that starts a chunk as Unknown.
 * Samples are copied, not modified.
 */
function withReadHints(
  kept: { t: number; h: FloatHistogram }[],
  s: { ts: Float64Array; len: number },
): FloatHistogram[] {
  const out: FloatHistogram[] = [];
  let f = 0;
  for (let i = 0; i < kept.length; i++) {
    const e = kept[i] as { t: number; h: FloatHistogram };
    const prev = i > 0 ? (kept[i - 1] as { t: number; h: FloatHistogram }) : undefined;
    // A float sample between two histograms starts a new chunk.
    while (f < s.len && (s.ts[f] as number) < e.t) f++;
    const floatBetween = prev !== undefined && f > 0 && (s.ts[f - 1] as number) > prev.t;
    const h = e.h;
    let hint: CounterResetHint;
    // The first sample of a chunk reads as unknown even after a detected reset (chunkenc's
    // counterResetHint), so CounterReset never comes out of storage.
    if (h.counterResetHint === CounterResetHint.Gauge) hint = CounterResetHint.Gauge;
    else if (
      h.counterResetHint === CounterResetHint.CounterReset ||
      prev === undefined ||
      floatBetween ||
      isStale(prev.h) ||
      isStale(h) ||
      prev.h.counterResetHint === CounterResetHint.Gauge ||
      detectFloatHistogramReset(h, prev.h)
    ) {
      hint = CounterResetHint.Unknown;
    } else hint = CounterResetHint.NotCounterReset;
    out.push(hint === h.counterResetHint ? h : { ...h, counterResetHint: hint });
  }
  return out;
}

function isStale(h: FloatHistogram): boolean {
  return Number.isNaN(h.sum) && isStaleNaN(h.sum);
}

function lowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
