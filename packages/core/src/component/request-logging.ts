import type { IncomingMessage, ServerResponse } from 'node:http';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import type { RequestHandler } from '../http/query-api.js';
import type { Logger } from '../log/logger.js';
import { RequestLoggingConfigError } from './errors.js';

/** When a request is logged (Thanos's logging.Decision). */
export type LogDecision = 'NoLogCall' | 'LogFinishCall' | 'LogStartAndFinishCall';

/** The levels Thanos's request logging config accepts. */
export type RequestLogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

/** Request logging of one protocol, resolved from the global and the protocol's options. */
export interface ProtocolRequestLogging {
  /** When calls are logged. */
  decision: LogDecision;
  /**
   * Lowest level of the request log lines that are written (on top of the logger's own level).
   * The start line is `debug`; the finish line `debug` for HTTP status 200–499 (gRPC: codes other
   * than Unknown, Unimplemented, Internal, DataLoss) and `error` otherwise.
   */
  level: RequestLogLevel;
  /**
   * Only these calls are logged (exact match): HTTP `path:port` (port of the request's Host
   * header), gRPC `/service/method`. Default: every call.
   */
  only?: readonly string[];
}

/** Request logging (Thanos's --request.logging-config) for a component's HTTP and gRPC servers. */
export interface RequestLoggingConfig {
  http: ProtocolRequestLogging;
  grpc: ProtocolRequestLogging;
}

/** No request is logged: Thanos's behaviour without --request.logging-config. */
export const NO_REQUEST_LOGGING: RequestLoggingConfig = {
  http: { decision: 'NoLogCall', level: 'ERROR' },
  grpc: { decision: 'NoLogCall', level: 'ERROR' },
};

interface OptionsConfig {
  level: string;
  logStart: boolean;
  logEnd: boolean;
}

function fields(node: unknown, type: string, known: readonly string[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return out;
  if (!isMap(node)) throw new Error(`yaml: unmarshal errors: cannot unmarshal into ${type}`);
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!known.includes(key)) throw new Error(`yaml: unmarshal errors: field ${key} not found in type ${type}`);
    out.set(key, pair.value);
  }
  return out;
}

function scalar(node: unknown): unknown {
  if (node === undefined || node === null) return undefined;
  if (!isScalar(node)) throw new Error('yaml: unmarshal errors: want a scalar');
  return node.value ?? undefined;
}

function readOptions(node: unknown): OptionsConfig {
  const o = fields(node, 'logging.OptionsConfig', ['level', 'decision']);
  const d = fields(o.get('decision'), 'logging.DecisionConfig', ['log_start', 'log_end']);
  const b = (v: unknown, name: string): boolean => {
    const x = scalar(v);
    if (x === undefined) return false;
    if (typeof x !== 'boolean')
      throw new Error(`yaml: unmarshal errors: cannot unmarshal ${JSON.stringify(x)} into bool (${name})`);
    return x;
  };
  return {
    level: String(scalar(o.get('level')) ?? ''),
    logStart: b(d.get('log_start'), 'log_start'),
    logEnd: b(d.get('log_end'), 'log_end'),
  };
}

/** Thanos's checkOptionsConfigEmpty. */
function isEmpty(o: OptionsConfig): boolean {
  if (o.level === '' && !o.logStart && !o.logEnd) return true;
  if (o.level === '') throw new Error('level field is empty');
  return false;
}

/** Thanos's fillGlobalOptionConfig then validateLevel and getHTTPLoggingOption/getGRPCLoggingOption. */
function resolve(global: OptionsConfig, protocol: OptionsConfig, only: string[]): ProtocolRequestLogging {
  let level = 'ERROR';
  let start = false;
  let end = false;
  if (!isEmpty(global)) ({ level, logStart: start, logEnd: end } = global);
  if (!isEmpty(protocol)) ({ level, logStart: start, logEnd: end } = protocol);
  if (level === '') throw new Error('level field in YAML file is empty');
  if (!['INFO', 'DEBUG', 'ERROR', 'WARNING'].includes(level))
    throw new Error(`the format of level is invalid. Expected INFO/DEBUG/ERROR/WARNING, got this ${level}`);
  if (start && !end) throw new Error('log start call is not supported');
  const decision: LogDecision = !start && !end ? 'NoLogCall' : start ? 'LogStartAndFinishCall' : 'LogFinishCall';
  return { decision, level: level as RequestLogLevel, ...(only.length > 0 ? { only } : {}) };
}

/**
 * Parses Thanos's request logging YAML (docs/logging.md: global `options`, `http` and `grpc` blocks
 * with `options` and an allowlist `config`), with Thanos's validation and words. Empty text logs
 * nothing. Throws RequestLoggingConfigError prefixed with `where`.
 */
export function parseRequestLoggingConfig(text: string, where = 'request logging config'): RequestLoggingConfig {
  if (text.trim() === '') return NO_REQUEST_LOGGING;
  try {
    const doc = parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length > 0) throw new Error(`yaml: ${doc.errors[0]?.message}`);
    const top = fields(doc.contents, 'logging.RequestConfig', ['http', 'grpc', 'options']);
    const http = fields(top.get('http'), 'logging.HTTPProtocolConfigs', ['options', 'config']);
    const grpc = fields(top.get('grpc'), 'logging.GRPCProtocolConfigs', ['options', 'config']);
    const list = (node: unknown, type: string, keys: [string, string], fmt: (a: string, b: string) => string) => {
      if (node === undefined || (isScalar(node) && node.value === null)) return [];
      if (!isSeq(node)) throw new Error(`yaml: unmarshal errors: cannot unmarshal into []${type}`);
      return node.items.map((item) => {
        const f = fields(item as YamlNode, type, keys);
        return fmt(
          String(scalar(f.get(keys[0])) ?? ''),
          String(scalar(f.get(keys[1])) ?? (keys[1] === 'port' ? 0 : '')),
        );
      });
    };
    const global = readOptions(top.get('options'));
    return {
      http: resolve(
        global,
        readOptions(http.get('options')),
        list(http.get('config'), 'logging.HTTPProtocolConfig', ['path', 'port'], (p, port) => `${p}:${port}`),
      ),
      grpc: resolve(
        global,
        readOptions(grpc.get('options')),
        list(grpc.get('config'), 'logging.GRPCProtocolConfig', ['service', 'method'], (s, m) => `/${s}/${m}`),
      ),
    };
  } catch (err) {
    throw new RequestLoggingConfigError(where, (err as Error).message, { cause: err });
  }
}

const LEVEL_RANK: Record<string, number> = { debug: 0, info: 1, warn: 2, error: 3 };
/**
 * The lowest log level each config level lets through (go-kit level.Allow*). Thanos's getLevel
 * knows `WARN`, not the `WARNING` its validation asks for, so `WARNING` allows every level; kept.
 */
const CONFIG_MIN: Record<RequestLogLevel, number> = { DEBUG: 0, INFO: 1, WARNING: 0, ERROR: 3 };

/** Logs at `level` unless the request logging config's level filters it out. */
export function requestLogLine(
  logger: Logger,
  cfg: ProtocolRequestLogging,
  level: 'debug' | 'error',
  msg: string,
  fields: Record<string, unknown>,
): void {
  if ((LEVEL_RANK[level] as number) < CONFIG_MIN[cfg.level]) return;
  logger[level](msg, fields);
}

/** Paths Thanos serves outside its request logging middleware. */
const UNLOGGED_PATHS = new Set(['/metrics', '/-/healthy', '/-/ready']);

/** Thanos's durationToMilliseconds: ms with microsecond precision. */
function millis(startNs: bigint): string {
  const us = Number((process.hrtime.bigint() - startNs) / 1000n);
  return String(Math.fround(us / 1000));
}

/**
 * Wraps a handler with Thanos's HTTP request logging middleware (pkg/logging/http.go): per the
 * decision, a `started call` line (debug) before and a `finished call` line after, with Thanos's
 * fields; the finish line is debug for status 200–499, error otherwise. /metrics and the probes
 * are not logged (Thanos serves them outside the middleware). `name` is the
 * `thanos.method_name` field (the component). Returns the handler itself when nothing is logged.
 */
export function withRequestLogging(
  handler: RequestHandler,
  cfg: ProtocolRequestLogging,
  logger: Logger,
  name: string,
): RequestHandler {
  if (cfg.decision === 'NoLogCall') return handler;
  const only = cfg.only ? new Set(cfg.only) : undefined;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    // Thanos registers /metrics and the probes outside its logging middleware: a probe every few
    // seconds would drown the lines that matter.
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (UNLOGGED_PATHS.has(path)) return handler(req, res);
    if (only) {
      // Thanos decides on the request path joined with the Host header's port.
      const host = req.headers.host ?? '';
      const port = /:(\d+)$/.exec(host)?.[1];
      if (!only.has(port === undefined ? path : `${path}:${port}`)) return handler(req, res);
    }
    const start = new Date();
    const startNs = process.hrtime.bigint();
    const base = {
      protocol: 'http',
      'http.component': 'server',
      'http.method': `${req.method} ${req.url}`,
      'http.request_id': String(req.headers['x-request-id'] ?? ''),
      'http.user_agent': String(req.headers['user-agent'] ?? ''),
    };
    if (cfg.decision === 'LogStartAndFinishCall')
      requestLogLine(logger, cfg, 'debug', 'started call', {
        ...base,
        'http.start_time': start.toISOString(),
        'thanos.method_name': name,
      });
    const finish = () => {
      const status = res.statusCode;
      const forwarded = req.headers['x-forwarded-for'];
      requestLogLine(logger, cfg, status >= 200 && status < 500 ? 'debug' : 'error', 'finished call', {
        ...base,
        'http.status_code': String(status),
        'http.time_ms': millis(startNs),
        'http.remote_addr': forwarded ? String(forwarded) : `${req.socket.remoteAddress}:${req.socket.remotePort}`,
        'thanos.method_name': name,
      });
    };
    // Logged when the answer is done, so a 404 of the server or a cut connection has its status.
    res.once('close', finish);
    return handler(req, res);
  };
}
