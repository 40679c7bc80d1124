import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import {
  type ChannelCredentials,
  Client,
  credentials as grpcCredentials,
  Metadata,
  type Server,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { nodeTLSVersion, type TLSVersion } from '../tls/go-names.js';
import { type GrpcClientTLSOptions, grpcClientCredentials } from '../tls/grpc-tls.js';
import { defaultTracer, extractGrpcMetadata, injectGrpcMetadata, withSpan } from '../tracing/context.js';
import { WriteError, type WriteFailureKind } from './errors.js';
import { decodeForwardRequest, encodeForwardRequest, type ForwardRequest } from './wire.js';

/** TLS towards peer receivers (Thanos's --remote-write.client-tls-*). */
export interface PeerTLSOptions extends GrpcClientTLSOptions {
  /**
   * Lowest TLS version offered to peers (--remote-write.client-tls-min-version; the CLI's
   * default is Thanos's 1.3). Default: Node's (1.2).
   */
  minVersion?: TLSVersion;
}

function readFlagFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: cannot read ${JSON.stringify(file)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * gRPC credentials for peers: the shared client credentials, or, with a minimum TLS version, a
 * secure context carrying it (grpc-js's createSsl has no version setting).
 */
function peerCredentials(tls?: PeerTLSOptions): { credentials: ChannelCredentials; channelOptions: object } {
  const shared = grpcClientCredentials(tls);
  if (!tls?.secure || tls.minVersion === undefined) return shared;
  const context = createSecureContext({
    minVersion: nodeTLSVersion(tls.minVersion),
    ...(tls.caFile ? { ca: readFlagFile(tls.caFile, '--remote-write.client-tls-ca') } : {}),
    ...(tls.certFile ? { cert: readFlagFile(tls.certFile, '--remote-write.client-tls-cert') } : {}),
    ...(tls.keyFile ? { key: readFlagFile(tls.keyFile, '--remote-write.client-tls-key') } : {}),
  });
  const verify = tls.skipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  return {
    credentials: grpcCredentials.createFromSecureContext(context, verify),
    channelOptions: shared.channelOptions,
  };
}

/** Full method name of Thanos's forwarding RPC (pkg/store/storepb/rpc.proto, package thanos). */
export const REMOTE_WRITE_METHOD = '/thanos.WriteableStore/RemoteWrite';

// Bodies stay bytes at the gRPC layer: the receiver decodes them with its own reader (wire.ts),
// so a malformed body becomes InvalidArgument instead of a serialization failure.
const identity = (b: Buffer): Buffer => b;
const SERVICE: ServiceDefinition = {
  RemoteWrite: {
    path: REMOTE_WRITE_METHOD,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    requestDeserialize: identity,
    // WriteResponse has no fields: its encoding is empty.
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: () => ({}),
  },
};

/** gRPC status code of each failure kind, as Thanos's Handler.RemoteWrite answers. */
const GRPC_CODE_OF: Readonly<Record<WriteFailureKind, status>> = {
  conflict: status.ALREADY_EXISTS,
  'bad-data': status.INVALID_ARGUMENT,
  unavailable: status.UNAVAILABLE,
  internal: status.INTERNAL,
};

/** The failure kind a peer's gRPC status stands for (the inverse of what Thanos's handler sends). */
export function kindOfGrpcCode(code: number): WriteFailureKind {
  switch (code) {
    case status.ALREADY_EXISTS:
      return 'conflict';
    case status.INVALID_ARGUMENT:
      return 'bad-data';
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.CANCELLED:
    case status.RESOURCE_EXHAUSTED:
      return 'unavailable';
    default:
      return 'internal';
  }
}

/**
 * Adds `thanos.WriteableStore` to a gRPC server: each call is decoded and handed to `write`, whose
 * WriteError kind becomes the status code (conflict → AlreadyExists, bad data → InvalidArgument,
 * unavailable → Unavailable, otherwise Internal).
 */
export function serveWriteable(
  server: Server,
  write: (req: ForwardRequest) => Promise<void>,
  tracer: Tracer = defaultTracer(),
): void {
  server.addService(SERVICE, {
    RemoteWrite(call: ServerUnaryCall<Buffer, object>, callback: sendUnaryData<object>) {
      let req: ForwardRequest;
      try {
        req = decodeForwardRequest(call.request);
      } catch (err) {
        callback({ code: status.INVALID_ARGUMENT, details: (err as Error).message });
        return;
      }
      // A forwarded write continues the forwarding receiver's trace (Thanos's receive_grpc span).
      withSpan(tracer, 'receive_grpc', { replica: req.replica, tenants: req.data.length }, () => write(req), {
        kind: SpanKind.SERVER,
        parent: extractGrpcMetadata(call.metadata),
      }).then(
        () => callback(null, {}),
        (err: unknown) => {
          const kind = err instanceof WriteError ? err.kind : 'internal';
          callback({ code: GRPC_CODE_OF[kind], details: err instanceof Error ? err.message : String(err) });
        },
      );
    },
  });
}

/** A connection to one peer receiver's Writeable service. */
export interface WriteablePeer {
  readonly address: string;
  /**
   * Sends one forwarded write; rejects with a WriteError whose kind follows the peer's status
   * (unavailable when it cannot be reached or `timeoutMs` passes).
   */
  remoteWrite(req: ForwardRequest, timeoutMs: number): Promise<void>;
  close(): void;
}

/** Dials a peer lazily (gRPC connects on the first call and reconnects by itself). */
export function connectWriteablePeer(address: string, tls?: PeerTLSOptions): WriteablePeer {
  const { credentials, channelOptions } = peerCredentials(tls);
  const client = new Client(address, credentials, {
    ...channelOptions,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
  const def = SERVICE.RemoteWrite as NonNullable<ServiceDefinition['RemoteWrite']>;
  return {
    address,
    remoteWrite(req, timeoutMs) {
      const body = encodeForwardRequest(req);
      return new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          body,
          // The active trace (the receive_http span of the write being forwarded) goes along.
          injectGrpcMetadata(new Metadata()),
          { deadline: Date.now() + timeoutMs },
          (err) => {
            if (!err) resolve();
            else
              reject(
                new WriteError(kindOfGrpcCode(err.code), `forward to ${address}: ${err.details || err.message}`, {
                  cause: err,
                }),
              );
          },
        );
      });
    },
    close: () => client.close(),
  };
}
