/**
 * A compact, position-annotated S-expression rendering of an AST, e.g.
 * `(+ @0:5 (num 1 @0:1) (num 2 @4:5))`. Meant for tests and debugging, where it shows
 * precedence, grouping and positions at a glance.
 */
import type { Expr } from './ast.js';
import { formatMatcher } from './printer.js';

/** Renders `e` as an S-expression with `@start:end` positions. */
export function toSExpr(e: Expr): string {
  const at = `@${e.pos.start}:${e.pos.end}`;
  switch (e.type) {
    case 'NumberLiteral':
      return `(num ${e.val}${e.duration ? 's' : ''} ${at})`;
    case 'StringLiteral':
      return `(str ${JSON.stringify(e.val)} ${at})`;
    case 'VectorSelector': {
      const mods: string[] = [];
      if (e.offset) mods.push(`offset=${e.offset}`);
      if (e.offsetExpr) mods.push(`offset=${toSExpr(e.offsetExpr)}`);
      if (e.at !== undefined) mods.push(`at=${e.at}`);
      if (e.anchored) mods.push('anchored');
      if (e.smoothed) mods.push('smoothed');
      const ms = e.matchers.map(formatMatcher).join(',');
      return `(sel ${e.name ?? '_'} {${ms}}${mods.length ? ` ${mods.join(' ')}` : ''} ${at})`;
    }
    case 'MatrixSelector':
      return `(matrix ${toSExpr(e.vectorSelector)} ${e.rangeExpr ? toSExpr(e.rangeExpr) : e.range} ${at})`;
    case 'SubqueryExpr': {
      const mods: string[] = [];
      if (e.offset) mods.push(`offset=${e.offset}`);
      if (e.offsetExpr) mods.push(`offset=${toSExpr(e.offsetExpr)}`);
      if (e.at !== undefined) mods.push(`at=${e.at}`);
      const range = e.rangeExpr ? toSExpr(e.rangeExpr) : e.range;
      const step = e.stepExpr ? toSExpr(e.stepExpr) : (e.step ?? '');
      return `(subquery ${toSExpr(e.expr)} ${range}:${step}${mods.length ? ` ${mods.join(' ')}` : ''} ${at})`;
    }
    case 'Call':
      return `(${e.func.name}${e.args.map((a) => ` ${toSExpr(a)}`).join('')} ${at})`;
    case 'AggregateExpr': {
      const g = e.without
        ? ` without(${e.grouping.join(',')})`
        : e.grouping.length
          ? ` by(${e.grouping.join(',')})`
          : '';
      return `(${e.op}${g}${e.param ? ` ${toSExpr(e.param)}` : ''} ${toSExpr(e.expr)} ${at})`;
    }
    case 'BinaryExpr': {
      let mods = e.returnBool ? ' bool' : '';
      const m = e.matching;
      if (m && (m.card !== 'one-to-one' || m.on || m.labels.length)) {
        mods += ` ${m.on ? 'on' : 'ignoring'}(${m.labels.join(',')}) ${m.card}`;
        if (m.include.length) mods += `(${m.include.join(',')})`;
      }
      return `(${e.op}${mods} ${toSExpr(e.lhs)} ${toSExpr(e.rhs)} ${at})`;
    }
    case 'UnaryExpr':
      return `(neg${e.op === '+' ? '+' : ''} ${toSExpr(e.expr)} ${at})`;
    case 'ParenExpr':
      return `(paren ${toSExpr(e.expr)} ${at})`;
    case 'StepInvariantExpr':
      return `(invariant ${toSExpr(e.expr)} ${at})`;
    case 'DurationExpr': {
      const parts = [e.lhs, e.rhs].filter((x): x is Expr => x !== undefined).map(toSExpr);
      return `(dur${e.wrapped ? '()' : ''} ${e.op}${parts.map((p) => ` ${p}`).join('')} ${at})`;
    }
  }
}
