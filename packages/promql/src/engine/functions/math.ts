/**
 * Element-wise functions of instant vectors: abs, ceil, floor, exp, sqrt, ln, log2, log10, sgn,
 * trigonometry, deg/rad, clamp*, round. Each maps one float (and the step's scalar parameters)
 * to a float, or to undefined to drop the element.
 */

/** An element-wise function; `params` are the scalar arguments after the vector, at this step. */
export type ElementFunction = (v: number, params: Float64Array) => number | undefined;

const sgn = (v: number): number => (v < 0 ? -1 : v > 0 ? 1 : v);

/** Element-wise functions by name. */
export const elementFunctions: Record<string, ElementFunction> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  rad: (v) => (v * Math.PI) / 180,
  deg: (v) => (v * 180) / Math.PI,
  clamp: (v, p) => {
    const min = p[0] as number;
    const max = p[1] as number;
    if (max < min) return undefined;
    return Math.max(min, Math.min(max, v));
  },
  clamp_max: (v, p) => goMax(Number.NEGATIVE_INFINITY, goMin(p[0] as number, v)),
  clamp_min: (v, p) => goMax(p[0] as number, goMin(Number.POSITIVE_INFINITY, v)),
  round: (v, p) => {
    const toNearest = p.length > 0 ? (p[0] as number) : 1;
    const inv = 1 / toNearest;
    return Math.floor(v * inv + 0.5) / inv;
  },
};

// Go's math.Max/Min propagate NaN like JS's, so these are plain aliases kept for readability.
function goMax(a: number, b: number): number {
  return Math.max(a, b);
}
function goMin(a: number, b: number): number {
  return Math.min(a, b);
}
