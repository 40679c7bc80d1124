import {
  type CallOptions,
  Client,
  type ClientReadableStream,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { type GrpcClientTLSOptions, grpcClientCredentials } from '../tls/grpc-tls.js';
import { injectGrpcMetadata } from '../tracing/context.js';
import {
  infoFromPb,
  labelNamesRequestToPb,
  labelNamesResponseFromPb,
  labelValuesRequestToPb,
  labelValuesResponseFromPb,
  legacyInfoFromPb,
  seriesRequestToPb,
} from './codec.js';
import { StoreAPIError } from './errors.js';
import { infoServiceDefinition, storeServiceDefinition } from './services.js';
import type {
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  SeriesRequest,
  SeriesResponse,
  StoreAPI,
} from './store-api.js';

// biome-ignore lint/suspicious/noExplicitAny: protobufjs plain objects.
type Pb = any;

/** Options of `connectStoreAPI`. */
export interface ConnectStoreAPIOptions {
  /** TLS settings; plaintext when absent or `secure` is false. */
  tls?: GrpcClientTLSOptions;
  /** Deadline for unary calls (Info, LabelNames, LabelValues), ms. Default: none (use signals). */
  unaryTimeout?: number;
  /**
   * Series per response message asked of the store when a request does not say (Thanos's
   * response_batch_size; servers that do not batch answer one by one). Default 64, as Thanos.
   */
  responseBatchSize?: number;
}

/** A StoreAPI backed by a remote gRPC endpoint; `close` releases the connection. */
export interface RemoteStoreAPI extends StoreAPI {
  readonly address: string;
  /**
   * The Series stream as the messages arrive (a batch of up to response_batch_size responses
   * each): lets a merge pay one async step per message instead of one per series.
   */
  seriesBatches(req: SeriesRequest, signal?: AbortSignal): AsyncIterable<readonly SeriesResponse[]>;
  close(): void;
}

/** Turns a gRPC failure into a StoreAPIError naming the endpoint. */
function toStoreError(address: string, method: string, err: unknown): Error {
  const e = err as Partial<ServiceError>;
  if (typeof e?.code === 'number') {
    const name = Object.entries(status).find(([, v]) => v === e.code)?.[0] ?? String(e.code);
    return new StoreAPIError(
      `ERR_GRPC_${name}`,
      e.code,
      `${method} ${address}: rpc error: code = ${name} desc = ${e.details ?? e.message}`,
      {
        cause: err,
      },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Connects to a Thanos StoreAPI at `address` (host:port). The connection is lazy (made on first
 * call) and reconnects by itself; each method takes an AbortSignal which cancels the RPC.
 */
export function connectStoreAPI(address: string, opts: ConnectStoreAPIOptions = {}): RemoteStoreAPI {
  if (!/^[^\s/]+:\d+$/.test(address) && !/^\[[0-9a-fA-F:.]+\]:\d+$/.test(address)) {
    throw new InvalidArgumentError(`invalid StoreAPI address ${JSON.stringify(address)}: want host:port`);
  }
  const { credentials, channelOptions } = grpcClientCredentials(opts.tls);
  const client = new Client(address, credentials, {
    ...channelOptions,
    // Thanos allows messages up to MaxInt32; series with many chunks exceed gRPC's 4 MiB default.
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
  const store = storeServiceDefinition();
  const info = infoServiceDefinition();

  // Cancellation comes from the caller's AbortSignal; only unary calls get a fixed deadline.
  function callOptions(unary: boolean): CallOptions {
    const o: CallOptions = {};
    if (unary && opts.unaryTimeout) o.deadline = Date.now() + opts.unaryTimeout;
    return o;
  }

  function unary<Res>(
    def: ReturnType<typeof storeServiceDefinition>[string],
    arg: Pb,
    signal?: AbortSignal,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const call = client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize as (b: Buffer) => Res,
        arg,
        injectGrpcMetadata(new Metadata()),
        callOptions(true),
        (err, res) => {
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(signal?.aborted ? signal.reason : toStoreError(address, def.path, err));
          else resolve(res as Res);
        },
      );
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  function seriesBatches(req: SeriesRequest, signal?: AbortSignal): AsyncIterable<readonly SeriesResponse[]> {
    return {
      async *[Symbol.asyncIterator]() {
        signal?.throwIfAborted();
        const def = store.Series as ReturnType<typeof storeServiceDefinition>[string];
        const call: ClientReadableStream<Pb> = client.makeServerStreamRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          seriesRequestToPb(req.responseBatchSize ? req : { ...req, responseBatchSize: opts.responseBatchSize ?? 64 }),
          // The active span (the proxy's per-store span) continues in the store's process.
          injectGrpcMetadata(new Metadata()),
          callOptions(false),
        );
        const onAbort = () => call.cancel();
        signal?.addEventListener('abort', onAbort, { once: true });
        let finished = false;
        try {
          // Async iteration of the call reads one message at a time, so a slow consumer
          // leaves the rest in gRPC's flow-control window instead of in memory.
          for await (const msg of call) yield msg as SeriesResponse[];
          finished = true;
        } catch (err) {
          finished = true;
          if (signal?.aborted) throw signal.reason;
          throw toStoreError(address, def.path, err);
        } finally {
          signal?.removeEventListener('abort', onAbort);
          if (!finished) call.cancel();
        }
      },
    };
  }

  return {
    address,
    async info(signal) {
      try {
        return infoFromPb(await unary<Pb>(info.Info as never, {}, signal));
      } catch (err) {
        // Endpoints older than Thanos v0.22 only have the legacy Store.Info.
        if (err instanceof StoreAPIError && err.grpcCode === status.UNIMPLEMENTED) {
          return legacyInfoFromPb(await unary<Pb>(store.Info as never, {}, signal));
        }
        throw err;
      }
    },
    async labelNames(req: LabelNamesRequest, signal?: AbortSignal): Promise<LabelNamesResponse> {
      return labelNamesResponseFromPb(await unary<Pb>(store.LabelNames as never, labelNamesRequestToPb(req), signal));
    },
    async labelValues(req: LabelValuesRequest, signal?: AbortSignal): Promise<LabelValuesResponse> {
      return labelValuesResponseFromPb(
        await unary<Pb>(store.LabelValues as never, labelValuesRequestToPb(req), signal),
      );
    },
    seriesBatches,
    series(req: SeriesRequest, signal?: AbortSignal): AsyncIterable<SeriesResponse> {
      const batches = seriesBatches(req, signal);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const batch of batches) yield* batch;
        },
      };
    },
    close() {
      client.close();
    },
  };
}
