/**
 * Column buffers for evaluation: creating step series, and collecting output series by label
 * set with Prometheus's duplicate detection.
 */
import { isStaleNaN, type Labels } from '@thanos-ts/tsdb';
import type { FloatHistogram } from '@thanos-ts/tsdb/histogram';
import { QueryEvaluationError } from './errors.js';
import type { RawSeries, StepSeries } from './types.js';

/** A new step series with nothing present. */
export function newStepSeries(labels: Labels, n: number, dropName = false): StepSeries {
  const values = spareValues.length > 0 && spareValues.at(-1)?.length === n ? spareValues.pop() : undefined;
  const present = sparePresent.length > 0 && sparePresent.at(-1)?.length === n ? sparePresent.pop() : undefined;
  return {
    labels,
    values: values?.fill(0) ?? new Float64Array(n),
    present: present?.fill(0) ?? new Uint8Array(n),
    dropName,
  };
}

// Columns of step series nobody holds any more, for the next newStepSeries of the same length.
// Only a streamed subquery hands columns back (one series' worth at a time, see
// Evaluator.subqueryStream) and it empties these when it ends, so nothing is kept between
// queries. Reusing them spares the garbage collector a long grid's megabytes per series.
const spareValues: Float64Array[] = [];
const sparePresent: Uint8Array[] = [];

/** Hands back the columns of `s`, which no one reads or writes any more. @internal */
export function recycleStepSeries(s: StepSeries): void {
  spareValues.push(s.values);
  sparePresent.push(s.present);
}

/** Forgets every handed-back column. @internal */
export function dropSpareColumns(): void {
  spareValues.length = 0;
  sparePresent.length = 0;
}

/** Marks step `i` of `s` present with the histogram `h`. */
export function setHist(s: StepSeries, i: number, h: FloatHistogram): void {
  s.present[i] = 1;
  s.values[i] = 0;
  s.hists ??= new Array(s.present.length);
  s.hists[i] = h;
}

/** The histogram at step `i`, when that step holds one. */
export function histAt(s: StepSeries, i: number): FloatHistogram | undefined {
  return s.hists === undefined ? undefined : s.hists[i];
}

/** Whether a step series has at least one present step. */
export function hasAny(s: StepSeries): boolean {
  const p = s.present;
  for (let i = 0; i < p.length; i++) if (p[i] !== 0) return true;
  return false;
}

/** Number of present steps. */
export function countPresent(s: StepSeries): number {
  let c = 0;
  const p = s.present;
  for (let i = 0; i < p.length; i++) c += p[i] as number;
  return c;
}

/** Prometheus's error for two output elements with one label set at one step. */
export const DUPLICATE_LABELSET = 'vector cannot contain metrics with the same labelset';

/**
 * Collects output series keyed by label set. Two writes of one label set at one step are the
 * "vector cannot contain metrics with the same labelset" error, as in Prometheus's rangeEval.
 */
export class SeriesCollector {
  private readonly byKey = new Map<string, StepSeries>();
  readonly series: StepSeries[] = [];

  constructor(private readonly n: number) {}

  /** The output series for `labels`, created on first use. */
  get(labels: Labels, dropName: boolean): StepSeries {
    const key = labels.key();
    let s = this.byKey.get(key);
    if (s === undefined) {
      s = newStepSeries(labels, this.n, dropName);
      this.byKey.set(key, s);
      this.series.push(s);
    }
    return s;
  }

  /** Writes one value, failing on a duplicate. */
  set(s: StepSeries, step: number, v: number): void {
    if (s.present[step] !== 0) throw new QueryEvaluationError(DUPLICATE_LABELSET);
    s.present[step] = 1;
    s.values[step] = v;
  }

  /** Writes one histogram value, failing on a duplicate. */
  setHistogram(s: StepSeries, step: number, h: FloatHistogram): void {
    if (s.present[step] !== 0) throw new QueryEvaluationError(DUPLICATE_LABELSET);
    setHist(s, step, h);
  }
}

/**
 * Merges series that ended up with the same labels (after a label change or name removal);
 * overlapping steps are the duplicate-labelset error (Prometheus's mergeSeriesWithSameLabelset).
 */
export function mergeSameLabels(series: StepSeries[], n: number): StepSeries[] {
  const byKey = new Map<string, StepSeries>();
  let merged = false;
  for (const s of series) {
    const key = s.labels.key();
    const prev = byKey.get(key);
    if (prev === undefined) {
      byKey.set(key, s);
      continue;
    }
    merged = true;
    for (let i = 0; i < n; i++) {
      if (s.present[i] === 0) continue;
      if (prev.present[i] !== 0) throw new QueryEvaluationError(DUPLICATE_LABELSET);
      prev.present[i] = 1;
      prev.values[i] = s.values[i] as number;
      const h = s.hists?.[i];
      if (h !== undefined) setHist(prev, i, h);
    }
  }
  return merged ? [...byKey.values()] : series;
}

/** Copies of the sample columns without staleness markers (range windows skip them). */
export function withoutStaleMarkers(ts: Float64Array, vs: Float64Array): { ts: Float64Array; vs: Float64Array } {
  let stale = 0;
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i] as number;
    if (Number.isNaN(v) && isStaleNaN(v)) stale++;
  }
  if (stale === 0) return { ts, vs };
  const nts = new Float64Array(ts.length - stale);
  const nvs = new Float64Array(ts.length - stale);
  let j = 0;
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i] as number;
    if (Number.isNaN(v) && isStaleNaN(v)) continue;
    nts[j] = ts[i] as number;
    nvs[j] = v;
    j++;
  }
  return { ts: nts, vs: nvs };
}

/**
 * The present points of a step series as raw columns over the grid's timestamps. With `gridTs`
 * (the grid's timestamps, shared by every series of one grid) a float series whose present steps
 * form one run is returned without copying: its columns are views of `gridTs` and of its own
 * values. A subquery at a fine resolution produces long dense series; copying them into fresh
 * columns was a quarter of such a query's evaluation and most of its memory traffic.
 */
export function stepSeriesToRaw(s: StepSeries, start: number, step: number, gridTs?: Float64Array): RawSeries {
  const hists = s.hists;
  if (gridTs !== undefined && hists === undefined) {
    const p = s.present;
    let a = 0;
    while (a < p.length && p[a] === 0) a++;
    let b = a;
    while (b < p.length && p[b] !== 0) b++;
    let rest = b;
    while (rest < p.length && p[rest] === 0) rest++;
    if (rest === p.length)
      return { labels: s.labels, ts: gridTs.subarray(a, b), vs: s.values.subarray(a, b), dropName: s.dropName };
  }
  let nh = 0;
  if (hists !== undefined)
    for (let i = 0; i < s.present.length; i++) if (s.present[i] !== 0 && hists[i] !== undefined) nh++;
  const n = countPresent(s) - nh;
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  const hts = new Float64Array(nh);
  const hvs: FloatHistogram[] = [];
  let j = 0;
  for (let i = 0; i < s.present.length; i++) {
    if (s.present[i] === 0) continue;
    const h = hists?.[i];
    if (h !== undefined) {
      hts[hvs.length] = start + i * step;
      hvs.push(h);
      continue;
    }
    ts[j] = start + i * step;
    vs[j] = s.values[i] as number;
    j++;
  }
  const r: RawSeries = { labels: s.labels, ts, vs, dropName: s.dropName };
  if (nh > 0) {
    r.hts = hts;
    r.hvs = hvs;
  }
  return r;
}
