import { readFileSync } from 'node:fs';
import { type ChannelCredentials, type ChannelOptions, credentials, ServerCredentials } from '@grpc/grpc-js';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { nodeTLSVersion, type TLSVersion } from './go-names.js';

/** TLS for a gRPC server (Thanos's --grpc-server-tls-cert/-key/-client-ca). */
export interface GrpcServerTLSOptions {
  /** PEM certificate chain file. */
  certFile: string;
  /** PEM private key file. */
  keyFile: string;
  /** PEM CA bundle; when set, clients must present a certificate signed by it (mTLS). */
  clientCAFile?: string;
  /** Lowest TLS version accepted (--grpc-server-tls-min-version). Default '1.3', as Thanos. */
  minVersion?: TLSVersion;
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

/**
 * grpc-js's TLS server credentials with the TLS options its createSsl does not expose (the lowest
 * version). Built on ServerCredentials's public constructor, which takes Node's http2 secure
 * server options and TLS context options.
 */
class TLSServerCredentials extends ServerCredentials {
  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Server credentials: insecure without options, TLS (and mTLS with a client CA, every client
 * certificate verified, as Thanos's tls.RequireAndVerifyClientCert) otherwise.
 */
export function grpcServerCredentials(opts?: GrpcServerTLSOptions): ServerCredentials {
  if (!opts) return ServerCredentials.createInsecure();
  const cert = readPem(opts.certFile, 'gRPC server TLS certificate');
  const key = readPem(opts.keyFile, 'gRPC server TLS key');
  const ca = opts.clientCAFile ? readPem(opts.clientCAFile, 'gRPC server TLS client CA') : undefined;
  return new TLSServerCredentials(
    {
      requestCert: ca !== undefined,
      rejectUnauthorized: ca !== undefined,
      minVersion: nodeTLSVersion(opts.minVersion ?? '1.3'),
    },
    { cert, key, ...(ca ? { ca } : {}) },
  );
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
