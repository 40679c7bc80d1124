import { compareLabels, compareStrings } from '../labels/labels.js';
import type { Matcher } from '../labels/matcher.js';
import type { Queryable, SelectHints, SeriesSamples } from '../storage/queryable.js';
import type { Head } from './head.js';
import type { MemSeries } from './series.js';

/**
 * Series of the head matching the matchers that have samples in [mint, maxt], sorted by labels,
 * with their samples decoded. Synchronous: the result is a consistent snapshot (no commit can
 * interleave), which the DB relies on when it merges the head with blocks.
 */
export function selectHeadSamples(
  head: Head,
  matchers: readonly Matcher[],
  mint: number,
  maxt: number,
  labelsOnly = false,
): SeriesSamples[] {
  const series = matchingSeries(head, matchers);
  const out: SeriesSamples[] = [];
  for (const s of series) {
    if (labelsOnly) {
      if (overlaps(s, mint, maxt)) out.push({ labels: s.labels, timestamps: EMPTY, values: EMPTY });
      continue;
    }
    const { timestamps, values } = s.samples(mint, maxt);
    const histograms = s.mayHoldHistograms() ? s.histogramSamples(mint, maxt) : undefined;
    if (histograms) out.push({ labels: s.labels, timestamps, values, histograms });
    else if (timestamps.length > 0) out.push({ labels: s.labels, timestamps, values });
  }
  return out;
}

const EMPTY = new Float64Array(0);

function overlaps(s: MemSeries, mint: number, maxt: number): boolean {
  return !s.empty() && s.minTime() <= maxt && (s.maxTime() >= mint || s.hasOutOfOrder());
}

/** Head series matching every matcher, sorted by labels (Prometheus's SortedPostings). */
export function matchingSeries(head: Head, matchers: readonly Matcher[]): MemSeries[] {
  const refs = head.postings.postingsForMatchers(matchers);
  const out: MemSeries[] = [];
  for (let i = 0; i < refs.length; i++) {
    const s = head.getByRef(refs[i] as number);
    if (s !== undefined) out.push(s);
  }
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return out;
}

/** Whether the head may hold data in [hints.start, hints.end]. */
function headOverlaps(head: Head, hints: SelectHints): boolean {
  if (head.numSeries === 0) return false;
  const mint = Math.min(head.minTime, head.minOutOfOrderTime());
  return mint <= hints.end && head.maxTime >= hints.start;
}

/**
 * A Queryable over a head, like createBlockQueryable over blocks: series sorted by labels,
 * samples limited to [hints.start, hints.end], label names and values from series matching the
 * matchers (all series without matchers). Reads see every committed sample, in-order and
 * out-of-order merged.
 */
export function createHeadQueryable(head: Head): Queryable {
  return {
    async select(matchers, hints, signal) {
      signal?.throwIfAborted();
      if (!headOverlaps(head, hints)) return [];
      return selectHeadSamples(head, matchers, hints.start, hints.end, hints.labelsOnly ?? false);
    },
    async labelNames(matchers, hints, signal) {
      signal?.throwIfAborted();
      if (!headOverlaps(head, hints)) return [];
      if (matchers.length === 0) return head.postings.labelNames();
      const set = new Set<string>();
      for (const s of matchingSeries(head, matchers))
        for (const n of s.labels.toFlat().filter((_, i) => i % 2 === 0)) set.add(n);
      return [...set].sort(compareStrings);
    },
    async labelValues(name, matchers, hints, signal) {
      signal?.throwIfAborted();
      if (!headOverlaps(head, hints)) return [];
      if (matchers.length === 0) return head.postings.labelValues(name);
      const set = new Set<string>();
      for (const s of matchingSeries(head, matchers)) {
        const v = s.labels.get(name);
        if (v !== '') set.add(v);
      }
      return [...set].sort(compareStrings);
    },
  };
}
