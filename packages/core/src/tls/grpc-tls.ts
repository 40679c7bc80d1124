import { type FSWatcher, readFileSync, watch } from 'node:fs';
import type { SecureServerOptions } from 'node:http2';
import { dirname } from 'node:path';
import { type ChannelCredentials, type ChannelOptions, credentials, ServerCredentials } from '@grpc/grpc-js';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import type { Logger } from '../log/logger.js';
import { type CertReloader, type CertState, createCertReloader } from './cert-reloader.js';
import { nodeTLSVersion, type TLSVersion } from './go-names.js';

/** Quiet time after a change in a certificate directory before the files are checked, ms. */
const WATCH_DEBOUNCE_MS = 100;

/** What grpc-js calls with a new TLS context (its SecureContextWatcher, not exported at its root). */
type SecureContextWatcher = Parameters<ServerCredentials['_addWatcher']>[0];

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
 * version), and a certificate re-read when its files change. Built on ServerCredentials's public
 * constructor, which takes Node's http2 secure server options and TLS context options, and on its
 * watcher hooks: `updateSecureContextOptions` makes every server bound with these credentials
 * call `setSecureContext` for its next connections.
 */
class TLSServerCredentials extends ServerCredentials {
  private readonly fsWatchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;

  constructor(
    private readonly certs: CertReloader,
    private readonly dirs: readonly string[],
    serverOptions: SecureServerOptions,
  ) {
    const self: { creds?: TLSServerCredentials } = {};
    super(
      {
        ...serverOptions,
        // Checked per handshake when the client names the server (SNI), as Thanos's
        // GetCertificate; gRPC clients send it when they dial a host name or override it.
        SNICallback: (_name, cb) => cb(null, (self.creds as TLSServerCredentials).refresh().context),
      },
      certs.check().options,
    );
    self.creds = this;
  }

  /** Re-checks the files; a change goes to every bound server for its later connections. */
  private refresh(): CertState {
    const c = this.certs.check();
    if (c.changed) this.updateSecureContextOptions(c.options);
    return c;
  }

  // Clients that send no SNI (dialling an IP address) get the context of the last change seen:
  // the certificate directories are watched while a server uses these credentials.
  override _addWatcher(watcher: SecureContextWatcher): void {
    super._addWatcher(watcher);
    if (this.getWatcherCount() > 1) return;
    for (const d of this.dirs) {
      try {
        // Debounced: a rotation writes the certificate and the key one after the other, and a
        // check between the two would log the mismatched pair as a failed reload.
        const w = watch(d, () => {
          clearTimeout(this.debounce);
          this.debounce = setTimeout(() => this.refresh(), WATCH_DEBOUNCE_MS).unref();
        });
        w.on('error', () => w.close());
        w.unref();
        this.fsWatchers.push(w);
      } catch {
        // Unwatchable directory: SNI handshakes still see changes.
      }
    }
  }

  override _removeWatcher(watcher: SecureContextWatcher): void {
    super._removeWatcher(watcher);
    if (this.getWatcherCount() > 0) return;
    clearTimeout(this.debounce);
    for (const w of this.fsWatchers.splice(0)) w.close();
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Server credentials: insecure without options, TLS (and mTLS with a client CA, every client
 * certificate verified, as Thanos's tls.RequireAndVerifyClientCert) otherwise. The certificate
 * and key are re-read when their files change (Thanos's pkg/tls reloads them per handshake):
 * checked at each handshake that names the server (SNI) and when the files' directories report a
 * change; a replacement that cannot be used keeps the previous certificate and is logged once on
 * `logger`.
 */
export function grpcServerCredentials(opts?: GrpcServerTLSOptions, logger?: Logger): ServerCredentials {
  if (!opts) return ServerCredentials.createInsecure();
  const ca = opts.clientCAFile ? readPem(opts.clientCAFile, 'gRPC server TLS client CA') : undefined;
  const minVersion = nodeTLSVersion(opts.minVersion ?? '1.3');
  const certs = createCertReloader({
    certFile: opts.certFile,
    keyFile: opts.keyFile,
    server: 'gRPC server',
    ...(logger ? { logger } : {}),
    contextOptions: (cert, key) => ({ cert, key, minVersion, ...(ca ? { ca } : {}) }),
    initialError: (file, err) =>
      (err as NodeJS.ErrnoException).syscall !== undefined
        ? new InvalidArgumentError(
            `cannot read ${file === opts.keyFile ? 'gRPC server TLS key' : 'gRPC server TLS certificate'} ${JSON.stringify(file)}: ${err.message}`,
            { cause: err },
          )
        : new InvalidArgumentError(`gRPC server TLS: ${err.message}`, { cause: err }),
  });
  return new TLSServerCredentials(certs, [...new Set([dirname(opts.certFile), dirname(opts.keyFile)])], {
    requestCert: ca !== undefined,
    rejectUnauthorized: ca !== undefined,
    minVersion,
  });
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
