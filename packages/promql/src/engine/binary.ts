/**
 * Binary operators: scalar/scalar, vector/scalar and vector/vector with one-to-one,
 * many-to-one and one-to-many matching, the set operators, and `bool` comparisons, following
 * Prometheus's engine.go (VectorBinop, VectorscalarBinop, VectorAnd/Or/Unless, resultMetric).
 */
import { type Labels, METRIC_NAME } from '@thanos-ts/tsdb';
import {
  addFloatHistograms,
  CounterResetHint,
  compactFloatHistogram,
  copyFloatHistogram,
  divFloatHistogram,
  type FloatHistogram,
  floatHistogramEquals,
  IncompatibleSchemaError,
  mulFloatHistogram,
  subFloatHistograms,
} from '@thanos-ts/tsdb/histogram';
import type { BinaryOp, VectorMatching } from '../parser/ast.js';
import { type Annotations, annotationText } from './annotations.js';
import { QueryEvaluationError } from './errors.js';
import { newStepSeries, SeriesCollector, setHist } from './series-buffer.js';
import type { StepSeries } from './types.js';

/** Go's math.Pow where it differs from `**` (1^NaN, (-1)^±Inf). */
function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Number.POSITIVE_INFINITY || y === Number.NEGATIVE_INFINITY)) return 1;
  return x ** y;
}

/** Whether an operator is a comparison (filters, or yields 0/1 with `bool`). */
export function isComparison(op: BinaryOp): boolean {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

/** Whether an operator is arithmetic (its result is no longer the input metric). */
export function changesMetricSchema(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '^' || op === '%' || op === 'atan2';
}

/** Arithmetic on two floats. */
export function arithmetic(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '^':
      return goPow(l, r);
    case '%':
      return l % r;
    case 'atan2':
      return Math.atan2(l, r);
    default:
      throw new QueryEvaluationError(`operator "${op}" not allowed for arithmetic`);
  }
}

/** A comparison on two floats. */
export function compare(op: BinaryOp, l: number, r: number): boolean {
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '>':
      return l > r;
    case '<':
      return l < r;
    case '>=':
      return l >= r;
    case '<=':
      return l <= r;
    default:
      throw new QueryEvaluationError(`operator "${op}" is not a comparison`);
  }
}

/** Result of {@link elemBinop}. */
interface ElemResult {
  f: number;
  h: FloatHistogram | undefined;
  keep: boolean;
  /** The element failed (incompatible types or layouts): no output, even with `bool`. */
  failed: boolean;
}

const elemOut: ElemResult = { f: 0, h: undefined, keep: false, failed: false };

/**
 * One element of a binary operation where at least one side is a histogram (Prometheus's
 * vectorElemBinop): histograms add, subtract, compare for (in)equality and scale by floats;
 * everything else drops the element with an info annotation.
 */
function elemBinop(
  op: BinaryOp,
  fl: number,
  fr: number,
  hl: FloatHistogram | undefined,
  hr: FloatHistogram | undefined,
  annos: Annotations | undefined,
): ElemResult {
  const r = elemOut;
  r.f = 0;
  r.h = undefined;
  r.keep = false;
  r.failed = false;
  const incompatible = (lt: string, rt: string): ElemResult => {
    annos?.info(annotationText.incompatibleTypesInBinOp(lt, op, rt));
    r.failed = true;
    return r;
  };
  if (hl === undefined && hr !== undefined) {
    if (op !== '*') return incompatible('float', 'histogram');
    r.h = compactFloatHistogram(mulFloatHistogram(copyFloatHistogram(hr), fl));
    r.keep = true;
    return r;
  }
  if (hl !== undefined && hr === undefined) {
    if (op === '*') r.h = compactFloatHistogram(mulFloatHistogram(copyFloatHistogram(hl), fr));
    else if (op === '/') r.h = compactFloatHistogram(divFloatHistogram(copyFloatHistogram(hl), fr));
    else return incompatible('histogram', 'float');
    r.keep = true;
    return r;
  }
  const a = hl as FloatHistogram;
  const b = hr as FloatHistogram;
  if (op === '+' || op === '-') {
    let res: ReturnType<typeof addFloatHistograms>;
    try {
      res = op === '+' ? addFloatHistograms(copyFloatHistogram(a), b) : subFloatHistograms(copyFloatHistogram(a), b);
    } catch (err) {
      if (err instanceof IncompatibleSchemaError) {
        annos?.warn(annotationText.incompatibleBucketLayout(op));
        r.failed = true;
        return r;
      }
      throw err;
    }
    if (op === '-') res.h.counterResetHint = CounterResetHint.Gauge;
    const what = op === '+' ? 'addition' : 'subtraction';
    if (res.counterResetCollision) {
      // Prometheus reports the collision as the element's error: the element is dropped.
      annos?.warn(annotationText.counterResetCollision(what));
      r.failed = true;
      return r;
    }
    if (res.nhcbBoundsReconciled) annos?.info(annotationText.mismatchedCustomBuckets(what));
    r.h = compactFloatHistogram(res.h);
    r.keep = true;
    return r;
  }
  if (op === '==' || op === '!=') {
    r.h = a;
    r.keep = floatHistogramEquals(a, b) === (op === '==');
    return r;
  }
  return incompatible('histogram', 'histogram');
}

/** scalar op scalar, step by step (comparisons are always `bool` here). */
export function scalarBinop(op: BinaryOp, l: Float64Array, r: Float64Array): Float64Array {
  const n = l.length;
  const out = new Float64Array(n);
  if (isComparison(op)) for (let i = 0; i < n; i++) out[i] = compare(op, l[i] as number, r[i] as number) ? 1 : 0;
  else for (let i = 0; i < n; i++) out[i] = arithmetic(op, l[i] as number, r[i] as number);
  return out;
}

/**
 * vector op scalar (or scalar op vector with `swap`). Comparisons filter (keeping the vector's
 * value) unless `bool`; arithmetic and `bool` mark the name for removal.
 */
export function vectorScalarBinop(
  op: BinaryOp,
  vec: StepSeries[],
  scalar: Float64Array,
  swap: boolean,
  returnBool: boolean,
  tick?: (units: number) => void,
  annos?: Annotations,
): StepSeries[] {
  const cmp = isComparison(op);
  const dropName = changesMetricSchema(op) || returnBool;
  const out: StepSeries[] = [];
  for (const s of vec) {
    const n = s.values.length;
    tick?.(n);
    const o = newStepSeries(s.labels, n, s.dropName || dropName);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (s.present[i] === 0) continue;
      const h = s.hists?.[i];
      if (h !== undefined) {
        const c = scalar[i] as number;
        const r = swap ? elemBinop(op, c, 0, undefined, h, annos) : elemBinop(op, 0, c, h, undefined, annos);
        if (r.failed) continue;
        if (returnBool) {
          o.present[i] = 1;
          o.values[i] = r.keep ? 1 : 0;
          any = true;
        } else if (r.keep) {
          if (cmp && swap) setHist(o, i, h);
          else if (r.h !== undefined) setHist(o, i, r.h);
          any = true;
        }
        continue;
      }
      const v = s.values[i] as number;
      const c = scalar[i] as number;
      const l = swap ? c : v;
      const r = swap ? v : c;
      if (cmp) {
        const keep = compare(op, l, r);
        if (returnBool) {
          o.values[i] = keep ? 1 : 0;
        } else {
          if (!keep) continue;
          o.values[i] = v;
        }
      } else {
        o.values[i] = arithmetic(op, l, r);
      }
      o.present[i] = 1;
      any = true;
    }
    if (any) out.push(o);
  }
  return out;
}

/** The label set two series are matched on (Prometheus's signature function). */
function signature(labels: Labels, matching: VectorMatching): string {
  if (matching.on) return labels.keepOnly(matching.labels).key();
  return labels.without([METRIC_NAME, ...matching.labels]).key();
}

function signatureOrdinals(
  lhs: StepSeries[],
  rhs: StepSeries[],
  matching: VectorMatching,
): [Int32Array, Int32Array, number] {
  const ord = new Map<string, number>();
  const assign = (side: StepSeries[]): Int32Array => {
    const out = new Int32Array(side.length);
    side.forEach((s, i) => {
      const sig = signature(s.labels, matching);
      let o = ord.get(sig);
      if (o === undefined) {
        o = ord.size;
        ord.set(sig, o);
      }
      out[i] = o;
    });
    return out;
  };
  const l = assign(lhs);
  const r = assign(rhs);
  return [l, r, ord.size];
}

/** Copies step `i` of `s` (float or histogram) into `o`. */
function copyStep(o: StepSeries, s: StepSeries, i: number): void {
  const h = s.hists?.[i];
  if (h !== undefined) setHist(o, i, h);
  else {
    o.present[i] = 1;
    o.values[i] = s.values[i] as number;
  }
}

/** `and`, `or`, `unless`: many-to-many set operations keeping the original samples. */
export function setBinop(
  op: 'and' | 'or' | 'unless',
  lhs: StepSeries[],
  rhs: StepSeries[],
  matching: VectorMatching,
  n: number,
): StepSeries[] {
  const [lOrd, rOrd, numSigs] = signatureOrdinals(lhs, rhs, matching);
  // Per signature, the last step at which the other side had it (-1: never).
  const seen = new Int32Array(numSigs).fill(-1);
  const outL = lhs.map((s) => newStepSeries(s.labels, n, s.dropName));
  const outR = op === 'or' ? rhs.map((s) => newStepSeries(s.labels, n, s.dropName)) : [];
  for (let i = 0; i < n; i++) {
    if (op === 'or') {
      for (let j = 0; j < lhs.length; j++) {
        const s = lhs[j] as StepSeries;
        if (s.present[i] === 0) continue;
        seen[lOrd[j] as number] = i;
        const o = outL[j] as StepSeries;
        copyStep(o, s, i);
      }
      for (let j = 0; j < rhs.length; j++) {
        const s = rhs[j] as StepSeries;
        if (s.present[i] === 0 || seen[rOrd[j] as number] === i) continue;
        const o = outR[j] as StepSeries;
        copyStep(o, s, i);
      }
      continue;
    }
    for (let j = 0; j < rhs.length; j++) if ((rhs[j] as StepSeries).present[i] !== 0) seen[rOrd[j] as number] = i;
    const wantMatch = op === 'and';
    for (let j = 0; j < lhs.length; j++) {
      const s = lhs[j] as StepSeries;
      if (s.present[i] === 0) continue;
      if ((seen[lOrd[j] as number] === i) !== wantMatch) continue;
      const o = outL[j] as StepSeries;
      copyStep(o, s, i);
    }
  }
  const out: StepSeries[] = [];
  for (const s of [...outL, ...outR]) if (s.present.includes(1)) out.push(s);
  return out;
}

function matchLabelsText(labels: Labels, matching: VectorMatching): string {
  return (
    matching.on ? labels.keepOnly(matching.labels) : labels.without([METRIC_NAME, ...matching.labels])
  ).toString();
}

/**
 * Arithmetic and comparison between two instant vectors with vector matching. The "one" side
 * must be unique per match group at every step, as Prometheus requires.
 */
export function vectorBinop(
  op: BinaryOp,
  lhsIn: StepSeries[],
  rhsIn: StepSeries[],
  matching: VectorMatching,
  returnBool: boolean,
  n: number,
  tick?: (units: number) => void,
  annos?: Annotations,
): StepSeries[] {
  const oneToMany = matching.card === 'one-to-many';
  // Work with the "many" side on the left, like Prometheus.
  const lhs = oneToMany ? rhsIn : lhsIn;
  const rhs = oneToMany ? lhsIn : rhsIn;
  const [lOrd, rOrd, numSigs] = signatureOrdinals(lhs, rhs, matching);
  const rhsStep = new Int32Array(numSigs).fill(-1);
  const rhsAt = new Int32Array(numSigs);
  const matchedStep = new Int32Array(numSigs).fill(-1);
  // Last step at which (result metric, signature) was produced, for the group_x uniqueness check.
  const manyMatched = new Map<number, number>();
  const cmp = isComparison(op);
  const schemaChange = changesMetricSchema(op);
  const out = new SeriesCollector(n);
  // Result label sets per (lhs, rhs) pair, each with a small id and its output series.
  interface Result {
    id: number;
    series: StepSeries;
  }
  const pairCache = new Map<number, Result>();
  const byLabels = new Map<string, Result>();
  const resultFor = (li: number, ri: number): Result => {
    const key = li * rhs.length + ri;
    let res = pairCache.get(key);
    if (res !== undefined) return res;
    const l = (lhs[li] as StepSeries).labels;
    const r = (rhs[ri] as StepSeries).labels;
    let m = l;
    if (schemaChange) m = m.without([METRIC_NAME, '__type__', '__unit__']);
    if (matching.card === 'one-to-one') m = matching.on ? m.keepOnly(matching.labels) : m.without(matching.labels);
    for (const name of matching.include) m = m.with(name, r.get(name));
    res = byLabels.get(m.key());
    if (res === undefined) {
      res = { id: byLabels.size, series: out.get(m, returnBool) };
      byLabels.set(m.key(), res);
    }
    pairCache.set(key, res);
    return res;
  };
  for (let i = 0; i < n; i++) {
    tick?.(lhs.length + rhs.length);
    let anyL = false;
    for (const s of lhs) {
      if (s.present[i] !== 0) {
        anyL = true;
        break;
      }
    }
    if (!anyL) continue;
    let anyR = false;
    for (let j = 0; j < rhs.length; j++) {
      const s = rhs[j] as StepSeries;
      if (s.present[i] === 0) continue;
      anyR = true;
      const o = rOrd[j] as number;
      if (rhsStep[o] === i) {
        const dup = rhs[rhsAt[o] as number] as StepSeries;
        throw new QueryEvaluationError(
          `found duplicate series for the match group ${matchLabelsText(s.labels, matching)} on the ${oneToMany ? 'left' : 'right'} hand-side of the operation: [${s.labels.toString()}, ${dup.labels.toString()}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      rhsStep[o] = i;
      rhsAt[o] = j;
    }
    if (!anyR) continue;
    for (let j = 0; j < lhs.length; j++) {
      const ls = lhs[j] as StepSeries;
      if (ls.present[i] === 0) continue;
      const o = lOrd[j] as number;
      if (rhsStep[o] !== i) continue;
      const ri = rhsAt[o] as number;
      const rs = rhs[ri] as StepSeries;
      let fl = ls.values[i] as number;
      let fr = rs.values[i] as number;
      let hl = ls.hists?.[i];
      let hr = rs.hists?.[i];
      if (oneToMany) {
        const t = fl;
        fl = fr;
        fr = t;
        const th = hl;
        hl = hr;
        hr = th;
      }
      let value: number;
      let keep = true;
      let hv: FloatHistogram | undefined;
      if (hl !== undefined || hr !== undefined) {
        const r = elemBinop(op, fl, fr, hl, hr, annos);
        keep = r.keep;
        value = r.f;
        hv = r.h;
        // A failed element (incompatible types) produces nothing, even with `bool`.
        if (r.failed) continue;
      } else if (cmp) {
        keep = compare(op, fl, fr);
        value = fl;
      } else {
        value = arithmetic(op, fl, fr);
      }
      if (returnBool) {
        value = keep ? 1 : 0;
        hv = undefined;
      }
      const result = resultFor(j, ri);
      if (matching.card === 'one-to-one') {
        if (matchedStep[o] === i) {
          throw new QueryEvaluationError(
            'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
          );
        }
        matchedStep[o] = i;
      } else {
        const k = result.id * numSigs + o;
        if (manyMatched.get(k) === i) {
          throw new QueryEvaluationError('multiple matches for labels: grouping labels must ensure unique matches');
        }
        manyMatched.set(k, i);
      }
      if (!keep && !returnBool) continue;
      if (hv !== undefined) out.setHistogram(result.series, i, hv);
      else out.set(result.series, i, value);
    }
  }
  return out.series;
}
