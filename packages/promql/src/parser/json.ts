/**
 * The AST as JSON in the shape of Prometheus's `/api/v1/parse_query` (its `translateAST`), which
 * the Prometheus and Thanos UIs use for their query tree view. Keys are in sorted order, as Go's
 * encoding/json writes maps, so `JSON.stringify` of the result matches Prometheus byte for byte.
 */
import type { Matcher } from '@thanos-ts/tsdb';
import type { Expr } from './ast.js';
import { formatFloat } from './printer.js';

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function matchers(ms: readonly Matcher[]): JsonValue {
  return ms.map((m) => ({ name: m.name, type: m.type, value: m.value }));
}

function startOrEnd(at: number | 'start' | 'end' | undefined): JsonValue {
  return at === 'start' || at === 'end' ? at : null;
}

function timestamp(at: number | 'start' | 'end' | undefined): JsonValue {
  return typeof at === 'number' ? at : null;
}

/**
 * Translates an expression (or undefined → null). Duration expressions are not part of
 * Prometheus's translation: a range, step or offset given as one is reported as 0, as there.
 */
export function exprToPrometheusJSON(e: Expr | undefined): JsonValue {
  if (!e) return null;
  switch (e.type) {
    case 'AggregateExpr':
      return {
        expr: exprToPrometheusJSON(e.expr),
        grouping: [...e.grouping],
        op: e.op,
        param: exprToPrometheusJSON(e.param),
        type: 'aggregation',
        without: e.without,
      };
    case 'BinaryExpr': {
      const m = e.matching;
      return {
        bool: e.returnBool,
        lhs: exprToPrometheusJSON(e.lhs),
        matching: m ? { card: m.card, include: [...m.include], labels: [...m.labels], on: m.on } : null,
        op: e.op,
        rhs: exprToPrometheusJSON(e.rhs),
        type: 'binaryExpr',
      };
    }
    case 'Call':
      return {
        args: e.args.map((a) => exprToPrometheusJSON(a)),
        func: {
          argTypes: [...e.func.argTypes],
          name: e.func.name,
          returnType: e.func.returnType,
          variadic: e.func.variadic,
        },
        type: 'call',
      };
    case 'MatrixSelector': {
      const vs = e.vectorSelector;
      return {
        anchored: vs.anchored ?? false,
        matchers: matchers(vs.matchers),
        name: vs.name ?? '',
        offset: vs.offset,
        range: e.range,
        smoothed: vs.smoothed ?? false,
        startOrEnd: startOrEnd(vs.at),
        timestamp: timestamp(vs.at),
        type: 'matrixSelector',
      };
    }
    case 'SubqueryExpr':
      return {
        expr: exprToPrometheusJSON(e.expr),
        offset: e.offset,
        range: e.range,
        startOrEnd: startOrEnd(e.at),
        step: e.step ?? 0,
        timestamp: timestamp(e.at),
        type: 'subquery',
      };
    case 'NumberLiteral':
      return { type: 'numberLiteral', val: formatFloat(e.val) };
    case 'ParenExpr':
      return { expr: exprToPrometheusJSON(e.expr), type: 'parenExpr' };
    case 'StringLiteral':
      return { type: 'stringLiteral', val: e.val };
    case 'UnaryExpr':
      return { expr: exprToPrometheusJSON(e.expr), op: e.op, type: 'unaryExpr' };
    case 'VectorSelector':
      return {
        anchored: e.anchored ?? false,
        matchers: matchers(e.matchers),
        name: e.name ?? '',
        offset: e.offset,
        smoothed: e.smoothed ?? false,
        startOrEnd: startOrEnd(e.at),
        timestamp: timestamp(e.at),
        type: 'vectorSelector',
      };
    case 'StepInvariantExpr':
      return exprToPrometheusJSON(e.expr);
    case 'DurationExpr':
      // Only reachable for a bare `step()`, which never type-checks.
      return null;
  }
}
