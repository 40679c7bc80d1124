/**
 * AST → canonical PromQL text, matching Prometheus's `String()` methods (used in tests, in the
 * engine's messages and anywhere a query is shown back to a user).
 */
import type { Matcher } from '@thanos-ts/tsdb';
import { formatPromDuration as formatDuration, goQuote, utf8Length } from '@thanos-ts/tsdb/goformat';
import type {
  AggregateExpr,
  BinaryExpr,
  DurationExpr,
  Expr,
  MatrixSelector,
  SubqueryExpr,
  VectorSelector,
} from './ast.js';

const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LEGACY_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Formats an expression as Prometheus would print it. */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      if (e.duration) {
        return e.val < 0 ? `-${formatDuration(-e.val * 1000)}` : formatDuration(e.val * 1000);
      }
      return formatFloat(e.val);
    case 'StringLiteral':
      return goQuote(e.val);
    case 'VectorSelector':
      return formatVectorSelector(e);
    case 'MatrixSelector':
      return formatMatrixSelector(e);
    case 'SubqueryExpr':
      return formatExpr(e.expr) + subquerySuffix(e);
    case 'Call':
      return `${e.func.name}(${e.args.map(formatExpr).join(', ')})`;
    case 'AggregateExpr':
      return formatAggregate(e);
    case 'BinaryExpr':
      return `${formatExpr(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''}${matchingString(e)} ${formatExpr(e.rhs)}`;
    case 'UnaryExpr':
      return e.op + formatExpr(e.expr);
    case 'ParenExpr':
      return `(${formatExpr(e.expr)})`;
    case 'StepInvariantExpr':
      return formatExpr(e.expr);
    case 'DurationExpr':
      return formatDurationExpr(e);
  }
}

/**
 * Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, never an exponent;
 * `+Inf`, `-Inf`, `NaN`.
 */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, intDigit, frac = '', expStr] = m;
  const digits = intDigit + frac;
  const exp = Number(expStr);
  if (exp >= 0) {
    const intLen = exp + 1;
    return (
      sign +
      (digits.length <= intLen
        ? digits + '0'.repeat(intLen - digits.length)
        : `${digits.slice(0, intLen)}.${digits.slice(intLen)}`)
    );
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

/** A label matcher in PromQL form, quoting non-legacy names like Prometheus 3. */
export function formatMatcher(m: Matcher): string {
  const name = LEGACY_LABEL_NAME.test(m.name) ? m.name : goQuote(m.name);
  return `${name}${m.type}${goQuote(m.value)}`;
}

function formatLabelList(names: readonly string[]): string {
  return names.map((n) => (LEGACY_METRIC_NAME.test(n) ? n : goQuote(n))).join(', ');
}

function aggregateOpString(e: AggregateExpr): string {
  let s: string = e.op;
  if (e.without) s += ` without (${formatLabelList(e.grouping)}) `;
  else if (e.grouping.length > 0) s += ` by (${formatLabelList(e.grouping)}) `;
  return s;
}

function formatAggregate(e: AggregateExpr): string {
  let s = `${aggregateOpString(e)}(`;
  if (e.param) s += `${formatExpr(e.param)}, `;
  return `${s}${formatExpr(e.expr)})`;
}

function matchingString(e: BinaryExpr): string {
  const vm = e.matching;
  if (!vm) return '';
  let s = '';
  const grouped = vm.card === 'many-to-one' || vm.card === 'one-to-many';
  if (vm.labels.length > 0 || vm.on || grouped) {
    s = ` ${vm.on ? 'on' : 'ignoring'} (${vm.labels.join(', ')})`;
  }
  if (grouped) s += ` group_${vm.card === 'many-to-one' ? 'left' : 'right'} (${vm.include.join(', ')})`;
  return s;
}

function formatDurationExpr(e: DurationExpr): string {
  let s: string;
  switch (e.op) {
    case 'step':
      s = 'step()';
      break;
    case 'min':
    case 'max':
      s = `${e.op}(${formatExpr(e.lhs as Expr)}, ${formatExpr(e.rhs as Expr)})`;
      break;
    default:
      if (!e.lhs) s = e.op === '-' ? `-${formatExpr(e.rhs as Expr)}` : formatExpr(e.rhs as Expr);
      else s = `${formatExpr(e.lhs)} ${e.op} ${formatExpr(e.rhs as Expr)}`;
  }
  return e.wrapped ? `(${s})` : s;
}

function atString(at: number | 'start' | 'end' | undefined): string {
  if (at === undefined) return '';
  if (at === 'start' || at === 'end') return ` @ ${at}()`;
  return ` @ ${(at / 1000).toFixed(3)}`;
}

function offsetString(offset: number, offsetExpr: DurationExpr | undefined): string {
  if (offsetExpr) return ` offset ${formatDurationExpr(offsetExpr)}`;
  if (offset > 0) return ` offset ${formatDuration(offset)}`;
  if (offset < 0) return ` offset -${formatDuration(-offset)}`;
  return '';
}

function matcherList(vs: VectorSelector): string {
  const parts: string[] = [];
  for (const m of vs.matchers) {
    if (m.name === '__name__' && m.type === '=' && m.value === vs.name && m.value !== '') continue;
    parts.push(formatMatcher(m));
  }
  if (parts.length === 0) return '';
  parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${parts.join(',')}}`;
}

function formatVectorSelector(vs: VectorSelector): string {
  let s = (vs.name ?? '') + matcherList(vs) + atString(vs.at);
  if (vs.anchored) s += ' anchored';
  else if (vs.smoothed) s += ' smoothed';
  return s + offsetString(vs.offset, vs.offsetExpr);
}

function formatMatrixSelector(ms: MatrixSelector): string {
  const vs = ms.vectorSelector;
  const range = ms.rangeExpr ? formatDurationExpr(ms.rangeExpr) : formatDuration(ms.range);
  const extended = vs.anchored ? ' anchored' : vs.smoothed ? ' smoothed' : '';
  return `${(vs.name ?? '') + matcherList(vs)}[${range}]${extended}${atString(vs.at)}${offsetString(vs.offset, vs.offsetExpr)}`;
}

function subquerySuffix(sq: SubqueryExpr): string {
  const range = sq.rangeExpr ? formatDurationExpr(sq.rangeExpr) : formatDuration(sq.range);
  let step = '';
  if (sq.step !== undefined && sq.step !== 0) step = formatDuration(sq.step);
  else if (sq.stepExpr) step = formatDurationExpr(sq.stepExpr);
  return `[${range}:${step}]${atString(sq.at)}${offsetString(sq.offset, sq.offsetExpr)}`;
}

const MAX_CHARACTERS_PER_LINE = 100;

/**
 * Multi-line formatting like Prometheus's `Prettify` (the `/api/v1/format_query` endpoint):
 * any node whose one-line form is longer than 100 bytes is split, children indented by two
 * spaces per level.
 */
export function prettyExpr(e: Expr, maxWidth = MAX_CHARACTERS_PER_LINE): string {
  return pretty(e, 0, maxWidth);
}

function pretty(e: Expr, level: number, maxWidth: number): string {
  const ind = '  '.repeat(level);
  const flat = formatExpr(e);
  const split = utf8Length(flat) > maxWidth;
  switch (e.type) {
    case 'AggregateExpr': {
      if (!split) return ind + flat;
      let s = `${ind}${aggregateOpString(e)}(\n`;
      if (e.param) s += `${pretty(e.param, level + 1, maxWidth)},\n`;
      return `${s}${pretty(e.expr, level + 1, maxWidth)}\n${ind})`;
    }
    case 'BinaryExpr': {
      if (!split) return ind + flat;
      return `${pretty(e.lhs, level + 1, maxWidth)}\n${ind}${e.op}${e.returnBool ? ' bool' : ''}${matchingString(e)}\n${pretty(e.rhs, level + 1, maxWidth)}`;
    }
    case 'Call': {
      if (!split) return ind + flat;
      return `${ind}${e.func.name}(\n${e.args.map((a) => pretty(a, level + 1, maxWidth)).join(',\n')}\n${ind})`;
    }
    case 'ParenExpr':
      if (!split) return ind + flat;
      return `${ind}(\n${pretty(e.expr, level + 1, maxWidth)}\n${ind})`;
    case 'StepInvariantExpr':
      return pretty(e.expr, level, maxWidth);
    case 'SubqueryExpr':
      // Prometheus does not indent a subquery that fits on one line.
      if (!split) return flat;
      return pretty(e.expr, level, maxWidth) + subquerySuffix(e);
    case 'UnaryExpr':
      return `${ind}${e.op}${pretty(e.expr, level, maxWidth).trim()}`;
    default:
      return ind + flat;
  }
}
