/**
 * Go's string quoting as Prometheus and promtool print it (strconv.Quote, %q, %#U), and the
 * UTF-8 byte arithmetic that goes with it. One implementation for the whole project: the PromQL
 * parser's messages, promtool-compatible dumps, annotations and API errors all use these.
 */
import type { Labels } from '../labels/labels.js';

/** Number of UTF-8 bytes of `s.slice(from, to)` (lone surrogates from byte escapes count 1). */
export function utf8Length(s: string, from = 0, to = s.length): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < to) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else if (c >= 0xdc80 && c <= 0xdcff) n += 1;
    else n += 3;
  }
  return n;
}

/**
 * Strings unquoted from PromQL may hold bytes that are not valid UTF-8 (from `\xNN` or octal
 * escapes). Like Python's "surrogateescape", such a byte b is kept as the lone surrogate
 * U+DC00+b so that it survives in a JS string and can be printed back as `\xNN`.
 */
export function isRawByteEscape(code: number): boolean {
  return code >= 0xdc80 && code <= 0xdcff;
}

const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

/**
 * Go's `strconv.Quote`: double-quoted, with Go escapes for control and non-printable runes and
 * `\xNN` for raw bytes (see `isRawByteEscape`). Used for messages and the printer.
 */
export function goQuote(s: string, quote = '"'): string {
  let out = quote;
  for (let i = 0; i < s.length; i++) {
    let cp = s.codePointAt(i) as number;
    if (cp > 0xffff) i++;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate: a raw byte if it came from an escape, else not representable in UTF-8.
      if (isRawByteEscape(cp)) {
        out += `\\x${(cp - 0xdc00).toString(16).padStart(2, '0')}`;
        continue;
      }
      cp = 0xfffd;
    }
    const ch = String.fromCodePoint(cp);
    if (ch === quote || ch === '\\') {
      out += `\\${ch}`;
      continue;
    }
    if (cp >= 0x20 && cp < 0x7f) {
      out += ch;
      continue;
    }
    switch (cp) {
      case 7:
        out += '\\a';
        continue;
      case 8:
        out += '\\b';
        continue;
      case 12:
        out += '\\f';
        continue;
      case 10:
        out += '\\n';
        continue;
      case 13:
        out += '\\r';
        continue;
      case 9:
        out += '\\t';
        continue;
      case 11:
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    } else if (NON_PRINTABLE.test(ch)) {
      out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    } else {
      out += ch;
    }
  }
  return out + quote;
}

/** Go's `%q` of a single rune, e.g. `'a'`, `'\n'`, `'\''`. */
export function goQuoteRune(cp: number): string {
  if (cp < 0) return "'\uFFFD'";
  return goQuote(String.fromCodePoint(cp), "'");
}

/** Go's `%#U` of a rune, e.g. `U+0027 '''` (printable) or `U+000A` (not). */
export function goRuneU(cp: number): string {
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  const ch = String.fromCodePoint(cp);
  const printable = cp >= 0x20 && cp !== 0x7f && !(cp > 0x7f && NON_PRINTABLE.test(ch));
  return printable ? `U+${hex} '${ch}'` : `U+${hex}`;
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
