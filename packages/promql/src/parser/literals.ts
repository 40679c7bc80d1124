/**
 * Number and string literal decoding with Go's rules, as Prometheus applies them to PromQL
 * tokens: `strconv.ParseInt(s, 0, 64)` then `strconv.ParseFloat`, and Go string unquoting.
 */

/** A literal the lexer accepted but that cannot be converted; `message` is Go's error text. */
export class LiteralError extends Error {}

/** Go's `underscoreOK`: underscores only between digits, or right after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1] as string)) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

const INT64_MAX = (1n << 63n) - 1n;

/** `strconv.ParseInt(s, 0, 64)` as a float64, or undefined when Go would return an error. */
function parseGoInt(s: string): number | undefined {
  let body = s;
  let neg = false;
  if (body[0] === '+' || body[0] === '-') {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  let base = 10;
  if (body.length >= 2 && body[0] === '0') {
    const p = body[1] as string;
    if (p === 'x' || p === 'X') [base, body] = [16, body.slice(2)];
    else if (p === 'o' || p === 'O') [base, body] = [8, body.slice(2)];
    else if (p === 'b' || p === 'B') [base, body] = [2, body.slice(2)];
    else [base, body] = [8, body.slice(1)];
  }
  if (body.includes('_')) {
    if (!underscoreOK(s)) return undefined;
    body = body.replaceAll('_', '');
  }
  if (body === '') return base === 8 && s.replace(/^[+-]/, '') === '0' ? 0 : undefined;
  const digits = '0123456789abcdef'.slice(0, base);
  let v = 0n;
  const b = BigInt(base);
  for (const ch of body.toLowerCase()) {
    const d = digits.indexOf(ch);
    if (d < 0) return undefined;
    v = v * b + BigInt(d);
    if (v > INT64_MAX + 1n) return undefined;
  }
  if (neg) v = -v;
  if (v > INT64_MAX || v < -INT64_MAX - 1n) return undefined;
  return Number(v);
}

const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** `strconv.ParseFloat(s, 64)` for the forms the lexer lets through. */
function parseGoFloat(s: string): number {
  const lower = s.toLowerCase().replace(/^[+-]/, '');
  const neg = s[0] === '-';
  if (lower === 'inf' || lower === 'infinity') return neg ? -Infinity : Infinity;
  if (lower === 'nan' && s[0] !== '-' && s[0] !== '+') return Number.NaN;
  let body = s;
  if (body.includes('_')) {
    if (!underscoreOK(body)) throw syntax(s);
    body = body.replaceAll('_', '');
  }
  if (!DECIMAL_FLOAT.test(body)) throw syntax(s);
  const v = Number(body);
  if (!Number.isFinite(v)) {
    throw new LiteralError(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: value out of range`);
  }
  return v;
}

function syntax(s: string): LiteralError {
  return new LiteralError(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`);
}

/** Converts a NUMBER token like Prometheus: integer forms (hex, octal `0755`) first, then float. */
export function parseNumberLiteral(s: string): number {
  // Fast path for plain decimal integers (most literals); a leading 0 means octal in Go.
  if (s.length <= 15 && s[0] !== '0' && /^[0-9]+$/.test(s)) return Number(s);
  const i = parseGoInt(s);
  if (i !== undefined) return i;
  return parseGoFloat(s);
}

/**
 * Unquotes a STRING token (`"…"`, `'…'` or `` `…` ``). The lexer has already validated the
 * escapes. Bytes from `\xNN`/octal escapes that do not form valid UTF-8 become lone surrogates
 * U+DC80..U+DCFF (see `isRawByteEscape`), so they can be reported back as `\xNN`.
 */
export function unquoteString(s: string): string {
  const quote = s[0];
  const body = s.slice(1, -1);
  if (quote === '`' || !body.includes('\\')) return body;
  const bytes: number[] = [];
  let hasRawBytes = false;
  const pushString = (str: string): void => {
    for (const b of new TextEncoder().encode(str)) bytes.push(b);
  };
  let i = 0;
  while (i < body.length) {
    const c = body[i] as string;
    if (c !== '\\') {
      let j = i;
      while (j < body.length && body[j] !== '\\') j++;
      pushString(body.slice(i, j));
      i = j;
      continue;
    }
    const e = body[i + 1] as string;
    i += 2;
    switch (e) {
      case 'a':
        bytes.push(7);
        break;
      case 'b':
        bytes.push(8);
        break;
      case 'f':
        bytes.push(12);
        break;
      case 'n':
        bytes.push(10);
        break;
      case 'r':
        bytes.push(13);
        break;
      case 't':
        bytes.push(9);
        break;
      case 'v':
        bytes.push(11);
        break;
      case 'x':
        bytes.push(Number.parseInt(body.slice(i, i + 2), 16));
        hasRawBytes = true;
        i += 2;
        break;
      case 'u':
        pushString(String.fromCodePoint(Number.parseInt(body.slice(i, i + 4), 16)));
        i += 4;
        break;
      case 'U':
        pushString(String.fromCodePoint(Number.parseInt(body.slice(i, i + 8), 16)));
        i += 8;
        break;
      default:
        if (e >= '0' && e <= '7') {
          bytes.push(Number.parseInt(body.slice(i - 1, i + 2), 8));
          hasRawBytes = true;
          i += 2;
        } else {
          pushString(e); // \\, \' and \"
        }
    }
  }
  if (!hasRawBytes) return new TextDecoder().decode(Uint8Array.from(bytes));
  return decodeUtf8Escaping(bytes);
}

/** Decodes UTF-8, turning each byte of an invalid sequence into U+DC00+byte. */
function decodeUtf8Escaping(bytes: readonly number[]): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i] as number;
    let need = 0;
    let cp = 0;
    let min = 0;
    if (b0 < 0x80) {
      out += String.fromCharCode(b0);
      i++;
      continue;
    }
    if (b0 >= 0xc2 && b0 <= 0xdf) [need, cp, min] = [1, b0 & 0x1f, 0x80];
    else if (b0 >= 0xe0 && b0 <= 0xef) [need, cp, min] = [2, b0 & 0x0f, 0x800];
    else if (b0 >= 0xf0 && b0 <= 0xf4) [need, cp, min] = [3, b0 & 0x07, 0x10000];
    let ok = need > 0;
    for (let k = 1; ok && k <= need; k++) {
      const b = bytes[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (b & 0x3f);
    }
    if (ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
      out += String.fromCodePoint(cp);
      i += need + 1;
    } else {
      out += String.fromCharCode(0xdc00 + b0);
      i++;
    }
  }
  return out;
}
