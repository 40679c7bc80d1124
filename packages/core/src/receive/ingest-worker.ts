// Entry of an ingest worker thread (started by ingest-pool.ts; built as its own file next to the
// package's bundles). For each remote-write 1.0 body it gets, it does what does not need the
// head: snappy decompression, protobuf decoding and label validation, and answers with an
// IngestBatch buffer, transferred. Requests are answered in the order they came.
import { parentPort } from 'node:worker_threads';
import { snappyDecode } from '../sidecar/prompb/snappy.js';
import { DecodeRequestError } from './errors.js';
import { decodeIngestBatch, encodeIngestBatch } from './ingest-batch.js';
import type { IngestReply, IngestRequest } from './ingest-pool.js';
import { decodeWriteRequest } from './wire.js';

const port = parentPort;
if (port === null) throw new Error('ingest-worker.ts runs as a worker thread');

/** Decodes one request; never throws for bad input (that is an answer). */
function decode(m: IngestRequest): { reply: IngestReply; transfer: ArrayBuffer[] } {
  let raw: Uint8Array;
  try {
    raw = snappyDecode(new Uint8Array(m.body));
  } catch (err) {
    return { reply: { id: m.id, type: 'snappy-error', message: (err as Error).message }, transfer: [] };
  }
  const rawBytes = raw.length;
  // Over a size limit: the main thread answers with the limit's own error, nothing to decode.
  if (m.maxRawBytes > 0 && rawBytes > m.maxRawBytes)
    return { reply: { id: m.id, type: 'inline', rawBytes }, transfer: [] };
  let batch: ArrayBuffer | undefined;
  try {
    batch = decodeIngestBatch(raw);
  } catch {
    // Bad protobuf: the main thread's decoder words the error (and would it accept the body
    // after all, its series are packed instead).
    try {
      batch = encodeIngestBatch(decodeWriteRequest(raw));
    } catch (err) {
      if (!(err instanceof DecodeRequestError)) throw err;
      return { reply: { id: m.id, type: 'decode-error', rawBytes, message: err.message }, transfer: [] };
    }
  }
  // Native histograms are rare and carry object graphs: the main thread decodes those requests.
  if (batch === undefined) return { reply: { id: m.id, type: 'inline', rawBytes }, transfer: [] };
  return { reply: { id: m.id, type: 'batch', rawBytes, batch }, transfer: [batch] };
}

// Set by IngestPool.crashOneForTest: the next request kills the thread.
let crashOnNext = false;

port.on('message', (m: IngestRequest | { type: 'crash' }) => {
  // Fault injection for tests of the pool (IngestPool.crashOneForTest): the thread dies as it
  // would on an internal error, on the first request after this message (so that request is
  // surely in flight, whatever the timing), leaving it unanswered.
  if ('type' in m) {
    crashOnNext = true;
    return;
  }
  if (crashOnNext) process.exit(70);
  const { reply, transfer } = decode(m);
  port.postMessage(reply, transfer);
});
