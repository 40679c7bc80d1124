// Go's float formatting (strconv.FormatFloat with shortest precision), as promtool prints sample
// values ('g', fmt's %g) and as Prometheus's HTTP API writes them ('f').

/**
 * Formats a float64 exactly like Go's strconv.FormatFloat(v, fmt, -1, 64): `'g'` (the default,
 * fmt's %g: exponent form when the decimal exponent is < -4 or ≥ 6), `'f'` (never an exponent) or
 * `'e'` (always one). Infinities are "+Inf"/"-Inf", NaN is "NaN".
 */
export function formatGoFloat(v: number, fmt: 'g' | 'f' | 'e' = 'g'): string {
  if (fmt === 'e') return formatShortestE(v);
  return fmt === 'g' ? formatShortestG(v) : formatShortestF(v);
}

/** strconv.FormatFloat(v, 'e', -1, 64): `1.5e+00`, `1e-07` (two exponent digits at least). */
function formatShortestE(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}

/**
 * Formats a float64 exactly like Go's `fmt` verb `%g` (strconv 'g' with shortest precision), as
 * promtool prints sample values: shortest round-trip digits; exponent form (at least two exponent
 * digits) when the decimal exponent is < -4 or ≥ 6; "+Inf", "-Inf", "NaN".
 */
function formatShortestG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  // toExponential() without an argument gives the shortest digits that round-trip, like Go's
  // shortest formatting: "d.ddde±x".
  const e = v.toExponential();
  const neg = e[0] === '-';
  const body = neg ? e.slice(1) : e;
  const ePos = body.indexOf('e');
  const digits = body.slice(0, ePos).replace('.', '');
  const exp = Number(body.slice(ePos + 1));
  // strconv.FormatFloat 'g' with shortest precision uses %e when exp < -4 || exp >= 6.
  const eprec = 6;
  let out: string;
  if (exp < -4 || exp >= eprec) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ax = Math.abs(exp);
    out = `${mant}e${exp < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  } else if (exp < 0) {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    out = digits + '0'.repeat(exp + 1 - digits.length);
  } else {
    out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return neg ? `-${out}` : out;
}

/**
 * A float as Prometheus's API writes sample values: Go's strconv.FormatFloat(v, 'f', -1, 64)
 * (shortest exact digits, never an exponent), with +Inf, -Inf and NaN spelled that way.
 */
function formatShortestF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  // Expand JS's exponent form (beyond 1e21 or below 1e-6) into plain digits.
  const neg = s.startsWith('-');
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const intLen = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = `0.${'0'.repeat(-intLen)}${digits}`;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  return neg ? `-${out}` : out;
}
