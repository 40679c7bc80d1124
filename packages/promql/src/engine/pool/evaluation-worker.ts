/**
 * Entry of an evaluation worker thread (loaded by piscina, built as its own file
 * `dist/evaluation-worker.js`). Each task is one query: unpack, evaluate, pack the result and move
 * its buffers back to the caller. The module keeps no state between tasks, so a finished query's
 * memory is free for collection.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { type EvaluationReply, type EvaluationTask, runTask } from './protocol.js';

/** Evaluates one task; the reply's buffers are transferred, not cloned. */
export default function evaluationWorker(task: EvaluationTask): unknown {
  const transfer: ArrayBuffer[] = [];
  const reply: EvaluationReply = runTask(task, transfer);
  if (transfer.length === 0) return reply;
  return move({ [transferableSymbol]: transfer, [valueSymbol]: reply });
}
