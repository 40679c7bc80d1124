/**
 * Values of experimental duration expressions (`x[5m + step()]`, `offset -(step()*2)`), in
 * seconds like number literals. They are constant for a whole query: `step()` is the query step.
 */
import type { Expr } from '../parser/ast.js';
import { UnsupportedQueryError } from './errors.js';

/** Evaluates a duration expression to seconds for a query with step `stepMs`. */
export function durationSeconds(e: Expr, stepMs: number): number {
  switch (e.type) {
    case 'NumberLiteral':
      return e.val;
    case 'ParenExpr':
      return durationSeconds(e.expr, stepMs);
    case 'UnaryExpr':
      return e.op === '-' ? -durationSeconds(e.expr, stepMs) : durationSeconds(e.expr, stepMs);
    case 'DurationExpr': {
      if (e.op === 'step') return stepMs / 1000;
      const r = e.rhs === undefined ? 0 : durationSeconds(e.rhs, stepMs);
      if (e.lhs === undefined) return e.op === '-' ? -r : r;
      const l = durationSeconds(e.lhs, stepMs);
      switch (e.op) {
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '*':
          return l * r;
        case '/':
          return l / r;
        case '%':
          return l % r;
        case '^':
          return l ** r;
        case 'min':
          return Math.min(l, r);
        case 'max':
          return Math.max(l, r);
      }
      return Number.NaN;
    }
    default:
      throw new UnsupportedQueryError(`duration expression of type ${e.type}`);
  }
}

/** Milliseconds of an optional duration expression, or `fallback` when there is none. */
export function durationMs(e: Expr | undefined, fallback: number, stepMs: number): number {
  return e === undefined ? fallback : Math.round(durationSeconds(e, stepMs) * 1000);
}
