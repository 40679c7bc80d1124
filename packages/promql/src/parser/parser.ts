/**
 * The PromQL parser: a recursive-descent / precedence-climbing parser over the lexer's tokens
 * that builds the AST of `ast.ts`, then type-checks it. It accepts the language of Prometheus 3.9
 * (including its experimental parts behind options) and reports the first error with
 * Prometheus's wording and position.
 */
import { InvalidArgumentError, Matcher, type MatchType } from '@thanos-ts/tsdb';
import { DurationSyntaxError, goQuote, parsePromDuration as parseDuration } from '@thanos-ts/tsdb/goformat';
import {
  type AggregateExpr,
  type AggregateOp,
  type BinaryOp,
  type Call,
  children,
  type DurationExpr,
  type DurationOp,
  type Expr,
  exprType,
  type FunctionDef,
  type MatrixSelector,
  type NumberLiteral,
  type PositionRange,
  type SubqueryExpr,
  type ValueType,
  type VectorMatchCardinality,
  type VectorSelector,
} from './ast.js';
import { ParseError } from './errors.js';
import { FUNCTIONS } from './functions.js';
import { describeToken, isAggregator, Lexer, type Token, type TokenType } from './lexer.js';
import { LiteralError, parseNumberLiteral, unquoteString } from './literals.js';

/** Switches for the parts of the language that Prometheus keeps behind feature flags. */
export interface ParseOptions {
  /** Allow experimental functions and aggregations (limitk, limit_ratio, info, …). Default false. */
  enableExperimentalFunctions?: boolean;
  /** Allow arithmetic in ranges, steps and offsets (`foo[5m + step()]`). Default false. */
  enableExperimentalDurationExpr?: boolean;
  /** Allow the `anchored` and `smoothed` modifiers. Default false. */
  enableExtendedRangeSelectors?: boolean;
  /** Function table to resolve calls against. Default: every Prometheus 3.9 function. */
  functions?: ReadonlyMap<string, FunctionDef>;
  /** Added to line numbers in error messages (for queries embedded in larger files). */
  lineOffset?: number;
  /**
   * Reuses compiled regex matchers across parses (see createMatcherCache). Engines keep one each;
   * without it every `=~`/`!~` matcher is compiled afresh.
   */
  matcherCache?: MatcherCache;
}

const BINARY_PRECEDENCE: Partial<Record<TokenType, number>> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '<': 3,
  '<=': 3,
  '>': 3,
  '>=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};
/** Unary minus/plus bind like `*`: their operand takes only `^` (so `-2^2` is -4). */
const UNARY_OPERAND_PRECEDENCE = 6;

const DURATION_PRECEDENCE: Partial<Record<TokenType, number>> = {
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  '^': 6,
};

/** Tokens that may name a metric at the start of an expression (Prometheus's metric_identifier). */
export const METRIC_IDENTIFIER_TOKENS: ReadonlySet<TokenType> = new Set<TokenType>([
  'avg',
  'bottomk',
  'by',
  'count',
  'count_values',
  'group',
  'IDENTIFIER',
  'and',
  'or',
  'unless',
  'max',
  'METRIC_IDENTIFIER',
  'min',
  'offset',
  'quantile',
  'stddev',
  'stdvar',
  'sum',
  'topk',
  'without',
  'start',
  'end',
  'limitk',
  'limit_ratio',
  'step',
  'anchored',
  'smoothed',
]);

/** Tokens accepted as a label name in grouping lists (Prometheus's maybe_label). */
const LABEL_TOKENS: ReadonlySet<TokenType> = new Set<TokenType>([
  'avg',
  'bool',
  'bottomk',
  'by',
  'count',
  'count_values',
  'group',
  'group_left',
  'group_right',
  'IDENTIFIER',
  'ignoring',
  'and',
  'or',
  'unless',
  'max',
  'METRIC_IDENTIFIER',
  'min',
  'offset',
  'on',
  'quantile',
  'stddev',
  'stdvar',
  'sum',
  'topk',
  'start',
  'end',
  'atan2',
  'limitk',
  'limit_ratio',
  'step',
  'anchored',
  'smoothed',
]);

const EXPR_START_TOKENS: ReadonlySet<TokenType> = new Set<TokenType>([
  ...METRIC_IDENTIFIER_TOKENS,
  'NUMBER',
  'DURATION',
  'STRING',
  '(',
  '{',
  '+',
  '-',
]);

const MATCH_OPS: ReadonlySet<TokenType> = new Set<TokenType>(['=', '!=', '=~', '!~']);
const CLOSING_TOKENS: ReadonlySet<TokenType> = new Set<TokenType>([')', '}', ']', 'DURATION', 'NUMBER']);
const PARAM_AGGREGATORS: ReadonlySet<AggregateOp> = new Set<AggregateOp>([
  'topk',
  'bottomk',
  'count_values',
  'quantile',
  'limitk',
  'limit_ratio',
]);
const EXPERIMENTAL_AGGREGATORS: ReadonlySet<AggregateOp> = new Set<AggregateOp>(['limitk', 'limit_ratio']);

/**
 * Compiling a regex matcher (RE2 semantics) costs far more than parsing the query around it,
 * and dashboards send the same selectors again and again. Matchers are immutable values, so an
 * owner (an engine) may keep recently compiled ones in a small bounded map, oldest evicted first.
 */
export interface MatcherCache {
  /** The matcher for `name type value`, compiled once while it stays in the cache. */
  get(type: MatchType, name: string, value: string): Matcher;
}

/** A bounded cache of compiled regex matchers (`=`/`!=` matchers are cheap and never cached). */
export function createMatcherCache(maxEntries = 1024): MatcherCache {
  const entries = new Map<string, Matcher>();
  return {
    get(type, name, value) {
      if (type === '=' || type === '!=') return new Matcher(type, name, value);
      const key = `${type}\u0000${name}\u0000${value}`;
      const hit = entries.get(key);
      if (hit) return hit;
      const m = new Matcher(type, name, value);
      entries.set(key, m);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      return m;
    },
  };
}

/**
 * Limits that keep recursive code (this parser, the type checker, the printer, the engine) far
 * from the JavaScript stack limit. Prometheus has none, but no real query comes close: nesting
 * counts parentheses, calls and unary operators; tree depth also counts operator chains.
 */
export const MAX_NESTING = 1000;
/** See MAX_NESTING. */
export const MAX_TREE_DEPTH = 2000;

/** Largest |seconds| whose nanoseconds fit in an int64 (Prometheus's `1<<63/1e9`). */
const MAX_DURATION_SECONDS = 2 ** 63 / 1e9;
/** float64(math.MaxInt64), i.e. 2^63. */
const INT64_LIMIT = 2 ** 63;

/** Go's math.Round (half away from zero). */
function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Seconds (float) to whole milliseconds the way Prometheus converts via time.Duration. */
export function secondsToMillis(seconds: number): number {
  return Math.trunc(goRound(seconds * 1e9) / 1e6);
}

/** Prometheus's DocumentedType: how value types are named in messages. */
export function documentedType(t: ValueType): string {
  switch (t) {
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    default:
      return t;
  }
}

/** Go's `%f` (6 decimals, `+Inf`, `-Inf`, `NaN`). */
function formatF6(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Math.abs(v) < 1e21) return v.toFixed(6);
  return `${BigInt(v).toString()}.000000`;
}

function tokenRange(t: Token): PositionRange {
  return { start: t.pos, end: t.pos + t.val.length };
}

interface ErrorContext {
  context: string;
  expected: string;
}

/** The token-level parser; use `parseExpr` unless you need the pieces (series descriptions). */
export class Parser {
  private readonly lexer: Lexer;
  private lookahead: Token | undefined;
  /** End of the last consumed closing token (`)`, `}`, `]`, number or duration). */
  private lastClosing = 0;
  private readonly contexts: ErrorContext[] = [];
  private nesting = 0;
  private readonly functions: ReadonlyMap<string, FunctionDef>;

  constructor(
    readonly input: string,
    private readonly opts: ParseOptions,
    seriesDesc = false,
  ) {
    this.lexer = new Lexer(input, seriesDesc);
    this.functions = opts.functions ?? FUNCTIONS;
  }

  // ---- token handling -------------------------------------------------------------------

  /** The next token without consuming it (lexical errors are thrown here). */
  peek(): Token {
    if (!this.lookahead) {
      const t = this.lexer.next();
      if (t.type === 'ERROR') this.fail({ start: t.pos, end: this.input.length }, t.val);
      this.lookahead = t;
    }
    return this.lookahead;
  }

  /** Consumes and returns the next token. */
  advance(): Token {
    const t = this.peek();
    this.lookahead = undefined;
    if (CLOSING_TOKENS.has(t.type)) this.lastClosing = t.pos + t.val.length;
    return t;
  }

  /** Throws a ParseError for `pos`. */
  fail(pos: PositionRange, detail: string): never {
    throw new ParseError(detail, pos, this.input, this.opts.lineOffset ?? 0);
  }

  /**
   * "unexpected <token> [in <context>][, expected <what>]" at the lookahead token. Without an
   * explicit context, the innermost enclosing construct decides, as Prometheus's grammar's
   * error productions do.
   */
  unexpected(context?: string, expected?: string): never {
    const t = this.peek();
    let ctx = context;
    let exp = expected;
    if (ctx === undefined) {
      const inner = this.contexts[this.contexts.length - 1];
      ctx = inner?.context ?? '';
      exp = inner?.expected ?? '';
    }
    let msg = `unexpected ${describeToken(t)}`;
    if (ctx) msg += ` in ${ctx}`;
    if (exp) msg += `, expected ${exp}`;
    this.fail(tokenRange(t), msg);
  }

  /** Enters a construct whose syntax errors Prometheus reports "in <context>". */
  private enter(context: string, expected: string): void {
    this.contexts.push({ context, expected });
  }

  /** Leaves the innermost construct (errors end the parse, so no unwinding is needed). */
  private leave(): void {
    this.contexts.pop();
  }

  private expect(type: TokenType): Token {
    if (this.peek().type !== type) this.unexpected();
    return this.advance();
  }

  // ---- expressions ----------------------------------------------------------------------

  /** A whole query: one expression, then the end of input. */
  parseTopLevel(): Expr {
    if (this.peek().type === 'EOF') this.fail({ start: 0, end: 0 }, 'no expression found in input');
    const e = this.parseBinary(0);
    if (this.peek().type !== 'EOF') this.unexpected();
    return e;
  }

  /** An expression whose binary operators all bind at least as tightly as `minPrec`. */
  parseBinary(minPrec: number): Expr {
    this.enterNesting();
    const e = this.parseBinaryLevel(minPrec);
    this.nesting--;
    return e;
  }

  /** Guards the recursion of nested expressions against exhausting the JavaScript stack. */
  private enterNesting(): void {
    if (++this.nesting > MAX_NESTING) {
      this.fail(tokenRange(this.peek()), `expression nesting is too deep (more than ${MAX_NESTING} levels)`);
    }
  }

  private parseBinaryLevel(minPrec: number): Expr {
    let lhs = this.parseUnary();
    for (;;) {
      lhs = this.parsePostfix(lhs);
      const opTok = this.peek();
      const prec = BINARY_PRECEDENCE[opTok.type];
      if (prec === undefined || prec < minPrec) return lhs;
      this.advance();
      const op = opTok.type as BinaryOp;
      let returnBool = false;
      if (this.peek().type === 'bool') {
        this.advance();
        returnBool = true;
      }
      let on = false;
      let labels: string[] = [];
      let include: string[] = [];
      let card: VectorMatchCardinality = 'one-to-one';
      const m = this.peek().type;
      if (m === 'on' || m === 'ignoring') {
        this.advance();
        on = m === 'on';
        labels = this.parseGroupingLabels();
        const g = this.peek().type;
        if (g === 'group_left' || g === 'group_right') {
          this.advance();
          card = g === 'group_left' ? 'many-to-one' : 'one-to-many';
          if (this.peek().type === '(') include = this.parseGroupingLabels();
        }
      }
      const rhs = this.parseBinary(op === '^' ? prec : prec + 1);
      lhs = {
        type: 'BinaryExpr',
        op,
        lhs,
        rhs,
        returnBool,
        matching: { card, on, labels, include },
        pos: { start: lhs.pos.start, end: rhs.pos.end },
      };
    }
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t.type !== '+' && t.type !== '-') return this.parsePrimary();
    this.advance();
    const operand = this.parseBinary(UNARY_OPERAND_PRECEDENCE);
    if (operand.type === 'NumberLiteral') {
      if (t.type === '-') operand.val = -operand.val;
      operand.pos.start = t.pos;
      return operand;
    }
    return { type: 'UnaryExpr', op: t.type, expr: operand, pos: { start: t.pos, end: operand.pos.end } };
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.type) {
      case 'NUMBER':
      case 'DURATION':
        this.advance();
        return this.numberLiteral(t);
      case 'STRING':
        this.advance();
        return { type: 'StringLiteral', val: unquoteString(t.val), pos: tokenRange(t) };
      case '(': {
        this.advance();
        const inner = this.parseBinary(0);
        const close = this.expect(')');
        return { type: 'ParenExpr', expr: inner, pos: { start: t.pos, end: close.pos + 1 } };
      }
      case '{':
        return this.parseVectorSelector(undefined);
    }
    if (!METRIC_IDENTIFIER_TOKENS.has(t.type)) this.unexpected();
    this.advance();
    const next = this.peek().type;
    if (t.type === 'IDENTIFIER' && next === '(') return this.parseCall(t);
    if (isAggregator(t.type) && (next === '(' || next === 'by' || next === 'without')) {
      return this.parseAggregation(t);
    }
    if (t.type === 'step' && next === '(') return this.parseStepCall(t);
    return this.parseVectorSelector(t);
  }

  /** NUMBER or DURATION token to a literal (durations in seconds, flagged). */
  private numberLiteral(t: Token): NumberLiteral {
    if (t.type === 'DURATION') {
      let ms = 0;
      try {
        ms = parseDuration(t.val);
      } catch (err) {
        if (err instanceof DurationSyntaxError) this.fail(tokenRange(t), err.message);
        throw err;
      }
      return { type: 'NumberLiteral', val: ms / 1000, duration: true, pos: tokenRange(t) };
    }
    return { type: 'NumberLiteral', val: this.number(t), pos: tokenRange(t) };
  }

  /** Value of a NUMBER token, with Prometheus's error for unparsable ones. */
  number(t: Token): number {
    try {
      return parseNumberLiteral(t.val);
    } catch (err) {
      if (err instanceof LiteralError) this.fail(tokenRange(t), `error parsing number: ${err.message}`);
      throw err;
    }
  }

  /** Number value of a NUMBER or DURATION token (durations in seconds). */
  private numberValue(t: Token): number {
    return this.numberLiteral(t).val;
  }

  // ---- selectors ------------------------------------------------------------------------

  /** A selector after its (already consumed) name token, or at `{` when there is no name. */
  parseVectorSelector(nameTok: Token | undefined): VectorSelector {
    const matchers: Matcher[] = [];
    let end = nameTok ? nameTok.pos + nameTok.val.length : 0;
    const start = nameTok ? nameTok.pos : this.peek().pos;
    if (this.peek().type === '{') end = this.parseLabelMatchers(matchers);
    const vs: VectorSelector = { type: 'VectorSelector', matchers, offset: 0, pos: { start, end } };
    if (nameTok) {
      vs.name = nameTok.val;
      matchers.push(new Matcher('=', '__name__', nameTok.val));
    }
    return vs;
  }

  /** Parses `{…}` into `out`; returns the end offset of the closing brace. */
  private parseLabelMatchers(out: Matcher[]): number {
    this.advance(); // '{'
    for (;;) {
      const t = this.peek();
      if (t.type === '}') return this.advance().pos + 1;
      if (t.type === 'IDENTIFIER') {
        this.advance();
        if (!MATCH_OPS.has(this.peek().type)) this.unexpected('label matching', 'label matching operator');
        const op = this.advance();
        if (this.peek().type !== 'STRING') this.unexpected('label matching', 'string');
        const v = this.advance();
        out.push(this.newMatcher(t.val, op, v, t.pos));
      } else if (t.type === 'STRING') {
        this.advance();
        const name = unquoteString(t.val);
        if (MATCH_OPS.has(this.peek().type)) {
          const op = this.advance();
          if (this.peek().type !== 'STRING') this.unexpected('label matching', 'string');
          const v = this.advance();
          out.push(this.newMatcher(name, op, v, t.pos));
        } else {
          out.push(this.newMatcher('__name__', undefined, t, t.pos));
        }
      } else {
        this.unexpected('label matching', 'identifier or "}"');
      }
      const sep = this.peek();
      if (sep.type === ',') {
        this.advance();
        continue;
      }
      if (sep.type === '}') return this.advance().pos + 1;
      this.unexpected('label matching', '"," or "}"');
    }
  }

  private newMatcher(name: string, op: Token | undefined, value: Token, start: number): Matcher {
    const type = (op?.type ?? '=') as MatchType;
    const val = unquoteString(value.val);
    try {
      return this.opts.matcherCache ? this.opts.matcherCache.get(type, name, val) : new Matcher(type, name, val);
    } catch (err) {
      if (err instanceof InvalidArgumentError) {
        // Prometheus shows the regex engine's own text ("error parsing regexp: …").
        const detail = err.cause instanceof Error ? err.cause.message : err.message;
        this.fail({ start, end: value.pos + value.val.length }, detail);
      }
      throw err;
    }
  }

  // ---- calls and aggregations -----------------------------------------------------------

  /** Parses `( args )` after a function or aggregation name; returns args and `)` end. */
  private parseArgs(): { args: Expr[]; end: number } {
    this.expect('(');
    const args: Expr[] = [];
    if (this.peek().type === ')') return { args, end: this.advance().pos + 1 };
    for (;;) {
      args.push(this.parseBinary(0));
      const t = this.peek();
      if (t.type === ',') {
        this.advance();
        if (!EXPR_START_TOKENS.has(this.peek().type)) {
          this.fail(tokenRange(t), 'trailing commas not allowed in function call args');
        }
        continue;
      }
      if (t.type === ')') return { args, end: this.advance().pos + 1 };
      this.unexpected();
    }
  }

  private parseCall(nameTok: Token): Call {
    const { args, end } = this.parseArgs();
    const fn = this.functions.get(nameTok.val);
    if (!fn) this.fail(tokenRange(nameTok), `unknown function with name ${goQuote(nameTok.val)}`);
    if (fn.experimental && !this.opts.enableExperimentalFunctions) {
      this.fail(tokenRange(nameTok), `function ${goQuote(nameTok.val)} is not enabled`);
    }
    return { type: 'Call', func: fn, args, pos: { start: nameTok.pos, end } };
  }

  private parseAggregation(opTok: Token): AggregateExpr {
    const op = opTok.type as AggregateOp;
    this.enter('aggregation', '');
    {
      let grouping: string[] = [];
      let without = false;
      let modifier = false;
      const m = this.peek().type;
      if (m === 'by' || m === 'without') {
        this.advance();
        without = m === 'without';
        grouping = this.parseGroupingLabels();
        modifier = true;
      }
      if (this.peek().type !== '(') this.unexpected();
      const body = this.parseArgs();
      let end = body.end;
      if (!modifier) {
        const m2 = this.peek().type;
        if (m2 === 'by' || m2 === 'without') {
          this.advance();
          without = m2 === 'without';
          grouping = this.parseGroupingLabels();
          end = this.lastClosing;
        }
      }
      const pos = { start: opTok.pos, end };
      const args = body.args;
      this.leave();
      if (args.length === 0) this.fail(pos, 'no arguments for aggregate expression provided');
      let desired = 1;
      let param: Expr | undefined;
      if (PARAM_AGGREGATORS.has(op)) {
        if (EXPERIMENTAL_AGGREGATORS.has(op) && !this.opts.enableExperimentalFunctions) {
          this.fail(
            pos,
            `${op}() is experimental and must be enabled with --enable-feature=promql-experimental-functions`,
          );
        }
        desired = 2;
        param = args[0];
      }
      if (args.length !== desired) {
        this.fail(
          pos,
          `wrong number of arguments for aggregate expression provided, expected ${desired}, got ${args.length}`,
        );
      }
      const agg: AggregateExpr = {
        type: 'AggregateExpr',
        op,
        expr: args[desired - 1] as Expr,
        grouping,
        without,
        pos,
      };
      if (param) agg.param = param;
      return agg;
    }
  }

  /** `( label, … )` for by/without/on/ignoring/group_x. */
  private parseGroupingLabels(): string[] {
    if (this.peek().type !== '(') this.unexpected('grouping opts', '"("');
    this.advance();
    const labels: string[] = [];
    if (this.peek().type === ')') {
      this.advance();
      return labels;
    }
    for (;;) {
      const t = this.peek();
      if (LABEL_TOKENS.has(t.type)) {
        this.advance();
        labels.push(t.val);
      } else if (t.type === 'STRING') {
        this.advance();
        const name = unquoteString(t.val);
        if (!isValidUtf8LabelName(name)) {
          this.fail(tokenRange(t), `invalid label name for grouping: ${goQuote(name)}`);
        }
        labels.push(name);
      } else {
        this.unexpected('grouping opts', 'label');
      }
      const sep = this.peek();
      if (sep.type === ',') {
        this.advance();
        if (this.peek().type === ')') {
          this.advance();
          return labels;
        }
        continue;
      }
      if (sep.type === ')') {
        this.advance();
        return labels;
      }
      this.unexpected('grouping opts', '"," or ")"');
    }
  }

  // ---- postfix modifiers ----------------------------------------------------------------

  private parsePostfix(e: Expr): Expr {
    for (;;) {
      switch (this.peek().type) {
        case '[':
          e = this.parseRangeOrSubquery(e);
          break;
        case 'offset':
          this.parseOffset(e);
          break;
        case '@':
          this.parseAt(e);
          break;
        case 'anchored':
        case 'smoothed':
          this.setExtendedModifier(e, this.advance().type as 'anchored' | 'smoothed');
          break;
        default:
          return e;
      }
    }
  }

  private parseRangeOrSubquery(e: Expr): Expr {
    const open = this.advance(); // '['
    this.enter('subquery or range selector', 'number, duration, or step()');
    const range = this.parseDurationExpr(0);
    this.leave();
    this.checkPositive(range);
    const t = this.peek();
    if (t.type === ']') {
      const close = this.advance();
      let err = '';
      if (e.type !== 'VectorSelector') err = 'ranges only allowed for vector selectors';
      else if (e.offset !== 0) err = 'no offset modifiers allowed before range';
      else if (typeof e.at === 'number') err = 'no @ modifiers allowed before range';
      if (err) this.fail({ start: open.pos, end: close.pos + 1 }, err);
      const ms: MatrixSelector = {
        type: 'MatrixSelector',
        vectorSelector: e as VectorSelector,
        range: range.type === 'NumberLiteral' ? secondsToMillis(range.val) : 0,
        pos: { start: e.pos.start, end: close.pos + 1 },
      };
      if (range.type === 'DurationExpr') ms.rangeExpr = range;
      return ms;
    }
    if (t.type !== ':') this.unexpected('subquery or range', '":" or "]"');
    this.advance();
    const sq: SubqueryExpr = {
      type: 'SubqueryExpr',
      expr: e,
      range: range.type === 'NumberLiteral' ? secondsToMillis(range.val) : 0,
      offset: 0,
      pos: { start: e.pos.start, end: 0 },
    };
    if (range.type === 'DurationExpr') sq.rangeExpr = range;
    if (this.peek().type !== ']') {
      this.enter('subquery selector', 'number, duration, or step() or "]"');
      const step = this.parseDurationExpr(0);
      this.leave();
      this.checkPositive(step);
      if (step.type === 'NumberLiteral') sq.step = secondsToMillis(step.val);
      else sq.stepExpr = step;
      if (this.peek().type !== ']') this.unexpected('subquery selector', '"]"');
    }
    sq.pos.end = this.advance().pos + 1;
    return sq;
  }

  private checkPositive(d: NumberLiteral | DurationExpr): void {
    if (d.type === 'NumberLiteral' && d.val <= 0) this.fail(d.pos, 'duration must be greater than 0');
  }

  private parseOffset(e: Expr): void {
    this.advance(); // 'offset'
    this.enter('offset', 'number, duration, or step()');
    const d = this.parseOffsetDuration();
    this.leave();
    const target = this.modifierTarget(
      e,
      'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery',
    );
    if (target.offset !== 0 || target.offsetExpr) this.fail(e.pos, 'offset may not be set multiple times');
    if (d.type === 'NumberLiteral') target.offset = secondsToMillis(d.val);
    else target.offsetExpr = d;
    e.pos.end = this.lastClosing;
  }

  /** The selector or subquery that an offset/@ modifier applies to, or a parse error. */
  private modifierTarget(e: Expr, message: string): VectorSelector | SubqueryExpr {
    switch (e.type) {
      case 'VectorSelector':
      case 'SubqueryExpr':
        return e;
      case 'MatrixSelector':
        return e.vectorSelector;
      default:
        this.fail(e.pos, message);
    }
  }

  /** Offset durations: a signed literal, step(), min/max(…) or a parenthesised expression. */
  private parseOffsetDuration(): NumberLiteral | DurationExpr {
    const t = this.peek();
    switch (t.type) {
      case 'NUMBER':
      case 'DURATION':
        return this.durationLiteral(this.advance());
      case '+':
      case '-': {
        this.advance();
        const t2 = this.peek();
        if (t2.type === 'NUMBER' || t2.type === 'DURATION') {
          this.advance();
          const nl = this.numberLiteral(t2);
          if (t.type === '-') nl.val = -nl.val;
          if (nl.val > MAX_DURATION_SECONDS || nl.val < -MAX_DURATION_SECONDS) {
            this.fail(tokenRange(t), 'duration out of range');
          }
          nl.pos.start = t.pos;
          return nl;
        }
        let inner: NumberLiteral | DurationExpr;
        if (t2.type === 'step') inner = this.parseStepCall(this.advance());
        else if (t2.type === 'min' || t2.type === 'max') inner = this.parseMinMax(this.advance());
        else if (t2.type === '(') {
          this.advance();
          inner = this.parseDurationExpr(0);
          this.expect(')');
          if (inner.type === 'DurationExpr') inner.wrapped = true;
        } else this.unexpected();
        return this.signed(t, inner);
      }
      case 'step':
        return this.parseStepCall(this.advance());
      case 'min':
      case 'max':
        return this.parseMinMax(this.advance());
      case '(':
        return this.parseParenDuration();
      default:
        this.unexpected();
    }
  }

  private signed(sign: Token, e: NumberLiteral | DurationExpr): NumberLiteral | DurationExpr {
    if (e.type === 'NumberLiteral') {
      if (sign.type === '-') e.val = -e.val;
      e.pos.start = sign.pos;
      return e;
    }
    if (sign.type === '+') return e;
    return { type: 'DurationExpr', op: '-', rhs: e, wrapped: false, pos: { start: sign.pos, end: e.pos.end } };
  }

  /** A duration literal with the int64-nanoseconds range check. */
  private durationLiteral(t: Token): NumberLiteral {
    const nl = this.numberLiteral(t);
    if (nl.val > MAX_DURATION_SECONDS || nl.val < -MAX_DURATION_SECONDS) this.fail(nl.pos, 'duration out of range');
    return nl;
  }

  private parseStepCall(stepTok: Token): DurationExpr {
    this.expect('(');
    const close = this.expect(')');
    return { type: 'DurationExpr', op: 'step', wrapped: false, pos: { start: stepTok.pos, end: close.pos + 1 } };
  }

  private parseMinMax(opTok: Token): DurationExpr {
    this.expect('(');
    const lhs = this.parseDurationExpr(0);
    this.expect(',');
    const rhs = this.parseDurationExpr(0);
    const close = this.expect(')');
    return {
      type: 'DurationExpr',
      op: opTok.type as DurationOp,
      lhs,
      rhs,
      wrapped: false,
      pos: { start: opTok.pos, end: close.pos + 1 },
    };
  }

  private parseParenDuration(): NumberLiteral | DurationExpr {
    this.advance(); // '('
    const inner = this.parseDurationExpr(0);
    this.expect(')');
    this.experimentalDurationExpr(inner);
    if (inner.type === 'DurationExpr') inner.wrapped = true;
    return inner;
  }

  private experimentalDurationExpr(e: Expr): void {
    if (!this.opts.enableExperimentalDurationExpr) this.fail(e.pos, 'experimental duration expression is not enabled');
  }

  /** Duration arithmetic inside `[…]` and parenthesised offsets. */
  private parseDurationExpr(minPrec: number): NumberLiteral | DurationExpr {
    this.enterNesting();
    const e = this.parseDurationLevel(minPrec);
    this.nesting--;
    return e;
  }

  private parseDurationLevel(minPrec: number): NumberLiteral | DurationExpr {
    let lhs = this.parseDurationOperand();
    for (;;) {
      const opTok = this.peek();
      const prec = DURATION_PRECEDENCE[opTok.type];
      if (prec === undefined || prec < minPrec) return lhs;
      this.advance();
      const rhs = this.parseDurationExpr(opTok.type === '^' ? prec : prec + 1);
      this.experimentalDurationExpr(lhs);
      if (rhs.type === 'NumberLiteral' && rhs.val === 0) {
        if (opTok.type === '/') this.fail(tokenRange(opTok), 'division by zero');
        if (opTok.type === '%') this.fail(tokenRange(opTok), 'modulo by zero');
      }
      lhs = {
        type: 'DurationExpr',
        op: opTok.type as DurationOp,
        lhs,
        rhs,
        wrapped: false,
        pos: { start: lhs.pos.start, end: rhs.pos.end },
      };
    }
  }

  private parseDurationOperand(): NumberLiteral | DurationExpr {
    const t = this.peek();
    switch (t.type) {
      case 'NUMBER':
      case 'DURATION':
        return this.durationLiteral(this.advance());
      case '+':
      case '-': {
        this.advance();
        const res = this.signed(t, this.parseDurationExpr(UNARY_OPERAND_PRECEDENCE));
        if (res.type === 'NumberLiteral' && (res.val > MAX_DURATION_SECONDS || res.val < -MAX_DURATION_SECONDS)) {
          this.fail(tokenRange(t), 'duration out of range');
        }
        return res;
      }
      case 'step':
        return this.parseStepCall(this.advance());
      case 'min':
      case 'max':
        return this.parseMinMax(this.advance());
      case '(':
        return this.parseParenDuration();
      default:
        this.unexpected();
    }
  }

  private parseAt(e: Expr): void {
    this.advance(); // '@'
    this.enter('@', 'timestamp');
    {
      const t = this.peek();
      if (t.type === 'start' || t.type === 'end') {
        this.advance();
        this.expect('(');
        this.expect(')');
        this.leave();
        const target = this.atTarget(e);
        target.at = t.type;
        e.pos.end = this.lastClosing;
        return;
      }
      let ts: number;
      if (t.type === 'NUMBER' || t.type === 'DURATION') {
        ts = this.numberValue(this.advance());
      } else if (t.type === '+' || t.type === '-') {
        this.advance();
        const n = this.peek();
        if (n.type !== 'NUMBER' && n.type !== 'DURATION') this.unexpected();
        ts = this.numberValue(this.advance());
        if (t.type === '-') ts = -ts;
      } else {
        this.unexpected();
      }
      this.leave();
      if (!Number.isFinite(ts) || ts >= INT64_LIMIT || ts <= -INT64_LIMIT) {
        this.fail(e.pos, `timestamp out of bounds for @ modifier: ${formatF6(ts)}`);
      }
      const target = this.atTarget(e);
      target.at = goRound(ts * 1000);
      e.pos.end = this.lastClosing;
    }
  }

  private atTarget(e: Expr): VectorSelector | SubqueryExpr {
    const target = this.modifierTarget(
      e,
      '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery',
    );
    if (target.at !== undefined) this.fail(e.pos, '@ <timestamp> may not be set multiple times');
    return target;
  }

  private setExtendedModifier(e: Expr, which: 'anchored' | 'smoothed'): void {
    if (!this.opts.enableExtendedRangeSelectors) {
      this.fail(e.pos, `${which} modifier is experimental and not enabled`);
    }
    let vs: VectorSelector;
    switch (e.type) {
      case 'VectorSelector':
        vs = e;
        break;
      case 'MatrixSelector':
        vs = e.vectorSelector;
        break;
      case 'SubqueryExpr':
        this.fail(e.pos, `${which} modifier is not supported for subqueries`);
        break;
      default:
        this.fail(e.pos, `${which} modifier not implemented`);
    }
    vs[which] = true;
    if (vs.anchored && vs.smoothed) this.fail(e.pos, 'anchored and smoothed modifiers cannot be used together');
  }
}

/** Prometheus 3 accepts any non-empty valid UTF-8 string as a label name. */
export function isValidUtf8LabelName(name: string): boolean {
  if (name === '') return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = name.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      return false;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

// ---- type checking ----------------------------------------------------------------------

/** Type-checks a parsed tree like Prometheus's `checkAST`, failing on the first problem. */
class Checker {
  constructor(
    private readonly input: string,
    private readonly lineOffset: number,
  ) {}

  private fail(pos: PositionRange, detail: string): never {
    throw new ParseError(detail, pos, this.input, this.lineOffset);
  }

  private expectType(e: Expr, want: ValueType, context: string): void {
    const t = this.check(e);
    if (t !== want) {
      this.fail(e.pos, `expected type ${documentedType(want)} in ${context}, got ${documentedType(t)}`);
    }
  }

  /** Range of the operator between the operands (Prometheus's quirky inclusive end). */
  private opRange(lhs: Expr, rhs: Expr): PositionRange {
    let start = lhs.pos.end;
    while (start < this.input.length && /\s/.test(this.input[start] as string)) start++;
    let end = rhs.pos.start - 1;
    while (end > 0 && /\s/.test(this.input[end] as string)) end--;
    return { start, end };
  }

  check(e: Expr): ValueType {
    switch (e.type) {
      case 'AggregateExpr': {
        this.expectType(e.expr, 'vector', 'aggregation expression');
        if (e.param) {
          if (e.op === 'count_values') this.expectType(e.param, 'string', 'aggregation parameter');
          else this.expectType(e.param, 'scalar', 'aggregation parameter');
        }
        return 'vector';
      }
      case 'BinaryExpr':
        return this.checkBinary(e);
      case 'Call':
        return this.checkCall(e);
      case 'ParenExpr': {
        return this.check(e.expr);
      }
      case 'UnaryExpr': {
        const t = this.check(e.expr);
        if (t !== 'scalar' && t !== 'vector') {
          this.fail(
            e.pos,
            `unary expression only allowed on expressions of type scalar or instant vector, got ${goQuote(documentedType(t))}`,
          );
        }
        return t;
      }
      case 'SubqueryExpr': {
        const t = this.check(e.expr);
        if (t !== 'vector') this.fail(e.pos, `subquery is only allowed on instant vector, got ${t} instead`);
        return 'matrix';
      }
      case 'MatrixSelector':
        this.check(e.vectorSelector);
        return 'matrix';
      case 'VectorSelector':
        this.checkVectorSelector(e, false);
        return 'vector';
      case 'NumberLiteral':
        return 'scalar';
      case 'StringLiteral':
        return 'string';
      case 'StepInvariantExpr':
        return this.check(e.expr);
      case 'DurationExpr':
        // Prometheus has no rule for a bare duration expression outside ranges and offsets.
        this.fail(e.pos, 'unknown node type: *parser.DurationExpr');
    }
  }

  private checkVectorSelector(vs: VectorSelector, bypassEmptyCheck: boolean): void {
    if (vs.name !== undefined) {
      for (const m of vs.matchers.slice(0, -1)) {
        if (m.name === '__name__') {
          this.fail(vs.pos, `metric name must not be set twice: ${goQuote(vs.name)} or ${goQuote(m.value)}`);
        }
      }
      return;
    }
    if (!bypassEmptyCheck && !vs.matchers.some((m) => !m.matches(''))) {
      this.fail(vs.pos, 'vector selector must contain at least one non-empty matcher');
    }
  }

  private checkBinary(e: Extract<Expr, { type: 'BinaryExpr' }>): ValueType {
    const lt = this.check(e.lhs);
    const rt = this.check(e.rhs);
    const isComparison = ['==', '!=', '<', '<=', '>', '>='].includes(e.op);
    const isSet = e.op === 'and' || e.op === 'or' || e.op === 'unless';
    if (e.returnBool && !isComparison) {
      this.fail(this.opRange(e.lhs, e.rhs), 'bool modifier can only be used on comparison operators');
    }
    if (isComparison && !e.returnBool && lt === 'scalar' && rt === 'scalar') {
      this.fail(this.opRange(e.lhs, e.rhs), 'comparisons between scalars must use BOOL modifier');
    }
    const vm = e.matching;
    if (vm) {
      if (isSet && vm.card === 'one-to-one') vm.card = 'many-to-many';
      if (vm.on) {
        for (const l of vm.labels) {
          if (vm.include.includes(l)) {
            this.fail(this.opRange(e.lhs, e.rhs), `label ${goQuote(l)} must not occur in ON and GROUP clause at once`);
          }
        }
      }
    }
    if (lt !== 'scalar' && lt !== 'vector') {
      this.fail(e.lhs.pos, 'binary expression must contain only scalar and instant vector types');
    }
    if (rt !== 'scalar' && rt !== 'vector') {
      this.fail(e.rhs.pos, 'binary expression must contain only scalar and instant vector types');
    }
    if ((lt !== 'vector' || rt !== 'vector') && vm) {
      if (vm.labels.length > 0) this.fail(e.pos, 'vector matching only allowed between instant vectors');
      delete e.matching;
    } else if (isSet && vm) {
      if (vm.card === 'one-to-many' || vm.card === 'many-to-one') {
        this.fail(e.pos, `no grouping allowed for ${goQuote(e.op)} operation`);
      }
      if (vm.card !== 'many-to-many') this.fail(e.pos, 'set operations must always be many-to-many');
    }
    if ((lt === 'scalar' || rt === 'scalar') && isSet) {
      this.fail(e.pos, `set operator ${goQuote(e.op)} not allowed in binary scalar expression`);
    }
    return lt === 'scalar' && rt === 'scalar' ? 'scalar' : 'vector';
  }

  private checkCall(e: Call): ValueType {
    const fn = e.func;
    const nargs = fn.argTypes.length;
    const name = fn.name; // quoted only when an error is reported
    if (fn.variadic === 0) {
      if (nargs !== e.args.length) {
        this.fail(e.pos, `expected ${nargs} argument(s) in call to ${goQuote(name)}, got ${e.args.length}`);
      }
    } else {
      const na = nargs - 1;
      if (na > e.args.length) {
        this.fail(e.pos, `expected at least ${na} argument(s) in call to ${goQuote(name)}, got ${e.args.length}`);
      } else if (fn.variadic > 0 && na + fn.variadic < e.args.length) {
        this.fail(
          e.pos,
          `expected at most ${na + fn.variadic} argument(s) in call to ${goQuote(name)}, got ${e.args.length}`,
        );
      }
    }
    let bypassInfoSelector: Expr | undefined;
    if (fn.name === 'info' && e.args.length > 1) {
      const arg = e.args[1] as Expr;
      const t = exprType(arg);
      if (t !== 'vector') {
        this.fail(e.pos, `expected type instant vector in call to function ${goQuote(name)}, got ${documentedType(t)}`);
      }
      if (arg.type === 'VectorSelector' && arg.name !== undefined) {
        this.fail(arg.pos, 'expected label selectors only, got vector selector instead');
      } else if (arg.type === 'VectorSelector') {
        bypassInfoSelector = arg;
      } else {
        this.fail(arg.pos, 'expected label selectors only');
      }
    }
    e.args.forEach((arg, i) => {
      let idx = i;
      if (idx >= nargs) {
        if (fn.variadic === 0) return;
        idx = nargs - 1;
      }
      let t: ValueType;
      if (arg === bypassInfoSelector) {
        this.checkVectorSelector(arg as VectorSelector, true);
        t = 'vector';
      } else {
        t = this.check(arg);
      }
      const want = fn.argTypes[idx] as ValueType;
      if (t !== want) {
        this.fail(
          arg.pos,
          `expected type ${documentedType(want)} in call to function ${goQuote(name)}, got ${documentedType(t)}`,
        );
      }
    });
    return fn.returnType;
  }
}

/** Depth of the tree, computed without recursion. */
function treeDepth(root: Expr): number {
  let max = 0;
  const nodes: Expr[] = [root];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop() as Expr;
    const d = depths.pop() as number;
    if (d > max) max = d;
    switch (node.type) {
      case 'NumberLiteral':
      case 'StringLiteral':
      case 'VectorSelector':
      case 'MatrixSelector':
        break;
      case 'BinaryExpr':
        nodes.push(node.lhs, node.rhs);
        depths.push(d + 1, d + 1);
        break;
      default:
        for (const c of children(node)) {
          nodes.push(c);
          depths.push(d + 1);
        }
    }
  }
  return max;
}

// ---- entry points -----------------------------------------------------------------------

/**
 * Parses and type-checks a PromQL expression. Throws ParseError (code PROMQL_PARSE) with
 * Prometheus's message, e.g. `1:5: parse error: unexpected <op:*>`.
 */
export function parseExpr(input: string, opts: ParseOptions = {}): Expr {
  const p = new Parser(input, opts);
  const e = p.parseTopLevel();
  const depth = treeDepth(e);
  if (depth > MAX_TREE_DEPTH) {
    throw new ParseError(
      `expression is too deep (${depth} levels, at most ${MAX_TREE_DEPTH})`,
      e.pos,
      input,
      opts.lineOffset ?? 0,
    );
  }
  new Checker(input, opts.lineOffset ?? 0).check(e);
  return e;
}

/**
 * Parses a series selector such as `up{job="api"}` or `{__name__=~"a.*"}` into matchers
 * (the `match[]` parameter of the HTTP API). No emptiness check, like Prometheus.
 */
export function parseMetricSelector(input: string): Matcher[] {
  const p = new Parser(input, {});
  const t = p.peek();
  if (t.type !== '{' && !METRIC_IDENTIFIER_TOKENS.has(t.type)) p.unexpected();
  const name = t.type === '{' ? undefined : p.advance();
  const sel = p.parseVectorSelector(name);
  if (p.peek().type !== 'EOF') p.unexpected();
  return sel.matchers;
}
