import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/**
 * HTTP client settings shared by the S3, ALIYUNOSS and AZURE buckets: Thanos's `http_config`
 * (objstore `exthttp.HTTPConfig`), durations in ms. Defaults are Thanos's `DefaultHTTPConfig`.
 */
export interface BucketHttpOptions {
  /** Close keep-alive connections idle for this long (default 90 s; Thanos `idle_conn_timeout`). */
  idleConnTimeoutMs?: number;
  /** Give up when no response headers arrive within this long (default 2 min). */
  responseHeaderTimeoutMs?: number;
  /** Timeout to connect including the TLS handshake (default 10 s). */
  tlsHandshakeTimeoutMs?: number;
  /** Maximum concurrent connections to the endpoint (0 = unlimited; default 0). */
  maxConnsPerHost?: number;
  /** Maximum idle connections kept per host (default 100; Thanos `max_idle_conns_per_host`). */
  maxIdleConnsPerHost?: number;
  /** Maximum idle connections kept open (default 100; Thanos `max_idle_conns`). */
  maxIdleConns?: number;
  /** Skip TLS certificate verification (test setups only). */
  insecureSkipVerify?: boolean;
  /** PEM CA bundle, client certificate and key, and the name to verify the certificate against. */
  tls?: { ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array; serverName?: string };
  /**
   * DNS lookup used for every connection (default: the OS resolver). For split-horizon setups
   * and for tests that resolve virtual-hosted bucket names (`bucket.host`) to a local server.
   */
  lookup?: LookupFunction;
}

/** The pair of Node agents a bucket's HTTP client uses; `destroy()` closes their sockets. */
export interface BucketAgents {
  http: HttpAgent;
  https: HttpsAgent;
  destroy(): void;
}

/** Thanos's `DefaultHTTPConfig` values, in ms and counts. */
export const DEFAULT_HTTP_OPTIONS: Readonly<
  Required<
    Pick<
      BucketHttpOptions,
      'idleConnTimeoutMs' | 'responseHeaderTimeoutMs' | 'tlsHandshakeTimeoutMs' | 'maxIdleConns' | 'maxIdleConnsPerHost'
    >
  >
> = {
  idleConnTimeoutMs: 90_000,
  responseHeaderTimeoutMs: 120_000,
  tlsHandshakeTimeoutMs: 10_000,
  maxIdleConns: 100,
  maxIdleConnsPerHost: 100,
};

/**
 * Builds keep-alive agents from `http_config`. TLS is verified unless `insecureSkipVerify`; a
 * given CA bundle replaces the system roots (as Go's `tls.Config.RootCAs`). Node has no total
 * idle-connection cap, so `max_idle_conns` bounds the per-host free sockets too.
 */
export function createBucketAgents(http: BucketHttpOptions = {}): BucketAgents {
  const maxFree = Math.min(
    http.maxIdleConnsPerHost || DEFAULT_HTTP_OPTIONS.maxIdleConnsPerHost,
    http.maxIdleConns || DEFAULT_HTTP_OPTIONS.maxIdleConns,
  );
  const common = {
    keepAlive: true,
    maxSockets: http.maxConnsPerHost && http.maxConnsPerHost > 0 ? http.maxConnsPerHost : Number.POSITIVE_INFINITY,
    maxFreeSockets: maxFree,
    // A socket timeout on a free keep-alive socket closes it: Go's IdleConnTimeout.
    timeout: http.idleConnTimeoutMs || DEFAULT_HTTP_OPTIONS.idleConnTimeoutMs,
    ...(http.lookup ? { lookup: http.lookup } : {}),
  };
  const httpAgent = new HttpAgent(common);
  const httpsAgent = new HttpsAgent({
    ...common,
    rejectUnauthorized: !http.insecureSkipVerify,
    ca: http.tls?.ca ? Buffer.from(http.tls.ca) : undefined,
    cert: http.tls?.cert ? Buffer.from(http.tls.cert) : undefined,
    key: http.tls?.key ? Buffer.from(http.tls.key) : undefined,
    servername: http.tls?.serverName || undefined,
    ...(http.tls?.serverName
      ? {
          // Go's ServerName is both the SNI and the name the certificate is checked against.
          checkServerIdentity: (_host: string, cert: PeerCertificate) =>
            checkServerIdentity(http.tls?.serverName as string, cert),
        }
      : {}),
  });
  return {
    http: httpAgent,
    https: httpsAgent,
    destroy() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** OpenSSL verification codes Node reports when the server's certificate is not trusted. */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/**
 * When `err` (or its cause) is a TLS failure, a one-line explanation naming the setting to check;
 * otherwise undefined. Covers an untrusted or mismatched certificate and an endpoint that answers
 * plain HTTP on an https:// URL (OpenSSL's "wrong version number") — never retried over http.
 */
export function describeTlsFailure(err: unknown, url: string): { detail: string; setting: string } | undefined {
  for (
    let e = err as { code?: string; message?: string; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    const code = e.code ?? '';
    const message = e.message ?? '';
    if (TLS_TRUST_CODES.has(code)) {
      return {
        detail: `TLS certificate of ${url} is not trusted: ${message} (${code}); check http_config.tls_config.ca_file and server_name, or set http_config.insecure_skip_verify for test setups`,
        setting: 'http_config.tls_config.ca_file',
      };
    }
    if (code === 'EPROTO' || /wrong version number|packet length too long|unknown protocol/i.test(message)) {
      return {
        detail: `TLS handshake with ${url} failed: ${message.replace(/\s+/g, ' ').trim()}; the endpoint may speak plain HTTP (set insecure: true for http, never used silently)`,
        setting: 'insecure',
      };
    }
    e = e.cause as typeof e;
  }
  return undefined;
}
