import {
  type Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { InvalidArgumentError, ThanosError } from '@thanos-ts/tsdb';
import {
  infoToPb,
  labelNamesRequestFromPb,
  labelNamesResponseToPb,
  labelValuesRequestFromPb,
  labelValuesResponseToPb,
  legacyInfoToPb,
  seriesRequestFromPb,
} from './codec.js';
import { StoreAPIError } from './errors.js';
import type { SeriesMessage } from './series-encoder.js';
import { infoServiceDefinition, storeServiceDefinition } from './services.js';
import type { StoreAPI, StoreSeries } from './store-api.js';

// biome-ignore lint/suspicious/noExplicitAny: protobufjs plain objects.
type Pb = any;

/** Maps an error thrown by a StoreAPI to a gRPC status, keeping its meaning across the wire. */
export function grpcStatusOf(err: unknown): { code: number; details: string } {
  const details = err instanceof Error ? err.message : String(err);
  if (err instanceof StoreAPIError) return { code: err.grpcCode, details };
  if (err instanceof InvalidArgumentError) return { code: status.INVALID_ARGUMENT, details };
  if (err instanceof Error && err.name === 'AbortError') return { code: status.CANCELLED, details };
  if (err instanceof Error && err.name === 'TimeoutError') return { code: status.DEADLINE_EXCEEDED, details };
  if (err instanceof ThanosError && err.code === 'CORE_PARTIAL_RESPONSE_ABORTED')
    return { code: status.ABORTED, details };
  return { code: status.UNKNOWN, details };
}

function signalOf(call: { on(event: 'cancelled', fn: () => void): unknown }): AbortController {
  const ac = new AbortController();
  call.on('cancelled', () => ac.abort(new DOMException('client cancelled the call', 'AbortError')));
  return ac;
}

function unary<Req, Res>(
  decode: (pb: Pb) => Req,
  run: (req: Req, signal: AbortSignal) => Promise<Res>,
  encode: (res: Res) => Pb,
) {
  return (call: ServerUnaryCall<Pb, Pb>, callback: sendUnaryData<Pb>): void => {
    const ac = signalOf(call);
    (async () => encode(await run(decode(call.request), ac.signal)))().then(
      (res) => callback(null, res),
      (err: unknown) => callback(grpcStatusOf(err)),
    );
  };
}

function waitDrain(call: ServerWritableStream<Pb, Pb>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    signal.addEventListener('abort', done);
  });
}

/**
 * Serves `store` as Thanos's `thanos.Store` (Series, LabelNames, LabelValues, legacy Info) and
 * `thanos.info.Info` gRPC services on `server`. Series responses are written one by one as the
 * store yields them, pausing while the client's flow-control window is full, so a store can
 * stream any number of series without holding them all.
 */
export function serveStoreAPI(store: StoreAPI, server: Server): void {
  server.addService(storeServiceDefinition(), {
    Info: unary(
      () => undefined,
      (_req, signal) => store.info(signal),
      legacyInfoToPb,
    ),
    LabelNames: unary(labelNamesRequestFromPb, (req, signal) => store.labelNames(req, signal), labelNamesResponseToPb),
    LabelValues: unary(
      labelValuesRequestFromPb,
      (req, signal) => store.labelValues(req, signal),
      labelValuesResponseToPb,
    ),
    Series: (call: ServerWritableStream<Pb, Pb>): void => {
      const ac = signalOf(call);
      (async () => {
        const req = seriesRequestFromPb(call.request);
        // Thanos clients may ask for series in batches (response_batch_size, 64 by default):
        // one gRPC message per batch saves most of the per-message cost.
        const batchSize = req.responseBatchSize ?? 0;
        let batch: StoreSeries[] = [];
        const send = async (msg: SeriesMessage) => {
          if (!call.write(msg)) await waitDrain(call, ac.signal);
        };
        const flush = async () => {
          if (batch.length === 0) return;
          const series = batch;
          batch = [];
          await send({ type: 'batch', series });
        };
        for await (const resp of store.series(req, ac.signal)) {
          if (ac.signal.aborted) break;
          if (batchSize > 1 && resp.type === 'series') {
            batch.push(resp.series);
            if (batch.length >= batchSize) await flush();
            continue;
          }
          await flush();
          await send(resp);
        }
        if (!ac.signal.aborted) await flush();
      })().then(
        () => {
          if (!ac.signal.aborted) call.end();
        },
        (err: unknown) => {
          if (!ac.signal.aborted) call.emit('error', grpcStatusOf(err));
        },
      );
    },
  });
  server.addService(infoServiceDefinition(), {
    Info: unary(
      () => undefined,
      (_req, signal) => store.info(signal),
      infoToPb,
    ),
  });
}
