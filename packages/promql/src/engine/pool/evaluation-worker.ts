/**
 * Entry of an evaluation worker thread (loaded by piscina, built as its own file
 * `dist/evaluation-worker.js`). Each task is one query: decode or unpack its series, evaluate,
 * pack the result and move its buffers back to the caller. Between tasks the module keeps only
 * the series decoders it imported (code, no data), so a finished query's memory is free for
 * collection.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { SeriesDecoder, SeriesDecoderRef } from './encoded-series.js';
import { recordError } from './pack.js';
import { decoderKey, type EvaluationReply, type EvaluationTask, isEncodedSetTask, runTask } from './protocol.js';

/** Decoders imported so far, by module URL and export name (see encoded-series.ts). */
const decoders = new Map<string, Promise<SeriesDecoder>>();

async function loadDecoder(ref: SeriesDecoderRef): Promise<SeriesDecoder> {
  const mod = (await import(ref.module)) as Record<string, unknown>;
  const decode = mod[ref.name];
  if (typeof decode !== 'function') throw new Error(`${ref.module} exports no function named ${ref.name}`);
  return decode as SeriesDecoder;
}

/** Evaluates one task; the reply's buffers are transferred, not cloned. */
export default async function evaluationWorker(task: EvaluationTask): Promise<unknown> {
  const loaded = new Map<string, SeriesDecoder>();
  try {
    for (const s of task.sets) {
      if (!isEncodedSetTask(s)) continue;
      const key = decoderKey(s.decoder);
      let p = decoders.get(key);
      if (p === undefined) {
        p = loadDecoder(s.decoder);
        decoders.set(key, p);
        // A module that failed to load is tried again by the next task.
        p.catch(() => decoders.delete(key));
      }
      loaded.set(key, await p);
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
