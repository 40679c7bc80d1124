// Entry of the WAL replay worker thread (started by replay-reader.ts; built as its own file next
// to it). It reads what it is asked to, decodes into batches (replay-batch.ts) and hands each
// over with its buffers transferred, at most READ_AHEAD_BATCHES ahead of the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { readSegmentRangeBatches, type SegmentRange } from './reader.js';
import { BatchBuilder, type DecodeMode } from './replay-batch.js';
import {
  READ_AHEAD_BATCHES,
  SMALL_BATCH_BYTES,
  type WorkerReply,
  type WorkerRequest,
  type WorkerStartData,
} from './replay-reader.js';

const port = parentPort;
if (port === null) throw new Error('replay-worker.ts runs as a worker thread');

let credits = 0;
let cancelled = false;
let wake: (() => void) | undefined;

port.on('message', (m: WorkerRequest) => {
  if (m.type === 'read') {
    credits = READ_AHEAD_BATCHES;
    cancelled = false;
    void run(m.ranges, m.mode);
  } else if (m.type === 'credit') {
    credits++;
    wake?.();
  } else {
    cancelled = true;
    wake?.();
  }
});

// Modules loaded and listening: the main thread, decoding in place meanwhile, hands reads over now.
const start = workerData as WorkerStartData | undefined;
if (start?.ready !== undefined) Atomics.store(new Int32Array(start.ready), 0, 1);

function reply(m: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(m, transfer);
}

async function run(ranges: SegmentRange[], mode: DecodeMode): Promise<void> {
  const builder = new BatchBuilder(mode, undefined, SMALL_BATCH_BYTES);
  // Hands the batch over once the main thread has room for it; false when the read was cancelled.
  const send = async (): Promise<boolean> => {
    while (credits === 0 && !cancelled) await new Promise<void>((r) => (wake = r));
    wake = undefined;
    if (cancelled) return false;
    credits--;
    const { batch, transfer } = builder.take();
    reply({ type: 'batch', batch }, transfer);
    return true;
  };
  try {
    for await (const entries of readSegmentRangeBatches(ranges)) {
      for (const e of entries) {
        builder.add(e.record);
        if (builder.full() && !(await send())) {
          reply({ type: 'end' });
          return;
        }
      }
    }
    if (builder.records > 0 && !(await send())) {
      reply({ type: 'end' });
      return;
    }
    reply({ type: 'end' });
  } catch (err) {
    // Records before the error first, as readWAL delivers them.
    if (builder.records > 0 && !(await send())) {
      reply({ type: 'end' });
      return;
    }
    const e = err as Error & { code?: string; dir?: string; segment?: number; offset?: number; detail?: string };
    reply({
      type: 'error',
      message: e.message,
      name: e.name,
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(e.code === 'TSDB_WAL_CORRUPT'
        ? {
            corruption: {
              dir: e.dir as string,
              segment: e.segment as number,
              offset: e.offset as number,
              detail: e.detail as string,
            },
          }
        : {}),
    });
  }
}
