import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureVersion } from 'node:tls';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { type ListeningHTTPServer, MAX_HEADER_BYTES, splitHostPort } from '../http/http-server.js';
import type { RequestHandler } from '../http/query-api.js';

/** TLS versions Thanos's --remote-write.server-tls-min-version accepts. */
export const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;
/** One of {@link TLS_VERSIONS}. */
export type TLSVersion = (typeof TLS_VERSIONS)[number];

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
): Promise<ListeningHTTPServer> {
  const { host, port } = splitHostPort(address);
  const ca = tls.clientCAFile ? readPem(tls.clientCAFile, '--remote-write.server-tls-client-ca') : undefined;
  const server = createServer(
    {
      cert: readPem(tls.certFile, '--remote-write.server-tls-cert'),
      key: readPem(tls.keyFile, '--remote-write.server-tls-key'),
      ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
      minVersion: `TLSv${tls.minVersion ?? '1.3'}` as SecureVersion,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    (req, res) => {
      handler(req, res).then(
        (handled) => {
          if (!handled && !res.headersSent) {
            res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
            res.end('404 page not found\n');
          }
        },
        (err: unknown) => {
          if (!res.headersSent) {
            res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
            res.end(`${err instanceof Error ? err.message : String(err)}\n`);
          } else res.destroy();
        },
      );
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host || undefined, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    server,
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    port: a.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const t = setTimeout(() => server.closeAllConnections(), gracePeriodMs);
        server.close(() => {
          clearTimeout(t);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
