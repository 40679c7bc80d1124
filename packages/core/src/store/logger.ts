/** Minimal structured logger the store gateway writes to (key/value fields, logfmt-like). */
export interface StoreLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger printing `level=… msg=… k=v` lines to stderr at `minLevel` and above (default info). */
export function createStoreLogger(minLevel: 'debug' | 'info' | 'warn' | 'error' = 'info'): StoreLogger {
  const order = ['debug', 'info', 'warn', 'error'];
  const min = order.indexOf(minLevel);
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    if (order.indexOf(level) < min) return;
    const kv = Object.entries(fields ?? {})
      .map(([k, v]) => `${k}=${JSON.stringify(v instanceof Error ? v.message : v)}`)
      .join(' ');
    process.stderr.write(
      `ts=${new Date().toISOString()} level=${level} component=store msg=${JSON.stringify(msg)}${kv ? ` ${kv}` : ''}\n`,
    );
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** A logger that drops everything (tests, embedding without logs). */
export const NOP_LOGGER: StoreLogger = { debug() {}, info() {}, warn() {}, error() {} };
