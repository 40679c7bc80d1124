/**
 * Prometheus duration strings (`1h30m`, `500ms`, `1y`): parsing and canonical formatting, with
 * the rules of Prometheus's `model.ParseDuration` / `model.Duration.String`.
 */

const UNITS: Record<string, { order: number; ms: number }> = {
  y: { order: 1, ms: 365 * 24 * 3600 * 1000 },
  w: { order: 2, ms: 7 * 24 * 3600 * 1000 },
  d: { order: 3, ms: 24 * 3600 * 1000 },
  h: { order: 4, ms: 3600 * 1000 },
  m: { order: 5, ms: 60 * 1000 },
  s: { order: 6, ms: 1000 },
  ms: { order: 7, ms: 1 },
};

/** Largest duration Prometheus accepts: int64 nanoseconds. */
const MAX_NANOS = (1n << 63n) - 1n;

/** A duration string that Prometheus would reject; `message` is Prometheus's wording. */
export class DurationSyntaxError extends Error {}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Parses a Prometheus duration into milliseconds. Units must appear from largest to smallest,
 * each at most once; `0` alone is allowed. Throws DurationSyntaxError with Prometheus's message.
 */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new DurationSyntaxError('empty duration string');
  const bad = (): DurationSyntaxError => new DurationSyntaxError(`not a valid duration string: ${JSON.stringify(s)}`);
  let i = 0;
  let lastOrder = 0;
  let total = 0n;
  while (i < s.length) {
    if (!isDigit(s.charCodeAt(i))) throw bad();
    const numStart = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    const v = BigInt(s.slice(numStart, i));
    if (v > 0xffffffffffffffffn) throw bad();
    const unitStart = i;
    while (i < s.length && !isDigit(s.charCodeAt(i))) i++;
    if (i === unitStart) throw bad();
    const u = s.slice(unitStart, i);
    const unit = UNITS[u];
    if (!unit) throw new DurationSyntaxError(`unknown unit ${JSON.stringify(u)} in duration ${JSON.stringify(s)}`);
    if (unit.order <= lastOrder) throw bad();
    lastOrder = unit.order;
    const multNanos = BigInt(unit.ms) * 1_000_000n;
    if (v > (1n << 63n) / multNanos) throw new DurationSyntaxError('duration out of range');
    total += v * multNanos;
    if (total > MAX_NANOS) throw new DurationSyntaxError('duration out of range');
  }
  return Number(total / 1_000_000n);
}

/**
 * Formats milliseconds like Prometheus's `model.Duration.String()`: `1h30m`, `90d` (years and
 * weeks only when exact), `0s` for zero, a leading `-` for negatives. Sub-millisecond parts are
 * truncated.
 */
export function formatDuration(msIn: number): string {
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
