import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import {
  type ListeningHTTPServer,
  listenGraceful,
  MAX_HEADER_BYTES,
  serveRequest,
  splitHostPort,
} from '../http/http-server.js';
import type { RequestHandler } from '../http/query-api.js';
import type { Logger } from '../log/logger.js';
import { createCertReloader } from '../tls/cert-reloader.js';
import {
  GO_CIPHER_SUITES,
  GO_CURVES,
  GO_DEFAULT_TLS12,
  nodeTLSVersion,
  TLS_VERSIONS,
  TLS13_SUITES,
  type TLSVersion,
} from '../tls/go-names.js';

/**
 * The Node `ciphers` string for Go cipher suite names (Thanos's getCipherSuiteIDs); with no names,
 * Go's defaults. TLS 1.3 suites are always all enabled, as in Go. An unknown name throws
 * InvalidArgumentError naming `flag` with Thanos's text: `invalid cipher suite: X, valid values are A, B, …`.
 */
export function nodeCipherList(names: readonly string[] | undefined, flag: string): string {
  const tls12: string[] = [];
  for (const name of names ?? []) {
    const openssl = GO_CIPHER_SUITES[name];
    if (openssl === undefined)
      throw new InvalidArgumentError(
        `${flag}: invalid cipher suite: ${name}, valid values are ${Object.keys(GO_CIPHER_SUITES).sort().join(', ')}`,
      );
    if (!TLS13_SUITES.includes(openssl)) tls12.push(openssl);
  }
  // No names, or only TLS 1.3 names: TLS 1.2 keeps Go's defaults, as Go does with an empty 1.2 list.
  return [...TLS13_SUITES, ...(tls12.length > 0 ? tls12 : GO_DEFAULT_TLS12)].join(':');
}

/**
 * The Node `ecdhCurve` string for Go curve names (Thanos's getCurveIDs), or undefined for none.
 * An unknown name throws InvalidArgumentError naming `flag`: `invalid curve: X, valid values are …`.
 */
export function nodeCurveList(names: readonly string[] | undefined, flag: string): string | undefined {
  if (!names || names.length === 0) return undefined;
  return names
    .map((name) => {
      const openssl = GO_CURVES[name];
      if (openssl === undefined)
        throw new InvalidArgumentError(
          `${flag}: invalid curve: ${name}, valid values are ${Object.keys(GO_CURVES).sort().join(', ')}`,
        );
      return openssl;
    })
    .join(':');
}

/** TLS of the remote-write server (Thanos's --remote-write.server-tls-*). */
export interface RemoteWriteServerTLS {
  /** PEM certificate chain file (--remote-write.server-tls-cert). */
  certFile: string;
  /** PEM private key file (--remote-write.server-tls-key). */
  keyFile: string;
  /**
   * PEM CA bundle (--remote-write.server-tls-client-ca); when set, clients must present a
   * certificate it signed (Thanos: tls.RequireAndVerifyClientCert). Default: no client certificates.
   */
  clientCAFile?: string;
  /** Lowest TLS version accepted (--remote-write.server-tls-min-version). Default '1.3', as Thanos. */
  minVersion?: TLSVersion;
  /**
   * Cipher suites for TLS 1.2 and below, by Go name (--remote-write.server-tls-ciphers, see
   * GO_CIPHER_SUITES). TLS 1.3 suites cannot be restricted (as in Go), so with the default
   * minimum version 1.3 this has no effect. Default: Node's defaults.
   */
  cipherSuites?: readonly string[];
  /** Key exchange curves by Go name (--remote-write.server-tls-curves, see GO_CURVES). Default: Node's defaults. */
  curves?: readonly string[];
}

/**
 * Checks the names in `tls` (cipher suites, curves, minimum version) without reading files;
 * throws InvalidArgumentError naming the flag. Safe to call at construction time.
 */
export function checkRemoteWriteServerTLS(tls: RemoteWriteServerTLS): void {
  nodeCipherList(tls.cipherSuites, '--remote-write.server-tls-ciphers');
  nodeCurveList(tls.curves, '--remote-write.server-tls-curves');
  if (tls.minVersion !== undefined && !TLS_VERSIONS.includes(tls.minVersion))
    throw new InvalidArgumentError(
      `--remote-write.server-tls-min-version: invalid TLS version: ${tls.minVersion}, valid values are ${TLS_VERSIONS.join(', ')}`,
    );
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: cannot read ${JSON.stringify(file)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Starts an HTTPS server on `address` answering with `handler` (404 for unhandled paths), closed
 * as listenHTTP's servers are: idle connections at once, running requests after `gracePeriodMs`.
 */
export async function listenHTTPS(
  address: string,
  handler: RequestHandler,
  tls: RemoteWriteServerTLS,
  gracePeriodMs: number,
  logger?: Logger,
): Promise<ListeningHTTPServer> {
  const { host, port } = splitHostPort(address);
  const ca = tls.clientCAFile ? readPem(tls.clientCAFile, '--remote-write.server-tls-client-ca') : undefined;
  const ciphers = nodeCipherList(tls.cipherSuites, '--remote-write.server-tls-ciphers');
  const ecdhCurve = nodeCurveList(tls.curves, '--remote-write.server-tls-curves');
  const minVersion = nodeTLSVersion(tls.minVersion ?? '1.3');
  const flagOf = (file: string) =>
    file === tls.keyFile ? '--remote-write.server-tls-key' : '--remote-write.server-tls-cert';
  // The certificate and key are re-read when their files change, checked as each connection
  // arrives (Thanos's serverTLSManager, per handshake), so a rotated certificate needs no restart.
  const certs = createCertReloader({
    certFile: tls.certFile,
    keyFile: tls.keyFile,
    server: 'remote-write server',
    ...(logger ? { logger } : {}),
    // Everything a secure context holds: setSecureContext replaces the whole context.
    contextOptions: (cert, key) => ({
      cert,
      key,
      ...(ca ? { ca } : {}),
      minVersion,
      ciphers,
      ...(ecdhCurve !== undefined ? { ecdhCurve } : {}),
    }),
    initialError: (file, err) =>
      (err as NodeJS.ErrnoException).syscall !== undefined
        ? new InvalidArgumentError(`${flagOf(file)}: cannot read ${JSON.stringify(file)}: ${err.message}`, {
            cause: err,
          })
        : // OpenSSL refusing a list (e.g. a curve this build lacks) or the key pair.
          new InvalidArgumentError(`--remote-write.server-tls-*: TLS server configuration: ${err.message}`, {
            cause: err,
          }),
  });
  const options = {
    ...certs.check().options,
    ...(ca ? { requestCert: true, rejectUnauthorized: true } : {}),
    maxHeaderSize: MAX_HEADER_BYTES,
  };
  let server: ReturnType<typeof createServer>;
  try {
    server = createServer(options, serveRequest(handler));
  } catch (err) {
    throw new InvalidArgumentError(`--remote-write.server-tls-*: TLS server configuration: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // Before tls.Server's own 'connection' listener wraps the socket with the context in use.
  server.prependListener('connection', () => {
    const c = certs.check();
    if (c.changed) server.setSecureContext(c.options);
  });
  return listenGraceful(server, host, port, gracePeriodMs);
}

/** Client certificate fields a tenant can be taken from (Thanos's --receive.tenant-certificate-field). */
export const TENANT_CERTIFICATE_FIELDS = ['organization', 'organizationalUnit', 'commonName'] as const;
/** One of {@link TENANT_CERTIFICATE_FIELDS}. */
export type TenantCertificateField = (typeof TENANT_CERTIFICATE_FIELDS)[number];

const SUBJECT_KEY: Record<TenantCertificateField, 'O' | 'OU' | 'CN'> = {
  organization: 'O',
  organizationalUnit: 'OU',
  commonName: 'CN',
};

/**
 * The tenant named by the client certificate of a TLS request (Thanos's getTenantFromCertificate):
 * the first Organization, OrganizationalUnit or the CommonName of the leaf certificate's subject.
 * Throws Error with Thanos's texts when there is no client certificate (also on plain HTTP) or the
 * field is empty; the caller answers 400.
 */
export function tenantFromCertificate(req: IncomingMessage, field: TenantCertificateField): string {
  const socket = req.socket as TLSSocket;
  const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  if (!cert || Object.keys(cert).length === 0)
    throw new Error('could not get required certificate field from client cert');
  const raw = (cert.subject as unknown as Record<string, string | string[] | undefined> | undefined)?.[
    SUBJECT_KEY[field]
  ];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value === '') throw new Error(`could not get ${field} field from client cert`);
  return value;
}
