import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ChunkEncoding } from '../chunkenc/chunk.js';
import { decodeXorInto, xorNumSamples } from '../chunkenc/xor.js';
import { SegmentFileSource } from '../chunks/segment-file.js';
import { ChunkSegmentReader } from '../chunks/segment-reader.js';
import { CorruptionError } from '../errors.js';
import { IndexReader, type IndexReaderOptions } from '../index/reader.js';
import type { ChunkMeta } from '../index/writer.js';
import { compareStrings as compareStringsLocal, type Labels } from '../labels/labels.js';
import type { Matcher } from '../labels/matcher.js';
import type { SeriesSamples } from '../storage/queryable.js';
import { decodeHistogramChunks, isHistogramEncoding } from './histogram-samples.js';
import { type BlockMeta, parseBlockMeta, readBlockMeta } from './meta.js';
import { type ByteRangeSource, FileRangeSource } from './range-source.js';
import { type Interval, parseTombstones, readTombstones, type Tombstones } from './tombstones.js';

/** The files of one block, from any storage (local directory, bucket, memory). */
export interface BlockSources {
  /** meta.json, parsed or as text. */
  meta: BlockMeta | string;
  index: ByteRangeSource;
  /** Chunk segment files in order (000001, 000002, …). */
  chunks: readonly ByteRangeSource[];
  /** Contents of the tombstones file, if any. */
  tombstones?: Uint8Array;
  /** Name for error messages (e.g. the block directory or ULID). */
  name?: string;
}

/** Options for openBlock. */
export interface OpenBlockOptions extends IndexReaderOptions {}

/** A chunk of a selected series: its index meta plus, unless skipped, encoding and bytes. */
export interface BlockChunk extends ChunkMeta {
  encoding?: ChunkEncoding;
  data?: Uint8Array;
}

/** A selected series with its chunks (bytes kept encoded). */
export interface BlockSeries {
  ref: number;
  labels: Labels;
  chunks: BlockChunk[];
}

/** Options for select. */
export interface BlockSelectOptions {
  /** Return chunk metas only, without reading chunk bytes. */
  skipChunks?: boolean;
  signal?: AbortSignal;
}

const BATCH = 1024;

/**
 * A read-only block: meta, index, chunk segments and tombstones. Series come back in label order,
 * with chunks overlapping the requested range, either as encoded bytes (`select`) or decoded into
 * sample columns (`selectSamples`, `iterateSamples`).
 */
export class BlockReader {
  private constructor(
    readonly meta: BlockMeta,
    readonly index: IndexReader,
    readonly chunks: ChunkSegmentReader,
    readonly tombstones: Tombstones,
    readonly name: string,
  ) {}

  /** Opens a block from its sources; they are closed when it fails (the reader owns them either way). */
  static async open(sources: BlockSources, opts: OpenBlockOptions = {}): Promise<BlockReader> {
    const name = sources.name ?? sources.index.name;
    const meta = typeof sources.meta === 'string' ? parseBlockMeta(sources.meta, `${name}/meta.json`) : sources.meta;
    try {
      const index = await IndexReader.open(sources.index, opts);
      const chunks = await ChunkSegmentReader.open(sources.chunks, opts.signal);
      const tombstones = sources.tombstones ? parseTombstones(sources.tombstones, `${name}/tombstones`) : new Map();
      return new BlockReader(meta, index, chunks, tombstones, name);
    } catch (err) {
      // A block that fails to open (a corrupt index, a bad segment header) leaves no file open:
      // the reader would have owned the sources.
      await Promise.allSettled([sources.index, ...sources.chunks].map((src) => src.close?.()));
      throw err;
    }
  }

  /** Series matching all matchers with at least one chunk overlapping [mint, maxt]. */
  async select(
    matchers: readonly Matcher[],
    mint: number,
    maxt: number,
    opts: BlockSelectOptions = {},
  ): Promise<BlockSeries[]> {
    const out: BlockSeries[] = [];
    for await (const batch of this.selectBatches(matchers, mint, maxt, opts)) out.push(...batch);
    return out;
  }

  /** Like select, in batches of up to 1024 series, so huge selections stream. */
  async *selectBatches(
    matchers: readonly Matcher[],
    mint: number,
    maxt: number,
    opts: BlockSelectOptions = {},
  ): AsyncGenerator<BlockSeries[]> {
    if (maxt < this.meta.minTime || mint >= this.meta.maxTime) return;
    const postings = await this.index.postingsForMatchers(matchers, opts.signal);
    for (let i = 0; i < postings.length; i += BATCH) {
      opts.signal?.throwIfAborted();
      const series = await this.index.series(postings.subarray(i, i + BATCH), { signal: opts.signal });
      const batch: BlockSeries[] = [];
      const refs: number[] = [];
      const targets: BlockChunk[] = [];
      for (const s of series) {
        const dels = this.tombstones.get(s.ref);
        const chunks: BlockChunk[] = s.chunks.filter(
          (c) => c.maxTime >= mint && c.minTime <= maxt && !(dels && coveredBy(c, dels)),
        );
        if (chunks.length === 0) continue;
        batch.push({ ref: s.ref, labels: s.labels, chunks });
        if (!opts.skipChunks) {
          for (const c of chunks) {
            refs.push(c.ref);
            targets.push(c);
          }
        }
      }
      if (refs.length > 0) {
        const raw = await this.chunks.readChunks(refs, opts.signal);
        for (let k = 0; k < raw.length; k++) {
          const t = targets[k] as BlockChunk;
          const r = raw[k] as { encoding: ChunkEncoding; data: Uint8Array };
          t.encoding = r.encoding;
          t.data = r.data;
        }
      }
      if (batch.length > 0) yield batch;
    }
  }

  /**
   * Series with samples in [mint, maxt] decoded into columns (native histograms in `histograms`),
   * in label order, tombstoned samples removed. Series left without samples are dropped.
   */
  async *iterateSamples(
    matchers: readonly Matcher[],
    mint: number,
    maxt: number,
    signal?: AbortSignal,
  ): AsyncGenerator<SeriesSamples> {
    for await (const batch of this.sampleBatches(matchers, mint, maxt, signal)) yield* batch;
  }

  /** Like iterateSamples, a batch (up to 1024 series) at a time: fewer awaits on hot paths. */
  async *sampleBatches(
    matchers: readonly Matcher[],
    mint: number,
    maxt: number,
    signal?: AbortSignal,
  ): AsyncGenerator<SeriesSamples[]> {
    for await (const batch of this.selectBatches(matchers, mint, maxt, { signal })) {
      const out: SeriesSamples[] = [];
      for (const s of batch) {
        const decoded = decodeSeries(s, mint, maxt, this.tombstones.get(s.ref), this.name);
        if (decoded.timestamps.length > 0 || decoded.histograms) out.push(decoded);
      }
      if (out.length > 0) yield out;
    }
  }

  /** All of iterateSamples as an array. */
  async selectSamples(
    matchers: readonly Matcher[],
    mint: number,
    maxt: number,
    signal?: AbortSignal,
  ): Promise<SeriesSamples[]> {
    const out: SeriesSamples[] = [];
    for await (const batch of this.sampleBatches(matchers, mint, maxt, signal)) {
      for (const s of batch) out.push(s);
    }
    return out;
  }

  /** Sorted label names, of all series or of those matching `matchers`. */
  async labelNames(matchers: readonly Matcher[] = [], signal?: AbortSignal): Promise<string[]> {
    if (matchers.length === 0) return this.index.labelNames();
    const names = new Set<string>();
    for await (const batch of this.selectBatches(matchers, -Infinity, Infinity, { skipChunks: true, signal })) {
      for (const s of batch) for (const l of s.labels) names.add(l.name);
    }
    return [...names].sort(compareStringsLocal);
  }

  /** Sorted values of `name`, of all series or of those matching `matchers`. */
  async labelValues(name: string, matchers: readonly Matcher[] = [], signal?: AbortSignal): Promise<string[]> {
    if (matchers.length === 0) return this.index.labelValues(name);
    const values = new Set<string>();
    for await (const batch of this.selectBatches(matchers, -Infinity, Infinity, { skipChunks: true, signal })) {
      for (const s of batch) {
        const v = s.labels.get(name);
        if (v !== '') values.add(v);
      }
    }
    return [...values].sort(compareStringsLocal);
  }

  /** Closes the index and chunk sources. */
  async close(): Promise<void> {
    await this.index.close();
    await this.chunks.close();
  }
}

function coveredBy(c: ChunkMeta, dels: readonly Interval[]): boolean {
  for (const d of dels) if (d.minTime <= c.minTime && c.maxTime <= d.maxTime) return true;
  return false;
}

/**
 * Decodes a selected series' chunks into columns limited to [mint, maxt]: XOR chunks into
 * `timestamps`/`values`, histogram and float histogram chunks into `histograms` (integer ones
 * converted to float histograms).
 */
export function decodeSeries(
  s: BlockSeries,
  mint: number,
  maxt: number,
  dels: readonly Interval[] | undefined,
  file = 'block',
): SeriesSamples {
  let total = 0;
  let hasHistograms = false;
  for (const c of s.chunks) {
    if (c.encoding === ChunkEncoding.XOR && c.data) total += xorNumSamples(c.data);
    else if (isHistogramEncoding(c.encoding)) hasHistograms = true;
  }
  if (hasHistograms) {
    const floats = decodeSeries(
      { ...s, chunks: s.chunks.filter((c) => c.encoding === ChunkEncoding.XOR) },
      mint,
      maxt,
      dels,
      file,
    );
    const histograms = decodeHistogramChunks(s.chunks, mint, maxt, dels, file);
    return histograms ? { ...floats, histograms } : floats;
  }
  let ts: Float64Array = new Float64Array(total);
  let vs: Float64Array = new Float64Array(total);
  let n = 0;
  let sorted = true;
  for (const c of s.chunks) {
    if (c.encoding !== ChunkEncoding.XOR || !c.data) continue;
    const got = decodeXorInto(c.data, ts, vs, n, file, c.ref);
    if (n > 0 && got > 0 && (ts[n] as number) <= (ts[n - 1] as number)) sorted = false;
    n += got;
  }
  if (!sorted) [ts, vs] = sortDedupe(ts, vs, n);
  else if (n !== total) {
    ts = ts.subarray(0, n);
    vs = vs.subarray(0, n);
  }
  // Trim to [mint, maxt] and drop deleted samples in place (nothing to do in the common case of
  // a series entirely inside the range without tombstones).
  if (!dels && (ts.length === 0 || ((ts[0] as number) >= mint && (ts[ts.length - 1] as number) <= maxt))) {
    return { labels: s.labels, timestamps: ts, values: vs };
  }
  let w = 0;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as number;
    if (t < mint || t > maxt) continue;
    if (dels?.some((d) => t >= d.minTime && t <= d.maxTime)) continue;
    ts[w] = t;
    vs[w] = vs[i] as number;
    w++;
  }
  if (w !== ts.length) {
    ts = ts.slice(0, w);
    vs = vs.slice(0, w);
  }
  return { labels: s.labels, timestamps: ts, values: vs };
}

// Overlapping chunks (possible after out-of-order ingestion): merge by time, first sample wins.
function sortDedupe(ts: Float64Array, vs: Float64Array, n: number): [Float64Array, Float64Array] {
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => (ts[a] as number) - (ts[b] as number) || a - b);
  const ots = new Float64Array(n);
  const ovs = new Float64Array(n);
  let w = 0;
  for (const i of idx) {
    if (w > 0 && ots[w - 1] === ts[i]) continue;
    ots[w] = ts[i] as number;
    ovs[w] = vs[i] as number;
    w++;
  }
  return [ots.subarray(0, w), ovs.subarray(0, w)];
}

/**
 * Opens a block from a local directory (meta.json, index, chunks/NNNNNN, tombstones) or from
 * explicit sources (e.g. ranged reads from a bucket).
 */
export async function openBlock(
  dirOrSources: string | BlockSources,
  opts: OpenBlockOptions = {},
): Promise<BlockReader> {
  if (typeof dirOrSources !== 'string') return BlockReader.open(dirOrSources, opts);
  const dir = dirOrSources;
  const meta = await readBlockMeta(dir);
  let segs: string[];
  try {
    segs = (await readdir(join(dir, 'chunks'))).filter((f) => /^\d+$/.test(f)).sort();
  } catch (err) {
    throw new CorruptionError(join(dir, 'chunks'), 0, `cannot list chunk segments: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const tombstones = await readTombstones(dir);
  const indexPath = join(dir, 'index');
  const index = new FileRangeSource(indexPath);
  try {
    await index.size();
  } catch (err) {
    throw new CorruptionError(indexPath, 0, `cannot open index: ${(err as Error).message}`, { cause: err });
  }
  const reader = await BlockReader.open(
    { meta, index, chunks: segs.map((f) => new SegmentFileSource(join(dir, 'chunks', f))), name: dir },
    opts,
  );
  for (const [k, v] of tombstones) reader.tombstones.set(k, v);
  return reader;
}
