import type { Labels } from '../labels/labels.js';

/**
 * Formats a float64 exactly like Go's `fmt` verb `%g` (strconv 'g' with shortest precision), as
 * promtool prints sample values: shortest round-trip digits; exponent form (at least two exponent
 * digits) when the decimal exponent is < -4 or ≥ 6; "+Inf", "-Inf", "NaN".
 */
export function formatGoFloat(v: number): string {
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

/** Go's strconv.Quote: double-quoted with Go escapes; non-printable runes as \x, \u, \U. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) {
      out += `\\x${c.toString(16).padStart(2, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate is invalid UTF-8 in Go's view: it prints the replacement escape.
      out += '\\ufffd';
    } else if (c < 0x80 || isGoPrintable(ch)) {
      out += ch;
    } else if (c < 0x10000) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else {
      out += `\\U${c.toString(16).padStart(8, '0')}`;
    }
  }
  return `${out}"`;
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and U+0020.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
function isGoPrintable(ch: string): boolean {
  return PRINTABLE.test(ch);
}

/** Prometheus's Labels.String(): `{name="value", …}` with Go-quoted values. */
export function formatLabelsGo(labels: Labels): string {
  let out = '{';
  let first = true;
  for (const l of labels) {
    if (!first) out += ', ';
    first = false;
    out += `${l.name}=${goQuote(l.value)}`;
  }
  return `${out}}`;
}
