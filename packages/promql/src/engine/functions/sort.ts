/**
 * sort, sort_desc, sort_by_label, sort_by_label_desc. Order only matters for instant queries;
 * range query results are always sorted by labels.
 */
import { compareLabels } from '@thanos-ts/tsdb';
import type { StepSeries } from '../types.js';

/** By value at `step`, ascending or descending; NaN last either way (as Prometheus). */
export function sortByValue(series: StepSeries[], step: number, desc: boolean): StepSeries[] {
  return series.slice().sort((a, b) => {
    const x = a.values[step] as number;
    const y = b.values[step] as number;
    const xn = Number.isNaN(x);
    const yn = Number.isNaN(y);
    if (xn || yn) return xn === yn ? 0 : xn ? 1 : -1;
    return desc ? (x > y ? -1 : x < y ? 1 : 0) : x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Natural order of strings: digit runs compare as numbers (like facette/natsort). */
export function naturalLess(a: string, b: string): boolean {
  const ca = chunks(a);
  const cb = chunks(b);
  for (let i = 0; i < ca.length && i < cb.length; i++) {
    const x = ca[i] as string;
    const y = cb[i] as string;
    if (x === y) continue;
    const xd = /^[0-9]+$/.test(x);
    const yd = /^[0-9]+$/.test(y);
    if (xd && yd) {
      const xv = BigInt(x);
      const yv = BigInt(y);
      if (xv !== yv) return xv < yv;
      return x < y;
    }
    return x < y;
  }
  return ca.length < cb.length;
}

function chunks(s: string): string[] {
  return s.match(/[0-9]+|[^0-9]+/g) ?? [];
}

/** sort_by_label(_desc): by the given labels in natural order, then by the whole label set. */
export function sortByLabels(series: StepSeries[], names: string[], desc: boolean): StepSeries[] {
  return series.slice().sort((a, b) => {
    for (const n of names) {
      const x = a.labels.get(n);
      const y = b.labels.get(n);
      if (x === y) continue;
      const less = naturalLess(x, y);
      return desc ? (less ? 1 : -1) : less ? -1 : 1;
    }
    const c = compareLabels(a.labels, b.labels);
    return desc ? -c : c;
  });
}
