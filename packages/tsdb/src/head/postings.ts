import { EMPTY_POSTINGS, intersectPostings, mergePostings, withoutPostings } from '../index/postings.js';
import { compareStrings, type Labels } from '../labels/labels.js';
import type { Matcher } from '../labels/matcher.js';

/**
 * The head's inverted index (Prometheus's index.MemPostings): for every label name and value, the
 * sorted refs of the series carrying it. Refs are handed out in increasing order, so adding a new
 * series appends; replayed refs that arrive out of order are inserted in place.
 */
export class MemPostings {
  private readonly byName = new Map<string, Map<string, number[]>>();
  private all: number[] = [];

  /** Adds a series. */
  add(ref: number, labels: Labels): void {
    insertSorted(this.all, ref);
    const flat = labels.toFlat();
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i] as string;
      let values = this.byName.get(name);
      if (values === undefined) {
        values = new Map();
        this.byName.set(name, values);
      }
      const value = flat[i + 1] as string;
      const list = values.get(value);
      if (list === undefined) values.set(value, [ref]);
      else insertSorted(list, ref);
    }
  }

  /** Removes series (refs with their labels), e.g. after head garbage collection. */
  delete(series: ReadonlyMap<number, Labels>): void {
    if (series.size === 0) return;
    const gone = (r: number) => series.has(r);
    this.all = this.all.filter((r) => !gone(r));
    const touched = new Map<string, Set<string>>();
    for (const labels of series.values()) {
      const flat = labels.toFlat();
      for (let i = 0; i < flat.length; i += 2) {
        const name = flat[i] as string;
        let s = touched.get(name);
        if (s === undefined) {
          s = new Set();
          touched.set(name, s);
        }
        s.add(flat[i + 1] as string);
      }
    }
    for (const [name, values] of touched) {
      const m = this.byName.get(name);
      if (m === undefined) continue;
      for (const value of values) {
        const list = m.get(value);
        if (list === undefined) continue;
        const kept = list.filter((r) => !gone(r));
        if (kept.length === 0) m.delete(value);
        else m.set(value, kept);
      }
      if (m.size === 0) this.byName.delete(name);
    }
  }

  /** Every series ref, sorted. */
  allPostings(): Uint32Array {
    return Uint32Array.from(this.all);
  }

  /** Sorted label names in use. */
  labelNames(): string[] {
    return [...this.byName.keys()].sort(compareStrings);
  }

  /** Sorted values of a label name in use. */
  labelValues(name: string): string[] {
    const m = this.byName.get(name);
    return m === undefined ? [] : [...m.keys()].sort(compareStrings);
  }

  /**
   * Refs of series matching every matcher, with Prometheus's PostingsForMatchers semantics: a
   * matcher that accepts '' also selects series without the label, and a set of only such
   * matchers starts from all series.
   */
  postingsForMatchers(matchers: readonly Matcher[]): Uint32Array {
    if (matchers.length === 0) return this.allPostings();
    const its: Uint32Array[] = [];
    const notIts: Uint32Array[] = [];
    for (const m of matchers) {
      const isNot = m.type === '!=' || m.type === '!~';
      const matchesEmpty = m.matches('');
      if (!matchesEmpty) {
        // The label must be set: l="x", l=~"x.+", l!="", l!~"".
        // `=` and regexes over literal alternations (a|b|c) look values up instead of scanning.
        const set = m.type === '=~' ? m.setMatches() : undefined;
        const it =
          m.type === '='
            ? this.postings(m.name, [m.value])
            : set !== undefined && set.length > 0
              ? this.postings(m.name, set)
              : this.postingsForValues(m.name, (v) => m.matches(v));
        if (it.length === 0) return EMPTY_POSTINGS;
        its.push(it);
      } else if (isNot) {
        // l!="x": subtract the series whose value the matcher rejects.
        notIts.push(this.postingsForValues(m.name, (v) => !m.matches(v)));
      } else {
        // l="" or l=~"x|": everything except series with a value the matcher rejects.
        notIts.push(this.postingsForValues(m.name, (v) => !m.matches(v)));
      }
    }
    if (its.length === 0) its.push(this.allPostings());
    let it = intersectPostings(its);
    for (const n of notIts) it = withoutPostings(it, n);
    return it;
  }

  private postings(name: string, values: readonly string[]): Uint32Array {
    const m = this.byName.get(name);
    if (m === undefined) return EMPTY_POSTINGS;
    const lists: Uint32Array[] = [];
    for (const v of values) {
      const l = m.get(v);
      if (l !== undefined) lists.push(Uint32Array.from(l));
    }
    return lists.length === 1 ? (lists[0] as Uint32Array) : mergePostings(lists);
  }

  private postingsForValues(name: string, keep: (v: string) => boolean): Uint32Array {
    const m = this.byName.get(name);
    if (m === undefined) return EMPTY_POSTINGS;
    const lists: Uint32Array[] = [];
    for (const [v, l] of m) if (keep(v)) lists.push(Uint32Array.from(l));
    if (lists.length === 0) return EMPTY_POSTINGS;
    return lists.length === 1 ? (lists[0] as Uint32Array) : mergePostings(lists);
  }
}

function insertSorted(list: number[], ref: number): void {
  const n = list.length;
  if (n === 0 || (list[n - 1] as number) < ref) {
    list.push(ref);
    return;
  }
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as number) < ref) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] !== ref) list.splice(lo, 0, ref);
}
