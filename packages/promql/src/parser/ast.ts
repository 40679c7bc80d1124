/**
 * The PromQL abstract syntax tree, shaped after Prometheus 3's `promql/parser/ast.go`.
 *
 * Every node is a plain object with a `type` discriminant and a `pos` range of character
 * offsets into the query string (`start` inclusive, `end` exclusive). Durations and timestamps
 * are milliseconds. The tree is produced by `parseExpr` and consumed by the engine and the printer.
 */
import type { Matcher } from '@thanos-ts/tsdb';

/** The four PromQL value types, plus 'none' for a missing/invalid expression. */
export type ValueType = 'none' | 'scalar' | 'vector' | 'matrix' | 'string';

/** Half-open range of character offsets into the query string. */
export interface PositionRange {
  start: number;
  end: number;
}

/** Signature of a PromQL function (Prometheus's `parser.Function`). */
export interface FunctionDef {
  readonly name: string;
  /** Argument types in order; with `variadic` != 0 the last ones are optional/repeated. */
  readonly argTypes: readonly ValueType[];
  /**
   * 0: exactly `argTypes.length` args. n > 0: up to n of the trailing argument types may be
   * omitted. -1: the last argument type may repeat any number of times (also zero).
   */
  readonly variadic: number;
  readonly returnType: ValueType;
  /** Rejected by the parser unless `enableExperimentalFunctions` is set. */
  readonly experimental: boolean;
}

/** Aggregation operators. `limitk` and `limit_ratio` are experimental. */
export type AggregateOp =
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
  | 'quantile'
  | 'count_values'
  | 'limitk'
  | 'limit_ratio';

/** Arithmetic binary operators. */
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
/** Comparison binary operators (filter, or 0/1 with `bool`). */
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
/** Set binary operators (vector/vector only, many-to-many). */
export type SetOp = 'and' | 'or' | 'unless';
/** Every binary operator. */
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

/** Vector matching cardinality of a binary expression between two instant vectors. */
export type VectorMatchCardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

/** How the two sides of a vector/vector binary expression are matched. */
export interface VectorMatching {
  card: VectorMatchCardinality;
  /** true: `on(labels)`; false: `ignoring(labels)` (or no modifier with an empty list). */
  on: boolean;
  /** The `on`/`ignoring` label list. */
  labels: string[];
  /** The `group_left`/`group_right` extra labels copied from the "one" side. */
  include: string[];
}

/** A number literal. `duration` marks literals written as durations (printed back as such). */
export interface NumberLiteral {
  type: 'NumberLiteral';
  val: number;
  duration?: boolean;
  pos: PositionRange;
}

/** A string literal, already unquoted. */
export interface StringLiteral {
  type: 'StringLiteral';
  val: string;
  pos: PositionRange;
}

/**
 * An instant vector selector. `matchers` includes the `__name__` matcher whenever a name was
 * given, either as `name{…}` or as a quoted name inside the braces.
 */
export interface VectorSelector {
  type: 'VectorSelector';
  /** The metric name written before the braces, if any (quoted names in braces leave it unset). */
  name?: string;
  matchers: Matcher[];
  /** `offset` in milliseconds (negative allowed), 0 when absent. */
  offset: number;
  /** Offset given as a duration expression (experimental), evaluated by the engine. */
  offsetExpr?: DurationExpr;
  /** `@` modifier: timestamp in ms, or `start()`/`end()`. */
  at?: number | 'start' | 'end';
  /** `anchored` modifier (experimental extended range selectors). */
  anchored?: boolean;
  /** `smoothed` modifier (experimental extended range selectors). */
  smoothed?: boolean;
  pos: PositionRange;
}

/** A range vector selector `selector[range]`. */
export interface MatrixSelector {
  type: 'MatrixSelector';
  vectorSelector: VectorSelector;
  /** Range in milliseconds (0 when given by `rangeExpr`). */
  range: number;
  /** Range given as a duration expression (experimental). */
  rangeExpr?: DurationExpr;
  pos: PositionRange;
}

/** A subquery `expr[range:step]`, or `expr[range:]` using the default step. */
export interface SubqueryExpr {
  type: 'SubqueryExpr';
  expr: Expr;
  /** Range in milliseconds (0 when given by `rangeExpr`). */
  range: number;
  rangeExpr?: DurationExpr;
  /** Step in milliseconds; undefined means the engine's default evaluation interval. */
  step?: number;
  stepExpr?: DurationExpr;
  /** `offset` in milliseconds, 0 when absent. */
  offset: number;
  offsetExpr?: DurationExpr;
  at?: number | 'start' | 'end';
  pos: PositionRange;
}

/** A function call. */
export interface Call {
  type: 'Call';
  func: FunctionDef;
  args: Expr[];
  pos: PositionRange;
}

/** An aggregation, e.g. `sum by (job) (x)` or `topk(3, x)`. */
export interface AggregateExpr {
  type: 'AggregateExpr';
  op: AggregateOp;
  expr: Expr;
  /** The parameter of topk/bottomk/quantile/count_values/limitk/limit_ratio. */
  param?: Expr;
  grouping: string[];
  /** true for `without (…)`, false for `by (…)` or no grouping. */
  without: boolean;
  pos: PositionRange;
}

/** A binary expression. `matching` is set only when both sides are instant vectors. */
export interface BinaryExpr {
  type: 'BinaryExpr';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  returnBool: boolean;
  matching?: VectorMatching;
  pos: PositionRange;
}

/** A unary `-expr` or `+expr` (a sign on a number literal is folded into the literal). */
export interface UnaryExpr {
  type: 'UnaryExpr';
  op: '-' | '+';
  expr: Expr;
  pos: PositionRange;
}

/** A parenthesised expression. */
export interface ParenExpr {
  type: 'ParenExpr';
  expr: Expr;
  pos: PositionRange;
}

/**
 * Wraps a subtree whose value does not change from step to step (e.g. it has `@`), so the
 * engine can evaluate it once. The parser never produces it; `wrapStepInvariant` may.
 */
export interface StepInvariantExpr {
  type: 'StepInvariantExpr';
  expr: Expr;
  pos: PositionRange;
}

/** Operators of duration expressions (Prometheus's experimental `duration_expr`). */
export type DurationOp = '+' | '-' | '*' | '/' | '%' | '^' | 'step' | 'min' | 'max';

/**
 * An arithmetic expression over durations in a range, subquery step or offset, e.g.
 * `foo[5m + step()]`, experimental. Values are in seconds (like number literals); `step` is the
 * query step. Unary minus is `op: '-'` with only `rhs`.
 */
export interface DurationExpr {
  type: 'DurationExpr';
  op: DurationOp;
  lhs?: Expr;
  rhs?: Expr;
  /** Written in parentheses (kept for printing). */
  wrapped: boolean;
  pos: PositionRange;
}

/** Any PromQL expression. */
export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | Call
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | ParenExpr
  | StepInvariantExpr
  | DurationExpr;

/** The `type` discriminant of every node. */
export type ExprKind = Expr['type'];

/** The value type an expression evaluates to (Prometheus's `Expr.Type()`). */
export function exprType(e: Expr): ValueType {
  switch (e.type) {
    case 'NumberLiteral':
    case 'DurationExpr':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
    case 'AggregateExpr':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'Call':
      return e.func.returnType;
    case 'BinaryExpr':
      return exprType(e.lhs) === 'scalar' && exprType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'UnaryExpr':
    case 'ParenExpr':
    case 'StepInvariantExpr':
      return exprType(e.expr);
  }
}

/** The direct children of a node, in source order. */
export function children(e: Expr): Expr[] {
  switch (e.type) {
    case 'NumberLiteral':
    case 'StringLiteral':
    case 'VectorSelector':
      return [];
    case 'MatrixSelector':
      return [e.vectorSelector];
    case 'SubqueryExpr':
    case 'UnaryExpr':
    case 'ParenExpr':
    case 'StepInvariantExpr':
      return [e.expr];
    case 'Call':
      return e.args;
    case 'AggregateExpr':
      return e.param ? [e.param, e.expr] : [e.expr];
    case 'BinaryExpr':
      return [e.lhs, e.rhs];
    case 'DurationExpr': {
      const out: Expr[] = [];
      if (e.lhs) out.push(e.lhs);
      if (e.rhs) out.push(e.rhs);
      return out;
    }
  }
}

/**
 * Visits `e` and its descendants depth-first, parents before children. `path` holds the
 * ancestors of the visited node. Returning `false` from `fn` skips that node's children.
 */
export function inspect(e: Expr, fn: (node: Expr, path: readonly Expr[]) => unknown): void {
  const path: Expr[] = [];
  const visit = (node: Expr): void => {
    if (fn(node, path) === false) return;
    path.push(node);
    for (const c of children(node)) visit(c);
    path.pop();
  };
  visit(e);
}
