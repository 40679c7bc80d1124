/**
 * What the sidecar logs through: structured messages with key/value fields. `console`-like
 * objects fit after a small adapter; `consoleLogger` prints logfmt-ish lines to stderr.
 */
export interface SidecarLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Discards everything (the default for library use). */
export const nopLogger: SidecarLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Prints `level=… msg="…" key=value …` lines to stderr, dropping debug unless `debug` is set. */
export function consoleLogger(opts: { debug?: boolean; component?: string } = {}): SidecarLogger {
  const line = (level: string, msg: string, fields?: Record<string, unknown>) => {
    const parts = [`ts=${new Date().toISOString()}`, `level=${level}`];
    if (opts.component) parts.push(`component=${opts.component}`);
    parts.push(`msg=${JSON.stringify(msg)}`);
    for (const [k, v] of Object.entries(fields ?? {})) {
      const s = v instanceof Error ? v.message : typeof v === 'string' ? v : JSON.stringify(v);
      parts.push(`${k}=${/[\s"=]/.test(s ?? '') ? JSON.stringify(s) : s}`);
    }
    process.stderr.write(`${parts.join(' ')}\n`);
  };
  return {
    debug: (m, f) => {
      if (opts.debug) line('debug', m, f);
    },
    info: (m, f) => line('info', m, f),
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
  };
}
