import {
  type CallOptions,
  Client,
  type ClientReadableStream,
  Metadata,
  type Server,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { InvalidArgumentError, ThanosError } from '@thanos-ts/tsdb';
import type protobuf from 'protobufjs';
import { toInt64 } from '../storeapi/codec.js';
import { protobufMethod, thanosProtos } from '../storeapi/protos.js';
import { type GrpcClientTLSOptions, grpcClientCredentials } from '../tls/grpc-tls.js';
import {
  exemplarDataFromPb,
  exemplarDataToPb,
  exemplarsRequestFromPb,
  exemplarsRequestToPb,
  metadataFromPb,
  metadataRequestFromPb,
  metadataRequestToPb,
  metadataToPb,
  targetsFromPb,
  targetsRequestFromPb,
  targetsRequestToPb,
  targetsToPb,
} from './codec.js';
import { InfoAPIError } from './errors.js';
import { infoAPIProtos } from './protos.js';
import type { ExemplarData, ExemplarsAPI, MetadataAPI, MetricMetadata, TargetDiscovery, TargetsAPI } from './types.js';

// biome-ignore lint/suspicious/noExplicitAny: protobufjs plain objects.
type Pb = any;

function method(path: string, req: protobuf.Type, res: protobuf.Type) {
  return protobufMethod(path, req, res, { responseStream: true, plainResponses: true });
}

/** gRPC definitions of `thanos.Metadata`, `thanos.Targets` and `thanos.Exemplars`. */
export function infoAPIServiceDefinitions(): {
  metadata: ServiceDefinition;
  targets: ServiceDefinition;
  exemplars: ServiceDefinition;
} {
  const p = infoAPIProtos();
  return {
    metadata: {
      MetricMetadata: method('/thanos.Metadata/MetricMetadata', p.MetricMetadataRequest, p.MetricMetadataResponse),
    } as ServiceDefinition,
    targets: { Targets: method('/thanos.Targets/Targets', p.TargetsRequest, p.TargetsResponse) } as ServiceDefinition,
    exemplars: {
      Exemplars: method('/thanos.Exemplars/Exemplars', p.ExemplarsRequest, p.ExemplarsResponse),
    } as ServiceDefinition,
  };
}

/** The APIs {@link serveInfoAPIs} registers; each is optional. */
export interface InfoAPIs {
  metadata?: MetadataAPI;
  targets?: TargetsAPI;
  exemplars?: ExemplarsAPI;
}

function statusOf(err: unknown): { code: number; details: string } {
  const details = err instanceof Error ? err.message : String(err);
  const code = (err as { grpcCode?: unknown })?.grpcCode;
  if (typeof code === 'number') return { code, details };
  if (err instanceof InvalidArgumentError) return { code: status.INVALID_ARGUMENT, details };
  if (err instanceof Error && err.name === 'AbortError') return { code: status.CANCELLED, details };
  if (err instanceof Error && err.name === 'TimeoutError') return { code: status.DEADLINE_EXCEEDED, details };
  return { code: status.UNKNOWN, details };
}

function streaming<Req, Res>(
  decode: (pb: Pb) => Req,
  run: (req: Req, signal: AbortSignal) => Promise<{ data: Res; warnings: string[] }>,
  send: (call: ServerWritableStream<Pb, Pb>, data: Res) => void,
) {
  return (call: ServerWritableStream<Pb, Pb>): void => {
    const ac = new AbortController();
    call.on('cancelled', () => ac.abort(new DOMException('client cancelled the call', 'AbortError')));
    Promise.resolve()
      .then(() => run(decode(call.request), ac.signal))
      .then(
        ({ data, warnings }) => {
          if (ac.signal.aborted) return;
          for (const w of warnings) call.write({ warning: w });
          send(call, data);
          call.end();
        },
        (err: unknown) => {
          if (!ac.signal.aborted) call.emit('error', statusOf(err));
        },
      );
  };
}

/**
 * Serves the given APIs as Thanos's `thanos.Metadata`, `thanos.Targets` and `thanos.Exemplars`
 * gRPC services on `server`: metadata in one message, targets in one message, exemplars one
 * message per series (as Thanos's sidecar streams them); warnings go first, as warning messages.
 */
export function serveInfoAPIs(server: Server, apis: InfoAPIs): void {
  const defs = infoAPIServiceDefinitions();
  const { metadata, targets, exemplars } = apis;
  if (metadata)
    server.addService(defs.metadata, {
      MetricMetadata: streaming(
        metadataRequestFromPb,
        (req, signal) => metadata.metricMetadata(req, signal),
        (call, data: MetricMetadata) => call.write({ metadata: metadataToPb(data) }),
      ),
    });
  if (targets)
    server.addService(defs.targets, {
      Targets: streaming(
        targetsRequestFromPb,
        (req, signal) => targets.targets(req, signal),
        (call, data: TargetDiscovery) => call.write({ targets: targetsToPb(data) }),
      ),
    });
  if (exemplars)
    server.addService(defs.exemplars, {
      Exemplars: streaming(
        exemplarsRequestFromPb,
        (req, signal) => exemplars.exemplars(req, signal),
        (call, data: ExemplarData[]) => {
          for (const d of data) call.write({ data: exemplarDataToPb(d) });
        },
      ),
    });
}

/** Which of the three APIs an endpoint's Info answer advertises. */
export interface AdvertisedInfoAPIs {
  metadata: boolean;
  targets: boolean;
  exemplars: boolean;
  /** The exemplars' time range, ms (Info's ExemplarsInfo), when advertised. */
  exemplarsMinTime?: number;
  exemplarsMaxTime?: number;
}

/**
 * Adds the three APIs to a `thanos.info.InfoResponse` protobuf object (as built by the StoreAPI's
 * infoToPb): `metric_metadata`, `targets` and `exemplars` set; the exemplars' range is 0–0 unless
 * given, as Thanos's sidecar advertises it (WithExemplarsInfoFunc with no function). Returns a new object.
 */
export function withInfoAPIs(infoPb: Pb, which: Partial<AdvertisedInfoAPIs> = {}): Pb {
  const out = { ...infoPb };
  if (which.metadata ?? true) out.metricMetadata = {};
  if (which.targets ?? true) out.targets = {};
  if (which.exemplars ?? true)
    out.exemplars = {
      minTime: toInt64(which.exemplarsMinTime ?? 0),
      maxTime: toInt64(which.exemplarsMaxTime ?? 0),
    };
  return out;
}

/** Reads the three APIs' presence from a decoded `thanos.info.InfoResponse` (protobufjs message or object). */
export function advertisedInfoAPIs(infoPb: Pb): AdvertisedInfoAPIs {
  const ex = infoPb?.exemplars;
  return {
    metadata: infoPb?.metricMetadata != null,
    targets: infoPb?.targets != null,
    exemplars: ex != null,
    ...(ex != null ? { exemplarsMinTime: Number(ex.minTime ?? 0), exemplarsMaxTime: Number(ex.maxTime ?? 0) } : {}),
  };
}

/** Options of {@link connectInfoAPIs}. */
export interface ConnectInfoAPIsOptions {
  /** TLS settings; plaintext when absent or `secure` is false. */
  tls?: GrpcClientTLSOptions;
  /** Deadline of the Info call in {@link RemoteInfoAPIs.advertised}, ms. Default 5000. */
  infoTimeoutMs?: number;
}

/** The three APIs of a remote endpoint over gRPC; `close` releases the connection. */
export interface RemoteInfoAPIs extends MetadataAPI, TargetsAPI, ExemplarsAPI {
  readonly address: string;
  /** Asks the endpoint's `thanos.info.Info` which of the three it serves. */
  advertised(signal?: AbortSignal): Promise<AdvertisedInfoAPIs>;
  close(): void;
}

function callError(api: 'metadata' | 'targets' | 'exemplars', address: string, path: string, err: unknown): Error {
  const e = err as Partial<ServiceError>;
  if (typeof e?.code === 'number') {
    const name = Object.entries(status).find(([, v]) => v === e.code)?.[0] ?? String(e.code);
    const out = new InfoAPIError(
      api,
      `${path} ${address}: rpc error: code = ${name} desc = ${e.details ?? e.message}`,
      {
        cause: err,
      },
    );
    return Object.assign(out, { grpcCode: e.code });
  }
  return err instanceof Error ? err : new ThanosError('CORE_INFOAPI', String(err));
}

/**
 * Connects to an endpoint's Metadata, Targets, Exemplars and Info services at `address`
 * (host:port). The connection is lazy and reconnects by itself; signals cancel the calls.
 */
export function connectInfoAPIs(address: string, opts: ConnectInfoAPIsOptions = {}): RemoteInfoAPIs {
  const { credentials, channelOptions } = grpcClientCredentials(opts.tls);
  const client = new Client(address, credentials, {
    ...channelOptions,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
  const defs = infoAPIServiceDefinitions();

  function stream(
    api: 'metadata' | 'targets' | 'exemplars',
    def: ServiceDefinition[string],
    arg: Pb,
    signal: AbortSignal | undefined,
    onData: (msg: Pb) => void,
  ): Promise<string[]> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const warnings: string[] = [];
      const call: ClientReadableStream<Pb> = client.makeServerStreamRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        arg,
        new Metadata(),
        {} as CallOptions,
      );
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      call.on('data', (msg: Pb) => {
        if (msg.result === 'warning' || (msg.warning && !msg.result)) warnings.push(msg.warning);
        else onData(msg);
      });
      call.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        reject(signal?.aborted ? signal.reason : callError(api, address, def.path, err));
      });
      call.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(warnings);
      });
    });
  }

  return {
    address,
    async metricMetadata(req, signal) {
      const data: MetricMetadata = {};
      const warnings = await stream(
        'metadata',
        defs.metadata.MetricMetadata as ServiceDefinition[string],
        metadataRequestToPb(req),
        signal,
        (m) => {
          Object.assign(data, metadataFromPb(m.metadata));
        },
      );
      return { data, warnings };
    },
    async targets(req, signal) {
      const data: TargetDiscovery = { activeTargets: [], droppedTargets: [] };
      const warnings = await stream(
        'targets',
        defs.targets.Targets as ServiceDefinition[string],
        targetsRequestToPb(req),
        signal,
        (m) => {
          const t = targetsFromPb(m.targets);
          data.activeTargets.push(...t.activeTargets);
          data.droppedTargets.push(...t.droppedTargets);
        },
      );
      return { data, warnings };
    },
    async exemplars(req, signal) {
      const data: ExemplarData[] = [];
      const warnings = await stream(
        'exemplars',
        defs.exemplars.Exemplars as ServiceDefinition[string],
        exemplarsRequestToPb(req),
        signal,
        (m) => {
          data.push(exemplarDataFromPb(m.data));
        },
      );
      return { data, warnings };
    },
    advertised(signal) {
      const infoType = infoAPIProtos().InfoResponse;
      const req = thanosProtos().InfoRequest;
      return new Promise((resolve, reject) => {
        const call = client.makeUnaryRequest(
          '/thanos.info.Info/Info',
          (v: Pb) => Buffer.from(req.encode(v).finish()),
          (b: Buffer) => infoType.decode(b) as Pb,
          {},
          new Metadata(),
          { deadline: Date.now() + (opts.infoTimeoutMs ?? 5000) },
          (err, res) => {
            signal?.removeEventListener('abort', onAbort);
            if (err)
              reject(signal?.aborted ? signal.reason : callError('metadata', address, '/thanos.info.Info/Info', err));
            else resolve(advertisedInfoAPIs(res));
          },
        );
        const onAbort = () => call.cancel();
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    close() {
      client.close();
    },
  };
}
