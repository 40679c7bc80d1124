import {
  type Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { type Span, SpanKind, type Tracer } from '@opentelemetry/api';
import { InvalidArgumentError, ThanosError } from '@thanos-ts/tsdb';
import { defaultTracer, extractGrpcMetadata, withSpan } from '../tracing/context.js';
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

/**
 * Runs one call's work in a server span named by its gRPC method (`/thanos.Store/Series`, as
 * Thanos's gRPC interceptors name it), child of the trace the client sent in its metadata.
 */
function inCallSpan<T>(
  tracer: Tracer,
  call: { metadata: ServerUnaryCall<Pb, Pb>['metadata'] },
  method: string,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const [, service = '', name = ''] = method.split('/');
  return withSpan(
    tracer,
    method,
    { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': name },
    async (span) => {
      try {
        const v = await work(span);
        span.setAttribute('rpc.grpc.status_code', status.OK);
        return v;
      } catch (err) {
        span.setAttribute('rpc.grpc.status_code', grpcStatusOf(err).code);
        throw err;
      }
    },
    { kind: SpanKind.SERVER, parent: extractGrpcMetadata(call.metadata) },
  );
}

function matcherText(matchers: readonly { toString(): string }[] | undefined): string {
  return `{${(matchers ?? []).map(String).join(',')}}`;
}

function unary<Req, Res>(
  tracer: Tracer,
  method: string,
  decode: (pb: Pb) => Req,
  run: (req: Req, signal: AbortSignal) => Promise<Res>,
  encode: (res: Res) => Pb,
) {
  return (call: ServerUnaryCall<Pb, Pb>, callback: sendUnaryData<Pb>): void => {
    const ac = signalOf(call);
    inCallSpan(tracer, call, method, async (span) => {
      const req = decode(call.request);
      const m = (req as { matchers?: readonly { toString(): string }[] } | undefined)?.matchers;
      if (m && span.isRecording()) span.setAttribute('store.matchers', matcherText(m));
      return encode(await run(req, ac.signal));
    }).then(
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

/** Options of {@link serveStoreAPI}. */
export interface ServeStoreAPIOptions {
  /**
   * Tracer for one server span per call, continuing the caller's trace (W3C traceparent in the
   * gRPC metadata). Default: the global OpenTelemetry API's (a no-op unless one is registered).
   */
  tracer?: Tracer;
  /**
   * Adds the other APIs a component serves next to the StoreAPI to its `thanos.info.Info` answer
   * (e.g. `rules: {}` on a ruler; `metricMetadata`, `targets`, `exemplars` on a sidecar), so a
   * querier discovers them. Gets and returns the protobuf-shaped InfoResponse. Default: none.
   */
  extendInfo?: (infoPb: Pb) => Pb;
}

/**
 * Serves `store` as Thanos's `thanos.Store` (Series, LabelNames, LabelValues, legacy Info) and
 * `thanos.info.Info` gRPC services on `server`. Series responses are written one by one as the
 * store yields them, pausing while the client's flow-control window is full, so a store can
 * stream any number of series without holding them all.
 */
export function serveStoreAPI(store: StoreAPI, server: Server, opts: ServeStoreAPIOptions = {}): void {
  const tracer = opts.tracer ?? defaultTracer();
  server.addService(storeServiceDefinition(), {
    Info: unary(
      tracer,
      '/thanos.Store/Info',
      () => undefined,
      (_req, signal) => store.info(signal),
      legacyInfoToPb,
    ),
    LabelNames: unary(
      tracer,
      '/thanos.Store/LabelNames',
      labelNamesRequestFromPb,
      (req, signal) => store.labelNames(req, signal),
      labelNamesResponseToPb,
    ),
    LabelValues: unary(
      tracer,
      '/thanos.Store/LabelValues',
      labelValuesRequestFromPb,
      (req, signal) => store.labelValues(req, signal),
      labelValuesResponseToPb,
    ),
    Series: (call: ServerWritableStream<Pb, Pb>): void => {
      const ac = signalOf(call);
      inCallSpan(tracer, call, '/thanos.Store/Series', async (span) => {
        const req = seriesRequestFromPb(call.request);
        let seriesSent = 0;
        if (span.isRecording())
          span.setAttributes({
            'store.matchers': matcherText(req.matchers),
            'store.min_time': req.minTime,
            'store.max_time': req.maxTime,
          });
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
          if (resp.type === 'series') seriesSent++;
          if (batchSize > 1 && resp.type === 'series') {
            batch.push(resp.series);
            if (batch.length >= batchSize) await flush();
            continue;
          }
          await flush();
          await send(resp);
        }
        if (!ac.signal.aborted) await flush();
        span.setAttribute('store.series', seriesSent);
      }).then(
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
      tracer,
      '/thanos.info.Info/Info',
      () => undefined,
      (_req, signal) => store.info(signal),
      opts.extendInfo ? (info) => (opts.extendInfo as (pb: Pb) => Pb)(infoToPb(info)) : infoToPb,
    ),
  });
}
