/**
 * Durations as Prometheus and Go write them: Prometheus's `model.Duration` (`1h30m`, `500ms`,
 * `1y`; flags, PromQL, HTTP parameters, most configs) and Go's `time.Duration` (`1.5s`, `300ms`,
 * `2h45m`; the YAML fields Thanos declares as time.Duration, e.g. cache client timeouts).
 */
import { goQuote } from './quote.js';

const UNITS: Record<string, { order: number; ms: number }> = {
  y: { order: 1, ms: 365 * 24 * 3600 * 1000 },
  w: { order: 2, ms: 7 * 24 * 3600 * 1000 },
  d: { order: 3, ms: 24 * 3600 * 1000 },
  h: { order: 4, ms: 3600 * 1000 },
  m: { order: 5, ms: 60 * 1000 },
  s: { order: 6, ms: 1000 },
  ms: { order: 7, ms: 1 },
};

/** Largest duration Prometheus accepts (int64 nanoseconds), in whole milliseconds. */
const MAX_MS = Math.floor((2 ** 63 - 1) / 1e6);

/** A duration string that Prometheus would reject; `message` is Prometheus's wording. */
export class DurationSyntaxError extends Error {}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function invalidDuration(s: string): DurationSyntaxError {
  return new DurationSyntaxError(`not a valid duration string: ${goQuote(s)}`);
}

/**
 * Parses a Prometheus duration into milliseconds. Units must appear from largest to smallest,
 * each at most once; `0` alone is allowed. Throws DurationSyntaxError with Prometheus's message.
 */
export function parsePromDuration(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new DurationSyntaxError('empty duration string');
  let i = 0;
  let lastOrder = 0;
  // Milliseconds as a float is exact while below 2^53; the int64-nanoseconds limit (~9.2e12 ms)
  // is far below that, so the range checks can be done on plain numbers.
  let totalMs = 0;
  while (i < s.length) {
    if (!isDigit(s.charCodeAt(i))) throw invalidDuration(s);
    const numStart = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    const digits = s.slice(numStart, i);
    // Go parses the number as uint64 first: more than that is a syntax error, not a range error.
    if (digits.length > 20 || (digits.length === 20 && BigInt(digits) > 0xffffffffffffffffn)) throw invalidDuration(s);
    const v = Number(digits);
    const unitStart = i;
    while (i < s.length && !isDigit(s.charCodeAt(i))) i++;
    if (i === unitStart) throw invalidDuration(s);
    const u = s.slice(unitStart, i);
    const unit = UNITS[u];
    if (!unit) throw new DurationSyntaxError(`unknown unit ${goQuote(u)} in duration ${goQuote(s)}`);
    if (unit.order <= lastOrder) throw invalidDuration(s);
    lastOrder = unit.order;
    const ms = v * unit.ms;
    if (ms > MAX_MS) throw new DurationSyntaxError('duration out of range');
    totalMs += ms;
    if (totalMs > MAX_MS) throw new DurationSyntaxError('duration out of range');
  }
  return totalMs;
}

/**
 * Formats milliseconds like Prometheus's `model.Duration.String()`: `1h30m`, `90d` (years and
 * weeks only when exact), `0s` for zero, a leading `-` for negatives. Sub-millisecond parts are
 * truncated.
 */
export function formatPromDuration(msIn: number): string {
  let ms = Math.trunc(msIn);
  if (ms === 0) return '0s';
  let sign = '';
  if (ms < 0) {
    sign = '-';
    ms = -ms;
  }
  let out = '';
  const unit = (name: string, mult: number, exact: boolean): void => {
    if (exact && ms % mult !== 0) return;
    const v = Math.floor(ms / mult);
    if (v > 0) {
      out += `${v}${name}`;
      ms -= v * mult;
    }
  };
  unit('y', UNITS.y?.ms as number, true);
  unit('w', UNITS.w?.ms as number, true);
  unit('d', UNITS.d?.ms as number, false);
  unit('h', UNITS.h?.ms as number, false);
  unit('m', UNITS.m?.ms as number, false);
  unit('s', 1000, false);
  unit('ms', 1, false);
  return sign + out;
}

const GO_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses Go's time.ParseDuration syntax (`300ms`, `1.5h`, `2h45m`, `-1m`, `0`) into milliseconds
 * (fractional below 1 ms). Throws DurationSyntaxError with Go's message otherwise.
 */
export function parseGoDuration(s: string): number {
  const orig = s;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationSyntaxError(`time: invalid duration ${goQuote(orig)}`);
  const re = /(\d*)(?:\.(\d*))?([^\d.]+)/y;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m || (m[1] === '' && (m[2] ?? '') === ''))
      throw new DurationSyntaxError(`time: invalid duration ${goQuote(orig)}`);
    const unit = GO_UNITS_MS[m[3] as string];
    if (unit === undefined)
      throw new DurationSyntaxError(`time: unknown unit ${goQuote(m[3] as string)} in duration ${goQuote(orig)}`);
    total += Number(`${m[1] || '0'}.${m[2] ?? ''}`) * unit;
    at = re.lastIndex;
  }
  if (total > MAX_MS) throw new DurationSyntaxError(`time: invalid duration ${goQuote(orig)}`);
  return sign * total;
}

/**
 * Formats milliseconds like Go's time.Duration.String(): `2h0m0s`, `1m30s`, `500ms`, `1.5s`,
 * `0s`.
 */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${Number(rest.toFixed(6))}ms`;
  const h = Math.floor(rest / 3600_000);
  rest -= h * 3600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const secs = Number((rest / 1000).toFixed(9));
  return `${sign}${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${secs}s`;
}
