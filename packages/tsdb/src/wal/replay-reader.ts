// Reading a WAL (or a chunk snapshot) for replay on a second thread: a worker reads the segment
// files, checks CRCs, reassembles fragments, decompresses snappy and decodes series and samples
// records into typed columns (replay-batch.ts), handing them over without a copy, while the main
// thread puts the previous batch into the head. Profiles of a 200k-series replay had a fifth of
// the main thread in reading and decoding; this moves it off, and the garbage with it. Without
// the worker's file (a bundle that did not emit it), or for a small WAL where starting a thread
// costs more than it saves, the same decoding runs on the calling thread.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ThanosError } from '../errors.js';
import { resolveWorkerEntry } from '../worker/entry.js';
import { WalCorruptionError } from './errors.js';
import { readSegmentRangeBatches, type SegmentRange } from './reader.js';
import { BatchBuilder, type DecodedBatch, type DecodeMode } from './replay-batch.js';
import { listSegments } from './segments.js';

/** A decoded batch with the reader's whole string table (ids index into `strings`). @internal */
export interface ReplayBatch extends DecodedBatch {
  strings: readonly string[];
}

/**
 * Reads segment ranges as decoded batches for a replay, in order; the stream ends by throwing
 * what reading threw (WalCorruptionError after the records before it, as readWAL). Reads run one
 * at a time. @internal
 */
export interface ReplayReader {
  /** Whether batches are decoded on a worker thread. */
  readonly threaded: boolean;
  read(ranges: readonly SegmentRange[], mode: DecodeMode): AsyncIterable<ReplayBatch>;
  /** Stops the worker, if any, without waiting for its thread to exit. Safe to call twice. */
  close(): Promise<void>;
}

/** Messages from the worker (replay-worker.ts). @internal */
export type WorkerReply =
  | { type: 'batch'; batch: DecodedBatch }
  | { type: 'end' }
  | {
      type: 'error';
      message: string;
      name?: string;
      code?: string;
      corruption?: { dir: string; segment: number; offset: number; detail: string };
    };

/** What a worker is started with (its `workerData`). @internal */
export interface WorkerStartData {
  /** One Int32 the worker sets to 1 once its modules are loaded and it takes requests. */
  ready: SharedArrayBuffer;
}

/** Messages to the worker. @internal */
export type WorkerRequest =
  | { type: 'read'; ranges: SegmentRange[]; mode: DecodeMode }
  | { type: 'credit' }
  | { type: 'cancel' };

// Batches the worker may decode ahead of the main thread: enough to keep both busy, few enough
// to bound memory (a batch is ~2 MB of records).
export const READ_AHEAD_BATCHES = 3;

// Below this many bytes to read, the thread is not started: it costs tens of milliseconds (more
// from TypeScript source), about what decoding a few MB costs in place.
const WORKER_MIN_BYTES = 4 * 1024 * 1024;

// While the worker starts, the calling thread decodes in batches this small, so it notices soon
// that the worker is up and hands the rest of the read over; the worker's batches start this
// small too (then double), so the calling thread does not wait long for the first.
export const SMALL_BATCH_BYTES = 128 * 1024;

/** Where a read stopped for the worker to go on: the segment and the byte offset after the last record. */
export interface ResumeAt {
  segment: number;
  offset: number;
}

/** How a read in place hands over to a worker (see readDecodedInThread). @internal */
export interface Handover {
  /** Asked after every batch: whether the worker can take over. */
  ready(): boolean;
  /** Called once, when it can: the worker is to read from `at` on. */
  start(at: ResumeAt): void;
}

/**
 * Decodes on the calling thread (no worker). With `handover`, asked after every batch: once the
 * worker is ready, the rest of the read is its own from the end of the records already read
 * into memory (the read window of up to 1 MiB; `start` says where, at a record boundary), and
 * this decodes just those, so both threads are busy while the worker's first batch is made.
 * Returns where the worker starts, or undefined when everything was read here.
 * @internal
 */
export async function* readDecodedInThread(
  ranges: readonly SegmentRange[],
  mode: DecodeMode,
  handover?: Handover,
): AsyncGenerator<DecodedBatch, ResumeAt | undefined> {
  const builder = new BatchBuilder(mode, handover === undefined ? undefined : SMALL_BATCH_BYTES);
  let at: ResumeAt | undefined;
  try {
    for await (const entries of readSegmentRangeBatches(ranges)) {
      for (const e of entries) {
        builder.add(e.record);
        if (builder.full()) {
          yield builder.take().batch;
          if (at === undefined && handover?.ready()) {
            const last = entries[entries.length - 1] as (typeof entries)[number];
            at = { segment: last.segment, offset: last.offset };
            handover.start(at);
          }
        }
      }
      // Handed over: the worker reads on from the end of this window.
      if (at !== undefined) break;
    }
  } catch (err) {
    // Records before an error are handed over before it, as readWAL does.
    if (builder.records > 0) yield builder.take().batch;
    throw err;
  }
  if (builder.records > 0) yield builder.take().batch;
  return at;
}

/**
 * Bytes of the segments in `dirs` (WAL, checkpoint or snapshot directories; missing ones count
 * 0), to decide whether a worker pays off. @internal
 */
export async function segmentBytes(dirs: readonly string[]): Promise<number> {
  let total = 0;
  for (const dir of dirs) {
    let segs: { name: string }[];
    try {
      segs = await listSegments(dir);
    } catch {
      continue;
    }
    for (const s of segs) total += (await stat(join(dir, s.name))).size;
  }
  return total;
}

/**
 * A reader for one replay. With `threaded` and `bytes` (what will be read) at least `minBytes`
 * (default 4 MB), a worker thread decodes (when its file can be found); otherwise decoding runs
 * in place.
 * @internal
 */
export function createReplayReader(opts: { threaded?: boolean; bytes?: number; minBytes?: number } = {}): ReplayReader {
  const want =
    (opts.threaded ?? true) && (opts.bytes ?? Number.POSITIVE_INFINITY) >= (opts.minBytes ?? WORKER_MIN_BYTES);
  const entry = want ? resolveWorkerEntry(import.meta.url, ['./replay-worker.js'], './replay-worker.ts') : undefined;
  if (entry === undefined) return inThreadReader();
  return new ThreadedReader(entry);
}

function inThreadReader(): ReplayReader {
  return {
    threaded: false,
    async *read(ranges, mode) {
      const strings: string[] = [];
      for await (const b of readDecodedInThread(ranges, mode)) {
        for (const s of b.newStrings) strings.push(s);
        yield { ...b, strings };
      }
    },
    close: () => Promise.resolve(),
  };
}

class ThreadedReader implements ReplayReader {
  readonly threaded = true;
  private readonly worker: Worker;
  private closed = false;
  // The read in progress: where replies go.
  private onReply: ((m: WorkerReply) => void) | undefined;
  private failure: Error | undefined;
  // Set to 1 by the worker once it is up (see WorkerStartData).
  private readonly up = new Int32Array(new SharedArrayBuffer(4));

  constructor(entry: { filename: string; execArgv?: string[] }) {
    const workerData: WorkerStartData = { ready: this.up.buffer as SharedArrayBuffer };
    this.worker = new Worker(entry.filename, { workerData, ...(entry.execArgv ? { execArgv: entry.execArgv } : {}) });
    // An idle worker never keeps the process alive; read() holds a reference while it runs.
    this.worker.unref();
    this.worker.on('message', (m: WorkerReply) => this.onReply?.(m));
    this.worker.on('error', (err: Error) => {
      this.failure = err;
      this.onReply?.({ type: 'error', message: err.message, name: err.name });
    });
    this.worker.on('exit', (code) => {
      if (this.closed) return;
      const err = new ThanosError('TSDB_WAL_REPLAY_WORKER', `WAL replay worker exited with code ${code}`);
      this.failure ??= err;
      this.onReply?.({ type: 'error', message: err.message, code: err.code });
    });
  }

  /** Whether the worker has loaded and takes requests. */
  private workerUp(): boolean {
    return Atomics.load(this.up, 0) === 1;
  }

  async *read(ranges: readonly SegmentRange[], mode: DecodeMode): AsyncGenerator<ReplayBatch> {
    if (this.closed) throw new ThanosError('TSDB_WAL_REPLAY_WORKER', 'WAL replay reader is closed');
    if (this.onReply !== undefined) throw new ThanosError('TSDB_WAL_REPLAY_WORKER', 'one read at a time');
    if (this.failure) throw this.failure;
    const queue: WorkerReply[] = [];
    let wake: (() => void) | undefined;
    this.onReply = (m) => {
      queue.push(m);
      wake?.();
    };
    let done = false;
    let posted = false;
    const post = (r: readonly SegmentRange[]) => {
      this.post({ type: 'read', ranges: [...r], mode });
      posted = true;
    };
    // Waiting on the worker's messages must keep the process alive.
    this.worker.ref();
    let inThread: AsyncGenerator<DecodedBatch, ResumeAt | undefined> | undefined;
    try {
      // Starting the worker takes a few hundred milliseconds (more from TypeScript source), a
      // good part of a 200k-series replay with the main thread idle: until it is up, decode
      // here, then hand the rest over at a record boundary. Only for one range (a replay's
      // reads), where a segment number tells where to resume.
      const only = ranges.length === 1 ? (ranges[0] as SegmentRange) : undefined;
      if (only !== undefined && !this.workerUp()) {
        const local: string[] = [];
        const it = readDecodedInThread(ranges, mode, {
          ready: () => this.workerUp(),
          start: (at) => post([{ ...only, first: at.segment, firstOffset: at.offset }]),
        });
        inThread = it;
        for (let r = await it.next(); !r.done; r = await it.next()) {
          for (const s of r.value.newStrings) local.push(s);
          yield { ...r.value, strings: local };
        }
        if (!posted) {
          // Everything was read here.
          done = true;
          return;
        }
      } else {
        post(ranges);
      }
      const strings: string[] = [];
      for (;;) {
        while (queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        const m = queue.shift() as WorkerReply;
        if (m.type === 'end') {
          done = true;
          return;
        }
        if (m.type === 'error') {
          done = true;
          throw rebuildError(m);
        }
        for (const s of m.batch.newStrings) strings.push(s);
        // Ask for the next one before working on this one, so the worker never idles.
        this.post({ type: 'credit' });
        yield { ...m.batch, strings };
      }
    } finally {
      // A break while reading here: the in-thread reader closes the segment it has open.
      await inThread?.return(undefined);
      if (!done && posted) {
        // A break (or a head error) mid-read: the worker stops and says 'end'; wait for it so
        // the next read starts clean.
        this.post({ type: 'cancel' });
        while (!this.failure) {
          while (queue.length === 0 && !this.failure) await new Promise<void>((r) => (wake = r));
          const m = queue.shift();
          if (m === undefined || m.type === 'end' || m.type === 'error') break;
        }
      }
      this.onReply = undefined;
      this.worker.unref();
    }
  }

  private post(m: WorkerRequest): void {
    this.worker.postMessage(m);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    // Not waited for: the thread takes tens of milliseconds to exit, time a replay would wait
    // before its DB is ready. Between reads it holds no file, and unreferenced it keeps no
    // process alive.
    this.worker.terminate().catch(() => {});
    return Promise.resolve();
  }
}

function rebuildError(m: Extract<WorkerReply, { type: 'error' }>): Error {
  const c = m.corruption;
  if (c !== undefined) return new WalCorruptionError(c.dir, c.segment, c.offset, c.detail);
  if (m.code?.startsWith('TSDB_')) return new ThanosError(m.code, m.message);
  const err = new Error(m.message);
  if (m.name) err.name = m.name;
  if (m.code !== undefined) (err as NodeJS.ErrnoException).code = m.code;
  return err;
}
