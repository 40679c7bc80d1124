/**
 * The signature table of every PromQL function in Prometheus 3.9 (its `parser.Functions`), used
 * by the parser to resolve calls and type-check arguments, and by the engine to find
 * implementations by name.
 */
import type { FunctionDef, ValueType } from './ast.js';

const S: ValueType = 'scalar';
const V: ValueType = 'vector';
const M: ValueType = 'matrix';
const STR: ValueType = 'string';

function def(
  name: string,
  argTypes: ValueType[],
  returnType: ValueType,
  opts: { variadic?: number; experimental?: boolean } = {},
): FunctionDef {
  return Object.freeze({
    name,
    argTypes: Object.freeze(argTypes),
    variadic: opts.variadic ?? 0,
    returnType,
    experimental: opts.experimental ?? false,
  });
}

const experimental = { experimental: true };
const optionalTime = { variadic: 1 };

const defs: FunctionDef[] = [
  def('abs', [V], V),
  def('absent', [V], V),
  def('absent_over_time', [M], V),
  def('acos', [V], V),
  def('acosh', [V], V),
  def('asin', [V], V),
  def('asinh', [V], V),
  def('atan', [V], V),
  def('atanh', [V], V),
  def('avg_over_time', [M], V),
  def('ceil', [V], V),
  def('changes', [M], V),
  def('clamp', [V, S, S], V),
  def('clamp_max', [V, S], V),
  def('clamp_min', [V, S], V),
  def('cos', [V], V),
  def('cosh', [V], V),
  def('count_over_time', [M], V),
  def('days_in_month', [V], V, optionalTime),
  def('day_of_month', [V], V, optionalTime),
  def('day_of_week', [V], V, optionalTime),
  def('day_of_year', [V], V, optionalTime),
  def('deg', [V], V),
  def('delta', [M], V),
  def('deriv', [M], V),
  def('exp', [V], V),
  def('first_over_time', [M], V, experimental),
  def('floor', [V], V),
  def('histogram_avg', [V], V),
  def('histogram_count', [V], V),
  def('histogram_sum', [V], V),
  def('histogram_stddev', [V], V),
  def('histogram_stdvar', [V], V),
  def('histogram_fraction', [S, S, V], V),
  def('histogram_quantile', [S, V], V),
  def('double_exponential_smoothing', [M, S, S], V, experimental),
  def('hour', [V], V, optionalTime),
  def('idelta', [M], V),
  def('increase', [M], V),
  def('info', [V, V], V, { experimental: true, variadic: 1 }),
  def('irate', [M], V),
  def('label_replace', [V, STR, STR, STR, STR], V),
  def('label_join', [V, STR, STR, STR], V, { variadic: -1 }),
  def('last_over_time', [M], V),
  def('ln', [V], V),
  def('log10', [V], V),
  def('log2', [V], V),
  def('mad_over_time', [M], V, experimental),
  def('max_over_time', [M], V),
  def('min_over_time', [M], V),
  def('ts_of_first_over_time', [M], V, experimental),
  def('ts_of_max_over_time', [M], V, experimental),
  def('ts_of_min_over_time', [M], V, experimental),
  def('ts_of_last_over_time', [M], V, experimental),
  def('minute', [V], V, optionalTime),
  def('month', [V], V, optionalTime),
  def('pi', [], S),
  def('predict_linear', [M, S], V),
  def('present_over_time', [M], V),
  def('quantile_over_time', [S, M], V),
  def('rad', [V], V),
  def('rate', [M], V),
  def('resets', [M], V),
  def('round', [V, S], V, { variadic: 1 }),
  def('scalar', [V], S),
  def('sgn', [V], V),
  def('sin', [V], V),
  def('sinh', [V], V),
  def('sort', [V], V),
  def('sort_desc', [V], V),
  def('sort_by_label', [V, STR], V, { variadic: -1, experimental: true }),
  def('sort_by_label_desc', [V, STR], V, { variadic: -1, experimental: true }),
  def('sqrt', [V], V),
  def('stddev_over_time', [M], V),
  def('stdvar_over_time', [M], V),
  def('sum_over_time', [M], V),
  def('tan', [V], V),
  def('tanh', [V], V),
  def('time', [], S),
  def('timestamp', [V], V),
  def('vector', [S], V),
  def('year', [V], V, optionalTime),
];

/** Every PromQL function by name. Read-only; don't mutate. */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(defs.map((d) => [d.name, d]));

/** The signature of the named function, or undefined when there is none. */
export function getFunction(name: string): FunctionDef | undefined {
  return FUNCTIONS.get(name);
}
