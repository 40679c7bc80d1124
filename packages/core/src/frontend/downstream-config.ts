import { readFile } from 'node:fs/promises';
import { Agent } from 'undici';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../cache/config.js';
import { FrontendConfigError } from './errors.js';

/**
 * The HTTP client settings for the downstream (Thanos's queryfrontend.DownstreamTripperConfig,
 * --query-frontend.downstream-tripper-config), with the TLS files already read.
 */
export interface DownstreamTripperConfig {
  /** How long an idle keep-alive connection is kept, ms (`idle_conn_timeout`). Default 90_000, as Thanos. */
  idleConnTimeoutMs?: number;
  /** Longest wait for the response headers of one request, ms (`response_header_timeout`). Default 300_000 (undici's; Go has none). */
  responseHeaderTimeoutMs?: number;
  /** Longest TCP connect plus TLS handshake, ms (`tls_handshake_timeout`). Default 10_000, as Thanos. */
  tlsHandshakeTimeoutMs?: number;
  /** Most connections to the downstream at once (`max_conns_per_host`). Default 0: no limit. */
  maxConnsPerHost?: number;
  /** TLS client settings (`tls_config`). */
  tls?: {
    /** PEM CA bundle the server certificate must chain to (`ca_file`). Default: the system's. */
    ca?: string;
    /** PEM client certificate and key (`cert_file`, `key_file`). */
    cert?: string;
    key?: string;
    /** Name the server certificate must carry (`server_name`). Default: the URL's host. */
    serverName?: string;
    /** Accept any server certificate (`insecure_skip_verify`). Default false. */
    insecureSkipVerify?: boolean;
  };
}

const FIELDS = new Set([
  'idle_conn_timeout',
  'response_header_timeout',
  'tls_handshake_timeout',
  'expect_continue_timeout',
  'max_idle_conns',
  'max_idle_conns_per_host',
  'max_conns_per_host',
  'tls_config',
]);
const TLS_FIELDS = new Set(['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify']);

/**
 * Parses Thanos's downstream tripper YAML strictly (unknown fields are errors, as
 * yaml.UnmarshalStrict) and reads the TLS files it names. `expect_continue_timeout`,
 * `max_idle_conns` and `max_idle_conns_per_host` are accepted and have no effect: the frontend
 * never sends `Expect: 100-continue` (so Go ignores the first too), and undici keeps every idle
 * connection until `idle_conn_timeout`. Errors name `flag`.
 */
export async function parseDownstreamTripperConfig(
  text: string,
  flag = '--query-frontend.downstream-tripper-config',
): Promise<DownstreamTripperConfig> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new FrontendConfigError(`${flag}: parsing downstream tripper config YAML file: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new FrontendConfigError(`${flag}: parsing downstream tripper config YAML file: expected a mapping`);
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d))
    if (!FIELDS.has(k))
      throw new FrontendConfigError(
        `${flag}: parsing downstream tripper config YAML file: field ${k} not found in type queryfrontend.DownstreamTripperConfig`,
      );
  const duration = (k: string): number | undefined => {
    const v = d[k];
    if (v === undefined || v === null || v === 0 || v === '0') return undefined;
    if (typeof v !== 'string') throw new FrontendConfigError(`${flag}: ${k}: invalid duration ${JSON.stringify(v)}`);
    const ms = parseDuration(v, `${flag}: ${k}`);
    return ms > 0 ? ms : undefined;
  };
  const int = (k: string): number | undefined => {
    const v = d[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new FrontendConfigError(`${flag}: ${k}: want an integer, got ${JSON.stringify(v)}`);
    return v;
  };
  duration('expect_continue_timeout');
  int('max_idle_conns');
  int('max_idle_conns_per_host');
  const out: DownstreamTripperConfig = {};
  const idle = duration('idle_conn_timeout');
  if (idle !== undefined) out.idleConnTimeoutMs = idle;
  const header = duration('response_header_timeout');
  if (header !== undefined) out.responseHeaderTimeoutMs = header;
  const handshake = duration('tls_handshake_timeout');
  if (handshake !== undefined) out.tlsHandshakeTimeoutMs = handshake;
  const conns = int('max_conns_per_host');
  if (conns !== undefined && conns > 0) out.maxConnsPerHost = conns;
  const t = d.tls_config;
  if (t !== undefined && t !== null) {
    if (typeof t !== 'object' || Array.isArray(t))
      throw new FrontendConfigError(`${flag}: tls_config must be a mapping`);
    const tc = t as Record<string, unknown>;
    for (const k of Object.keys(tc))
      if (!TLS_FIELDS.has(k))
        throw new FrontendConfigError(
          `${flag}: parsing downstream tripper TLS config YAML: field ${k} not found in type exthttp.TLSConfig`,
        );
    const file = async (k: string): Promise<string | undefined> => {
      const p = tc[k];
      if (p === undefined || p === null || p === '') return undefined;
      try {
        return await readFile(String(p), 'utf8');
      } catch (err) {
        throw new FrontendConfigError(`${flag}: tls_config.${k}: ${(err as Error).message}`);
      }
    };
    const tls: NonNullable<DownstreamTripperConfig['tls']> = {};
    const ca = await file('ca_file');
    const cert = await file('cert_file');
    const key = await file('key_file');
    if ((cert === undefined) !== (key === undefined))
      throw new FrontendConfigError(`${flag}: tls_config: both client certificate and key must be provided`);
    if (ca !== undefined) tls.ca = ca;
    if (cert !== undefined) tls.cert = cert;
    if (key !== undefined) tls.key = key;
    if (typeof tc.server_name === 'string' && tc.server_name !== '') tls.serverName = tc.server_name;
    if (tc.insecure_skip_verify === true) tls.insecureSkipVerify = true;
    out.tls = tls;
  }
  return out;
}

/** The undici Agent for a downstream tripper config (Thanos's defaults where a field is unset). */
export function createDownstreamAgent(cfg: DownstreamTripperConfig = {}): Agent {
  const idle = cfg.idleConnTimeoutMs ?? 90_000;
  return new Agent({
    keepAliveTimeout: idle,
    keepAliveMaxTimeout: Math.max(idle, 600_000),
    // Go has no header timeout by default; undici's 300 s stays as the guard against a hang.
    headersTimeout: cfg.responseHeaderTimeoutMs ?? 300_000,
    ...(cfg.maxConnsPerHost ? { connections: cfg.maxConnsPerHost } : {}),
    connect: {
      timeout: cfg.tlsHandshakeTimeoutMs ?? 10_000,
      ...(cfg.tls?.ca !== undefined ? { ca: cfg.tls.ca } : {}),
      ...(cfg.tls?.cert !== undefined ? { cert: cfg.tls.cert, key: cfg.tls.key } : {}),
      ...(cfg.tls?.serverName !== undefined ? { servername: cfg.tls.serverName } : {}),
      ...(cfg.tls?.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
    },
  });
}
