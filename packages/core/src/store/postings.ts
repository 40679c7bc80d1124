import {
  EMPTY_POSTINGS,
  type IndexReader,
  intersectPostings,
  type Labels,
  type Matcher,
  mergePostings,
  withoutPostings,
} from '@thanos-ts/tsdb';
import type { TimeSlice } from '../concurrency/time-slice.js';

/** Label values tested against a matcher between two time-slice checks. */
const VALUES_PER_CHECK = 256;
/** Label values whose postings lists are read and merged in one call of the reader. */
const VALUES_PER_READ = 4096;

/**
 * Postings of a block's series matching all `matchers`, with the semantics of tsdb's
 * `IndexReader.postingsForMatchers` (Prometheus's PostingsForMatchers: a matcher accepting ''
 * also selects series without the label, negative matchers are subtracted, and with only such
 * matchers the all-series list is the start). Unlike it, this one yields to the event loop
 * through `slice` while testing a regex against every value of a label and between reads of
 * many postings lists: with the index cache warm those reads resolve as microtasks, so the
 * reader's version runs as one task, hundreds of ms for a broad regex over a large block.
 */
export async function postingsForMatchersSliced(
  reader: IndexReader,
  matchers: readonly Matcher[],
  slice: TimeSlice,
  signal?: AbortSignal,
): Promise<Uint32Array> {
  const mustBeSet = new Set<string>();
  for (const m of matchers) if (!m.matches('')) mustBeSet.add(m.name);
  const its: Uint32Array[] = [];
  const notIts: Uint32Array[] = [];
  for (const m of matchers) {
    const isNot = m.type === '!=' || m.type === '!~';
    if (mustBeSet.has(m.name)) {
      const matchesEmpty = m.matches('');
      if (isNot && matchesEmpty) {
        // l!="foo": subtract the series where the label has the excluded values.
        notIts.push(await postingsForValues(reader, m.name, (v) => !m.matches(v), slice, signal));
      } else {
        let it: Uint32Array;
        if (m.type === '=') it = await reader.postings(m.name, [m.value], signal);
        else {
          const set = m.type === '=~' ? m.setMatches() : undefined;
          it =
            set && set.length > 0
              ? await postingsOfValues(reader, m.name, set, slice, signal)
              : await postingsForValues(reader, m.name, (v) => m.matches(v), slice, signal);
        }
        if (it.length === 0) return EMPTY_POSTINGS;
        its.push(it);
      }
    } else {
      // l="" or l=~"a|": everything except series whose value the matcher rejects.
      notIts.push(await postingsForValues(reader, m.name, (v) => !m.matches(v), slice, signal));
    }
    await slice.check();
  }
  if (its.length === 0 && notIts.length !== 0) its.push(await reader.allPostings(signal));
  if (its.length === 0) return EMPTY_POSTINGS;
  let it = intersectPostings(its);
  for (const n of notIts) it = withoutPostings(it, n);
  return it;
}

/** Union of the postings of the values of `name` that `keep` accepts. */
async function postingsForValues(
  reader: IndexReader,
  name: string,
  keep: (v: string) => boolean,
  slice: TimeSlice,
  signal?: AbortSignal,
): Promise<Uint32Array> {
  const values = reader.labelValues(name);
  const kept: string[] = [];
  for (let i = 0; i < values.length; i++) {
    if (i % VALUES_PER_CHECK === VALUES_PER_CHECK - 1) {
      const turn = slice.check();
      if (turn) await turn;
    }
    const v = values[i] as string;
    if (keep(v)) kept.push(v);
  }
  return postingsOfValues(reader, name, kept, slice, signal);
}

/** Union of the postings of `name` = each of `values`, read a bounded number of lists at a time. */
async function postingsOfValues(
  reader: IndexReader,
  name: string,
  values: readonly string[],
  slice: TimeSlice,
  signal?: AbortSignal,
): Promise<Uint32Array> {
  if (values.length === 0) return EMPTY_POSTINGS;
  if (values.length <= VALUES_PER_READ) return reader.postings(name, values, signal);
  const parts: Uint32Array[] = [];
  for (let i = 0; i < values.length; i += VALUES_PER_READ) {
    parts.push(await reader.postings(name, values.slice(i, i + VALUES_PER_READ), signal));
    const turn = slice.check();
    if (turn) await turn;
  }
  return mergePostings(parts);
}

/** Series entries decoded per call of the reader in `forEachSeriesLabels`. */
const SERIES_PER_READ = 1024;

/**
 * Calls `fn` with the labels of each series of `refs` (sorted, as postings are), reading the
 * index a bounded number of entries at a time and checking `slice` between reads, so label
 * names and values requests over many series share the event loop.
 */
export async function forEachSeriesLabels(
  reader: IndexReader,
  refs: Uint32Array,
  slice: TimeSlice,
  signal: AbortSignal | undefined,
  fn: (labels: Labels) => void,
): Promise<void> {
  for (let i = 0; i < refs.length; i += SERIES_PER_READ) {
    const series = await reader.series(refs.subarray(i, i + SERIES_PER_READ), {
      skipChunks: true,
      ...(signal ? { signal } : {}),
    });
    for (const s of series) fn(s.labels);
    const turn = slice.check();
    if (turn) await turn;
  }
}
