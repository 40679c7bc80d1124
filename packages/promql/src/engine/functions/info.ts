/**
 * The experimental `info(v, {selector})` function: adds the data labels of info metrics
 * (`target_info` by default) that share the identifying labels `instance` and `job` with each
 * series (Prometheus 3.9's promql/info.go). The info series are fetched with the other
 * selectors (see planner.ts) and narrowed here to the identifying label values in use.
 */
import { Labels, type Matcher, METRIC_NAME } from '@thanos-ts/tsdb';
import { QueryEvaluationError } from '../errors.js';
import { SeriesCollector } from '../series-buffer.js';
import type { StepSeries } from '../types.js';

/** The labels that tie a series to its info metrics. */
export const IDENTIFYING_LABELS = ['instance', 'job'];
/** The default info metric. */
export const TARGET_INFO = 'target_info';

/**
 * Combines `base` with `info` series (whose values are the original sample timestamps, ms).
 * `selectorMatchers` are the matchers of the optional second argument.
 */
export function combineInfo(
  base: StepSeries[],
  info: StepSeries[],
  selectorMatchers: readonly Matcher[] | undefined,
  n: number,
): StepSeries[] {
  const nameMatchers = selectorMatchers ? selectorMatchers.filter((m) => m.name === METRIC_NAME) : undefined;
  const isIgnored = (s: StepSeries): boolean => {
    const name = s.labels.get(METRIC_NAME);
    if (nameMatchers === undefined) return name === TARGET_INFO;
    return nameMatchers.some((m) => m.matches(name));
  };
  const ignored = base.map(isIgnored);
  // Identifying label values in use narrow the info series.
  const idValues = new Map<string, Set<string>>();
  base.forEach((s, i) => {
    if (ignored[i]) return;
    for (const l of IDENTIFYING_LABELS) {
      const v = s.labels.get(l);
      if (v === '') continue;
      let set = idValues.get(l);
      if (set === undefined) {
        set = new Set();
        idValues.set(l, set);
      }
      set.add(v);
    }
  });
  const infoSeries =
    idValues.size === 0
      ? []
      : info.filter((s) => [...idValues].every(([name, values]) => values.has(s.labels.get(name))));
  const dataMatchers = new Map<string, Matcher[]>();
  for (const m of selectorMatchers ?? []) {
    if (m.name === METRIC_NAME) continue;
    const list = dataMatchers.get(m.name) ?? [];
    list.push(m);
    dataMatchers.set(m.name, list);
  }
  const infoNames = [...new Set(infoSeries.map((s) => s.labels.get(METRIC_NAME)))];
  const sig = (name: string, labels: Labels): string =>
    Labels.from([[METRIC_NAME, name], ...IDENTIFYING_LABELS.map((l) => [l, labels.get(l)] as [string, string])]).key();
  const baseSigs = base.map((s) => infoNames.map((name) => sig(name, s.labels)));
  const infoSigs = infoSeries.map((s) => sig(s.labels.get(METRIC_NAME), s.labels));
  const allMatchEmpty = [...dataMatchers.values()].every((ms) => ms.every((m) => m.matches('')));
  const out = new SeriesCollector(n);
  for (let i = 0; i < n; i++) {
    const bySig = new Map<string, StepSeries>();
    infoSeries.forEach((s, k) => {
      if (s.present[i] === 0) return;
      const key = infoSigs[k] as string;
      const existing = bySig.get(key);
      if (existing === undefined) {
        bySig.set(key, s);
        return;
      }
      const existingT = Math.round(existing.values[i] as number);
      const t = Math.round(s.values[i] as number);
      if (existingT < t) bySig.set(key, s);
      else if (existingT === t) {
        throw new QueryEvaluationError(
          `found duplicate series for info metric: existing ${existing.labels.toString()} @ ${existingT}, new ${s.labels.toString()} @ ${t}`,
        );
      }
    });
    base.forEach((bs, b) => {
      if (bs.present[i] === 0) return;
      const value = bs.values[i] as number;
      if (ignored[b]) {
        out.set(out.get(bs.labels, false), i, value);
        return;
      }
      const added = new Map<string, string>();
      for (const key of baseSigs[b] as string[]) {
        const is = bySig.get(key);
        if (is === undefined) continue;
        for (const l of is.labels) {
          if (l.name === METRIC_NAME) continue;
          if (dataMatchers.size > 0 && !dataMatchers.has(l.name)) continue;
          const have = added.get(l.name);
          if (have !== undefined && have !== l.value) throw new QueryEvaluationError(`conflicting label: ${l.name}`);
          if (bs.labels.has(l.name)) continue;
          added.set(l.name, l.value);
        }
      }
      if (added.size === 0 && !allMatchEmpty) return;
      let labels = bs.labels;
      for (const [name, v] of added) labels = labels.with(name, v);
      out.set(out.get(labels, false), i, value);
    });
  }
  return out.series;
}
