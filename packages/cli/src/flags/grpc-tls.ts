import {
  type GrpcClientTLSOptions,
  type GrpcServerTLSOptions,
  TLS_VERSIONS,
  type TLSVersion,
} from '@thanos-ts/core/storeapi';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { type Command, Option } from 'commander';

/** Raw values of the gRPC server TLS flags. */
export interface GrpcServerTLSFlags {
  grpcServerTlsCert?: string;
  grpcServerTlsKey?: string;
  grpcServerTlsClientCa?: string;
  grpcServerTlsMinVersion?: string;
}

/** Raw values of the gRPC client TLS flags. */
export interface GrpcClientTLSFlags {
  grpcClientTlsSecure?: boolean;
  grpcClientTlsCert?: string;
  grpcClientTlsKey?: string;
  grpcClientTlsCa?: string;
  grpcClientServerName?: string;
  grpcClientTlsSkipVerify?: boolean;
}

/** Adds Thanos's --grpc-server-tls-cert/-key/-client-ca flags. */
export function addGrpcServerTLSFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--grpc-server-tls-cert <path>', 'TLS Certificate for gRPC server, leave blank to disable TLS.'),
    )
    .addOption(new Option('--grpc-server-tls-key <path>', 'TLS Key for the gRPC server, leave blank to disable TLS.'))
    .addOption(
      new Option(
        '--grpc-server-tls-client-ca <path>',
        'TLS CA to verify clients against. If no client CA is specified, there is no client verification on server side. (tls.NoClientCert)',
      ),
    )
    .addOption(
      new Option(
        '--grpc-server-tls-min-version <version>',
        `TLS supported minimum version for gRPC server. If no version is specified, it'll default to 1.3. Allowed values: ${JSON.stringify(TLS_VERSIONS)}`,
      ).default('1.3'),
    );
}

/** Adds Thanos's --grpc-client-tls-* and --grpc-client-server-name flags. */
export function addGrpcClientTLSFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--grpc-client-tls-secure', 'Use TLS when talking to the gRPC server.').default(false))
    .addOption(
      new Option(
        '--grpc-client-tls-skip-verify',
        'Disable TLS certificate verification i.e self signed, signed by fake CA.',
      ).default(false),
    )
    .addOption(
      new Option('--grpc-client-tls-cert <path>', 'TLS Certificates to use to identify this client to the server.'),
    )
    .addOption(new Option('--grpc-client-tls-key <path>', "TLS Key for the client's certificate."))
    .addOption(new Option('--grpc-client-tls-ca <path>', 'TLS CA Certificates to use to verify gRPC servers.'))
    .addOption(
      new Option(
        '--grpc-client-server-name <name>',
        'Server name to verify the hostname on the returned gRPC certificates. See https://tools.ietf.org/html/rfc4366#section-3.1',
      ),
    );
}

/** Server TLS options from the flags (undefined: plaintext); cert and key must come together. */
export function grpcServerTLSFromFlags(o: GrpcServerTLSFlags): GrpcServerTLSOptions | undefined {
  if ((o.grpcServerTlsCert === undefined) !== (o.grpcServerTlsKey === undefined)) {
    throw new InvalidArgumentError('--grpc-server-tls-cert and --grpc-server-tls-key must be given together');
  }
  if (o.grpcServerTlsClientCa !== undefined && o.grpcServerTlsCert === undefined) {
    throw new InvalidArgumentError(
      '--grpc-server-tls-client-ca needs --grpc-server-tls-cert and --grpc-server-tls-key',
    );
  }
  const minVersion = o.grpcServerTlsMinVersion ?? '1.3';
  if (!(TLS_VERSIONS as readonly string[]).includes(minVersion))
    throw new InvalidArgumentError(
      `--grpc-server-tls-min-version: invalid TLS version: ${minVersion}, valid values are ${TLS_VERSIONS.join(', ')}`,
    );
  if (o.grpcServerTlsCert === undefined || o.grpcServerTlsKey === undefined) return undefined;
  return {
    certFile: o.grpcServerTlsCert,
    keyFile: o.grpcServerTlsKey,
    minVersion: minVersion as TLSVersion,
    ...(o.grpcServerTlsClientCa ? { clientCAFile: o.grpcServerTlsClientCa } : {}),
  };
}

/** Client TLS options from the flags (undefined: plaintext). */
export function grpcClientTLSFromFlags(o: GrpcClientTLSFlags): GrpcClientTLSOptions | undefined {
  const tlsOnly = o.grpcClientTlsCert ?? o.grpcClientTlsKey ?? o.grpcClientTlsCa ?? o.grpcClientServerName;
  if (!o.grpcClientTlsSecure) {
    if (tlsOnly !== undefined || o.grpcClientTlsSkipVerify) {
      throw new InvalidArgumentError('--grpc-client-tls-* and --grpc-client-server-name need --grpc-client-tls-secure');
    }
    return undefined;
  }
  if ((o.grpcClientTlsCert === undefined) !== (o.grpcClientTlsKey === undefined)) {
    throw new InvalidArgumentError('--grpc-client-tls-cert and --grpc-client-tls-key must be given together');
  }
  return {
    secure: true,
    ...(o.grpcClientTlsCert ? { certFile: o.grpcClientTlsCert } : {}),
    ...(o.grpcClientTlsKey ? { keyFile: o.grpcClientTlsKey } : {}),
    ...(o.grpcClientTlsCa ? { caFile: o.grpcClientTlsCa } : {}),
    ...(o.grpcClientServerName ? { serverName: o.grpcClientServerName } : {}),
    ...(o.grpcClientTlsSkipVerify ? { skipVerify: true } : {}),
  };
}
