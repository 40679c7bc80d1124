import { formatTimestamp } from '../http/json.js';
import { JSONBytes } from '../http/json-bytes.js';

/** One series of a range query answer; sample values stay the strings Prometheus wrote. */
export interface MatrixSeries {
  metric: Record<string, string>;
  /** Sample timestamps, ms, in time order (columnar: decoding and caching allocate no pair per sample). */
  timestamps: number[];
  /** Sample values as Prometheus wrote them (`"1.5"`, `"NaN"`, `"+Inf"`), parallel to `timestamps`. */
  values: string[];
  /** Native histograms, [ms, histogram object], in time order (Prometheus's `histograms`). */
  histograms: [number, unknown][];
}

/** A successful range query answer (`resultType: matrix`) with its warnings and infos. */
export interface MatrixResponse {
  series: MatrixSeries[];
  warnings: string[];
  infos: string[];
  /**
   * The downstream's sample statistics (`data.stats.samples`), when it was asked for them; kept
   * through merges and the results cache as Cortex's PrometheusResponseStats are.
   */
  stats?: MatrixStats;
}

/**
 * Sample statistics of a range answer, as Cortex's query frontend keeps them: the total, the peak
 * and the samples loaded per step.
 */
export interface MatrixStats {
  /** Samples the query loaded. */
  totalQueryableSamples: number;
  /** Most samples held in memory at once by the queries that loaded the answer's parts. */
  peakSamples: number;
  /** [step timestamp ms, samples loaded for that step], in time order (empty unless `stats=all`). */
  perStep: [number, number][];
}

/** An empty answer. */
export function emptyMatrix(): MatrixResponse {
  return { series: [], warnings: [], infos: [] };
}

/** A JSON timestamp (float seconds) in ms, rounded as Prometheus parses them. */
export function toMs(t: unknown): number {
  if (typeof t !== 'number') throw new Error(`bad timestamp ${JSON.stringify(t)}`);
  return Math.round(t * 1000);
}

/** Query statistics of an answer asked with `stats=all` (Prometheus's `data.stats.samples`). */
export interface SampleStats {
  /** Samples the query loaded. */
  totalQueryableSamples: number;
  /** Most samples held in memory at once. */
  peakSamples: number;
}

/**
 * Reads a Prometheus range query success body. Throws with a reason when the body is not JSON or
 * not a matrix (the caller turns that into a 5xx naming the downstream).
 */
export function decodeMatrixResponse(body: string): MatrixResponse {
  return decodeMatrixAnswer(body).resp;
}

/** {@link decodeMatrixResponse} plus the answer's sample statistics, when it has them. */
export function decodeMatrixAnswer(body: string): { resp: MatrixResponse; samples?: SampleStats } {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new Error(`error decoding response: ${(err as Error).message}`);
  }
  const d = doc as {
    status?: unknown;
    data?: { resultType?: unknown; result?: unknown; stats?: { samples?: Record<string, unknown> } };
    warnings?: unknown;
    infos?: unknown;
  };
  if (d === null || typeof d !== 'object' || d.status !== 'success' || typeof d.data !== 'object' || d.data === null)
    throw new Error('error decoding response: not a Prometheus success response');
  if (d.data.resultType !== 'matrix' || !Array.isArray(d.data.result))
    throw new Error(`error decoding response: resultType ${JSON.stringify(d.data.resultType)}, want "matrix"`);
  const series: MatrixSeries[] = [];
  for (const s of d.data.result as { metric?: Record<string, string>; values?: unknown[]; histograms?: unknown[] }[]) {
    const pts = s.values ?? [];
    const timestamps = new Array<number>(pts.length);
    const values = new Array<string>(pts.length);
    for (let i = 0; i < pts.length; i++) {
      const p = pts[i] as [unknown, unknown];
      timestamps[i] = toMs(p[0]);
      values[i] = String(p[1]);
    }
    series.push({
      metric: s.metric ?? {},
      timestamps,
      values,
      histograms: (s.histograms ?? []).map((p) => {
        const [t, h] = p as [unknown, unknown];
        return [toMs(t), h];
      }),
    });
  }
  const resp: MatrixResponse = {
    series,
    warnings: Array.isArray(d.warnings) ? d.warnings.map(String) : [],
    infos: Array.isArray(d.infos) ? d.infos.map(String) : [],
  };
  const samples = sampleStatsOf(d.data.stats);
  if (!samples) return { resp };
  resp.stats = { ...samples, perStep: perStepOf(d.data.stats) };
  return { resp, samples };
}

/** `totalQueryableSamplesPerStep` of an answer's `data.stats.samples`: [[seconds, count], …] as ms pairs. */
export function perStepOf(stats: unknown): [number, number][] {
  const steps = (stats as { samples?: { totalQueryableSamplesPerStep?: unknown } }).samples
    ?.totalQueryableSamplesPerStep;
  if (!Array.isArray(steps)) return [];
  const out: [number, number][] = [];
  for (const p of steps) {
    if (!Array.isArray(p) || typeof p[0] !== 'number') continue;
    out.push([toMs(p[0]), Number(p[1]) || 0]);
  }
  return out;
}

/**
 * Cortex's StatsMerge: the parts' totals summed, the largest peak, and the per-step counts joined by
 * timestamp. Split pieces and cache extents cover disjoint steps or the same samples twice, so a
 * step seen again replaces the earlier count (as Cortex does); the shards of one piece loaded
 * disjoint series, so with `sumSteps` their counts for a step add up. Undefined when no part has
 * statistics.
 */
export function mergeStats(parts: readonly { stats?: MatrixStats }[], sumSteps: boolean): MatrixStats | undefined {
  let any = false;
  let total = 0;
  let peak = 0;
  const steps = new Map<number, number>();
  for (const p of parts) {
    const st = p.stats;
    if (!st) continue;
    any = true;
    total += st.totalQueryableSamples;
    peak = Math.max(peak, st.peakSamples);
    for (const [t, v] of st.perStep) steps.set(t, sumSteps ? (steps.get(t) ?? 0) + v : v);
  }
  if (!any) return undefined;
  const perStep = [...steps.entries()].sort((a, b) => a[0] - b[0]);
  return { totalQueryableSamples: total, peakSamples: peak, perStep };
}

/** The `samples` part of an answer's `data.stats`, or undefined when it has none. */
export function sampleStatsOf(stats: unknown): SampleStats | undefined {
  const s = (stats as { samples?: Record<string, unknown> } | undefined)?.samples;
  if (!s || typeof s !== 'object') return undefined;
  return {
    totalQueryableSamples: Number(s.totalQueryableSamples ?? 0) || 0,
    peakSamples: Number(s.peakSamples ?? 0) || 0,
  };
}

/** Prometheus's labels.Compare over a JSON metric: pairwise by name then value, then by length. */
export function compareMetrics(a: Record<string, string>, b: Record<string, string>): number {
  return compareSortedMetrics(a, Object.keys(a).sort(), b, Object.keys(b).sort());
}

/** compareMetrics with each metric's label names given, sorted. */
function compareSortedMetrics(
  a: Record<string, string>,
  ka: readonly string[],
  b: Record<string, string>,
  kb: readonly string[],
): number {
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const na = ka[i] as string;
    const nb = kb[i] as string;
    if (na !== nb) return na < nb ? -1 : 1;
    const va = a[na] as string;
    const vb = b[nb] as string;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ka.length - kb.length;
}

/**
 * `items` in compareMetrics order of their metrics, each metric's label names sorted once rather
 * than at every comparison (merging a cache hit's pieces sorted the same names hundreds of times).
 */
export function sortByMetric<T>(items: T[], metricOf: (x: T) => Record<string, string>): T[] {
  const keyed = items.map((x) => {
    const metric = metricOf(x);
    return { x, metric, names: Object.keys(metric).sort() };
  });
  keyed.sort((a, b) => compareSortedMetrics(a.metric, a.names, b.metric, b.names));
  return keyed.map((k) => k.x);
}

/** The key series of different answers are joined by: the labels sorted by name. */
export function metricKey(m: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(m)
      .sort()
      .map((k) => [k, m[k]]),
  );
}

/** Index of the first timestamp after `t` in the sorted `ts`. */
function firstAfter(ts: readonly number[], t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ts[mid] as number) > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Samples of `pts` after `t` (binary search; `pts` is in time order). */
function after<T extends [number, unknown]>(pts: T[], t: number): T[] {
  let lo = 0;
  let hi = pts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((pts[mid] as T)[0] > t) hi = mid;
    else lo = mid + 1;
  }
  return pts.slice(lo);
}

/** Appends the strings of `from` not yet in `seen` to `into` (warnings and infos kept once each). */
export function pushDistinct(into: string[], from: readonly string[], seen: Set<string>): void {
  for (const w of from)
    if (!seen.has(w)) {
      seen.add(w);
      into.push(w);
    }
}

/**
 * Merges answers for adjacent or overlapping ranges into one (Cortex's matrixMerge): series joined
 * by their labels, samples concatenated in time order with a timestamp already present skipped,
 * warnings and infos kept once each. Series come out in Prometheus's order (labels.Compare), so
 * the merged answer reads as the downstream's own answer for the whole range.
 */
export function mergeMatrices(parts: readonly MatrixResponse[], opts: { shards?: boolean } = {}): MatrixResponse {
  const ordered = [...parts].sort((a, b) => firstTime(a) - firstTime(b));
  const out = new Map<string, MatrixSeries>();
  const warnings: string[] = [];
  const infos: string[] = [];
  const seenW = new Set<string>();
  const seenI = new Set<string>();
  for (const p of ordered) {
    pushDistinct(warnings, p.warnings, seenW);
    pushDistinct(infos, p.infos, seenI);
    for (const s of p.series) {
      const key = metricKey(s.metric);
      const have = out.get(key);
      if (!have) {
        out.set(key, {
          metric: s.metric,
          timestamps: s.timestamps.slice(),
          values: s.values.slice(),
          histograms: [...s.histograms],
        });
        continue;
      }
      const last = have.timestamps.at(-1);
      const from = last === undefined ? 0 : firstAfter(s.timestamps, last);
      for (let i = from; i < s.timestamps.length; i++) {
        have.timestamps.push(s.timestamps[i] as number);
        have.values.push(s.values[i] as string);
      }
      const lastH = have.histograms.at(-1);
      have.histograms.push(...(lastH ? after(s.histograms, lastH[0]) : s.histograms));
    }
  }
  const series = sortByMetric([...out.values()], (x) => x.metric);
  const stats = mergeStats(parts, opts.shards ?? false);
  return stats ? { series, warnings, infos, stats } : { series, warnings, infos };
}

function firstTime(r: MatrixResponse): number {
  let min = Number.POSITIVE_INFINITY;
  for (const s of r.series) {
    const v = s.timestamps[0];
    const h = s.histograms[0];
    if (v !== undefined && v < min) min = v;
    if (h && h[0] < min) min = h[0];
  }
  return min;
}

/**
 * The part of `r` with timestamps in [start, end], and, when `step` > 0, only those a step grid
 * starting at `start` hits (Cortex's extractMatrix / ExtractForStep). Series left without samples
 * are dropped.
 */
export function extractMatrix(r: MatrixResponse, start: number, end: number, step = 0): MatrixResponse {
  const keep = (t: number) => t >= start && t <= end && (step <= 0 || (t - start) % step === 0);
  const series: MatrixSeries[] = [];
  for (const s of r.series) {
    const timestamps: number[] = [];
    const values: string[] = [];
    // Samples are in time order: skip to `start` by binary search, stop after `end`.
    for (let i = firstAfter(s.timestamps, start - 1); i < s.timestamps.length; i++) {
      const t = s.timestamps[i] as number;
      if (t > end) break;
      if (step > 0 && (t - start) % step !== 0) continue;
      timestamps.push(t);
      values.push(s.values[i] as string);
    }
    const histograms = s.histograms.filter((p) => keep(p[0]));
    if (timestamps.length > 0 || histograms.length > 0)
      series.push({ metric: s.metric, timestamps, values, histograms });
  }
  if (!r.stats) return { series, warnings: r.warnings, infos: r.infos };
  return { series, warnings: r.warnings, infos: r.infos, stats: extractStats(r.stats, keep) };
}

/**
 * Cortex's extractStats: the steps `keep` accepts and the total recounted from them (when the
 * answer has per-step counts; a total alone cannot be cut). The peak stays the loading query's.
 */
export function extractStats(st: MatrixStats, keep: (t: number) => boolean): MatrixStats {
  if (st.perStep.length === 0) return st;
  const perStep = st.perStep.filter(([t]) => keep(t));
  let total = 0;
  for (const [, v] of perStep) total += v;
  return { totalQueryableSamples: total, peakSamples: st.peakSamples, perStep };
}

/** How a range answer's body starts, up to its first series. */
export const MATRIX_START = '{"status":"success","data":{"resultType":"matrix","result":[';

/** A series' `,"histograms":[…]` member, when it has any (Prometheus's `[<seconds>, {…}]` pairs). */
export function writeHistograms(w: JSONBytes, histograms: readonly [number, unknown][]): void {
  if (histograms.length === 0) return;
  w.ascii(',"histograms":[');
  for (let j = 0; j < histograms.length; j++) {
    const [t, h] = histograms[j] as [number, unknown];
    w.ascii(j ? ',[' : '[');
    w.ascii(formatTimestamp(t));
    w.ascii(',');
    w.text(JSON.stringify(h));
    w.ascii(']');
  }
  w.ascii(']');
}

/** Closes a range answer's body after its last series: statistics, warnings and infos. */
export function writeMatrixEnd(
  w: JSONBytes,
  r: { stats?: MatrixStats; warnings: readonly string[]; infos: readonly string[] },
  withStats: boolean,
): void {
  w.ascii(']');
  if (withStats && r.stats) w.text(`,"stats":${encodeStats(r.stats)}`);
  w.ascii('}');
  if (r.warnings.length > 0) w.text(`,"warnings":${JSON.stringify(r.warnings)}`);
  if (r.infos.length > 0) w.text(`,"infos":${JSON.stringify(r.infos)}`);
  w.ascii('}');
}

/**
 * The Prometheus JSON body of a range answer, with `data.stats` when `withStats` and the answer has
 * statistics, as UTF-8 bytes. Written into one growing buffer (JSONBytes): for a week of minutely
 * samples this is the frontend's hottest loop.
 */
export function encodeMatrixResponse(r: MatrixResponse, withStats = false): Buffer {
  const w = new JSONBytes();
  w.ascii(MATRIX_START);
  for (let i = 0; i < r.series.length; i++) {
    const s = r.series[i] as MatrixSeries;
    w.ascii(i ? ',{"metric":' : '{"metric":');
    w.text(JSON.stringify(s.metric));
    if (s.timestamps.length > 0) {
      w.ascii(',"values":[');
      for (let j = 0; j < s.timestamps.length; j++) {
        w.ascii(j ? ',[' : '[');
        w.ascii(formatTimestamp(s.timestamps[j] as number));
        w.ascii(',');
        w.quoted(s.values[j] as string);
        w.ascii(']');
      }
      w.ascii(']');
    }
    writeHistograms(w, s.histograms);
    w.ascii('}');
  }
  writeMatrixEnd(w, r, withStats);
  return w.bytes();
}

/** `data.stats` as Cortex's frontend writes it: only `samples` (the querier's timings are per piece). */
export function encodeStats(st: MatrixStats): string {
  let steps = '';
  for (let i = 0; i < st.perStep.length; i++) {
    const [t, v] = st.perStep[i] as [number, number];
    steps += `${i ? ',' : ''}[${formatTimestamp(t)},${v}]`;
  }
  return `{"samples":{"totalQueryableSamples":${st.totalQueryableSamples},"totalQueryableSamplesPerStep":[${steps}],"peakSamples":${st.peakSamples}}}`;
}
