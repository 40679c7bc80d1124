import { TemplateParseError } from './errors.js';

// A parser for the subset of Go's text/template that Prometheus alert labels and annotations use:
// text, {{ pipelines }} with `|`, fields (.A.b), variables ($x.y), function calls, literals,
// parenthesised pipelines, `$x := …` / `$x = …`, if/else if/else, range (with `$i, $v :=`),
// with, break/continue and comments, with `{{-`/`-}}` trimming. Error texts follow
// text/template/parse so promtool-style validation messages match.

/** A node of a parsed template. */
export type TmplNode =
  | { kind: 'text'; text: string }
  | { kind: 'action'; line: number; pipe: Pipe }
  | { kind: 'if' | 'with' | 'range'; line: number; pipe: Pipe; list: TmplNode[]; elseList: TmplNode[] | undefined }
  | { kind: 'break' | 'continue'; line: number };

/** A pipeline: optional variable declarations, then commands joined by `|`. */
export interface Pipe {
  decl: string[];
  /** `=` (assign to an existing variable) rather than `:=`. */
  assign: boolean;
  cmds: Arg[][];
}

/** One operand of a command. */
export type Arg =
  | { kind: 'field'; names: string[] }
  | { kind: 'var'; name: string; names: string[] }
  | { kind: 'ident'; name: string }
  | { kind: 'dot' }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number; isInt: boolean }
  | { kind: 'bool'; value: boolean }
  | { kind: 'nil' }
  | { kind: 'pipe'; pipe: Pipe; names: string[] };

type Tok =
  | { t: 'text'; v: string; line: number }
  | {
      t: 'left' | 'right' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma' | 'eof';
      v: string;
      line: number;
    }
  | { t: 'field' | 'var' | 'ident' | 'string' | 'number' | 'dot' | 'space' | 'char'; v: string; line: number };

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isAlnum(c: string): boolean {
  return /[\p{L}\p{N}_]/u.test(c);
}

class Lexer {
  toks: Tok[] = [];
  private pos = 0;
  private line = 1;
  constructor(
    private readonly src: string,
    private readonly fail: (line: number, msg: string) => never,
  ) {}

  run(): Tok[] {
    const s = this.src;
    while (this.pos < s.length) {
      const open = s.indexOf('{{', this.pos);
      if (open < 0) {
        this.text(s.slice(this.pos));
        this.pos = s.length;
        break;
      }
      let text = s.slice(this.pos, open);
      let p = open + 2;
      const trimLeft = s[p] === '-' && isSpace(s[p + 1] ?? '');
      if (trimLeft) {
        text = text.replace(/[ \t\r\n]+$/, '');
        p += 2;
      }
      this.text(text);
      this.line += countLines(s.slice(this.pos + text.length, p));
      this.pos = p;
      // Comments: {{/* … */}} (with optional trims).
      let q = this.pos;
      while (isSpace(s[q] ?? '')) q++;
      if (s.startsWith('/*', q)) {
        const end = s.indexOf('*/', q + 2);
        if (end < 0) this.fail(this.line, 'unclosed comment');
        let r = end + 2;
        let trimRight = false;
        if (s[r] === ' ' && s.startsWith(' -}}', r)) {
          trimRight = true;
          r += 4;
        } else if (s.startsWith('}}', r)) r += 2;
        else this.fail(this.line, 'comment ends before closing delimiter');
        this.line += countLines(s.slice(this.pos, r));
        this.pos = r;
        if (trimRight) this.skipSpace();
        continue;
      }
      this.toks.push({ t: 'left', v: '{{', line: this.line });
      this.action();
    }
    this.toks.push({ t: 'eof', v: '', line: this.line });
    return this.toks;
  }

  private skipSpace(): void {
    while (this.pos < this.src.length && isSpace(this.src[this.pos] as string)) {
      if (this.src[this.pos] === '\n') this.line++;
      this.pos++;
    }
  }

  private text(v: string): void {
    if (v.length > 0) this.toks.push({ t: 'text', v, line: this.line });
    this.line += countLines(v);
  }

  private action(): void {
    const s = this.src;
    let parens = 0;
    for (;;) {
      if (this.pos >= s.length) this.fail(this.line, 'unclosed action');
      const c = s[this.pos] as string;
      if (isSpace(c)) {
        if (s.startsWith('-}}', this.pos + 1) && c !== '\n' && c !== '\r') {
          this.pos += 4;
          this.toks.push({ t: 'right', v: '}}', line: this.line });
          this.skipSpace();
          return;
        }
        if (c === '\n') {
          this.line++;
        }
        this.pos++;
        this.toks.push({ t: 'space', v: ' ', line: this.line });
        continue;
      }
      if (s.startsWith('}}', this.pos)) {
        if (parens > 0) this.fail(this.line, 'unclosed left paren');
        this.pos += 2;
        this.toks.push({ t: 'right', v: '}}', line: this.line });
        return;
      }
      const line = this.line;
      if (c === '|') {
        this.pos++;
        this.toks.push({ t: 'pipe', v: '|', line });
      } else if (c === '(') {
        parens++;
        this.pos++;
        this.toks.push({ t: 'lparen', v: '(', line });
      } else if (c === ')') {
        parens--;
        if (parens < 0) this.fail(line, 'unexpected right paren');
        this.pos++;
        this.toks.push({ t: 'rparen', v: ')', line });
      } else if (c === ',') {
        this.pos++;
        this.toks.push({ t: 'comma', v: ',', line });
      } else if (s.startsWith(':=', this.pos)) {
        this.pos += 2;
        this.toks.push({ t: 'declare', v: ':=', line });
      } else if (c === '=') {
        this.pos++;
        this.toks.push({ t: 'assign', v: '=', line });
      } else if (c === '"') {
        let e = this.pos + 1;
        while (e < s.length && s[e] !== '"') {
          if (s[e] === '\\') e++;
          if (s[e] === '\n') this.fail(line, 'unterminated quoted string');
          e++;
        }
        if (e >= s.length) this.fail(line, 'unterminated quoted string');
        this.toks.push({ t: 'string', v: s.slice(this.pos, e + 1), line });
        this.pos = e + 1;
      } else if (c === '`') {
        const e = s.indexOf('`', this.pos + 1);
        if (e < 0) this.fail(line, 'unterminated raw quoted string');
        this.toks.push({ t: 'string', v: s.slice(this.pos, e + 1), line });
        this.line += countLines(s.slice(this.pos, e));
        this.pos = e + 1;
      } else if (c === "'") {
        const e = s.indexOf("'", this.pos + 1);
        if (e < 0) this.fail(line, 'unterminated character constant');
        this.toks.push({ t: 'char', v: s.slice(this.pos, e + 1), line });
        this.pos = e + 1;
      } else if (c === '$') {
        let e = this.pos + 1;
        while (e < s.length && isAlnum(s[e] as string)) e++;
        this.toks.push({ t: 'var', v: s.slice(this.pos, e), line });
        this.pos = e;
      } else if (c === '.') {
        const n = s[this.pos + 1] ?? '';
        if (/[0-9]/.test(n)) this.number(line);
        else if (isAlnum(n)) {
          let e = this.pos + 1;
          while (e < s.length && isAlnum(s[e] as string)) e++;
          this.toks.push({ t: 'field', v: s.slice(this.pos, e), line });
          this.pos = e;
        } else {
          this.pos++;
          this.toks.push({ t: 'dot', v: '.', line });
        }
      } else if (/[0-9+-]/.test(c)) {
        this.number(line);
      } else if (isAlnum(c)) {
        let e = this.pos;
        while (e < s.length && isAlnum(s[e] as string)) e++;
        this.toks.push({ t: 'ident', v: s.slice(this.pos, e), line });
        this.pos = e;
      } else {
        this.fail(line, `unrecognized character in action: ${JSON.stringify(c)}`);
      }
    }
  }

  private number(line: number): void {
    const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(
      this.src.slice(this.pos),
    );
    const v = m?.[0] ?? '';
    if (v === '' || v === '+' || v === '-') this.fail(line, `bad number syntax: "${this.src[this.pos]}"`);
    this.toks.push({ t: 'number', v, line });
    this.pos += v.length;
  }
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function unquote(v: string): string {
  if (v.startsWith('`')) return v.slice(1, -1);
  try {
    return JSON.parse(v.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\'/g, "'")) as string;
  } catch {
    return v.slice(1, -1);
  }
}

/** Parses a Go template; `funcs` are the names callable from it (others fail as Go's parser does). */
export function parseTemplate(name: string, src: string, funcs: ReadonlySet<string>): TmplNode[] {
  const fail = (line: number, msg: string): never => {
    throw new TemplateParseError(`template: ${name}:${line}: ${msg}`);
  };
  const toks = new Lexer(src, fail).run();
  let i = 0;
  const vars: string[][] = [['$']];
  const peekNonSpace = (): Tok => {
    let j = i;
    while (toks[j]?.t === 'space') j++;
    return toks[j] as Tok;
  };
  const nextNonSpace = (): Tok => {
    while (toks[i]?.t === 'space') i++;
    return toks[i++] as Tok;
  };
  const declared = (n: string) => vars.some((scope) => scope.includes(n));

  function parseList(
    stopAt: ReadonlySet<string>,
    ctx: string,
    inRange: boolean,
  ): { list: TmplNode[]; stop: string; line: number } {
    const list: TmplNode[] = [];
    for (;;) {
      const t = toks[i] as Tok;
      if (t.t === 'eof') {
        if (stopAt.size === 0) return { list, stop: 'eof', line: t.line };
        fail(t.line, 'unexpected EOF');
      }
      if (t.t === 'text') {
        list.push({ kind: 'text', text: t.v });
        i++;
        continue;
      }
      // t is {{
      i++;
      const k = peekNonSpace();
      if (k.t === 'ident' && KEYWORDS.has(k.v)) {
        nextNonSpace();
        switch (k.v) {
          case 'end':
          case 'else':
            if (!stopAt.has(k.v)) fail(k.line, `unexpected {{${k.v}}}`);
            if (k.v === 'end') expectRight('end');
            return { list, stop: k.v, line: k.line };
          case 'if':
          case 'with':
          case 'range':
            list.push(parseControl(k.v, k.line, inRange));
            continue;
          case 'break':
          case 'continue':
            if (!inRange) fail(k.line, `{{${k.v}}} outside {{range}}`);
            expectRight(k.v);
            list.push({ kind: k.v, line: k.line });
            continue;
          default:
            fail(k.line, `{{${k.v}}} is not supported in Prometheus alert templates by thanos-ts`);
        }
      }
      const pipe = parsePipe('command', k.line, 'right');
      list.push({ kind: 'action', line: k.line, pipe });
      void ctx;
    }
  }

  function expectRight(ctx: string): void {
    const t = nextNonSpace();
    if (t.t !== 'right') fail(t.line, `unexpected ${describe(t)} in ${ctx}`);
  }

  function parseControl(kind: 'if' | 'with' | 'range', line: number, inRange: boolean): TmplNode {
    vars.push([]);
    const pipe = parsePipe(kind, line, 'right');
    if (pipe.cmds.length === 0) fail(line, `missing value for ${kind}`);
    const body = parseList(new Set(['end', 'else']), kind, inRange || kind === 'range');
    let elseList: TmplNode[] | undefined;
    if (body.stop === 'else') {
      const n = peekNonSpace();
      if ((kind === 'if' || kind === 'with') && n.t === 'ident' && n.v === kind) {
        // {{else if …}} is {{else}}{{if …}}{{end}}{{end}}, as Go's parser rewrites it.
        nextNonSpace();
        elseList = [parseControl(kind, n.line, inRange)];
        vars.pop();
        return { kind, line, pipe, list: body.list, elseList };
      }
      expectRight('else');
      const rest = parseList(new Set(['end']), kind, inRange);
      elseList = rest.list;
    }
    vars.pop();
    return { kind, line, pipe, list: body.list, elseList };
  }

  function parsePipe(ctx: string, _line: number, end: 'right' | 'rparen'): Pipe {
    const pipe: Pipe = { decl: [], assign: false, cmds: [] };
    // Declarations: $x := or $x, $y := (range) or $x =.
    const save = i;
    const t = peekNonSpace();
    if (t.t === 'var') {
      nextNonSpace();
      const n = peekNonSpace();
      if (n.t === 'declare' || n.t === 'assign') {
        nextNonSpace();
        pipe.decl.push(t.v);
        pipe.assign = n.t === 'assign';
        if (pipe.assign && !declared(t.v)) fail(t.line, `undefined variable "${t.v}"`);
      } else if (n.t === 'comma' && ctx === 'range') {
        nextNonSpace();
        const v2 = nextNonSpace();
        if (v2.t !== 'var') fail(v2.line, 'range can only initialize variables');
        const d = nextNonSpace();
        if (d.t !== 'declare' && d.t !== 'assign') fail(d.line, 'range can only initialize variables');
        pipe.decl.push(t.v, v2.v);
      } else i = save;
    }
    if (!pipe.assign) for (const d of pipe.decl) (vars[vars.length - 1] as string[]).push(d);
    let cmd: Arg[] = [];
    for (;;) {
      const tk = nextNonSpace();
      if (tk.t === end) {
        if (cmd.length > 0) pipe.cmds.push(cmd);
        else if (pipe.cmds.length > 0) fail(tk.line, 'missing command');
        if (pipe.cmds.length === 0 && ctx === 'command') fail(tk.line, 'missing value for command');
        if (pipe.decl.length > 0 && pipe.cmds.length === 0) fail(tk.line, `missing value for ${ctx}`);
        return pipe;
      }
      switch (tk.t) {
        case 'eof':
          fail(tk.line, 'unclosed action');
          break;
        case 'right':
          fail(tk.line, 'unclosed left paren');
          break;
        case 'rparen':
          fail(tk.line, 'unexpected right paren');
          break;
        case 'pipe':
          if (cmd.length === 0) fail(tk.line, 'missing command');
          pipe.cmds.push(cmd);
          cmd = [];
          break;
        case 'text':
        case 'left':
        case 'declare':
        case 'assign':
        case 'comma':
          fail(tk.line, `unexpected ${describe(tk)} in ${ctx}`);
          break;
        default:
          cmd.push(operand(tk, ctx));
      }
    }
  }

  function fieldChain(): string[] {
    const names: string[] = [];
    while (toks[i]?.t === 'field') names.push((toks[i++] as Tok).v.slice(1));
    return names;
  }

  function operand(tk: Tok, ctx: string): Arg {
    switch (tk.t) {
      case 'field':
        return { kind: 'field', names: [tk.v.slice(1), ...fieldChain()] };
      case 'var':
        if (!declared(tk.v)) fail(tk.line, `undefined variable "${tk.v}"`);
        return { kind: 'var', name: tk.v, names: fieldChain() };
      case 'dot':
        return { kind: 'dot' };
      case 'string':
        return { kind: 'string', value: unquote(tk.v) };
      case 'char':
        return { kind: 'number', value: unquote(`"${tk.v.slice(1, -1)}"`).codePointAt(0) ?? 0, isInt: true };
      case 'number': {
        const clean = tk.v.replace(/_/g, '');
        const value = Number(clean);
        if (Number.isNaN(value)) fail(tk.line, `bad number syntax: "${tk.v}"`);
        return { kind: 'number', value, isInt: /^[+-]?(0[xXbBoO])?[0-9a-fA-F]+$/.test(clean) };
      }
      case 'ident':
        if (tk.v === 'true' || tk.v === 'false') return { kind: 'bool', value: tk.v === 'true' };
        if (tk.v === 'nil') return { kind: 'nil' };
        if (!funcs.has(tk.v)) fail(tk.line, `function "${tk.v}" not defined`);
        return { kind: 'ident', name: tk.v };
      case 'lparen': {
        const pipe = parsePipe('parenthesized pipeline', tk.line, 'rparen');
        return { kind: 'pipe', pipe, names: fieldChain() };
      }
      default:
        return fail(tk.line, `unexpected ${describe(tk)} in ${ctx}`);
    }
  }

  return parseList(new Set(), 'template', false).list;
}

function describe(t: Tok): string {
  switch (t.t) {
    case 'right':
      return '"}}"';
    case 'rparen':
      return '")"';
    case 'eof':
      return 'EOF';
    default:
      return `"${t.v}"`;
  }
}
