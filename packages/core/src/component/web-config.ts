import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, isAbsolute, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { parseGoDuration } from '@thanos-ts/tsdb/goformat';
import bcrypt from 'bcryptjs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { RequestHandler } from '../http/query-api.js';
import { GO_CIPHER_SUITES, GO_CURVES, TLS13_SUITES, WEB_CONFIG_CURVES } from '../tls/go-names.js';
import { WebConfigError } from './errors.js';

/** exporter-toolkit's client_auth_type values (Go's tls.ClientAuthType names). */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'RequireClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
/** One of {@link CLIENT_AUTH_TYPES}; `RequireClientCert` is exporter-toolkit's old name of `RequireAnyClientCert`. */
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** exporter-toolkit's TLS version names and the Node names they map to. */
const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
/** One of exporter-toolkit's TLS versions (`TLS10` … `TLS13`). */
export type WebTLSVersion = keyof typeof TLS_VERSIONS;

/**
 * Response headers exporter-toolkit lets a web config set, with the values allowed (none listed:
 * any value). Others are refused, as in exporter-toolkit's validateHeaderConfig.
 */
const ALLOWED_HEADERS: Record<string, readonly string[]> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

/** `tls_server_config` of a web config. Paths are absolute once read by {@link readWebConfigFile}. */
export interface WebTLSConfig {
  /** PEM certificate chain file (`cert_file`); `cert` gives it inline. One of the two is required. */
  certFile?: string;
  /** Inline PEM certificate chain (`cert`). */
  cert?: string;
  /** PEM private key file (`key_file`); `key` gives it inline. One of the two is required. */
  keyFile?: string;
  /** Inline PEM private key (`key`). */
  key?: string;
  /** Which client certificates are asked for and checked (`client_auth_type`). Default `NoClientCert`. */
  clientAuthType?: ClientAuthType;
  /** PEM CA bundle client certificates are verified against (`client_ca_file`); needs a client auth type. */
  clientCAFile?: string;
  /** Inline PEM CA bundle (`client_ca`). */
  clientCA?: string;
  /** Client certificates must carry one of these SANs (DNS, email, IP or URI) (`client_allowed_sans`). Default: any. */
  clientAllowedSans?: readonly string[];
  /** Lowest TLS version (`min_version`). Default `TLS12`, as exporter-toolkit. */
  minVersion?: WebTLSVersion;
  /** Highest TLS version (`max_version`). Default `TLS13`. */
  maxVersion?: WebTLSVersion;
  /** TLS 1.2 and older cipher suites by Go name (`cipher_suites`). Default: OpenSSL's. TLS 1.3 suites are always on, as in Go. */
  cipherSuites?: readonly string[];
  /** Key exchange curves by Go name: CurveP256, CurveP384, CurveP521, X25519 (`curve_preferences`). Default: OpenSSL's. */
  curvePreferences?: readonly string[];
  /** The server's cipher order wins (`prefer_server_cipher_suites`). Default true. */
  preferServerCipherSuites?: boolean;
}

/**
 * A web config (Prometheus exporter-toolkit's web-config.yml, Thanos's --http.config): TLS, basic
 * authentication and extra response headers for every HTTP endpoint of a component.
 */
export interface WebConfig {
  /** TLS of the HTTP server; absent or empty: plain HTTP. */
  tlsServerConfig?: WebTLSConfig;
  /** `http_server_config`. */
  httpServerConfig?: {
    /** Response headers set on every answer (only exporter-toolkit's allowed ones). */
    headers?: Readonly<Record<string, string>>;
    /**
     * exporter-toolkit's `http2` (default true). thanos-ts serves HTTP/1.1 only, which every HTTP/2
     * client falls back to over TLS (ALPN), so the value changes nothing.
     */
    http2?: boolean;
  };
  /** User name → bcrypt hash; when any is set, every request needs basic auth with one of them. */
  basicAuthUsers?: Readonly<Record<string, string>>;
  /** Token bucket over all requests (`rate_limit`); 429 when empty. Default: no limit. */
  rateLimit?: {
    /** Tokens the bucket holds. */
    burst: number;
    /** One token is added per this many ms; 0: no limit. */
    intervalMs: number;
  };
}

type YamlMap = Map<string, YamlNode>;

/** Strict YAML reading in the words of Go's yaml.UnmarshalStrict. */
function strictFields(node: YamlNode | null, type: string, known: readonly string[], lc: LineCounter): YamlMap {
  const out: YamlMap = new Map();
  if (node === null || (isScalar(node) && node.value === null)) return out;
  if (!isMap(node))
    throw new Error(`yaml: unmarshal errors:\n  line ${lineOf(node, lc)}: cannot unmarshal into ${type}`);
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!known.includes(key))
      throw new Error(
        `yaml: unmarshal errors:\n  line ${lineOf(pair.key as YamlNode, lc)}: field ${key} not found in type ${type}`,
      );
    out.set(key, pair.value as YamlNode);
  }
  return out;
}

function lineOf(node: YamlNode | null | undefined, lc: LineCounter): number {
  const at = node?.range?.[0];
  return at === undefined ? 0 : lc.linePos(at).line;
}

function scalarString(node: YamlNode | undefined, field: string, lc: LineCounter): string | undefined {
  if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
  if (!isScalar(node) || typeof node.value === 'object')
    throw new Error(`yaml: unmarshal errors:\n  line ${lineOf(node, lc)}: cannot unmarshal ${field} into string`);
  return String(node.value);
}

function stringList(node: YamlNode | undefined, field: string, lc: LineCounter): string[] | undefined {
  if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
  if (!isSeq(node))
    throw new Error(`yaml: unmarshal errors:\n  line ${lineOf(node, lc)}: cannot unmarshal ${field} into []string`);
  return node.items.map((n) => scalarString(n as YamlNode, field, lc) ?? '');
}

function bool(node: YamlNode | undefined, field: string, lc: LineCounter): boolean | undefined {
  if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
  if (!isScalar(node) || typeof node.value !== 'boolean')
    throw new Error(`yaml: unmarshal errors:\n  line ${lineOf(node, lc)}: cannot unmarshal ${field} into bool`);
  return node.value;
}

/** A path of the config relative to the config file's folder, as exporter-toolkit's SetDirectory. */
function joinDir(dir: string | undefined, path: string | undefined): string | undefined {
  if (path === undefined || path === '' || dir === undefined || isAbsolute(path)) return path;
  return join(dir, path);
}

/**
 * Parses and validates a web config (exporter-toolkit's getConfig, validateUsers and
 * ConfigToTLSConfig checks, in their words): unknown fields, header names and values, bcrypt hashes,
 * TLS versions, ciphers, curves, client auth type, and that the certificate and key files can be
 * read. `dir` resolves relative file paths (the config file's folder); `where` prefixes errors.
 * Throws WebConfigError.
 */
export function parseWebConfig(text: string, opts: { where: string; dir?: string }): WebConfig {
  try {
    return parseWebConfigUnchecked(text, opts.dir);
  } catch (err) {
    if (err instanceof WebConfigError) throw err;
    throw new WebConfigError(opts.where, (err as Error).message, { cause: err });
  }
}

function parseWebConfigUnchecked(text: string, dir: string | undefined): WebConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`yaml: ${doc.errors[0]?.message}`);
  const top = strictFields(
    doc.contents as YamlNode | null,
    'web.Config',
    ['tls_server_config', 'http_server_config', 'rate_limit', 'basic_auth_users'],
    lc,
  );
  const cfg: WebConfig = {};
  const tlsNode = top.get('tls_server_config');
  if (tlsNode !== undefined) {
    const t = strictFields(
      tlsNode,
      'web.TLSConfig',
      [
        'cert',
        'key',
        'client_ca',
        'cert_file',
        'key_file',
        'client_auth_type',
        'client_ca_file',
        'cipher_suites',
        'curve_preferences',
        'min_version',
        'max_version',
        'prefer_server_cipher_suites',
        'client_allowed_sans',
      ],
      lc,
    );
    const version = (field: string): WebTLSVersion | undefined => {
      const v = scalarString(t.get(field), field, lc);
      if (v === undefined) return undefined;
      if (!(v in TLS_VERSIONS)) throw new Error(`unknown TLS version: ${v}`);
      return v as WebTLSVersion;
    };
    const ciphers = stringList(t.get('cipher_suites'), 'cipher_suites', lc);
    for (const c of ciphers ?? []) if (!(c in GO_CIPHER_SUITES)) throw new Error(`unknown cipher: ${c}`);
    const curves = stringList(t.get('curve_preferences'), 'curve_preferences', lc);
    for (const c of curves ?? []) if (!WEB_CONFIG_CURVES.includes(c)) throw new Error(`unknown curve: ${c}`);
    const tls: WebTLSConfig = {
      certFile: joinDir(dir, scalarString(t.get('cert_file'), 'cert_file', lc)),
      cert: scalarString(t.get('cert'), 'cert', lc),
      keyFile: joinDir(dir, scalarString(t.get('key_file'), 'key_file', lc)),
      key: scalarString(t.get('key'), 'key', lc),
      clientAuthType: scalarString(t.get('client_auth_type'), 'client_auth_type', lc) as ClientAuthType | undefined,
      clientCAFile: joinDir(dir, scalarString(t.get('client_ca_file'), 'client_ca_file', lc)),
      clientCA: scalarString(t.get('client_ca'), 'client_ca', lc),
      clientAllowedSans: stringList(t.get('client_allowed_sans'), 'client_allowed_sans', lc),
      minVersion: version('min_version'),
      maxVersion: version('max_version'),
      cipherSuites: ciphers,
      curvePreferences: curves,
      preferServerCipherSuites: bool(t.get('prefer_server_cipher_suites'), 'prefer_server_cipher_suites', lc),
    };
    cfg.tlsServerConfig = Object.fromEntries(
      Object.entries(tls).filter(([, v]) => v !== undefined && v !== ''),
    ) as WebTLSConfig;
  }
  const httpNode = top.get('http_server_config');
  if (httpNode !== undefined) {
    const h = strictFields(httpNode, 'web.HTTPConfig', ['http2', 'headers'], lc);
    const headers: Record<string, string> = {};
    const hn = h.get('headers');
    if (hn !== undefined && !(isScalar(hn) && hn.value === null)) {
      if (!isMap(hn))
        throw new Error(
          `yaml: unmarshal errors:\n  line ${lineOf(hn, lc)}: cannot unmarshal headers into map[string]string`,
        );
      for (const pair of hn.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        headers[k] = scalarString(pair.value as YamlNode, k, lc) ?? '';
      }
    }
    // exporter-toolkit's validateHeaderConfig.
    for (const [k, v] of Object.entries(headers)) {
      const allowed = ALLOWED_HEADERS[k];
      if (allowed === undefined) throw new Error(`HTTP header ${JSON.stringify(k)} can not be configured`);
      if (allowed.length > 0 && !allowed.includes(v))
        throw new Error(
          `invalid value for ${k}. Expected one of: [${allowed.map((a) => JSON.stringify(a)).join(' ')}], but got: ${JSON.stringify(v)}`,
        );
    }
    const http2 = bool(h.get('http2'), 'http2', lc);
    cfg.httpServerConfig = { headers, ...(http2 !== undefined ? { http2 } : {}) };
  }
  const rl = top.get('rate_limit');
  if (rl !== undefined) {
    const r = strictFields(rl, 'web.RateLimiterConfig', ['burst', 'interval'], lc);
    const burst = Number(scalarString(r.get('burst'), 'burst', lc) ?? '0');
    if (!Number.isInteger(burst)) throw new Error(`yaml: unmarshal errors:\n  cannot unmarshal burst into int`);
    const interval = scalarString(r.get('interval'), 'interval', lc);
    const intervalMs = interval === undefined ? 0 : parseGoDuration(interval);
    if (intervalMs > 0) cfg.rateLimit = { burst, intervalMs };
  }
  const usersNode = top.get('basic_auth_users');
  if (usersNode !== undefined && !(isScalar(usersNode) && usersNode.value === null)) {
    if (!isMap(usersNode))
      throw new Error(
        `yaml: unmarshal errors:\n  line ${lineOf(usersNode, lc)}: cannot unmarshal basic_auth_users into map[string]config.Secret`,
      );
    const users: Record<string, string> = {};
    for (const pair of usersNode.items) {
      const user = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      users[user] = scalarString(pair.value as YamlNode, user, lc) ?? '';
    }
    cfg.basicAuthUsers = users;
  }
  validateWebConfig(cfg);
  return cfg;
}

/** bcrypt hashes as Go's crypto/bcrypt reads them: `$2a$`/`$2b$`/`$2y$`, two cost digits, 53 characters of salt and hash. */
const BCRYPT_HASH = /^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/**
 * Checks a {@link WebConfig} built in code as parseWebConfig checks a file (users' bcrypt hashes,
 * headers, the TLS settings and that the certificate and key load). Throws plain Errors with
 * exporter-toolkit's words; parseWebConfig and {@link webTLSOptions} wrap them.
 */
export function validateWebConfig(cfg: WebConfig): void {
  for (const [user, hash] of Object.entries(cfg.basicAuthUsers ?? {})) {
    // Go's bcrypt.Cost, as exporter-toolkit's validateUsers calls it.
    if (hash.length < 59)
      throw new Error(`crypto/bcrypt: hashedSecret too short to be a bcrypted password (user ${user})`);
    const m = BCRYPT_HASH.exec(hash);
    if (!m) throw new Error(`crypto/bcrypt: hash of user ${user} is not a bcrypt hash`);
    const cost = Number(m[1]);
    if (cost < 4 || cost > 31) throw new Error(`crypto/bcrypt: cost ${cost} is outside allowed range (4,31)`);
  }
  const t = cfg.tlsServerConfig;
  if (t && tlsEnabled(t)) loadTLS(t);
}

/** exporter-toolkit's TLSConfig.IsEnabled: any certificate, key, CA or client auth setting turns TLS on. */
function tlsEnabled(t: WebTLSConfig): boolean {
  return Boolean(t.certFile || t.cert || t.keyFile || t.key || t.clientCAFile || t.clientCA || t.clientAuthType);
}

/** What Node's https/tls servers take, from a web config's TLS part (exporter-toolkit's ConfigToTLSConfig). */
export interface WebTLSServerOptions {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
  ecdhCurve?: string;
  honorCipherOrder: boolean;
}

function readOr(file: string | undefined, inline: string | undefined, field: string): Buffer | undefined {
  if (file) {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`failed to read ${field} (${file}): ${(err as Error).message}`, { cause: err });
    }
  }
  return inline ? Buffer.from(inline) : undefined;
}

function loadTLS(t: WebTLSConfig): WebTLSServerOptions {
  if (!t.certFile && !t.cert) throw new Error('missing one of cert or cert_file');
  if (!t.keyFile && !t.key) throw new Error('missing one of key or key_file');
  const cert = readOr(t.certFile, t.cert, 'cert_file') as Buffer;
  const key = readOr(t.keyFile, t.key, 'key_file') as Buffer;
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw new Error(`failed to load X509KeyPair: ${(err as Error).message}`, { cause: err });
  }
  const ca = readOr(t.clientCAFile, t.clientCA, 'client_ca_file');
  const auth = t.clientAuthType ?? 'NoClientCert';
  if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(auth)) throw new Error(`invalid ClientAuth: ${auth}`);
  if (ca && auth === 'NoClientCert') throw new Error("client CA's have been configured without a Client Auth Policy");
  const tls12 = (t.cipherSuites ?? [])
    .map((c) => GO_CIPHER_SUITES[c] as string)
    .filter((c) => !TLS13_SUITES.includes(c));
  return {
    cert,
    key,
    ...(ca ? { ca } : {}),
    requestCert: auth !== 'NoClientCert',
    // Only RequireAndVerifyClientCert lets OpenSSL refuse the handshake; the other policies are
    // checked per connection (checkClientCert), as Go's tls does after the handshake.
    rejectUnauthorized: auth === 'RequireAndVerifyClientCert',
    minVersion: TLS_VERSIONS[t.minVersion ?? 'TLS12'],
    maxVersion: TLS_VERSIONS[t.maxVersion ?? 'TLS13'],
    // Go ignores cipher_suites for TLS 1.3: its suites stay on.
    ...(tls12.length > 0 ? { ciphers: [...TLS13_SUITES, ...tls12].join(':') } : {}),
    ...(t.curvePreferences?.length ? { ecdhCurve: t.curvePreferences.map((c) => GO_CURVES[c]).join(':') } : {}),
    honorCipherOrder: t.preferServerCipherSuites ?? true,
  };
}

/**
 * The Node TLS server options of a web config, or undefined when it does not turn TLS on (no
 * `tls_server_config`, or an empty one: plain HTTP, as exporter-toolkit). Reads the files; throws
 * WebConfigError (prefixed with `where`) when they cannot be used.
 */
export function webTLSOptions(cfg: WebConfig, where = 'web config'): WebTLSServerOptions | undefined {
  const t = cfg.tlsServerConfig;
  if (!t || !tlsEnabled(t)) return undefined;
  try {
    return loadTLS(t);
  } catch (err) {
    throw new WebConfigError(where, (err as Error).message, { cause: err });
  }
}

/**
 * Why a TLS connection's client certificate is refused under the web config's policy, or undefined
 * when it is accepted (Go's tls client auth checks that OpenSSL does not make on its own, and
 * exporter-toolkit's client_allowed_sans).
 */
export function checkClientCert(socket: TLSSocket, t: WebTLSConfig | undefined): string | undefined {
  if (!t) return undefined;
  const auth = t.clientAuthType ?? 'NoClientCert';
  const peer = socket.getPeerX509Certificate();
  if ((auth === 'RequireAnyClientCert' || auth === 'RequireClientCert') && !peer)
    return "tls: client didn't provide a certificate";
  if (auth === 'VerifyClientCertIfGiven' && peer && !socket.authorized)
    return `tls: failed to verify certificate: ${String(socket.authorizationError)}`;
  if (t.clientAllowedSans && peer) {
    const sans = (peer.subjectAltName ?? '')
      .split(/,\s*/)
      .map((s) => s.replace(/^(DNS|email|IP Address|URI):/, ''))
      .filter((s) => s !== '');
    if (!sans.some((s) => t.clientAllowedSans?.includes(s)))
      return `could not find allowed SANs in client cert, found: [${t.clientAllowedSans.join(' ')}]`;
  }
  return undefined;
}

/**
 * Reads a web config file (Thanos's --http.config), resolving its relative paths against the
 * file's folder as exporter-toolkit does. An empty path gives undefined (no web config). Throws
 * WebConfigError naming the file.
 */
export function readWebConfigFile(path: string): WebConfig | undefined {
  if (path === '') return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WebConfigError(path, `cannot read: ${(err as Error).message}`, { cause: err });
  }
  return parseWebConfig(text, { where: path, dir: dirname(path) });
}

/** exporter-toolkit's hash checked for unknown users, so a wrong user name costs a bcrypt round too. */
const DUMMY_HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
/** Remembered (user, hash, password) checks, as exporter-toolkit's cache: bcrypt costs ~100 ms in JS. */
const AUTH_CACHE_ENTRIES = 100;

function plainError(res: ServerResponse, status: number, text: string): void {
  // Go's http.Error.
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.writeHead(status);
  res.end(`${text}\n`);
}

/**
 * Wraps a handler with a web config's per-request parts (exporter-toolkit's webHandler): the rate
 * limit (429), the configured response headers, then basic authentication against the bcrypt
 * hashes (401 with `WWW-Authenticate: Basic`). Every endpoint is covered, /metrics and the probes
 * included, as in Thanos. Safe for concurrent requests.
 */
export function withWebConfig(handler: RequestHandler, cfg: WebConfig): RequestHandler {
  const headers = Object.entries(cfg.httpServerConfig?.headers ?? {});
  const users = new Map(Object.entries(cfg.basicAuthUsers ?? {}));
  const cache = new Map<string, boolean>();
  const rate = cfg.rateLimit;
  let tokens = rate?.burst ?? 0;
  let refilledAt = Date.now();
  const allow = (): boolean => {
    if (!rate) return true;
    const now = Date.now();
    tokens = Math.min(rate.burst, tokens + (now - refilledAt) / rate.intervalMs);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (!allow()) {
      plainError(res, 429, 'Too Many Requests');
      return true;
    }
    for (const [k, v] of headers) res.setHeader(k, v);
    if (users.size === 0) return handler(req, res);
    const auth = /^Basic\s+(.*)$/i.exec(req.headers.authorization ?? '');
    if (auth) {
      const decoded = Buffer.from(auth[1] ?? '', 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        const user = decoded.slice(0, colon);
        const pass = decoded.slice(colon + 1);
        const hash = users.get(user);
        const key = [user, hash ?? DUMMY_HASH, pass].map((s) => Buffer.from(s).toString('hex')).join(':');
        let ok = cache.get(key);
        if (ok === undefined) {
          const matched = await bcrypt.compare(pass, hash ?? DUMMY_HASH);
          ok = hash !== undefined && matched;
          if (cache.size >= AUTH_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
          cache.set(key, ok);
        }
        if (ok) return handler(req, res);
      }
    }
    res.setHeader('WWW-Authenticate', 'Basic');
    plainError(res, 401, 'Unauthorized');
    return true;
  };
}
