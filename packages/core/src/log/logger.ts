/** Severity of a log line, lowest first (Thanos's --log.level values). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Line format (Thanos's --log.format values). */
export type LogFormat = 'logfmt' | 'json';

/** The valid --log.level values, lowest first. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
/** The valid --log.format values. */
export const LOG_FORMATS: readonly LogFormat[] = ['logfmt', 'json'];

/**
 * What every component logs through: a message with key/value fields. Any object with these four
 * methods fits, so embedders can route lines into their own logging.
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Options of createLogger. */
export interface LoggerOptions {
  /** Lines below this level are dropped. Default 'info'. */
  level?: LogLevel;
  /** 'logfmt' (`ts=… level=… msg="…" k=v`, the default) or 'json' (one object per line). */
  format?: LogFormat;
  /** Added to every line as `component=…`. */
  component?: string;
  /** Where lines go. Default: stderr. */
  write?: (line: string) => void;
}

/** A logger that drops everything (tests, embedding without logs). */
export const NOP_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function plain(v: unknown): unknown {
  return v instanceof Error ? v.message : v;
}

function logfmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : (JSON.stringify(plain(v)) ?? 'null');
  return s === '' || /[\s"=\\]/.test(s) ? JSON.stringify(s) : s;
}

/** A logger writing logfmt or JSON lines, like Thanos's go-kit logger. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = LOG_LEVELS.indexOf(opts.level ?? 'info');
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const format = opts.format ?? 'logfmt';
  const line = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const ts = new Date().toISOString();
    if (format === 'json') {
      const record: Record<string, unknown> = { ts, level };
      if (opts.component) record.component = opts.component;
      record.msg = msg;
      for (const [k, v] of Object.entries(fields ?? {})) record[k] = plain(v);
      write(`${JSON.stringify(record)}\n`);
      return;
    }
    const parts = [`ts=${ts}`, `level=${level}`];
    if (opts.component) parts.push(`component=${opts.component}`);
    parts.push(`msg=${logfmtValue(msg)}`);
    for (const [k, v] of Object.entries(fields ?? {})) parts.push(`${k}=${logfmtValue(plain(v))}`);
    write(`${parts.join(' ')}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
