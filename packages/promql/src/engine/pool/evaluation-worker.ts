/**
 * Entry of an evaluation worker thread (loaded by piscina, built as its own file
 * `dist/evaluation-worker.js`). Each task is one query: decode or unpack its series, evaluate,
 * pack the result and move its buffers back to the caller. Between tasks the module keeps only
 * the series decoders it imported (code, no data), so a finished query's memory is free for
 * collection.
 */
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import type { SeriesDecoder, SeriesDecoderRef } from './encoded-series.js';
import { recordError } from './pack.js';

/** What the pool passes every worker (piscina's workerData). @internal */
export interface WorkerData {
  decoders?: SeriesDecoderRef[];
}

import { decoderKey, type EvaluationReply, type EvaluationTask, isEncodedSetTask, runTask } from './protocol.js';

/** Decoders imported so far, by module URL and export name (see encoded-series.ts). */
const decoders = new Map<string, Promise<SeriesDecoder>>();

async function loadDecoder(ref: SeriesDecoderRef): Promise<SeriesDecoder> {
  const mod = (await import(ref.module)) as Record<string, unknown>;
  const decode = mod[ref.name];
  if (typeof decode !== 'function') throw new Error(`${ref.module} exports no function named ${ref.name}`);
  return decode as SeriesDecoder;
}

function decoder(ref: SeriesDecoderRef): Promise<SeriesDecoder> {
  const key = decoderKey(ref);
  let p = decoders.get(key);
  if (p === undefined) {
    p = loadDecoder(ref);
    decoders.set(key, p);
    // A module that failed to load is tried again by the next task.
    p.catch(() => decoders.delete(key));
  }
  return p;
}

// Decoders the pool named up front (EvaluationPoolOptions.decoders) are imported as the worker
// starts, so the first query does not wait for it (from TypeScript source, seconds under tsx).
await Promise.allSettled(((workerData as WorkerData | undefined)?.decoders ?? []).map(decoder));

/** Evaluates one task; the reply's buffers are transferred, not cloned. */
export default async function evaluationWorker(task: EvaluationTask): Promise<unknown> {
  const loaded = new Map<string, SeriesDecoder>();
  try {
    for (const s of task.sets) {
      if (!isEncodedSetTask(s)) continue;
      loaded.set(decoderKey(s.decoder), await decoder(s.decoder));
    }
  } catch (err) {
    const reply: EvaluationReply = { ok: false, error: recordError(err) };
    return reply;
  }
  const transfer: ArrayBuffer[] = [];
  const reply: EvaluationReply = runTask(task, transfer, loaded);
  if (transfer.length === 0) return reply;
  return move({ [transferableSymbol]: transfer, [valueSymbol]: reply });
}
