/**
 * A select's series as the stores sent them (chunk bytes), packed into a few transferable
 * buffers so the querier's event loop only copies bytes, and decoded, merged and deduplicated in
 * the PromQL evaluation worker (@thanos-ts/promql's encoded series). The same per-series decode
 * runs on the event loop when there is no worker, so both give the same samples.
 *
 *   payload.bytes   every chunk's data, back to back in 1 MiB segments of shared memory (a larger
 *                   chunk in a buffer of its own)
 *   payload.times   per chunk: minTime, maxTime (ms)
 *   payload.slots   per chunk: a mask of its present slots (bit k: raw, count, sum, min, max,
 *                   counter), then per present slot in that order: encoding | segment << 2, offset in
 *                   the segment, length (4 words for a raw chunk)
 *   payload.chunkEnds  per series: end of its chunks (series i has chunks chunkEnds[i-1] .. chunkEnds[i])
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DecodedSeries, EncodedSeriesSet, SeriesDecoderRef } from '@thanos-ts/promql';
import type { Labels, SeriesSamples } from '@thanos-ts/tsdb';
import type { Aggr, AggrChunk, Chunk, ChunkEncoding } from '../storeapi/store-api.js';
import { ColumnArena, Scratch } from './arena.js';
import { type DeduplicationFunc, dedupReplicasInto, splitOverlapping } from './dedup.js';
import { decodeSeriesColumns, decodeSeriesMixed, hasHistogramChunks } from './samples.js';

/** How one select's series are decoded: its time range, aggregates and deduplication. */
export interface SeriesDecodeParams {
  /** Aggregates asked of downsampled stores (see `aggregatesForFunc`). */
  readonly aggregates: readonly Aggr[];
  /** Bounds of the samples kept, ms, inclusive. */
  readonly mint: number;
  readonly maxt: number;
  /**
   * Where replicas are read from for deduplication, ms (≤ mint): the start of the penalty
   * deduplication window holding mint (dedupWindowStart). Default mint.
   */
  readonly dedupFrom?: number;
  readonly func: DeduplicationFunc;
  /** The function around the selector treats values as counters (dedup adjusts resets). */
  readonly counter: boolean;
}

/** Reusable state of decoding one select's series (results share the arena's slabs). */
export interface SeriesDecodeState {
  readonly arena: ColumnArena;
  readonly scratch: Scratch[];
}

/** Fresh decode state for one select. */
export function newDecodeState(): SeriesDecodeState {
  return { arena: new ColumnArena(), scratch: [] };
}

/**
 * Decodes one merged series (chunks of every replica, sorted by minTime) into sample columns
 * bounded to [mint, maxt], replicas split apart and deduplicated. Returns the samples counted in
 * the query's stats along with the series.
 */
export function decodeStoreSeries(
  labels: Labels,
  chunks: readonly AggrChunk[],
  p: SeriesDecodeParams,
  state: SeriesDecodeState,
): { series: SeriesSamples; samples: number } {
  const chains = splitOverlapping(chunks);
  if (hasHistogramChunks(chunks)) {
    const mixed = decodeSeriesMixed(
      chains,
      p.aggregates,
      p.mint,
      p.maxt,
      p.func,
      p.counter,
      labels.toString(),
      p.dedupFrom ?? p.mint,
    );
    const samples = mixed.timestamps.length + (mixed.histograms?.timestamps.length ?? 0);
    return {
      series: mixed.histograms
        ? { labels, timestamps: mixed.timestamps, values: mixed.values, histograms: mixed.histograms }
        : { labels, timestamps: mixed.timestamps, values: mixed.values },
      samples,
    };
  }
  while (state.scratch.length < chains.length) state.scratch.push(new Scratch());
  const cols = decodeSeriesColumns(
    chains,
    p.aggregates,
    p.mint,
    p.maxt,
    state.arena,
    state.scratch,
    (replicas, outT, outV) => dedupReplicasInto(replicas, p.func, p.counter, outT, outV),
    p.dedupFrom ?? p.mint,
  );
  return { series: { labels, timestamps: cols.timestamps, values: cols.values }, samples: cols.timestamps.length };
}

/** The encoded set's payload (see the file comment for the layout). */
interface StoreSeriesPayload extends SeriesDecodeParams {
  bytes: Uint8Array[];
  /** Set to 1 (Atomics) by the decoder once it no longer reads `bytes`: the segments may be reused. */
  done?: Int32Array;
  times: Float64Array;
  slots: Uint32Array;
  chunkEnds: Uint32Array;
}

/** Slot order of an AggrChunk's chunks in `payload.slots`. */
const SLOTS = ['raw', 'count', 'sum', 'min', 'max', 'counter'] as const;
/** Most words one chunk takes in `payload.slots`: the mask and three per slot. */
const MAX_CHUNK_WORDS = 1 + 3 * SLOTS.length;
const ENCODINGS: readonly (ChunkEncoding | undefined)[] = [undefined, 'XOR', 'HISTOGRAM', 'FLOAT_HISTOGRAM'];
const encodingCode = (e: ChunkEncoding): number => (e === 'XOR' ? 1 : e === 'HISTOGRAM' ? 2 : 3);
/** Size of a byte segment; a chunk larger than this gets a buffer of its own. */
const SEGMENT_BYTES = 1 << 20;
/** Free segments kept for reuse (16 MiB), and sets whose segments may come back. */
const MAX_FREE_SEGMENTS = 16;
const MAX_LENT_SETS = 64;

/** Series checked between looks at the query's stop flag while decoding in a worker. */
const STOP_CHECK_SERIES = 256;

/**
 * Bytes with their own ArrayBuffer (transferable, unlike a pooled Buffer's) left uninitialized:
 * zero-filling megabytes we overwrite anyway showed in the event loop's profile.
 */
const unfilledBytes = (n: number): Uint8Array => {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
};
const unfilledWords = (n: number): Uint32Array => {
  const b = Buffer.allocUnsafeSlow(4 * n);
  return new Uint32Array(b.buffer, b.byteOffset, n);
};

/**
 * Byte segments in shared memory, reused once the worker that decoded a set says it is done
 * with them. Transferring fresh buffers instead made the event loop write every chunk byte into
 * pages it had never touched: the worker frees transferred buffers only at its own GC, so each
 * select faulted in new memory (measured: 8,320 chunks, 2.7 MB, 0.5 ms to pack into reused
 * memory against 2–12 ms into buffers then moved to a worker that keeps them). A segment comes
 * back only after the decoder stored 1 in the set's `done` flag (Atomics, so its reads happen
 * before our writes); sets never decoded (a query stopped before it was posted) and sets holding
 * native histogram chunks (whose decoded form is not checked to be free of views) leave their
 * segments to the GC. One pool per thread, shared by the queries of that thread's querier.
 */
class SegmentPool {
  private readonly free: SharedArrayBuffer[] = [];
  private lent: { done: Int32Array; segments: SharedArrayBuffer[] }[] = [];

  /** A segment to fill: a returned one when there is one. */
  take(): SharedArrayBuffer {
    if (this.free.length === 0) this.reclaim();
    return this.free.pop() ?? new SharedArrayBuffer(SEGMENT_BYTES);
  }

  /** Lends `segments` to the decoder of one set; they come back once `done[0]` is 1. */
  lend(done: Int32Array, segments: SharedArrayBuffer[]): void {
    if (segments.length === 0) return;
    this.lent.push({ done, segments });
    // The oldest are most likely never decoded (stopped queries): leave them to the GC.
    if (this.lent.length > MAX_LENT_SETS) this.lent = this.lent.slice(-MAX_LENT_SETS);
  }

  private reclaim(): void {
    const still: { done: Int32Array; segments: SharedArrayBuffer[] }[] = [];
    for (const l of this.lent) {
      if (Atomics.load(l.done, 0) !== 1) still.push(l);
      else for (const s of l.segments) if (this.free.length < MAX_FREE_SEGMENTS) this.free.push(s);
    }
    this.lent = still;
  }
}

const segmentPool = new SegmentPool();

/** A typed array that doubles as it fills. */
class Growing<T extends Uint8Array | Uint32Array | Float64Array> {
  used = 0;
  constructor(
    public array: T,
    private readonly make: (n: number) => T,
  ) {}
  /** Makes room for `n` more elements. */
  reserve(n: number): void {
    if (this.used + n <= this.array.length) return;
    const next = this.make(Math.max(this.used + n, this.array.length * 2));
    next.set(this.array.subarray(0, this.used) as never);
    this.array = next;
  }
  /** The filled part, a view over the buffer to transfer. */
  view(): T {
    return this.array.subarray(0, this.used) as T;
  }
}

/**
 * Collects a select's series, copying their chunk bytes into buffers that are moved (not copied
 * again) to the evaluation worker. Not safe to reuse after `finish()`.
 */
export class EncodedSetBuilder {
  private readonly labels: Labels[] = [];
  // Not zero-filled: every byte up to `used` is written before it is read.
  private readonly segments: Uint8Array[] = [];
  /** Shared segments among `segments` (the pool's, lent to the decoder at `finish`). */
  private readonly shared: SharedArrayBuffer[] = [];
  private segment: Uint8Array | undefined;
  private segmentUsed = 0;
  /** A native histogram chunk was added: segments are not reused (see SegmentPool). */
  private histograms = false;
  private readonly times = new Growing(new Float64Array(512), (n) => new Float64Array(n));
  // Unfilled: every word up to `used` is written (masks included).
  private readonly slots = new Growing(unfilledWords(1024), unfilledWords);
  private readonly chunkEnds = new Growing(new Uint32Array(256), (n) => new Uint32Array(n));

  constructor(
    private readonly params: SeriesDecodeParams,
    private readonly decoder: SeriesDecoderRef,
  ) {}

  /** Series added so far. */
  get size(): number {
    return this.labels.length;
  }

  /** Adds one series with its chunks (copied: the store may reuse their memory). */
  add(labels: Labels, chunks: readonly AggrChunk[]): void {
    this.labels.push(labels);
    this.times.reserve(2 * chunks.length);
    this.slots.reserve(MAX_CHUNK_WORDS * chunks.length);
    const times = this.times.array;
    const slots = this.slots.array;
    for (const c of chunks) {
      times[this.times.used++] = c.minTime;
      times[this.times.used++] = c.maxTime;
      const maskAt = this.slots.used++;
      // Only present slots are written, field by field (a loop over slot names costs more in
      // keyed loads than the copy itself).
      if (c.raw !== undefined) {
        slots[maskAt] = 1;
        this.put(c.raw);
        continue;
      }
      let mask = 0;
      if (c.count !== undefined) {
        mask |= 2;
        this.put(c.count);
      }
      if (c.sum !== undefined) {
        mask |= 4;
        this.put(c.sum);
      }
      if (c.min !== undefined) {
        mask |= 8;
        this.put(c.min);
      }
      if (c.max !== undefined) {
        mask |= 16;
        this.put(c.max);
      }
      if (c.counter !== undefined) {
        mask |= 32;
        this.put(c.counter);
      }
      slots[maskAt] = mask;
    }
    this.chunkEnds.reserve(1);
    this.chunkEnds.array[this.chunkEnds.used++] = this.times.used / 2;
  }

  /** Appends one slot: copies the chunk's bytes and writes its three words. */
  private put(ch: Chunk): void {
    const slots = this.slots.array;
    const at = this.slots.used;
    this.slots.used += 3;
    const data = ch.data;
    const n = data.length;
    let segment = this.segment;
    if (segment === undefined || this.segmentUsed + n > segment.length) {
      if (segment !== undefined) this.segments.push(segment.subarray(0, this.segmentUsed));
      if (n > SEGMENT_BYTES) segment = unfilledBytes(n);
      else {
        const sab = segmentPool.take();
        this.shared.push(sab);
        segment = new Uint8Array(sab);
      }
      this.segment = segment;
      this.segmentUsed = 0;
    }
    const o = this.segmentUsed;
    const enc = encodingCode(ch.type);
    if (enc !== 1) this.histograms = true;
    slots[at] = enc | (this.segments.length << 2);
    slots[at + 1] = o;
    slots[at + 2] = n;
    // One memmove per chunk: on Node 24 `TypedArray.set` between byte arrays is ~10x cheaper than
    // a JS byte loop even for chunk-sized arrays (80 series × 104 chunks of 325 bytes, Buffers
    // and Uint8Arrays mixed: 0.5 ms against 4.2–7 ms per set, /tmp microbenchmark, 300 rounds).
    segment.set(data, o);
    this.segmentUsed += n;
  }

  /** The encoded set; `decoded` receives the worker's report. */
  finish(decoded: EncodedSeriesSet['decoded']): EncodedSeriesSet {
    const bytes =
      this.segment === undefined ? this.segments : [...this.segments, this.segment.subarray(0, this.segmentUsed)];
    const done = new Int32Array(new SharedArrayBuffer(4));
    if (!this.histograms) segmentPool.lend(done, this.shared);
    const payload: StoreSeriesPayload = {
      ...this.params,
      aggregates: [...this.params.aggregates],
      bytes,
      done,
      times: this.times.view(),
      slots: this.slots.view(),
      chunkEnds: this.chunkEnds.view(),
    };
    // Shared segments are shared by postMessage (they may not be in a transfer list).
    const transfer: ArrayBuffer[] = [];
    for (const b of bytes) if (!(b.buffer instanceof SharedArrayBuffer)) transfer.push(b.buffer as ArrayBuffer);
    transfer.push(
      payload.times.buffer as ArrayBuffer,
      payload.slots.buffer as ArrayBuffer,
      payload.chunkEnds.buffer as ArrayBuffer,
    );
    return {
      encoded: true,
      labels: this.labels,
      decoder: this.decoder,
      payload,
      transfer,
      ...(decoded === undefined ? {} : { decoded }),
    };
  }
}

/**
 * The {@link SeriesDecoder} of sets built by {@link EncodedSetBuilder}; runs in an evaluation
 * worker. Exported (by this name, from `@thanos-ts/core/query`) only so the worker can import it.
 * @internal
 */
export function decodeEncodedStoreSeries(
  labels: readonly Labels[],
  payload: unknown,
  stopped: () => boolean,
): DecodedSeries {
  const p = payload as StoreSeriesPayload;
  try {
    return decodePayload(labels, p, stopped);
  } finally {
    // Nothing decoded refers to the segments: the querier may fill them again.
    if (p.done !== undefined) Atomics.store(p.done, 0, 1);
  }
}

function decodePayload(labels: readonly Labels[], p: StoreSeriesPayload, stopped: () => boolean): DecodedSeries {
  const state = newDecodeState();
  const series: SeriesSamples[] = new Array(labels.length);
  let samples = 0;
  let c = 0;
  let w = 0; // next word of p.slots
  for (let i = 0; i < labels.length; i++) {
    if (i % STOP_CHECK_SERIES === 0 && stopped()) return { series: [], samples: 0, warnings: [] };
    const end = p.chunkEnds[i] as number;
    const chunks: AggrChunk[] = [];
    for (; c < end; c++) {
      const chunk: { -readonly [K in keyof AggrChunk]: AggrChunk[K] } = {
        minTime: p.times[2 * c] as number,
        maxTime: p.times[2 * c + 1] as number,
      };
      const mask = p.slots[w++] as number;
      for (let k = 0; k < SLOTS.length; k++) {
        if ((mask & (1 << k)) === 0) continue;
        const word = p.slots[w] as number;
        const segment = p.bytes[word >>> 2] as Uint8Array;
        const off = p.slots[w + 1] as number;
        chunk[SLOTS[k] as (typeof SLOTS)[number]] = {
          type: ENCODINGS[word & 3] as ChunkEncoding,
          data: segment.subarray(off, off + (p.slots[w + 2] as number)),
        };
        w += 3;
      }
      chunks.push(chunk);
    }
    const got = decodeStoreSeries(labels[i] as Labels, chunks, p, state);
    series[i] = got.series;
    samples += got.samples;
  }
  return { series, samples, warnings: [] };
}

/** The export name the worker looks {@link decodeEncodedStoreSeries} up by. */
const DECODER_EXPORT = 'decodeEncodedStoreSeries';

let decoderRef: SeriesDecoderRef | null | undefined;

/**
 * Where a worker imports {@link decodeEncodedStoreSeries} from: this very file when running from
 * TypeScript source (the worker then runs with tsx), or the built `@thanos-ts/core/query` entry
 * (dist/query/index.js, which exports it by name) when this code was bundled into dist/ or one of
 * its chunks. Null when neither is found: selects are then decoded on the event loop.
 */
export function storeSeriesDecoder(): SeriesDecoderRef | null {
  if (decoderRef !== undefined) return decoderRef;
  const here = import.meta.url;
  decoderRef = null;
  if (here.endsWith('.ts')) decoderRef = { module: here, name: DECODER_EXPORT };
  else if (here.startsWith('file:')) {
    const dir = new URL('.', here);
    const entry = dir.pathname.endsWith('/query/') ? new URL('index.js', dir) : new URL('query/index.js', dir);
    if (existsSync(fileURLToPath(entry))) decoderRef = { module: entry.href, name: DECODER_EXPORT };
  }
  return decoderRef;
}
