import { compareLabels, compareStrings } from '../labels/labels.js';
import type { Matcher } from '../labels/matcher.js';
import { mergeSampleColumns } from '../storage/merge.js';
import type { Queryable, SelectHints, SeriesSamples } from '../storage/queryable.js';
import { mergeHistogramSamples, withoutFloatTimestamps } from './histogram-samples.js';
import type { BlockReader } from './reader.js';

/**
 * Streams series from several blocks in label order, merging series with equal labels: samples
 * are merged by time, and for equal timestamps the earlier block's sample wins (blocks are
 * considered in the order given, usually by minTime). Blocks not overlapping [mint, maxt] are
 * never touched. Yields batches of series (awaiting only when a block's batch runs out).
 */
export async function* mergeBlockSampleBatches(
  blocks: readonly BlockReader[],
  matchers: readonly Matcher[],
  mint: number,
  maxt: number,
  signal?: AbortSignal,
): AsyncGenerator<SeriesSamples[]> {
  const its = blocks
    .filter((b) => b.meta.maxTime > mint && b.meta.minTime <= maxt)
    .map((b) => b.sampleBatches(matchers, mint, maxt, signal));
  if (its.length === 1) {
    yield* its[0] as AsyncGenerator<SeriesSamples[]>;
    return;
  }
  const batches: (SeriesSamples[] | undefined)[] = await Promise.all(
    its.map(async (it) => (await it.next()).value ?? undefined),
  );
  const pos = new Array<number>(its.length).fill(0);
  let out: SeriesSamples[] = [];
  for (;;) {
    let min: SeriesSamples | undefined;
    for (let i = 0; i < batches.length; i++) {
      const h = batches[i]?.[pos[i] as number];
      if (h && (!min || compareLabels(h.labels, min.labels) < 0)) min = h;
    }
    if (!min) break;
    const same: SeriesSamples[] = [];
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i];
      const h = b?.[pos[i] as number];
      if (b && h && compareLabels(h.labels, min.labels) === 0) {
        same.push(h);
        pos[i] = (pos[i] as number) + 1;
        if ((pos[i] as number) >= b.length) {
          batches[i] = (await (its[i] as AsyncGenerator<SeriesSamples[]>).next()).value ?? undefined;
          pos[i] = 0;
        }
      }
    }
    out.push(same.length === 1 ? (same[0] as SeriesSamples) : mergeSamples(same));
    if (out.length >= 1024) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

/** mergeBlockSampleBatches one series at a time. */
export async function* mergeBlockSamples(
  blocks: readonly BlockReader[],
  matchers: readonly Matcher[],
  mint: number,
  maxt: number,
  signal?: AbortSignal,
): AsyncGenerator<SeriesSamples> {
  for await (const batch of mergeBlockSampleBatches(blocks, matchers, mint, maxt, signal)) yield* batch;
}

/**
 * Merges samples of the same series by timestamp; on equal timestamps the first list wins. Native
 * histograms are merged the same way, and a histogram whose timestamp a float holds is dropped
 * (see withoutFloatTimestamps).
 */
export function mergeSamples(parts: readonly SeriesSamples[]): SeriesSamples {
  const { timestamps, values } = mergeSampleColumns(parts);
  const labels = (parts[0] as SeriesSamples).labels;
  let anyHistograms = false;
  for (const p of parts) if (p.histograms) anyHistograms = true;
  if (!anyHistograms) return { labels, timestamps, values };
  const histograms = withoutFloatTimestamps(mergeHistogramSamples(parts.map((p) => p.histograms)), timestamps);
  return histograms ? { labels, timestamps, values, histograms } : { labels, timestamps, values };
}

/**
 * A Queryable (the PromQL engine's read contract) over opened blocks: series sorted by labels,
 * samples limited to [hints.start, hints.end], series merged across blocks.
 */
export function createBlockQueryable(blocks: readonly BlockReader[]): Queryable {
  const overlapping = (hints: SelectHints) =>
    blocks.filter((b) => b.meta.maxTime > hints.start && b.meta.minTime <= hints.end);
  return {
    async select(matchers, hints, signal) {
      const out: SeriesSamples[] = [];
      if (hints.labelsOnly) {
        const seen = new Map<string, SeriesSamples>();
        for (const b of overlapping(hints)) {
          for await (const batch of b.selectBatches(matchers, hints.start, hints.end, { skipChunks: true, signal })) {
            for (const s of batch) {
              const k = s.labels.key();
              if (!seen.has(k))
                seen.set(k, { labels: s.labels, timestamps: new Float64Array(0), values: new Float64Array(0) });
            }
          }
        }
        return [...seen.values()].sort((a, b) => compareLabels(a.labels, b.labels));
      }
      for await (const batch of mergeBlockSampleBatches(blocks, matchers, hints.start, hints.end, signal)) {
        for (const s of batch) out.push(s);
      }
      return out;
    },
    async labelNames(matchers, hints, signal) {
      const set = new Set<string>();
      for (const b of overlapping(hints)) for (const n of await b.labelNames(matchers, signal)) set.add(n);
      return [...set].sort(compareStrings);
    },
    async labelValues(name, matchers, hints, signal) {
      const set = new Set<string>();
      for (const b of overlapping(hints)) for (const v of await b.labelValues(name, matchers, signal)) set.add(v);
      return [...set].sort(compareStrings);
    },
  };
}
