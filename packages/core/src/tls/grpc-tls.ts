import { readFileSync } from 'node:fs';
import { type ChannelCredentials, type ChannelOptions, credentials, ServerCredentials } from '@grpc/grpc-js';
import { InvalidArgumentError } from '@thanos-ts/tsdb';

/** TLS for a gRPC server (Thanos's --grpc-server-tls-cert/-key/-client-ca). */
export interface GrpcServerTLSOptions {
  /** PEM certificate chain file. */
  certFile: string;
  /** PEM private key file. */
  keyFile: string;
  /** PEM CA bundle; when set, clients must present a certificate signed by it (mTLS). */
  clientCAFile?: string;
}

/** TLS for a gRPC client (Thanos's --grpc-client-tls-* and --grpc-client-server-name). */
export interface GrpcClientTLSOptions {
  /** Use TLS at all (--grpc-client-tls-secure). */
  secure: boolean;
  /** Client certificate for mTLS. */
  certFile?: string;
  /** Client key for mTLS. */
  keyFile?: string;
  /** CA bundle to verify servers with (system roots when absent). */
  caFile?: string;
  /** Name to verify the server certificate against, instead of the dialled host. */
  serverName?: string;
  /** Accept any server certificate (testing only). */
  skipVerify?: boolean;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${what} ${JSON.stringify(file)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Server credentials: insecure without options, TLS (and mTLS with a client CA) otherwise. */
export function grpcServerCredentials(opts?: GrpcServerTLSOptions): ServerCredentials {
  if (!opts) return ServerCredentials.createInsecure();
  const cert = readPem(opts.certFile, 'gRPC server TLS certificate');
  const key = readPem(opts.keyFile, 'gRPC server TLS key');
  const ca = opts.clientCAFile ? readPem(opts.clientCAFile, 'gRPC server TLS client CA') : null;
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
}

/** Client credentials plus the channel options a server-name override needs. */
export function grpcClientCredentials(opts?: GrpcClientTLSOptions): {
  credentials: ChannelCredentials;
  channelOptions: ChannelOptions;
} {
  if (!opts?.secure) return { credentials: credentials.createInsecure(), channelOptions: {} };
  if ((opts.certFile === undefined) !== (opts.keyFile === undefined)) {
    throw new InvalidArgumentError('gRPC client TLS needs both a certificate and a key, or neither');
  }
  const ca = opts.caFile ? readPem(opts.caFile, 'gRPC client TLS CA') : null;
  const key = opts.keyFile ? readPem(opts.keyFile, 'gRPC client TLS key') : null;
  const cert = opts.certFile ? readPem(opts.certFile, 'gRPC client TLS certificate') : null;
  const verify = opts.skipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  const channelOptions: ChannelOptions = {};
  if (opts.serverName) {
    channelOptions['grpc.ssl_target_name_override'] = opts.serverName;
    channelOptions['grpc.default_authority'] = opts.serverName;
  }
  return { credentials: credentials.createSsl(ca, key, cert, verify), channelOptions };
}
