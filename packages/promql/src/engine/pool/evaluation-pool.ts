/**
 * A pool of worker threads that evaluate PromQL off the caller's event loop. The engine keeps
 * parsing, planning and fetching on the calling thread (they are cheap or wait on I/O) and hands
 * the synchronous evaluation to a worker, moving the fetched samples there and the result back.
 * A Queryable that answers `selectEncoded` (encoded-series.ts) leaves its samples encoded: only
 * bytes are copied here, and the worker decodes them before evaluating.
 *
 * Ending a query: each task shares a small SharedArrayBuffer with its worker. On the caller's
 * AbortSignal or at the deadline the pool rejects the query at once and raises the flag; the
 * evaluator reads it (and the deadline) every few milliseconds of work and stops. A worker that
 * still has not finished `graceMs` later is terminated and replaced.
 */
import { resolveWorkerEntry, type WorkerEntry } from '@thanos-ts/tsdb';
import { Piscina } from 'piscina';
import { children, type Expr } from '../../parser/ast.js';
import {
  EvaluationPoolClosedError,
  EvaluationQueueFullError,
  EvaluationWorkerError,
  QueryCanceledError,
  QueryTimeoutError,
} from '../errors.js';
import { STOP_CANCELED, STOP_TIMEOUT } from '../evaluator.js';
import type { QueryResult } from '../types.js';
import { isEncodedSeriesSet, type SeriesDecoderRef } from './encoded-series.js';
import type { WorkerData } from './evaluation-worker.js';
import type { PackJob } from './pack.js';
import {
  CONTROL_BYTES,
  CONTROL_STARTED,
  CONTROL_STOP,
  decodeReply,
  type EvaluationReply,
  encodeTask,
  type PoolInput,
} from './protocol.js';

/** Options of {@link createEvaluationPool}. */
export interface EvaluationPoolOptions {
  /**
   * Worker threads, each evaluating one query at a time. Size it like the querier's
   * `--query.max-concurrent` (Thanos default 20), bounded by the cores you want PromQL to use.
   * Must be ≥ 1.
   */
  size: number;
  /**
   * Worker threads started at once and always kept. When every started worker is busy and a
   * query waits, another is started (up to `size`) and stopped again after `idleTimeoutMs`
   * without work. More threads than cores add no throughput, but a short query then runs beside
   * long ones (the OS shares the cores) instead of waiting for one to finish. Default: `size`
   * (all started up front). Must be between 1 and `size`.
   */
  minSize?: number;
  /** Milliseconds an on-demand worker (above `minSize`) stays idle before it stops. Default 60_000. */
  idleTimeoutMs?: number;
  /**
   * Series decoders (see `EncodedQueryable`) every worker imports as it starts rather than on
   * the first query that needs one. Default: none (imported on first use).
   */
  decoders?: readonly SeriesDecoderRef[];
  /**
   * Most queries waiting for a free worker; one more is rejected with
   * `EvaluationQueueFullError` (`PROMQL_POOL_QUEUE_FULL`). Default: unbounded (the querier's
   * concurrency gate already bounds what arrives). 0 means no waiting at all.
   */
  maxQueue?: number;
  /**
   * Milliseconds a worker may keep running after its query was canceled or timed out before it
   * is terminated and replaced. Default 1000. The query itself is rejected at once either way.
   */
  graceMs?: number;
  /**
   * Most heavy queries (see `heavySeriesSteps`) evaluated at once; a further heavy one waits, first
   * come first served, until one of them ends. Lighter queries never wait for this, so a health
   * check's or a dashboard stat's query still starts beside heavy ones. Evaluating more heavy
   * queries at once than there are cores adds no throughput but costs CPU: on two cores, seven
   * one-day pieces of a histogram aggregation at once took 13–18% more CPU than three at a time
   * (most of it in V8's garbage collection threads), and on a querier confined to one CPU its
   * sharded pieces took 1.4–1.8 times the CPU. Default: `size` (no limit beyond the workers).
   */
  maxHeavyRunning?: number;
  /**
   * A query is heavy when its steps times its fetched series reach this (one day at step 60 s of
   * 35 series: 50,400). Default 50,000.
   */
  heavySeriesSteps?: number;
}

/**
 * Worker threads for PromQL evaluation, shared by any number of engines
 * (`createEngine({ pool })`). Safe to use concurrently.
 */
export interface EvaluationPool extends AsyncDisposable {
  /** Number of worker threads. */
  readonly size: number;
  /** Queries waiting for a free worker, or for a heavy query to end, right now. */
  readonly queued: number;
  /** Queries being evaluated right now. */
  readonly running: number;
  /** Most heavy queries evaluated at once (the `maxHeavyRunning` option). */
  readonly maxHeavyRunning: number;
  /**
   * Evaluates one planned and fetched query in a worker, decoding its encoded series there
   * first. Used by the engine; the input's shape may change between releases.
   * @internal
   */
  evaluate(input: PoolInput): Promise<QueryResult>;
  /**
   * Terminates the workers. Queries still waiting or running are rejected with
   * `EvaluationPoolClosedError`. Safe to call twice; later calls return the same promise.
   */
  close(): Promise<void>;
}

const DEFAULT_GRACE_MS = 1000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const DEFAULT_HEAVY_SERIES_STEPS = 50_000;
/**
 * Samples copied per event-loop turn while packing a query's data (two 8-byte columns: 2 MiB).
 * Measured at 5–20 ms per slice on a loaded 2-core machine, where page faults on the fresh
 * buffers dominate.
 */
const COPY_SLICE_SAMPLES = 131_072;

/**
 * A query's steps times its fetched series: how {@link EvaluationPoolOptions.heavySeriesSteps}
 * weighs it. A subquery multiplies the steps by its own (`[1d:1s]`: 86,400 per outer step).
 */
function seriesSteps(input: PoolInput): number {
  let series = 0;
  for (const set of new Set(input.data.values())) series += isEncodedSeriesSet(set) ? set.labels.length : set.length;
  return series * input.grid.n * subquerySteps(input.expr, input.noStepSubqueryInterval);
}

/** The most steps any path through `e`'s subqueries takes per outer step (1 without subqueries). */
function subquerySteps(e: Expr, defaultStep: number): number {
  let inner = 1;
  for (const c of children(e)) inner = Math.max(inner, subquerySteps(c, defaultStep));
  if (e.type !== 'SubqueryExpr') return inner;
  const step = e.step ?? defaultStep;
  return step > 0 && e.range > 0 ? Math.ceil(e.range / step) * inner : inner;
}

/** The evaluation worker's entry (see resolveWorkerEntry); throws when it is not there. */
function resolveWorker(): WorkerEntry {
  const entry = resolveWorkerEntry(import.meta.url, ['./evaluation-worker.js'], './evaluation-worker.ts');
  if (entry === undefined) throw new EvaluationWorkerError(`entry not found next to ${import.meta.url}`);
  return entry;
}

/**
 * Creates a pool of `size` evaluation workers. Workers start right away (a few tens of ms each,
 * longer when running from TypeScript source) so the first query does not pay for it.
 */
export function createEvaluationPool(opts: EvaluationPoolOptions): EvaluationPool {
  const size = Math.floor(opts.size);
  if (!(size >= 1)) throw new RangeError(`evaluation pool size must be at least 1, got ${opts.size}`);
  const minSize = Math.floor(opts.minSize ?? size);
  if (!(minSize >= 1 && minSize <= size))
    throw new RangeError(`evaluation pool minSize must be between 1 and size (${size}), got ${opts.minSize}`);
  const maxQueue = opts.maxQueue ?? Number.POSITIVE_INFINITY;
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const maxHeavy = Math.floor(opts.maxHeavyRunning ?? size);
  if (!(maxHeavy >= 1))
    throw new RangeError(`evaluation pool maxHeavyRunning must be at least 1, got ${opts.maxHeavyRunning}`);
  const heavySeriesSteps = opts.heavySeriesSteps ?? DEFAULT_HEAVY_SERIES_STEPS;
  const worker = resolveWorker();
  const piscina = new Piscina({
    filename: worker.filename,
    ...(worker.execArgv !== undefined ? { execArgv: worker.execArgv } : {}),
    minThreads: minSize,
    maxThreads: size,
    // Workers stay up between queries (starting one costs more than an idle thread); only the
    // on-demand ones above minSize stop when idle.
    idleTimeout: minSize === size ? Number.POSITIVE_INFINITY : (opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS),
    concurrentTasksPerWorker: 1,
    workerData: { decoders: [...(opts.decoders ?? [])] } satisfies WorkerData,
  });
  // Piscina reports a worker's uncaught error outside any task as an 'error' event; the task
  // that was running (if any) is rejected on its own, so the event carries nothing to act on.
  piscina.on('error', () => {});
  let closing: Promise<void> | undefined;
  let running = 0;
  // Heavy queries being evaluated, and the posts of those waiting for one of them to end.
  let heavyRunning = 0;
  const heavyWaiting: (() => void)[] = [];
  const heavyEnded = (): void => {
    heavyRunning--;
    // The next waiting one starts; after close() each rejects and passes its turn on.
    while (heavyRunning < maxHeavy && heavyWaiting.length > 0) heavyWaiting.shift()?.();
  };

  const evaluate = (input: PoolInput): Promise<QueryResult> => {
    if (closing !== undefined) return Promise.reject(new EvaluationPoolClosedError());
    const signal = input.signal;
    if (signal?.aborted) return Promise.reject(new QueryCanceledError('query queue'));
    if (piscina.queueSize >= maxQueue && running >= size) return Promise.reject(new EvaluationQueueFullError(maxQueue));
    const heavy = seriesSteps(input) >= heavySeriesSteps;
    if (heavy && heavyRunning >= maxHeavy && heavyWaiting.length >= maxQueue)
      return Promise.reject(new EvaluationQueueFullError(maxQueue));
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const flags = new Int32Array(control);
    const transfer: ArrayBuffer[] = [];
    const { task, jobs, encoded } = encodeTask({ ...input, signal: undefined }, control, transfer);
    // Aborting piscina's signal removes a queued task or terminates the worker running it.
    const kill = new AbortController();
    return new Promise<QueryResult>((resolve, reject) => {
      let settled = false;
      let posted = false;
      let awaiting = false;
      let grace: NodeJS.Timeout | undefined;
      const detach = (): void => {
        clearTimeout(deadlineTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      const stop = (reason: number): void => {
        if (settled) return;
        settled = true;
        detach();
        const started = Atomics.load(flags, CONTROL_STARTED) === 1;
        Atomics.store(flags, CONTROL_STOP, reason);
        const env = started ? 'expression evaluation' : posted || awaiting ? 'query queue' : 'query preparation';
        reject(reason === STOP_CANCELED ? new QueryCanceledError(env) : new QueryTimeoutError(env));
        // Still waiting for a heavy query to end: leave the line now, releasing its packed data.
        if (awaiting && !posted) heavyWaiting.splice(heavyWaiting.indexOf(postWhenAwaited), 1);
        if (!started) kill.abort();
        else {
          grace = setTimeout(() => kill.abort(), graceMs);
          grace.unref();
        }
      };
      const onAbort = (): void => stop(STOP_CANCELED);
      signal?.addEventListener('abort', onAbort, { once: true });
      const deadlineTimer = setTimeout(() => stop(STOP_TIMEOUT), Math.max(0, input.deadline - Date.now()));
      deadlineTimer.unref();
      const post = (): void => {
        posted = true;
        running++;
        piscina.run(task, { transferList: transfer, signal: kill.signal }).then(
          (reply: EvaluationReply) => {
            running--;
            if (heavy) heavyEnded();
            clearTimeout(grace);
            if (settled) return;
            settled = true;
            detach();
            try {
              const result = decodeReply(reply);
              if (reply.ok && reply.decoded !== undefined)
                reply.decoded.forEach((report, i) => {
                  if (report !== null) encoded[i]?.decoded?.(report);
                });
              resolve(result);
            } catch (err) {
              reject(err);
            }
          },
          (err: unknown) => {
            running--;
            if (heavy) heavyEnded();
            clearTimeout(grace);
            if (settled) return;
            settled = true;
            detach();
            if (closing !== undefined) reject(new EvaluationPoolClosedError());
            else reject(new EvaluationWorkerError(err instanceof Error ? err.message : String(err), { cause: err }));
          },
        );
      };
      /** False when the query already ended (canceled, timed out) or the pool closed meanwhile. */
      const stillWanted = (): boolean => {
        if (settled) return false;
        if (closing === undefined) return true;
        settled = true;
        detach();
        reject(new EvaluationPoolClosedError());
        return false;
      };
      // The turn of a heavy query that waited for one to end.
      const postWhenAwaited = (): void => {
        if (!stillWanted()) return;
        heavyRunning++;
        post();
      };
      // Copying the samples costs a few ms per MB (more on a loaded machine): slice it so the
      // event loop (health checks, other queries, this query's own deadline) runs in between.
      let j = 0;
      const copySlice = (): void => {
        if (!stillWanted()) return;
        while (j < jobs.length && (jobs[j] as PackJob).copy(COPY_SLICE_SAMPLES)) j++;
        if (j < jobs.length) setImmediate(copySlice);
        else if (!heavy) post();
        else if (heavyRunning < maxHeavy) {
          heavyRunning++;
          post();
        } else {
          awaiting = true;
          heavyWaiting.push(postWhenAwaited);
        }
      };
      copySlice();
    });
  };

  const close = (): Promise<void> => {
    closing ??= piscina.destroy();
    return closing;
  };

  return {
    size,
    maxHeavyRunning: maxHeavy,
    get queued() {
      return piscina.queueSize + heavyWaiting.length;
    },
    get running() {
      return running - piscina.queueSize;
    },
    evaluate,
    close,
    [Symbol.asyncDispose]: close,
  };
}
