// A small pool of worker threads that decode remote-write requests for the receiver, so ingest
// uses more than one core: profiles of the single-threaded receiver had snappy, protobuf
// decoding, label validation and the garbage they make at about half of the main thread's time,
// while the main thread needs only the series' label keys and sample columns to append to the
// head. Workers answer with one transferred ArrayBuffer per request (ingest-batch.ts).
import { Worker } from 'node:worker_threads';
import { resolveWorkerEntry, type WorkerEntry } from '@thanos-ts/tsdb';
import { WriteError } from './errors.js';
import { IngestBatch } from './ingest-batch.js';

/** A request to a worker: a snappy-compressed remote-write 1.0 body. @internal */
export interface IngestRequest {
  id: number;
  body: ArrayBuffer;
  /** Decompressed sizes above this are not decoded (0 = no limit). */
  maxRawBytes: number;
}

/** A worker's answer. @internal */
export type IngestReply =
  | { id: number; type: 'batch'; rawBytes: number; batch: ArrayBuffer }
  | { id: number; type: 'snappy-error'; message: string }
  | { id: number; type: 'decode-error'; rawBytes: number; message: string }
  /** Decode on the main thread (native histograms, or over a size limit). */
  | { id: number; type: 'inline'; rawBytes: number };

/** What {@link IngestPool.decode} resolves with. @internal */
export type IngestDecoded =
  | { type: 'batch'; rawBytes: number; batch: IngestBatch }
  | { type: 'snappy-error'; message: string }
  | { type: 'decode-error'; rawBytes: number; message: string }
  | { type: 'inline'; rawBytes: number };

/** Options of {@link createIngestPool}. @internal */
export interface IngestPoolOptions {
  /** Worker threads, at least 1. */
  size: number;
  /**
   * Called when a worker dies while the pool runs (code: its exit code), saying whether it was
   * replaced. Default: nothing.
   */
  onWorkerExit?: (code: number, replaced: boolean) => void;
}

// Workers that die this many times in a row without answering a request are not replaced any
// more (a broken build or environment): the pool shrinks, down to no threads, and the receiver
// decodes on its main thread.
const MAX_FRUITLESS_RESTARTS = 3;

/**
 * Worker threads decoding remote-write bodies. Created without threads; `start()` starts them,
 * `close()` stops them. A worker that dies fails only the requests it held (with an `unavailable`
 * WriteError, 503, which senders retry) and is replaced. @internal
 */
export interface IngestPool {
  /** Threads the pool runs once started. */
  readonly size: number;
  /** Starts the threads; resolves when all are online. */
  start(): Promise<void>;
  /**
   * Decompresses and decodes `body` (not modified; copied) on a worker. Rejects with an
   * `unavailable` WriteError when the pool is not running or the worker died.
   */
  decode(body: Uint8Array, maxRawBytes: number): Promise<IngestDecoded>;
  /** Stops every thread; requests in flight are failed. Safe to call twice. */
  close(): Promise<void>;
  /**
   * Threads alive now (or being replaced); 0 once workers kept dying without answering (see
   * `onWorkerExit`), when callers should decode elsewhere.
   */
  threads(): number;
  /** Makes one worker exit before it answers the requests sent to it after this call (tests only). */
  crashOneForTest(): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (r: IngestDecoded) => void; reject: (e: unknown) => void }>;
}

/**
 * The ingest worker's entry (see resolveWorkerEntry): `ingest-worker.js` next to this module or
 * one folder up (the bundle holding this code may be a root chunk or the ./receive entry), or
 * the `.ts` source under tsx. Undefined when none is there.
 */
export function resolveIngestWorker(): WorkerEntry | undefined {
  return resolveWorkerEntry(import.meta.url, ['./ingest-worker.js', '../ingest-worker.js'], './ingest-worker.ts');
}

/** Creates a pool of `size` ingest workers; throws when the worker file cannot be found. @internal */
export function createIngestPool(opts: IngestPoolOptions): IngestPool {
  const size = Math.floor(opts.size);
  if (!(size >= 1)) throw new RangeError(`ingest pool size must be at least 1, got ${opts.size}`);
  const entry = resolveIngestWorker();
  if (entry === undefined) throw new Error(`ingest worker entry not found next to ${import.meta.url}`);
  const slots: Slot[] = [];
  let running = false;
  let nextId = 1;
  // Worker deaths since a worker last answered a request.
  let fruitless = 0;

  const fail = (slot: Slot, err: unknown) => {
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
  };

  const spawn = (): { slot: Slot; online: Promise<void> } => {
    const worker = new Worker(entry.filename, entry.execArgv ? { execArgv: entry.execArgv } : {});
    // Idle workers never keep the process alive: requests waiting on them come with sockets that do.
    worker.unref();
    const slot: Slot = { worker, pending: new Map() };
    const online = new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
      // A worker terminated while starting (the pool closed) never comes online.
      worker.once('exit', (code) => reject(new Error(`ingest worker exited with code ${code} before it was online`)));
    });
    online.catch(() => undefined);
    worker.on('message', (r: IngestReply) => {
      const p = slot.pending.get(r.id);
      if (p === undefined) return;
      slot.pending.delete(r.id);
      fruitless = 0;
      p.resolve(r.type === 'batch' ? { type: 'batch', rawBytes: r.rawBytes, batch: new IngestBatch(r.batch) } : r);
    });
    worker.on('error', (err) => fail(slot, new WriteError('unavailable', `ingest worker failed: ${err.message}`)));
    worker.on('exit', (code) => {
      fail(slot, new WriteError('unavailable', `ingest worker exited with code ${code}`));
      const at = slots.indexOf(slot);
      if (at < 0) return;
      // Replaced while the pool runs, so one crash does not shrink it for good.
      const replace = running && ++fruitless <= MAX_FRUITLESS_RESTARTS;
      if (replace) slots[at] = spawn().slot;
      else slots.splice(at, 1);
      if (running) opts.onWorkerExit?.(code, replace);
    });
    return { slot, online };
  };

  return {
    size,
    async start() {
      if (running) return;
      running = true;
      const started = Array.from({ length: size }, () => spawn());
      for (const s of started) slots.push(s.slot);
      try {
        await Promise.all(started.map((s) => s.online));
      } catch (err) {
        await this.close();
        throw err;
      }
    },
    decode(body, maxRawBytes) {
      if (!running || slots.length === 0)
        return Promise.reject(new WriteError('unavailable', 'ingest workers not running'));
      // The least busy worker (requests are about the same size).
      let slot = slots[0] as Slot;
      for (const s of slots) if (s.pending.size < slot.pending.size) slot = s;
      // A copy: the body may be a view into a pooled or shared buffer that cannot be transferred.
      const copy = new ArrayBuffer(body.length);
      new Uint8Array(copy).set(body);
      const id = nextId++;
      const target = slot;
      return new Promise<IngestDecoded>((resolve, reject) => {
        target.pending.set(id, { resolve, reject });
        target.worker.postMessage({ id, body: copy, maxRawBytes } satisfies IngestRequest, [copy]);
      });
    },
    async close() {
      running = false;
      const all = slots.splice(0);
      await Promise.all(
        all.map(async (s) => {
          fail(s, new WriteError('unavailable', 'ingest workers closed'));
          await s.worker.terminate();
        }),
      );
    },
    threads: () => slots.length,
    crashOneForTest() {
      slots[0]?.worker.postMessage({ type: 'crash' });
    },
  };
}
