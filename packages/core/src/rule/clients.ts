import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { Agent, type Dispatcher, ProxyAgent, request } from 'undici';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { createDNSResolver, type DNSResolver } from '../discovery/dns.js';
import { createEndpointDiscovery, type EndpointDiscovery } from '../discovery/endpoint-discovery.js';
import type { Logger } from '../log/logger.js';
import { RuleConfigError } from './errors.js';

/** TLS towards queriers or Alertmanagers: Thanos's clientconfig `tls_config`. */
export interface ClientTLSConfig {
  /** PEM CA bundle verifying the server (replaces the system roots). */
  caFile?: string;
  /** PEM client certificate and key for mutual TLS. */
  certFile?: string;
  keyFile?: string;
  /** Name the server certificate must carry. Default: the host dialled. */
  serverName?: string;
  /** Skip certificate verification (test setups only). Default false. */
  insecureSkipVerify?: boolean;
}

/** Thanos's clientconfig `http_config`: how to authenticate and encrypt requests. */
export interface HTTPClientConfig {
  /** HTTP basic auth; `passwordFile` is re-read on every request, as Prometheus's secret files are. */
  basicAuth?: { username: string; password?: string; passwordFile?: string };
  /** Bearer token sent as `Authorization: Bearer …`. */
  bearerToken?: string;
  /** File holding the bearer token, re-read on every request. */
  bearerTokenFile?: string;
  /** HTTP proxy URL. */
  proxyURL?: string;
  tls?: ClientTLSConfig;
}

/** One file SD source of an endpoint group (`file_sd_configs` entry). */
export interface FileSDSource {
  /** Files or globs of Prometheus file SD targets (`host:port`, may carry `dns+` / `dnssrv+`). */
  files: string[];
  /** Re-read interval without file events, ms. Default 300_000 (Prometheus's 5m). */
  refreshIntervalMs: number;
}

/** Thanos's clientconfig HTTPEndpointsConfig: a set of endpoints reached with one scheme and prefix. */
export interface HTTPEndpointsConfig {
  /** `host:port`, `dns+host:port`, `dnssrv+_http._tcp.name` (`static_configs`). */
  staticAddresses: string[];
  fileSDConfigs: FileSDSource[];
  /** `http` or `https`. Default 'http'. */
  scheme: 'http' | 'https';
  /** Path prefix in front of the API path (`path_prefix`), e.g. `/thanos`. Default ''. */
  pathPrefix: string;
}

/** One entry of `--query.config`: query API servers and how to talk to them. */
export interface QueryEndpointConfig {
  httpConfig: HTTPClientConfig;
  endpoints: HTTPEndpointsConfig;
}

/** Alertmanager API version a config talks (`api_version`). */
export type AlertmanagerAPIVersion = 'v1' | 'v2';

/** One entry of `--alertmanagers.config`'s `alertmanagers` list. */
export interface AlertmanagerEndpointConfig {
  httpConfig: HTTPClientConfig;
  endpoints: HTTPEndpointsConfig;
  /** Timeout of one send, ms (`timeout`). Default 10_000. */
  timeoutMs: number;
  /** Default 'v2'. */
  apiVersion: AlertmanagerAPIVersion;
}

const DEFAULT_ALERTMANAGER_PORT = 9093;
const DEFAULT_FILE_SD_REFRESH_MS = 300_000;

// ---------------------------------------------------------------------------------------------
// Strict YAML decoding with Go yaml.v2's UnmarshalStrict wording ("line N: field x not found in type T").

class Decoder {
  readonly errors: string[] = [];
  constructor(private readonly lc: LineCounter) {}
  line(n: Node | undefined | null): number {
    const at = n?.range?.[0];
    return at === undefined ? 0 : this.lc.linePos(at).line;
  }
  fields(m: unknown, type: string, known: readonly string[]): Map<string, Node | null> {
    const out = new Map<string, Node | null>();
    if (m === null || m === undefined || (isScalar(m) && m.value === null)) return out;
    if (!isMap(m)) {
      this.errors.push(`line ${this.line(m as Node)}: cannot unmarshal ${kind(m)} into ${type}`);
      return out;
    }
    for (const item of (m as YAMLMap).items) {
      const key = item.key as Node;
      const name = isScalar(key) ? String(key.value) : '';
      if (!known.includes(name)) {
        this.errors.push(`line ${this.line(key)}: field ${name} not found in type ${type}`);
        continue;
      }
      out.set(name, (item.value as Node | null) ?? null);
    }
    return out;
  }
  str(n: Node | null | undefined): string {
    if (n === null || n === undefined || (isScalar(n) && n.value === null)) return '';
    if (isScalar(n) && (typeof n.value === 'string' || typeof n.value === 'number' || typeof n.value === 'boolean'))
      return String(n.source ?? n.value);
    this.errors.push(`line ${this.line(n)}: cannot unmarshal ${kind(n)} into string`);
    return '';
  }
  bool(n: Node | null | undefined): boolean {
    if (n === null || n === undefined) return false;
    if (isScalar(n) && typeof n.value === 'boolean') return n.value;
    this.errors.push(`line ${this.line(n)}: cannot unmarshal !!str \`${this.str(n)}\` into bool`);
    return false;
  }
  strings(n: Node | null | undefined): string[] {
    if (n === null || n === undefined || (isScalar(n) && n.value === null)) return [];
    if (!isSeq(n)) {
      this.errors.push(`line ${this.line(n)}: cannot unmarshal ${kind(n)} into []string`);
      return [];
    }
    return n.items.map((i) => this.str(i as Node));
  }
  seq(n: Node | null | undefined, type: string): Node[] {
    if (n === null || n === undefined || (isScalar(n) && n.value === null)) return [];
    if (!isSeq(n)) {
      this.errors.push(`line ${this.line(n)}: cannot unmarshal ${kind(n)} into ${type}`);
      return [];
    }
    return n.items as Node[];
  }
  /** A Prometheus model.Duration (`30s`, `5m`, `1d`). */
  duration(n: Node | null | undefined, dflt: number): number {
    if (n === null || n === undefined) return dflt;
    const s = this.str(n);
    const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(s);
    if (s === '0') return 0;
    if (!m || s === '') {
      this.errors.push(`not a valid duration string: ${JSON.stringify(s)}`);
      return dflt;
    }
    const units = [31_536_000_000, 604_800_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
    return units.reduce((sum, u, i) => sum + Number(m[i + 1] ?? 0) * u, 0);
  }
}

function kind(n: unknown): string {
  if (isMap(n)) return '!!map';
  if (isSeq(n)) return '!!seq';
  if (isScalar(n)) {
    const v = n.value;
    if (typeof v === 'number') return `!!${Number.isInteger(v) ? 'int' : 'float'} \`${String(n.source ?? v)}\``;
    if (typeof v === 'boolean') return `!!bool \`${String(v)}\``;
    return `!!str \`${String(v)}\``;
  }
  return 'value';
}

function parseRoot(text: string, what: string): { d: Decoder; root: Node | null } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false });
  if (doc.errors.length > 0) throw new RuleConfigError(`${what}: yaml: ${doc.errors[0]?.message.split('\n')[0]}`);
  return { d: new Decoder(lc), root: (doc.contents as Node | null) ?? null };
}

function finish(d: Decoder, what: string): void {
  if (d.errors.length > 0) throw new RuleConfigError(`${what}: yaml: unmarshal errors:\n  ${d.errors.join('\n  ')}`);
}

function decodeHTTPClientConfig(d: Decoder, n: Node | null | undefined): HTTPClientConfig {
  const f = d.fields(n, 'clientconfig.HTTPClientConfig', [
    'basic_auth',
    'bearer_token',
    'bearer_token_file',
    'proxy_url',
    'tls_config',
    'transport_config',
  ]);
  const out: HTTPClientConfig = {};
  const ba = d.fields(f.get('basic_auth'), 'clientconfig.BasicAuth', ['username', 'password', 'password_file']);
  if (ba.size > 0) {
    const username = d.str(ba.get('username'));
    const password = d.str(ba.get('password'));
    const passwordFile = d.str(ba.get('password_file'));
    if (username || password || passwordFile)
      out.basicAuth = { username, ...(password ? { password } : {}), ...(passwordFile ? { passwordFile } : {}) };
    if (password && passwordFile)
      d.errors.push('at most one of basic_auth password & password_file must be configured');
  }
  const bearerToken = d.str(f.get('bearer_token'));
  const bearerTokenFile = d.str(f.get('bearer_token_file'));
  if (bearerToken) out.bearerToken = bearerToken;
  if (bearerTokenFile) out.bearerTokenFile = bearerTokenFile;
  if (bearerToken && bearerTokenFile)
    d.errors.push('at most one of bearer_token & bearer_token_file must be configured');
  if (out.basicAuth && (bearerToken || bearerTokenFile))
    d.errors.push('at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured');
  const proxy = d.str(f.get('proxy_url'));
  if (proxy) out.proxyURL = proxy;
  const t = d.fields(f.get('tls_config'), 'clientconfig.TLSConfig', [
    'ca_file',
    'cert_file',
    'key_file',
    'server_name',
    'insecure_skip_verify',
  ]);
  if (t.size > 0) {
    const tls: ClientTLSConfig = {};
    const set = (k: keyof ClientTLSConfig, key: string) => {
      const v = d.str(t.get(key));
      if (v) (tls as Record<string, unknown>)[k] = v;
    };
    set('caFile', 'ca_file');
    set('certFile', 'cert_file');
    set('keyFile', 'key_file');
    set('serverName', 'server_name');
    if (d.bool(t.get('insecure_skip_verify'))) tls.insecureSkipVerify = true;
    if (tls.certFile && !tls.keyFile)
      d.errors.push(`client cert file "${tls.certFile}" specified without client key file`);
    if (tls.keyFile && !tls.certFile)
      d.errors.push(`client key file "${tls.keyFile}" specified without client cert file`);
    out.tls = tls;
  }
  // transport_config tunes Go's connection pool; accepted for compatibility, undici's defaults apply.
  d.fields(f.get('transport_config'), 'clientconfig.TransportConfig', [
    'max_idle_conns',
    'max_idle_conns_per_host',
    'idle_conn_timeout',
    'response_header_timeout',
    'expect_continue_timeout',
    'max_conns_per_host',
    'disable_compression',
    'tls_handshake_timeout',
    'dialer_timeout',
  ]);
  return out;
}

function decodeEndpoints(d: Decoder, f: Map<string, Node | null>): HTTPEndpointsConfig {
  const fileSDConfigs = d.seq(f.get('file_sd_configs'), '[]clientconfig.HTTPFileSDConfig').map((n) => {
    const sd = d.fields(n, 'clientconfig.HTTPFileSDConfig', ['files', 'refresh_interval']);
    return {
      files: d.strings(sd.get('files')),
      refreshIntervalMs:
        d.duration(sd.get('refresh_interval'), DEFAULT_FILE_SD_REFRESH_MS) || DEFAULT_FILE_SD_REFRESH_MS,
    };
  });
  const scheme = f.has('scheme') ? d.str(f.get('scheme')) || 'http' : 'http';
  if (scheme !== 'http' && scheme !== 'https') d.errors.push(`${JSON.stringify(scheme)} is not supported scheme`);
  return {
    staticAddresses: d.strings(f.get('static_configs')),
    fileSDConfigs,
    scheme: scheme === 'https' ? 'https' : 'http',
    pathPrefix: d.str(f.get('path_prefix')),
  };
}

const ENDPOINT_KEYS = ['http_config', 'static_configs', 'file_sd_configs', 'scheme', 'path_prefix'];

/**
 * Parses Thanos's `--query.config` YAML: a list of `{http_config, static_configs,
 * file_sd_configs, scheme, path_prefix}`. Unknown fields are errors worded as Go's strict YAML
 * decoder words them; `grpc_config` (Thanos's gRPC query endpoints) is rejected as unsupported.
 */
export function parseQueryConfig(text: string): QueryEndpointConfig[] {
  const what = 'query configuration';
  const { d, root } = parseRoot(text, what);
  const out = d.seq(root, '[]clientconfig.Config').map((n) => {
    const f = d.fields(n, 'clientconfig.plain', [...ENDPOINT_KEYS, 'grpc_config']);
    const grpc = d.fields(f.get('grpc_config'), 'clientconfig.GRPCConfig', ['endpoint_addresses']);
    if (d.strings(grpc.get('endpoint_addresses')).length > 0)
      d.errors.push('grpc_config: gRPC query endpoints are not supported by thanos-ts; use HTTP endpoints');
    return { httpConfig: decodeHTTPClientConfig(d, f.get('http_config')), endpoints: decodeEndpoints(d, f) };
  });
  finish(d, what);
  return out;
}

/**
 * Parses Thanos's `--alertmanagers.config` YAML: `alertmanagers: [{http_config, static_configs,
 * file_sd_configs, scheme, path_prefix, timeout, api_version}]`, with Thanos's defaults (http,
 * 10s, v2).
 */
export function parseAlertingConfig(text: string): AlertmanagerEndpointConfig[] {
  const what = 'loading alertmanager configuration';
  const { d, root } = parseRoot(text, what);
  const top = d.fields(root, 'alert.AlertingConfig', ['alertmanagers']);
  const out = d.seq(top.get('alertmanagers'), '[]alert.AlertmanagerConfig').map((n) => {
    const f = d.fields(n, 'alert.plain', [...ENDPOINT_KEYS, 'timeout', 'api_version']);
    let apiVersion: AlertmanagerAPIVersion = 'v2';
    if (f.has('api_version')) {
      const v = d.str(f.get('api_version'));
      if (v === 'v1' || v === 'v2') apiVersion = v;
      else d.errors.push(`expected Alertmanager API version to be one of [v1 v2] but got ${JSON.stringify(v)}`);
    }
    return {
      httpConfig: decodeHTTPClientConfig(d, f.get('http_config')),
      endpoints: decodeEndpoints(d, f),
      timeoutMs: d.duration(f.get('timeout'), 10_000),
      apiVersion,
    };
  });
  finish(d, what);
  return out;
}

/** The `host[:port]` of a URL as written: WHATWG URLs drop a default port that Go's url.URL keeps. */
function rawHost(url: string): string {
  return /^[^:/]+:\/\/(?:[^@/?#]*@)?([^/?#]*)/.exec(url)?.[1] ?? '';
}

/**
 * Thanos's BuildConfigFromHTTPAddresses: one config per `--query` address. A missing scheme means
 * http; the path is the prefix; `dns+host:port` and `dnssrv+name` keep their lookup prefix.
 */
export function buildQueryConfigFromAddresses(addrs: readonly string[]): QueryEndpointConfig[] {
  return addrs.map((raw, i) => {
    if (raw === '') throw new RuleConfigError(`static address cannot be empty at index ${i}`);
    // Thanos accepts `dns+host:port` because it prepends http:// and Go's URL parser keeps the
    // prefix in the host; `dns+http://host:port` is also accepted here, as for Alertmanagers.
    const m = /^(dns|dnssrv|dnssrvnoa)\+(.*)$/.exec(raw);
    const lookup = m ? `${m[1]}+` : '';
    const rest = m ? (m[2] as string) : raw;
    const addr = rest.includes('://') ? rest : `http://${rest}`;
    let u: URL;
    try {
      u = new URL(addr);
    } catch (err) {
      throw new RuleConfigError(`failed to parse addr ${JSON.stringify(raw)}: ${(err as Error).message}`);
    }
    const scheme = u.protocol.slice(0, -1);
    if (scheme !== 'http' && scheme !== 'https')
      throw new RuleConfigError(`${JSON.stringify(scheme)} is not supported scheme for address`);
    return {
      httpConfig: {},
      endpoints: {
        staticAddresses: [`${lookup}${rawHost(addr)}`],
        fileSDConfigs: [],
        scheme,
        pathPrefix: u.pathname === '/' ? '' : u.pathname,
      },
    };
  });
}

/**
 * Thanos's BuildAlertmanagerConfig for one `--alertmanagers.url`: the scheme is required and may
 * carry a lookup (`dns+http://am:9093`, `dnssrv+http://_web._tcp.am`); `dns+` without a port gets
 * 9093; user info becomes basic auth; the path is the prefix.
 */
export function buildAlertmanagerConfig(address: string, timeoutMs: number): AlertmanagerEndpointConfig {
  let u: URL;
  try {
    u = new URL(address);
  } catch (err) {
    throw new RuleConfigError(`parse alertmanagers.url ${JSON.stringify(address)}: ${(err as Error).message}`);
  }
  let scheme = u.protocol.slice(0, -1).toLowerCase();
  if (scheme === '') throw new RuleConfigError('alertmanagers.url contains empty scheme');
  if (u.host === '') throw new RuleConfigError('alertmanagers.url contains empty host');
  let host = rawHost(address);
  const m = /^(dns|dnssrv|dnssrvnoa)\+(.+)$/.exec(scheme);
  if (m) {
    scheme = m[2] as string;
    if (m[1] === 'dns' && !/:\d+$/.test(host)) host = `${host}:${DEFAULT_ALERTMANAGER_PORT}`;
    host = `${m[1]}+${host}`;
  }
  if (scheme !== 'http' && scheme !== 'https')
    throw new RuleConfigError(
      `alertmanagers.url ${JSON.stringify(address)}: ${JSON.stringify(scheme)} is not supported scheme`,
    );
  const httpConfig: HTTPClientConfig = {};
  if (u.username !== '' || u.password !== '')
    httpConfig.basicAuth = {
      username: decodeURIComponent(u.username),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    };
  return {
    httpConfig,
    endpoints: {
      staticAddresses: [host],
      fileSDConfigs: [],
      scheme,
      pathPrefix: u.pathname === '/' ? '' : u.pathname,
    },
    timeoutMs,
    apiVersion: 'v2',
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP client and endpoint groups.

/** What a request through an {@link HTTPClient} answered. */
export interface HTTPResponse {
  status: number;
  body: string;
}

/** Options of one {@link HTTPClient} request. */
export interface HTTPRequestOptions {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Abort after this long, ms; 0 or absent: no own timeout. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** An HTTP client configured by an `http_config`: auth headers, TLS, proxy, its own connection pool. */
export interface HTTPClient {
  request(url: string, opts: HTTPRequestOptions): Promise<HTTPResponse>;
  close(): Promise<void>;
}

/** Go's wording of a failed open (`open <file>: no such file or directory`), as Prometheus's messages embed it. */
function goOpenError(file: string, err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return `open ${file}: no such file or directory`;
  if (code === 'EACCES') return `open ${file}: permission denied`;
  return (err as Error).message;
}

/** Reads a file of an `http_config`; errors use Prometheus's config_util wording for `what`. */
function readConfigFile(file: string, what: 'CA' | 'client cert' | 'client key' | 'password' | 'bearer token'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const why = goOpenError(file, err);
    const message =
      what === 'CA'
        ? `unable to load specified CA cert ${file}: ${why}`
        : what === 'client cert' || what === 'client key'
          ? `unable to read specified client ${what === 'client cert' ? 'cert' : 'key'} (${file}): ${why}`
          : `unable to read ${what} file ${file}: ${why}`;
    throw new RuleConfigError(message, { cause: err });
  }
}

/** Creates an HTTP client from an `http_config`. Files (CA, cert, key) are read here; secrets per request. */
export function createHTTPClient(cfg: HTTPClientConfig = {}): HTTPClient {
  const t = cfg.tls;
  const connect = {
    ...(t?.caFile ? { ca: readConfigFile(t.caFile, 'CA') } : {}),
    ...(t?.certFile ? { cert: readConfigFile(t.certFile, 'client cert') } : {}),
    ...(t?.keyFile ? { key: readConfigFile(t.keyFile, 'client key') } : {}),
    ...(t?.serverName ? { servername: t.serverName } : {}),
    rejectUnauthorized: !t?.insecureSkipVerify,
  };
  const dispatcher: Dispatcher = cfg.proxyURL
    ? new ProxyAgent({ uri: cfg.proxyURL, requestTls: connect })
    : new Agent({ keepAliveTimeout: 90_000, connect });
  function authHeader(): string | undefined {
    if (cfg.basicAuth) {
      const pw = cfg.basicAuth.passwordFile
        ? readConfigFile(cfg.basicAuth.passwordFile, 'password').trim()
        : (cfg.basicAuth.password ?? '');
      return `Basic ${Buffer.from(`${cfg.basicAuth.username}:${pw}`).toString('base64')}`;
    }
    if (cfg.bearerToken) return `Bearer ${cfg.bearerToken}`;
    if (cfg.bearerTokenFile) return `Bearer ${readConfigFile(cfg.bearerTokenFile, 'bearer token').trim()}`;
    return undefined;
  }
  return {
    async request(url, o) {
      const signals: AbortSignal[] = [];
      if (o.signal) signals.push(o.signal);
      if (o.timeoutMs && o.timeoutMs > 0) signals.push(AbortSignal.timeout(o.timeoutMs));
      const auth = authHeader();
      const res = await request(url, {
        method: o.method,
        headers: { 'User-Agent': 'thanos-ts', ...(o.headers ?? {}), ...(auth ? { Authorization: auth } : {}) },
        body: o.body ?? null,
        dispatcher,
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      });
      return { status: res.statusCode, body: await res.body.text() };
    },
    async close() {
      await dispatcher.close();
    },
  };
}

/** Options of {@link createEndpointGroup}. */
export interface EndpointGroupOptions {
  endpoints: HTTPEndpointsConfig;
  /** DNS re-resolution interval, ms (--query.sd-dns-interval, --alertmanagers.sd-dns-interval). Default 30_000. */
  dnsIntervalMs?: number;
  /** Resolver for `dns+` / `dnssrv+` (tests point it at fixed answers). Default: the system's. */
  resolver?: DNSResolver;
  logger?: Logger;
  /** What the group is for, in log lines (`query`, `alertmanager`). */
  name: string;
}

/** The current base URLs of one endpoint config: static and file SD addresses resolved through DNS. */
export interface EndpointGroup {
  /** Resolves once (awaited) and starts watching files and re-resolving DNS. */
  start(): Promise<void>;
  /** `scheme://host:port/prefix` for each resolved address (no trailing slash). */
  urls(): string[];
  close(): void;
}

/** Creates an endpoint group over the discovery package (file SD, `dns+` / `dnssrv+` lookups). */
export function createEndpointGroup(opts: EndpointGroupOptions): EndpointGroup {
  const e = opts.endpoints;
  const files = e.fileSDConfigs.flatMap((f) => f.files);
  const refresh = Math.min(...e.fileSDConfigs.map((f) => f.refreshIntervalMs), DEFAULT_FILE_SD_REFRESH_MS);
  const prefix = `/${e.pathPrefix}`.replace(/\/+/g, '/').replace(/\/$/, '');
  let discovery: EndpointDiscovery | undefined;
  try {
    discovery = createEndpointDiscovery({
      addresses: e.staticAddresses,
      fileSDFiles: files,
      fileSDInterval: refresh,
      dnsInterval: opts.dnsIntervalMs ?? 30_000,
      resolver: opts.resolver ?? createDNSResolver(),
      onError: (source, err) =>
        opts.logger?.warn('endpoint discovery failed', { for: opts.name, source, err: (err as Error).message }),
      onChange: (addrs) => opts.logger?.debug('endpoints changed', { for: opts.name, endpoints: addrs.length }),
    });
  } catch (err) {
    throw new InvalidArgumentError(`${opts.name} endpoints: ${(err as Error).message}`, { cause: err });
  }
  const d = discovery;
  return {
    start: () => d.start(),
    urls: () => d.addresses().map((a) => `${e.scheme}://${a}${prefix}`),
    close: () => d.close(),
  };
}
