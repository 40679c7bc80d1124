import {
  compareLabels,
  compareStrings,
  Labels,
  type Matcher,
  type Queryable,
  type SelectHints,
  type SeriesSamples,
} from '@thanos-ts/tsdb';

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

  const push = (s: StoredSeries, t: number, v: number): void => {
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

  const finish = (s: StoredSeries): void => {
    if (s.sorted) return;
    const idx = Array.from({ length: s.len }, (_, i) => i).sort((a, b) => (s.ts[a] as number) - (s.ts[b] as number));
    const ts = new Float64Array(s.ts.length);
    const vs = new Float64Array(s.vs.length);
    let n = 0;
    for (const i of idx) {
      // A later append at the same timestamp replaces the earlier one.
      if (n > 0 && ts[n - 1] === s.ts[i]) n--;
      ts[n] = s.ts[i] as number;
      vs[n] = s.vs[i] as number;
      n++;
    }
    s.ts = ts;
    s.vs = vs;
    s.len = n;
    s.sorted = true;
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
