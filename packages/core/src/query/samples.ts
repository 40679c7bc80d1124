import { decodeXorInto, xorNumSamples } from '@thanos-ts/tsdb';
import type { Aggr, AggrChunk, Chunk } from '../storeapi/store-api.js';
import type { ColumnArena, Scratch } from './arena.js';
import { type DeduplicationFunc, dedupMixedReplicas, type MixedSamples, type SampleColumns } from './dedup.js';
import { decodeChainMixed, hasHistogramSlots, pickChunk } from './downsampled-histograms.js';

/**
 * The float decoders' guard: decodeStoreSeries sends every series with a histogram chunk, raw or
 * in an aggregate slot, to the mixed decoder, so a non-XOR chunk here is a routing bug, reported
 * rather than dropped from the answer.
 */
function notFloat(chunk: Chunk): Error {
  return new Error(`internal error: ${chunk.type} chunk reached the float decoder`);
}

function decodeOne(chunk: Chunk, mint: number, maxt: number): SampleColumns {
  if (chunk.type !== 'XOR') throw notFloat(chunk);
  const n = xorNumSamples(chunk.data);
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const got = decodeXorInto(chunk.data, t, v, 0);
  return bound({ timestamps: t.subarray(0, got), values: v.subarray(0, got) }, mint, maxt);
}

function bound(c: SampleColumns, mint: number, maxt: number): SampleColumns {
  const t = c.timestamps;
  let lo = 0;
  let hi = t.length;
  while (lo < hi && (t[lo] as number) < mint) lo++;
  while (hi > lo && (t[hi - 1] as number) > maxt) hi--;
  if (lo === 0 && hi === t.length) return c;
  return { timestamps: t.subarray(lo, hi), values: c.values.subarray(lo, hi) };
}

/**
 * Decodes a chain of non-overlapping chunks into sample columns bounded to [mint, maxt].
 * Raw chunks decode as they are; downsampled chunks (no `raw`) yield the aggregate the request
 * asked for, COUNT+SUM meaning the average sum/count (as Thanos's querier reads them).
 */
export function decodeChain(
  chunks: readonly AggrChunk[],
  aggregates: readonly Aggr[],
  mint: number,
  maxt: number,
): SampleColumns {
  const parts: SampleColumns[] = [];
  let total = 0;
  for (const c of chunks) {
    if (c.maxTime < mint || c.minTime > maxt) continue;
    let cols: SampleColumns | undefined;
    if (c.raw) cols = decodeOne(c.raw, mint, maxt);
    else if (aggregates.includes('COUNT') && aggregates.includes('SUM') && c.count && c.sum) {
      const count = decodeOne(c.count, mint, maxt);
      const sum = decodeOne(c.sum, mint, maxt);
      const n = Math.min(count.values.length, sum.values.length);
      const avg = new Float64Array(n);
      for (let i = 0; i < n; i++) avg[i] = (sum.values[i] as number) / (count.values[i] as number);
      cols = { timestamps: sum.timestamps.subarray(0, n), values: avg };
    } else {
      for (const a of aggregates) {
        const ch = pickChunk(c, a);
        if (ch) {
          cols = decodeOne(ch, mint, maxt);
          break;
        }
      }
    }
    if (!cols || cols.timestamps.length === 0) continue;
    parts.push(cols);
    total += cols.timestamps.length;
  }
  if (parts.length === 1) return parts[0] as SampleColumns;
  const timestamps = new Float64Array(total);
  const values = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    timestamps.set(p.timestamps, at);
    values.set(p.values, at);
    at += p.timestamps.length;
  }
  return { timestamps, values };
}

function rawOrPicked(c: AggrChunk, aggregates: readonly Aggr[]): Chunk | undefined {
  if (c.raw) return c.raw;
  if (aggregates.includes('COUNT') && aggregates.includes('SUM') && c.count && c.sum) return undefined;
  for (const a of aggregates) {
    const ch = pickChunk(c, a);
    if (ch) return ch;
  }
  return undefined;
}

/** Most samples a chain can decode to (before bounding to the query range). */
export function chainCapacity(chunks: readonly AggrChunk[], aggregates: readonly Aggr[]): number {
  let n = 0;
  for (const c of chunks) {
    const ch = rawOrPicked(c, aggregates) ?? c.sum;
    if (ch) n += xorNumSamples(ch.data);
  }
  return n;
}

/**
 * decodeChain writing into `ts`/`vs` (room for chainCapacity samples) without allocating for raw
 * chunks; returns the number of samples in [mint, maxt].
 */
export function decodeChainInto(
  chunks: readonly AggrChunk[],
  aggregates: readonly Aggr[],
  mint: number,
  maxt: number,
  ts: Float64Array,
  vs: Float64Array,
): number {
  let n = 0;
  const counterState: CounterState = { total: 0, lastT: 0, lastV: 0, totalV: 0 };
  for (const c of chunks) {
    if (c.maxTime < mint || c.minTime > maxt) continue;
    const ch = rawOrPicked(c, aggregates);
    if (!ch) {
      // Averages of downsampled data: rare enough to take the allocating path.
      const cols = decodeChain([c], aggregates, mint, maxt);
      ts.set(cols.timestamps, n);
      vs.set(cols.values, n);
      n += cols.timestamps.length;
      continue;
    }
    if (ch.type !== 'XOR') throw notFloat(ch);
    if (ch === c.counter && !c.raw) {
      n = appendCounter(ch, mint, maxt, ts, vs, n, counterState);
      continue;
    }
    const k = decodeXorInto(ch.data, ts, vs, n);
    // Drop what falls outside [mint, maxt], keeping the kept run contiguous.
    let lo = n;
    let hi = n + k;
    while (lo < hi && (ts[lo] as number) < mint) lo++;
    while (hi > lo && (ts[hi - 1] as number) > maxt) hi--;
    if (lo > n) {
      ts.copyWithin(n, lo, hi);
      vs.copyWithin(n, lo, hi);
    }
    n += hi - lo;
  }
  return n;
}

/**
 * Decodes one merged series (its chunks possibly from several replicas) into columns carved from
 * `arena`: one chain decodes straight in, several are decoded into scratch buffers and
 * deduplicated into the arena with `dedup`. Replicas are read from `dedupFrom` (≤ mint; the
 * start of the deduplication window, so dedup sees the same samples whatever the query's start)
 * and the deduplicated result is bounded to [mint, maxt].
 */
export function decodeSeriesColumns(
  chains: readonly (readonly AggrChunk[])[],
  aggregates: readonly Aggr[],
  mint: number,
  maxt: number,
  arena: ColumnArena,
  scratch: Scratch[],
  dedup: (replicas: SampleColumns[], outT: Float64Array, outV: Float64Array) => number,
  dedupFrom = mint,
): SampleColumns {
  if (chains.length === 1) {
    const cap = chainCapacity(chains[0] as AggrChunk[], aggregates);
    const block = arena.alloc(2 * cap);
    const ts = block.subarray(0, cap);
    const vs = block.subarray(cap, 2 * cap);
    const n = decodeChainInto(chains[0] as AggrChunk[], aggregates, mint, maxt, ts, vs);
    if (n === cap) return { timestamps: ts, values: vs };
    block.copyWithin(n, cap, cap + n);
    const kept = arena.shrinkLast(block, 2 * n);
    return { timestamps: kept.subarray(0, n), values: kept.subarray(n, 2 * n) };
  }
  const replicas: SampleColumns[] = [];
  let total = 0;
  chains.forEach((chain, i) => {
    const cap = chainCapacity(chain, aggregates);
    const sc = scratch[i] as Scratch;
    sc.ensure(cap);
    const n = decodeChainInto(chain, aggregates, dedupFrom, maxt, sc.timestamps, sc.values);
    replicas.push({ timestamps: sc.timestamps.subarray(0, n), values: sc.values.subarray(0, n) });
    total += n;
  });
  const block = arena.alloc(2 * total);
  const got = dedup(replicas, block.subarray(0, total), block.subarray(total, 2 * total));
  // Drop what dedup read before mint: columns [skip, got) move to the block's start.
  let skip = 0;
  while (skip < got && (block[skip] as number) < mint) skip++;
  const n = got - skip;
  if (skip > 0) block.copyWithin(0, skip, got);
  block.copyWithin(n, total + skip, total + got);
  const kept = arena.shrinkLast(block, 2 * n);
  return { timestamps: kept.subarray(0, n), values: kept.subarray(n, 2 * n) };
}

/** Running state of Thanos's ApplyCounterResetsSeriesIterator over a chain of counter chunks. */
interface CounterState {
  total: number;
  lastT: number;
  lastV: number;
  totalV: number;
}

/**
 * Appends a downsampled `counter` aggregate chunk the way Thanos reads it
 * (downsample.ApplyCounterResetsSeriesIterator): values accumulate across counter resets, and a
 * chunk's extra last sample (same timestamp as the one before) carries the true last raw value,
 * used to tell whether the next chunk starts after a reset. NaNs are skipped.
 */
function appendCounter(
  ch: Chunk,
  mint: number,
  maxt: number,
  ts: Float64Array,
  vs: Float64Array,
  n: number,
  st: CounterState,
): number {
  const cap = xorNumSamples(ch.data);
  const t = new Float64Array(cap);
  const v = new Float64Array(cap);
  const k = decodeXorInto(ch.data, t, v, 0);
  // Crossing into a new chunk seeks past the last timestamp (the Go iterator's Seek(lastT+1)).
  let i = 0;
  if (st.total > 0) while (i < k && (t[i] as number) <= st.lastT) i++;
  for (; i < k; i++) {
    const ti = t[i] as number;
    const vi = v[i] as number;
    if (Number.isNaN(vi)) continue;
    if (st.total === 0) {
      st.total++;
      st.lastT = ti;
      st.lastV = vi;
      st.totalV = vi;
    } else if (ti > st.lastT) {
      st.totalV += vi >= st.lastV ? vi - st.lastV : vi;
      st.lastT = ti;
      st.lastV = vi;
      st.total++;
    } else {
      if (ti === st.lastT) st.lastV = vi;
      continue;
    }
    if (ti >= mint && ti <= maxt) {
      ts[n] = ti;
      vs[n] = st.totalV;
      n++;
    }
  }
  return n;
}

/**
 * Whether any chunk of the series holds native histograms, raw or downsampled (a histogram sum or
 * counter aggregate); such series take decodeSeriesMixed.
 */
export function hasHistogramChunks(chunks: readonly AggrChunk[]): boolean {
  return hasHistogramSlots(chunks);
}

/**
 * Decodes one merged series with native histogram chunks, raw or downsampled: floats and
 * histograms of each chain (replica) read as Thanos's querier reads them (decodeChainMixed), then
 * deduplicated across chains with dedupMixedReplicas. The slower path taken only for series that
 * hold histograms; float-only series use decodeSeriesColumns.
 */
export function decodeSeriesMixed(
  chains: readonly (readonly AggrChunk[])[],
  aggregates: readonly Aggr[],
  mint: number,
  maxt: number,
  func: DeduplicationFunc,
  counter: boolean,
  name?: string,
  dedupFrom = mint,
): MixedSamples {
  if (chains.length === 1) return decodeChainMixed(chains[0] as AggrChunk[], aggregates, mint, maxt, name);
  const replicas = chains.map((chain) => decodeChainMixed(chain, aggregates, dedupFrom, maxt, name));
  return boundMixed(dedupMixedReplicas(replicas, func, counter), mint);
}

/** `m` without the samples before `mint` (float and histogram columns alike). */
function boundMixed(m: MixedSamples, mint: number): MixedSamples {
  const cut = (t: Float64Array): number => {
    let i = 0;
    while (i < t.length && (t[i] as number) < mint) i++;
    return i;
  };
  const f = cut(m.timestamps);
  const h = m.histograms ? cut(m.histograms.timestamps) : 0;
  if (f === 0 && h === 0) return m;
  const floats = { timestamps: m.timestamps.subarray(f), values: m.values.subarray(f) };
  if (!m.histograms) return floats;
  return {
    ...floats,
    histograms: { timestamps: m.histograms.timestamps.subarray(h), values: m.histograms.values.slice(h) },
  };
}
