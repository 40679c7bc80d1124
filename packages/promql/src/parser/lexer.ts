/**
 * The PromQL lexer. It follows the token rules of Prometheus 3's `promql/parser/lex.go`
 * (number and duration forms, string escapes, the special lexing inside `{…}` and `[…]`) and
 * reports lexical errors with Prometheus's wording, so that parse errors read the same.
 */
import { goQuote, goQuoteRune, goRuneU } from '@thanos-ts/tsdb/goformat';

/** Token kinds. Keyword kinds are the lower-case keyword itself, operators their symbol. */
export type TokenType =
  | 'EOF'
  | 'ERROR'
  | 'IDENTIFIER'
  | 'METRIC_IDENTIFIER'
  | 'NUMBER'
  | 'DURATION'
  | 'STRING'
  | '('
  | ')'
  | '{'
  | '}'
  | '['
  | ']'
  | ','
  | '='
  | ':'
  // Operators.
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '=~'
  | '!~'
  | '@'
  | 'and'
  | 'or'
  | 'unless'
  | 'atan2'
  // Aggregators.
  | 'sum'
  | 'avg'
  | 'count'
  | 'min'
  | 'max'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'count_values'
  | 'quantile'
  | 'limitk'
  | 'limit_ratio'
  // Keywords.
  | 'offset'
  | 'smoothed'
  | 'anchored'
  | 'by'
  | 'without'
  | 'on'
  | 'ignoring'
  | 'group_left'
  | 'group_right'
  | 'bool'
  // Preprocessors.
  | 'start'
  | 'end'
  | 'step'
  // Series descriptions only.
  | 'BLANK'
  | 'TIMES'
  | 'SPACE'
  | 'OPEN_HIST';

/** One token: its kind, start offset in the input and its text (for ERROR: the message). */
export interface Token {
  type: TokenType;
  pos: number;
  val: string;
}

const KEYWORDS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ['and', 'and'],
  ['or', 'or'],
  ['unless', 'unless'],
  ['atan2', 'atan2'],
  ['sum', 'sum'],
  ['avg', 'avg'],
  ['count', 'count'],
  ['min', 'min'],
  ['max', 'max'],
  ['group', 'group'],
  ['stddev', 'stddev'],
  ['stdvar', 'stdvar'],
  ['topk', 'topk'],
  ['bottomk', 'bottomk'],
  ['count_values', 'count_values'],
  ['quantile', 'quantile'],
  ['limitk', 'limitk'],
  ['limit_ratio', 'limit_ratio'],
  ['offset', 'offset'],
  ['smoothed', 'smoothed'],
  ['anchored', 'anchored'],
  ['by', 'by'],
  ['without', 'without'],
  ['on', 'on'],
  ['ignoring', 'ignoring'],
  ['group_left', 'group_left'],
  ['group_right', 'group_right'],
  ['bool', 'bool'],
  ['start', 'start'],
  ['end', 'end'],
  ['step', 'step'],
  ['inf', 'NUMBER'],
  ['nan', 'NUMBER'],
]);

const OPERATORS: ReadonlySet<TokenType> = new Set<TokenType>([
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '=~',
  '!~',
  '@',
  'and',
  'or',
  'unless',
  'atan2',
]);

const AGGREGATORS: ReadonlySet<TokenType> = new Set<TokenType>([
  'sum',
  'avg',
  'count',
  'min',
  'max',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'count_values',
  'quantile',
  'limitk',
  'limit_ratio',
]);

const KEYWORD_TOKENS: ReadonlySet<TokenType> = new Set<TokenType>([
  'offset',
  'smoothed',
  'anchored',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
]);

/** Whether a token kind is a binary/`@` operator. */
export function isOperator(t: TokenType): boolean {
  return OPERATORS.has(t);
}

/** Whether a token kind is an aggregation operator. */
export function isAggregator(t: TokenType): boolean {
  return AGGREGATORS.has(t);
}

/** Whether a token kind is a modifier keyword (`by`, `offset`, `bool`, …). */
export function isKeyword(t: TokenType): boolean {
  return KEYWORD_TOKENS.has(t);
}

/** Go's `%.10q...` / `%q` rendering of a token value, as in Prometheus's `Item.String`. */
function quoteVal(val: string): string {
  const runes = Array.from(val);
  if (runes.length > 10) return `${goQuote(runes.slice(0, 10).join(''))}...`;
  return goQuote(val);
}

/**
 * How a token appears in "unexpected …" messages, mirroring Prometheus's `Item.desc()`:
 * `end of input`, `identifier "foo"`, `number "1"`, `<op:+>`, `<aggr:sum>`, `<by>`, `","`.
 */
export function describeToken(tok: Token): string {
  switch (tok.type) {
    case 'EOF':
      return 'end of input';
    case 'ERROR':
      return `error ${tok.val}`;
    case 'IDENTIFIER':
      return `identifier ${JSON.stringify(tok.val)}`;
    case 'METRIC_IDENTIFIER':
      return `metric identifier ${JSON.stringify(tok.val)}`;
    case 'STRING':
      return `string ${quoteVal(tok.val)}`;
    case 'NUMBER':
      return `number ${quoteVal(tok.val)}`;
    case 'DURATION':
      return `duration ${quoteVal(tok.val)}`;
  }
  if (KEYWORD_TOKENS.has(tok.type)) return `<${tok.val}>`;
  if (OPERATORS.has(tok.type)) return `<op:${tok.val}>`;
  if (AGGREGATORS.has(tok.type)) return `<aggr:${tok.val}>`;
  return quoteVal(tok.val);
}

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;
const isDigitCode = (c: number): boolean => c >= 48 && c <= 57;
const isAlphaCode = (c: number): boolean => c === 95 || (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
const isAlphaNumericCode = (c: number): boolean => isAlphaCode(c) || isDigitCode(c);

const EOF_CHAR = -1;

type State = 'statements' | 'braces' | 'durationExpr' | 'valueSequence' | 'done';

/**
 * Produces tokens one at a time with `next()`. After an ERROR or EOF token every further call
 * returns EOF. `seriesDesc` switches on the series-description value syntax of test scripts.
 */
export class Lexer {
  private pos = 0;
  private start = 0;
  private state: State = 'statements';
  private parenDepth = 0;
  private braceOpen = false;
  private bracketOpen = false;
  private gotColon = false;
  private gotDuration = false;
  private stringOpen = 0;

  constructor(
    readonly input: string,
    private readonly seriesDesc = false,
  ) {}

  /** Code point at `pos` (UTF-16 unit; non-ASCII only matters inside strings), or -1 at end. */
  private peekChar(): number {
    return this.pos < this.input.length ? this.input.charCodeAt(this.pos) : EOF_CHAR;
  }

  private nextChar(): number {
    if (this.pos >= this.input.length) {
      this.pos = this.input.length + 1; // remember that EOF was read, backup() undoes it
      return EOF_CHAR;
    }
    return this.input.charCodeAt(this.pos++);
  }

  private backup(): void {
    this.pos--;
  }

  private accept(valid: string): boolean {
    const c = this.peekChar();
    if (c !== EOF_CHAR && valid.includes(String.fromCharCode(c))) {
      this.pos++;
      return true;
    }
    return false;
  }

  private is(valid: string): boolean {
    const c = this.peekChar();
    return c !== EOF_CHAR && valid.includes(String.fromCharCode(c));
  }

  private acceptRun(valid: string): void {
    while (this.accept(valid));
  }

  private emit(type: TokenType): Token {
    const tok = { type, pos: this.start, val: this.input.slice(this.start, this.pos) };
    this.start = this.pos;
    return tok;
  }

  private error(message: string): Token {
    this.state = 'done';
    return { type: 'ERROR', pos: this.start, val: message };
  }

  /** `(` in statements and in duration expressions alike: one level deeper. */
  private openParen(): Token {
    this.parenDepth++;
    return this.emit('(');
  }

  /** `)`: one level up; more closing than opening parentheses is a lexer error. */
  private closeParen(r: number): Token {
    const tok = this.emit(')');
    this.parenDepth--;
    if (this.parenDepth < 0) return this.error(`unexpected right parenthesis ${goQuoteRune(r)}`);
    return tok;
  }

  private skipSpaces(): void {
    while (isSpace(this.peekChar())) this.pos++;
    this.start = this.pos;
  }

  /** Skips a `#` comment up to (not including) the end of line. */
  private skipComment(): void {
    while (this.pos < this.input.length) {
      const c = this.input.charCodeAt(this.pos);
      if (c === 10 || c === 13) break;
      this.pos++;
    }
    this.start = this.pos;
  }

  /** Returns the next token. */
  next(): Token {
    for (;;) {
      switch (this.state) {
        case 'done':
          this.start = Math.min(this.pos, this.input.length);
          return { type: 'EOF', pos: this.start, val: '' };
        case 'braces': {
          const t = this.lexInsideBraces();
          if (t) return t;
          break;
        }
        case 'durationExpr': {
          const t = this.lexDurationExpr();
          if (t) return t;
          break;
        }
        case 'valueSequence': {
          const t = this.lexValueSequence();
          if (t) return t;
          break;
        }
        case 'statements': {
          const t = this.lexStatements();
          if (t) return t;
          break;
        }
      }
    }
  }

  /** One step in the default state; undefined when only whitespace/comments were consumed. */
  private lexStatements(): Token | undefined {
    if (this.braceOpen) {
      this.state = 'braces';
      return undefined;
    }
    if (this.input.charCodeAt(this.pos) === 35 /* # */) {
      this.skipComment();
      return undefined;
    }
    const r = this.nextChar();
    if (r === EOF_CHAR) {
      this.pos = this.input.length;
      if (this.parenDepth !== 0) return this.error('unclosed left parenthesis');
      if (this.bracketOpen) return this.error('unclosed left bracket');
      this.state = 'done';
      return this.emit('EOF');
    }
    if (isSpace(r)) {
      this.skipSpaces();
      return undefined;
    }
    switch (r) {
      case 44:
        return this.emit(',');
      case 42:
        return this.emit('*');
      case 47:
        return this.emit('/');
      case 37:
        return this.emit('%');
      case 43:
        return this.emit('+');
      case 45:
        return this.emit('-');
      case 94:
        return this.emit('^');
      case 61: {
        // '='
        const t = this.peekChar();
        if (t === 61) {
          this.pos++;
          return this.emit('==');
        }
        if (t === 126) return this.error(`unexpected character after '=': ${goQuoteRune(t)}`);
        return this.emit('=');
      }
      case 33: {
        // '!'
        const t = this.nextChar();
        if (t !== 61) return this.error(`unexpected character after '!': ${goQuoteRune(this.runeAt(t))}`);
        return this.emit('!=');
      }
      case 60:
        if (this.peekChar() === 61) {
          this.pos++;
          return this.emit('<=');
        }
        return this.emit('<');
      case 62:
        if (this.peekChar() === 61) {
          this.pos++;
          return this.emit('>=');
        }
        return this.emit('>');
      case 34:
      case 39:
        this.stringOpen = r;
        return this.lexString();
      case 96:
        this.stringOpen = r;
        return this.lexRawString();
      case 40:
        return this.openParen();
      case 41:
        return this.closeParen(r);
      case 123:
        this.braceOpen = true;
        this.state = 'braces';
        return this.emit('{');
      case 91: {
        if (this.bracketOpen) return this.error(`unexpected left bracket ${goQuoteRune(r)}`);
        this.gotColon = false;
        const tok = this.emit('[');
        if (isSpace(this.peekChar())) this.skipSpaces();
        this.bracketOpen = true;
        this.state = 'durationExpr';
        return tok;
      }
      case 93:
        if (!this.bracketOpen) return this.error(`unexpected right bracket ${goQuoteRune(r)}`);
        this.bracketOpen = false;
        return this.emit(']');
      case 64:
        return this.emit('@');
    }
    if (isDigitCode(r) || (r === 46 && isDigitCode(this.peekChar()))) {
      this.backup();
      return this.lexNumberOrDuration();
    }
    if (isAlphaCode(r) || r === 58) {
      if (!this.bracketOpen) {
        this.backup();
        return this.lexKeywordOrIdentifier();
      }
      if (r === 58) {
        if (this.gotColon) return this.error(`unexpected colon ${goQuoteRune(r)}`);
        this.gotColon = true;
        return this.emit(':');
      }
      if (r === 115 || r === 83 || r === 109 || r === 77) {
        const kw = this.scanDurationKeyword();
        if (kw) return kw;
      }
      return this.error(`unexpected character: ${goQuoteRune(r)}, expected ':'`);
    }
    return this.error(`unexpected character: ${goQuoteRune(this.runeAt(r))}`);
  }

  /** The full code point for a UTF-16 unit just read (joins surrogate pairs). */
  private runeAt(c: number): number {
    if (c >= 0xd800 && c <= 0xdbff && this.pos < this.input.length) {
      const d = this.input.charCodeAt(this.pos);
      if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
    }
    return c;
  }

  private lexInsideBraces(): Token | undefined {
    if (this.input.charCodeAt(this.pos) === 35) {
      this.skipComment();
      return undefined;
    }
    const r = this.nextChar();
    if (r === EOF_CHAR) {
      this.pos = this.input.length;
      return this.error('unexpected end of input inside braces');
    }
    if (isSpace(r)) {
      this.skipSpaces();
      return undefined;
    }
    if (isAlphaCode(r)) {
      while (isAlphaNumericCode(this.peekChar())) this.pos++;
      return this.emit('IDENTIFIER');
    }
    switch (r) {
      case 44:
        return this.emit(',');
      case 34:
      case 39:
        this.stringOpen = r;
        return this.lexString();
      case 96:
        this.stringOpen = r;
        return this.lexRawString();
      case 61:
        if (this.peekChar() === 126) {
          this.pos++;
          return this.emit('=~');
        }
        return this.emit('=');
      case 33: {
        const nr = this.nextChar();
        if (nr === 126) return this.emit('!~');
        if (nr === 61) return this.emit('!=');
        return this.error(`unexpected character after '!' inside braces: ${goQuoteRune(this.runeAt(nr))}`);
      }
      case 123:
        return this.error(`unexpected left brace ${goQuoteRune(r)}`);
      case 125:
        this.braceOpen = false;
        this.state = this.seriesDesc ? 'valueSequence' : 'statements';
        return this.emit('}');
    }
    return this.error(`unexpected character inside braces: ${goQuoteRune(this.runeAt(r))}`);
  }

  private lexDurationExpr(): Token | undefined {
    const r = this.nextChar();
    if (r === EOF_CHAR) {
      this.pos = this.input.length;
      return this.error('unexpected end of input in duration expression');
    }
    switch (r) {
      case 93:
        this.bracketOpen = false;
        this.gotColon = false;
        this.state = 'statements';
        return this.emit(']');
      case 58: {
        const tok = this.emit(':');
        if (!this.gotDuration) return this.error('unexpected colon before duration in duration expression');
        if (this.gotColon) return this.error('unexpected repeated colon in duration expression');
        this.gotColon = true;
        return tok;
      }
      case 40:
        return this.openParen();
      case 41:
        return this.closeParen(r);
      case 43:
        return this.emit('+');
      case 45:
        return this.emit('-');
      case 42:
        return this.emit('*');
      case 47:
        return this.emit('/');
      case 37:
        return this.emit('%');
      case 94:
        return this.emit('^');
      case 44:
        return this.emit(',');
      case 115:
      case 83:
      case 109:
      case 77: {
        const kw = this.scanDurationKeyword();
        if (kw) return kw;
        return this.error(`unexpected character in duration expression: ${goQuoteRune(r)}`);
      }
    }
    if (isSpace(r)) {
      this.skipSpaces();
      return undefined;
    }
    if (isDigitCode(r) || (r === 46 && isDigitCode(this.peekChar()))) {
      this.backup();
      this.gotDuration = true;
      this.state = 'statements';
      return this.lexNumberOrDuration();
    }
    return this.error(`unexpected character in duration expression: ${goQuoteRune(this.runeAt(r))}`);
  }

  /** After the first letter of a word inside brackets: `step`, `min` or `max`, else undefined. */
  private scanDurationKeyword(): Token | undefined {
    while (isAlphaCode(this.peekChar())) this.pos++;
    switch (this.input.slice(this.start, this.pos).toLowerCase()) {
      case 'step':
        return this.emit('step');
      case 'min':
        return this.emit('min');
      case 'max':
        return this.emit('max');
    }
    return undefined;
  }

  private lexKeywordOrIdentifier(): Token {
    for (;;) {
      const c = this.peekChar();
      if (isAlphaNumericCode(c) || c === 58) this.pos++;
      else break;
    }
    const word = this.input.slice(this.start, this.pos);
    const kw = KEYWORDS.get(word.toLowerCase());
    let tok: Token;
    if (kw) tok = this.emit(kw);
    else if (!word.includes(':')) tok = this.emit('IDENTIFIER');
    else tok = this.emit('METRIC_IDENTIFIER');
    if (this.seriesDesc && this.peekChar() !== 123) this.state = 'valueSequence';
    return tok;
  }

  private lexString(): Token {
    for (;;) {
      const c = this.nextChar();
      if (c === 92) {
        const err = this.lexEscape();
        if (err) return this.error(err);
        continue;
      }
      if (c === EOF_CHAR || c === 10) {
        if (c === EOF_CHAR) this.pos = this.input.length;
        return this.error('unterminated quoted string');
      }
      if (c === this.stringOpen) break;
    }
    this.state = this.braceOpen ? 'braces' : 'statements';
    return this.emit('STRING');
  }

  /** Validates the escape after a backslash; returns an error message or undefined. */
  private lexEscape(): string | undefined {
    let ch = this.nextChar();
    let n: number;
    let base: number;
    let max: number;
    switch (ch) {
      case 97:
      case 98:
      case 102:
      case 110:
      case 114:
      case 116:
      case 118:
      case 92:
      case this.stringOpen:
        return undefined;
      case 48:
      case 49:
      case 50:
      case 51:
      case 52:
      case 53:
      case 54:
      case 55:
        [n, base, max] = [3, 8, 255];
        break;
      case 120:
        ch = this.nextChar();
        [n, base, max] = [2, 16, 255];
        break;
      case 117:
        ch = this.nextChar();
        [n, base, max] = [4, 16, 0x10ffff];
        break;
      case 85:
        ch = this.nextChar();
        [n, base, max] = [8, 16, 0x10ffff];
        break;
      case EOF_CHAR:
        return 'escape sequence not terminated';
      default:
        return `unknown escape sequence ${goRuneU(this.runeAt(ch))}`;
    }
    let x = 0;
    while (n > 0) {
      const d = digitVal(ch);
      if (d >= base) {
        if (ch === EOF_CHAR) return 'escape sequence not terminated';
        return `illegal character ${goRuneU(this.runeAt(ch))} in escape sequence`;
      }
      x = x * base + d;
      n--;
      if (n > 0) ch = this.nextChar();
    }
    if (x > max || (x >= 0xd800 && x < 0xe000)) return 'escape sequence is an invalid Unicode code point';
    return undefined;
  }

  private lexRawString(): Token {
    for (;;) {
      const c = this.nextChar();
      if (c === EOF_CHAR) {
        this.pos = this.input.length;
        return this.error('unterminated raw string');
      }
      if (c === this.stringOpen) break;
    }
    this.state = this.braceOpen ? 'braces' : 'statements';
    return this.emit('STRING');
  }

  private lexNumberOrDuration(): Token {
    if (this.scanNumber()) return this.emit('NUMBER');
    if (this.acceptRemainingDuration()) {
      this.backup();
      return this.emit('DURATION');
    }
    return this.error(`bad number or duration syntax: ${JSON.stringify(this.input.slice(this.start, this.pos))}`);
  }

  private acceptRemainingDuration(): boolean {
    if (!this.accept('smhdwy')) return false;
    this.accept('s');
    while (this.accept('0123456789')) {
      while (this.accept('0123456789'));
      if (!this.accept('smhdw')) return false;
      this.accept('s');
    }
    return !isAlphaNumericCode(this.nextChar());
  }

  /** Scans a number literal (decimal, hex, exponents, `_` separators) like Prometheus does. */
  private scanNumber(): boolean {
    const initial = this.pos;
    let digits = '0123456789';
    if (!this.seriesDesc && this.accept('0') && this.accept('xX')) {
      this.accept('_');
      digits = '0123456789abcdefABCDEF';
    }
    this.accept('.');
    this.accept(digits);
    let dotConsumed = false;
    let exponentConsumed = false;
    while (this.is(`${digits}._eE`)) {
      if (this.is('.') && dotConsumed) {
        this.accept('.');
        return false;
      }
      if (this.is('eE') && exponentConsumed) {
        this.accept('eE');
        return false;
      }
      if (this.accept('.')) {
        dotConsumed = true;
        if (this.accept('_.')) return false;
        if (digits.length > 10) return false;
        continue;
      }
      if (this.accept('eE')) {
        exponentConsumed = true;
        this.accept('+-');
        if (this.accept('._eE') || this.peekChar() === EOF_CHAR) return false;
        continue;
      }
      if (this.accept('_')) {
        if (this.accept('._eE') || this.peekChar() === EOF_CHAR) return false;
        continue;
      }
      this.acceptRun(digits);
    }
    if (this.pos === initial) return false;
    const r = this.peekChar();
    return (this.seriesDesc && r === 120) || !isAlphaNumericCode(r);
  }

  /** Series descriptions: the value sequence after the metric (`1+2x3 _ stale`). */
  private lexValueSequence(): Token | undefined {
    const r = this.nextChar();
    if (r === EOF_CHAR) {
      this.pos = this.input.length;
      this.state = 'statements';
      return undefined;
    }
    if (r === 123 && this.peekChar() === 123) {
      this.pos++;
      this.state = 'done';
      return this.emit('OPEN_HIST');
    }
    if (isSpace(r)) {
      while (isSpace(this.peekChar())) this.pos++;
      return this.emit('SPACE');
    }
    switch (r) {
      case 43:
        return this.emit('+');
      case 45:
        return this.emit('-');
      case 120:
        return this.emit('TIMES');
      case 95:
        return this.emit('BLANK');
    }
    if (isDigitCode(r) || (r === 46 && isDigitCode(this.peekChar()))) {
      this.backup();
      if (!this.scanNumber()) {
        return this.error(`bad number syntax: ${JSON.stringify(this.input.slice(this.start, this.pos))}`);
      }
      return this.emit('NUMBER');
    }
    if (isAlphaCode(r)) {
      this.backup();
      return this.lexKeywordOrIdentifier();
    }
    return this.error(`unexpected character in series sequence: ${goQuoteRune(this.runeAt(r))}`);
  }
}

function digitVal(ch: number): number {
  if (ch >= 48 && ch <= 57) return ch - 48;
  if (ch >= 97 && ch <= 102) return ch - 97 + 10;
  if (ch >= 65 && ch <= 70) return ch - 65 + 10;
  return 16;
}
