/**
 * A runner for Prometheus's promqltest script format (`load`, `clear`, `eval instant|range`,
 * `expect …`), as in Prometheus 3.9's promql/promqltest/test.go: every eval is checked for
 * errors, annotations and values (relative tolerance 1e-6); instant evals are also re-run as a
 * three-step range query whose middle step must agree.
 */
import { compareLabels, type Labels } from '@thanos-ts/tsdb';
import { parsePromDuration as parseDuration } from '@thanos-ts/tsdb/goformat';
import type { FloatHistogram } from '@thanos-ts/tsdb/histogram';
import { almostEqual } from '../engine/almost.js';
import { createEngine, type Engine } from '../engine/engine.js';
import type { QueryResult, QueryValue } from '../engine/types.js';
import type { Expr } from '../parser/ast.js';
import { inspect } from '../parser/ast.js';
import { parseExpr } from '../parser/parser.js';
import { formatExpr } from '../parser/printer.js';
import { parseSeriesDesc, UnsupportedSeriesError } from '../parser/series.js';
import { createMemoryStorage, type MemoryStorage } from '../storage/memory.js';
import { compareNativeHistogram, formatTestHistogram } from './histogram-compare.js';
import { classicToNhcb } from './nhcb.js';
import { readSeriesLine, type SeriesPoint } from './series-desc.js';

/** Outcome of one eval command. */
export interface EvalOutcome {
  line: number;
  expr: string;
  passed: boolean;
  /** Why it failed. */
  message?: string;
}

/** Outcome of a whole script. */
export interface ScriptResult {
  passed: number;
  failed: number;
  evals: EvalOutcome[];
  /** Set when the script itself could not be parsed (its evals then count as failed). */
  error?: string;
}

/** Options of `runScript`. */
export interface RunScriptOptions {
  /** Engine to test; default: experimental functions on, 5m lookback, like Prometheus's test engine. */
  engine?: Engine;
  /**
   * How an expected histogram's `counter_reset_hint` is judged. `ignore` (default) is the rule of
   * the promqltest framework the conformance files come from (Prometheus v3.9.0's
   * compareNativeHistogram never looks at the hint); `when-named` is the stricter rule Prometheus
   * adopted after v3.9.0 (the hint is compared when the expectation names one).
   */
  counterResetHints?: 'ignore' | 'when-named';
}

const EPSILON = 0.000001;

interface ExpectCmd {
  message?: string;
  regex?: RegExp;
}

interface ExpectedEntry {
  pos: number;
  labels: Labels;
  values: SeriesPoint[];
}

interface EvalCmd {
  kind: 'eval';
  line: number;
  expr: string;
  instant: boolean;
  start: number;
  end: number;
  step: number;
  fail: boolean;
  warn: boolean;
  info: boolean;
  ordered: boolean;
  failMessage?: string;
  failRegexp?: RegExp;
  expects: Record<'fail' | 'warn' | 'no_warn' | 'info' | 'no_info' | 'ordered', ExpectCmd[]>;
  expectScalar?: number;
  expected: Map<string, ExpectedEntry>;
  expectedString?: string;
  excludeFromRangeQuery: boolean;
}

interface LoadCmd {
  kind: 'load';
  line: number;
  gap: number;
  /** `load_with_nhcb`: classic histograms are also loaded as custom-bucket native histograms. */
  nhcb: boolean;
  series: { labels: Labels; values: SeriesPoint[] }[];
}

type Command = LoadCmd | EvalCmd | { kind: 'clear' };

const patLoad = /^load(?:_(with_nhcb))?\s+(.+?)$/;
const patEvalInstant = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const patEvalRange = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const patExpect = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;
const patExpectRange = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/;

/** Go's strconv.ParseInt(s, 0, 64) then ParseFloat, as promqltest's parseNumber. */
function parseNumber(s: string): number | undefined {
  if (/^[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/.test(s)) {
    const neg = s.startsWith('-');
    const body = s.replace(/^[+-]/, '');
    let v: number;
    if (/^0[xX]/.test(body)) v = Number.parseInt(body.slice(2), 16);
    else if (/^0[bB]/.test(body)) v = Number.parseInt(body.slice(2), 2);
    else if (/^0[oO]/.test(body)) v = Number.parseInt(body.slice(2), 8);
    else if (/^0[0-7]+$/.test(body)) v = Number.parseInt(body.slice(1), 8);
    else v = Number(body);
    return neg ? -v : v;
  }
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^nan$/i.test(s)) return Number.NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  return undefined;
}

function parseSeriesLine(text: string): {
  labels: Labels;
  values: SeriesPoint[];
} {
  try {
    const d = parseSeriesDesc(text);
    return {
      labels: d.labels,
      values: d.values.map((v) => ({ value: v.value, omitted: v.omitted, histogram: false })),
    };
  } catch (err) {
    // Native histogram literals: read the line anyway, flagging those samples.
    if (err instanceof UnsupportedSeriesError) return readSeriesLine(text);
    throw err;
  }
}

/** Functions whose result depends on the evaluation time even when their input does not. */
const AT_MODIFIER_UNSAFE = new Set([
  'days_in_month',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'hour',
  'minute',
  'month',
  'year',
  'predict_linear',
  'time',
  'timestamp',
]);

/**
 * Prometheus's atModifierTestCases: the query with `@ <eval time>` on every selector and
 * subquery (not inside a subquery that has its own `@`), evaluated at other times, must give the
 * same answer.
 */
function atModifierCases(query: string, evalTime: number): { expr: string; time: number }[] {
  let expr: Expr;
  try {
    expr = parseExpr(query, {
      enableExperimentalFunctions: true,
      enableExperimentalDurationExpr: true,
      enableExtendedRangeSelectors: true,
    });
  } catch {
    return [];
  }
  let unsafe = false;
  inspect(expr, (node, path) => {
    if (path.some((p) => p.type === 'SubqueryExpr' && p.at !== undefined)) return;
    if (node.type === 'VectorSelector' && node.at === undefined) node.at = evalTime;
    else if (node.type === 'MatrixSelector' && node.vectorSelector.at === undefined) node.vectorSelector.at = evalTime;
    else if (node.type === 'SubqueryExpr' && node.at === undefined) node.at = evalTime;
    else if (node.type === 'Call' && AT_MODIFIER_UNSAFE.has(node.func.name)) unsafe = true;
  });
  if (unsafe) return [];
  const text = formatExpr(expr);
  const times =
    evalTime === 0 ? [-1000, 0, 1000] : [-10 * evalTime, 0, Math.trunc(evalTime / 5), evalTime, 10 * evalTime];
  return times.map((time) => ({ expr: text, time }));
}

function unquoteGo(s: string): string | undefined {
  if (s.startsWith('`') && s.endsWith('`') && s.length >= 2) return s.slice(1, -1);
  if (!(s.startsWith('"') && s.endsWith('"') && s.length >= 2)) return undefined;
  try {
    return JSON.parse(s) as string;
  } catch {
    return undefined;
  }
}

/** Parses a script into commands (throws on malformed commands, like test.go). */
function parseScript(input: string): Command[] {
  const lines = input.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const cmds: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l === '') continue;
    const c = (l.split(/[\t ]+/, 1)[0] as string).toLowerCase();
    if (c === 'clear') {
      cmds.push({ kind: 'clear' });
      continue;
    }
    if (c.startsWith('load')) {
      const m = patLoad.exec(l);
      if (!m) throw new Error(`line ${i + 1}: invalid load command`);
      const cmd: LoadCmd = {
        kind: 'load',
        line: i + 1,
        gap: parseDuration(m[2] as string),
        nhcb: m[1] === 'with_nhcb',
        series: [],
      };
      while (i + 1 < lines.length && lines[i + 1] !== '') {
        i++;
        cmd.series.push(parseSeriesLine(lines[i] as string));
      }
      cmds.push(cmd);
      continue;
    }
    if (c.startsWith('eval')) {
      const [cmd, next] = parseEval(lines, i);
      cmds.push(cmd);
      i = next;
      continue;
    }
    throw new Error(`line ${i + 1}: invalid command ${JSON.stringify(l)}`);
  }
  return cmds;
}

function parseEval(lines: string[], i: number): [EvalCmd, number] {
  const line = lines[i] as string;
  const inst = patEvalInstant.exec(line);
  const rng = inst ? null : patEvalRange.exec(line);
  if (!inst && !rng) throw new Error(`line ${i + 1}: invalid evaluation command`);
  const cmd: EvalCmd = {
    kind: 'eval',
    line: i + 1,
    expr: '',
    instant: inst !== null,
    start: 0,
    end: 0,
    step: 0,
    fail: false,
    warn: false,
    info: false,
    ordered: false,
    expects: { fail: [], warn: [], no_warn: [], info: [], no_info: [], ordered: [] },
    expected: new Map(),
    excludeFromRangeQuery: false,
  };
  let mod: string | undefined;
  if (inst) {
    mod = inst[1];
    cmd.expr = inst[3] as string;
    cmd.start = cmd.end = parseDuration(inst[2] ?? '0');
  } else if (rng) {
    mod = rng[1];
    cmd.expr = rng[5] as string;
    cmd.start = parseDuration(rng[2] as string);
    cmd.end = parseDuration(rng[3] as string);
    cmd.step = parseDuration(rng[4] as string);
  }
  if (mod === 'ordered') cmd.ordered = true;
  else if (mod === 'fail') cmd.fail = true;
  else if (mod === 'warn') cmd.warn = true;
  else if (mod === 'info') cmd.info = true;
  let expectRange = false;
  let j = 1;
  while (i + 1 < lines.length) {
    i++;
    const def = lines[i] as string;
    if (def === '') {
      i--;
      break;
    }
    if (cmd.fail && def.startsWith('expected_fail_message')) {
      cmd.failMessage = def.slice('expected_fail_message'.length).trim();
      break;
    }
    if (cmd.fail && def.startsWith('expected_fail_regexp')) {
      cmd.failRegexp = new RegExp(def.slice('expected_fail_regexp'.length).trim());
      break;
    }
    if (def.startsWith('expect range vector')) {
      const m = patExpectRange.exec(def);
      if (!m) throw new Error(`line ${i + 1}: invalid range vector definition`);
      cmd.start = parseDuration(m[1] as string);
      cmd.end = parseDuration(m[2] as string);
      cmd.step = parseDuration(m[3] as string);
      expectRange = true;
      cmd.excludeFromRangeQuery = true;
      continue;
    }
    if (def.startsWith('expect string')) {
      const s = unquoteGo(def.slice('expect string '.length));
      if (s === undefined) throw new Error(`line ${i + 1}: expected string literal not valid`);
      cmd.expectedString = s;
      cmd.excludeFromRangeQuery = true;
      continue;
    }
    if (def.split(' ')[0] === 'expect') {
      const m = patExpect.exec(def.trim());
      if (!m) throw new Error(`line ${i + 1}: invalid expect statement`);
      const type = m[1] as keyof EvalCmd['expects'];
      const e: ExpectCmd = {};
      if (m[2] === 'msg') e.message = (m[3] as string).trim();
      else if (m[2] === 'regex') e.regex = new RegExp((m[3] as string).trim());
      else e.regex = /^[\s\S]*$/;
      cmd.expects[type].push(e);
      continue;
    }
    const num = parseNumber(def);
    if (num !== undefined) {
      cmd.expectScalar = num;
      break;
    }
    const s = parseSeriesLine(def);
    if (s.values.length > 1 && cmd.instant && !expectRange) {
      throw new Error(`line ${i + 1}: expecting multiple values in instant evaluation not allowed`);
    }
    cmd.expected.set(s.labels.key(), { pos: j, labels: s.labels, values: s.values });
    j++;
  }
  return [cmd, i];
}

function isFail(cmd: EvalCmd): boolean {
  return cmd.fail || cmd.expects.fail.length > 0;
}

function isOrdered(cmd: EvalCmd): boolean {
  return cmd.ordered || cmd.expects.ordered.length > 0;
}

function matches(e: ExpectCmd, s: string): boolean {
  return e.regex ? e.regex.test(s) : e.message === s;
}

function checkExpectedFailure(cmd: EvalCmd, err: unknown): string | undefined {
  const msg = err instanceof Error ? err.message : String(err);
  if (cmd.failMessage !== undefined && cmd.failMessage !== '' && cmd.failMessage !== msg) {
    return `expected error ${JSON.stringify(cmd.failMessage)}, got: ${msg}`;
  }
  if (cmd.failRegexp && !cmd.failRegexp.test(msg)) return `expected error matching ${cmd.failRegexp}, got: ${msg}`;
  const f = cmd.expects.fail[0];
  if (f && !matches(f, msg)) return `expected error matching ${f.message ?? f.regex}, got: ${msg}`;
  return undefined;
}

function checkAnnotationsOfType(expected: ExpectCmd[], actual: string[], what: string): string | undefined {
  if (expected.length === 0) return undefined;
  if (actual.length === 0) return `expected ${what} annotations but none were found`;
  for (const e of expected) {
    if (!actual.some((a) => matches(e, a))) {
      return `expected ${what} annotation matching ${e.message ?? e.regex} but found: ${JSON.stringify(actual)}`;
    }
  }
  for (const a of actual) {
    if (!expected.some((e) => matches(e, a))) return `unexpected ${what} annotation ${JSON.stringify(a)}`;
  }
  return undefined;
}

function checkAnnotations(cmd: EvalCmd, res: QueryResult): string | undefined {
  if (cmd.warn && res.warnings.length === 0) return 'expected warnings but got none';
  if (cmd.info && res.infos.length === 0) return 'expected info annotations but got none';
  return (
    checkAnnotationsOfType(cmd.expects.warn, res.warnings, 'warn') ??
    checkAnnotationsOfType(cmd.expects.info, res.infos, 'info') ??
    (cmd.expects.no_warn.length > 0 && res.warnings.length > 0
      ? `unexpected warnings: ${JSON.stringify(res.warnings)}`
      : undefined) ??
    (cmd.expects.no_info.length > 0 && res.infos.length > 0
      ? `unexpected infos: ${JSON.stringify(res.infos)}`
      : undefined)
  );
}

function fmt(v: number): string {
  return Number.isNaN(v) ? 'NaN' : String(v);
}

/** Compares a result with the expectation (test.go's compareResult). */
function compareResult(cmd: EvalCmd, value: QueryValue, start: number, end: number, step: number): string | undefined {
  switch (value.type) {
    case 'matrix': {
      if (isOrdered(cmd)) return 'expected ordered result, but query returned a matrix';
      if (cmd.expectScalar !== undefined) return 'expected scalar result, but got matrix';
      for (let i = 1; i < value.series.length; i++) {
        if (
          compareLabels(
            (value.series[i - 1] as { metric: Labels }).metric,
            (value.series[i] as { metric: Labels }).metric,
          ) > 0
        ) {
          return 'matrix results should always be sorted by labels';
        }
      }
      const seen = new Set<string>();
      for (const s of value.series) {
        const key = s.metric.key();
        const exp = cmd.expected.get(key);
        if (exp === undefined) return `unexpected metric ${s.metric.toString()} in result`;
        seen.add(key);
        const expT: number[] = [];
        const expV: number[] = [];
        const expH: SeriesPoint[] = [];
        const expHT: number[] = [];
        for (let i = 0; i < exp.values.length; i++) {
          const e = exp.values[i] as ExpectedEntry['values'][number];
          const t = start + i * step;
          if (t > end)
            return `expected ${exp.values.length} points for ${s.metric.toString()}, but query time range cannot return this many points`;
          if (e.omitted) continue;
          if (e.histogram) {
            expHT.push(t);
            expH.push(e);
          } else {
            expT.push(t);
            expV.push(e.value);
          }
        }
        const gotH = s.histograms?.timestamps.length ?? 0;
        if (expT.length !== s.timestamps.length || expH.length !== gotH) {
          return `expected ${expT.length} float points and ${expH.length} histogram points for ${s.metric.toString()}, got ${s.timestamps.length} and ${gotH}: ${Array.from(s.values, fmt).join(' ')} @ ${Array.from(s.timestamps).join(' ')}`;
        }
        for (let i = 0; i < expT.length; i++) {
          if (expT[i] !== s.timestamps[i]) {
            return `expected point ${i} of ${s.metric.toString()} at t=${expT[i]}, got t=${s.timestamps[i]}`;
          }
          if (!almostEqual(s.values[i] as number, expV[i] as number, EPSILON)) {
            return `expected ${fmt(expV[i] as number)} at t=${expT[i]} for ${s.metric.toString()}, got ${fmt(s.values[i] as number)}`;
          }
        }
        for (let i = 0; i < expH.length; i++) {
          const hs = s.histograms as NonNullable<typeof s.histograms>;
          if (expHT[i] !== hs.timestamps[i]) {
            return `expected histogram point ${i} of ${s.metric.toString()} at t=${expHT[i]}, got t=${hs.timestamps[i]}`;
          }
          const e = expH[i] as SeriesPoint;
          const got = hs.values[i] as FloatHistogram;
          if (!compareNativeHistogram(e.h as FloatHistogram, got, e.hintSet === true)) {
            return `expected histogram ${formatTestHistogram(e.h as FloatHistogram)} at t=${expHT[i]} for ${s.metric.toString()}, got ${formatTestHistogram(got)}`;
          }
        }
      }
      for (const [key, exp] of cmd.expected)
        if (!seen.has(key)) return `expected metric ${exp.labels.toString()} not found`;
      return undefined;
    }
    case 'vector': {
      if (cmd.expectScalar !== undefined) return 'expected scalar result, but got vector';
      const seen = new Set<string>();
      for (let pos = 0; pos < value.samples.length; pos++) {
        const s = value.samples[pos] as (typeof value.samples)[number];
        const key = s.metric.key();
        const exp = cmd.expected.get(key);
        if (exp === undefined) {
          return `unexpected metric ${s.metric.toString()} in result, has value ${s.h ? formatTestHistogram(s.h) : fmt(s.f)}`;
        }
        if (isOrdered(cmd) && exp.pos !== pos + 1) {
          return `expected metric ${s.metric.toString()} at position ${exp.pos} but was at ${pos + 1}`;
        }
        const e0 = exp.values[0];
        if (e0?.histogram && s.h === undefined) {
          return `expected histogram ${formatTestHistogram(e0.h as FloatHistogram)} for ${s.metric.toString()} but got float value ${fmt(s.f)}`;
        }
        if (!e0?.histogram && s.h !== undefined) {
          return `expected float value ${fmt(e0?.value ?? Number.NaN)} for ${s.metric.toString()} but got histogram ${formatTestHistogram(s.h)}`;
        }
        if (e0?.histogram) {
          if (!compareNativeHistogram(e0.h as FloatHistogram, s.h as FloatHistogram, e0.hintSet === true)) {
            return `expected ${formatTestHistogram(e0.h as FloatHistogram)} for ${s.metric.toString()} but got ${formatTestHistogram(s.h as FloatHistogram)}`;
          }
        } else if (e0 === undefined || !almostEqual(e0.value, s.f, EPSILON)) {
          return `expected ${fmt(e0?.value ?? Number.NaN)} for ${s.metric.toString()} but got ${fmt(s.f)}`;
        }
        seen.add(key);
      }
      for (const [key, exp] of cmd.expected)
        if (!seen.has(key)) return `expected metric ${exp.labels.toString()} not found`;
      return undefined;
    }
    case 'scalar':
      if (cmd.expected.size > 0 && [...cmd.expected.values()].some((e) => e.values[0]?.histogram)) {
        return `expected histogram but got scalar ${fmt(value.v)}`;
      }
      if (cmd.expectScalar === undefined) return `expected vector or matrix result, but got scalar ${fmt(value.v)}`;
      if (!almostEqual(cmd.expectScalar, value.v, EPSILON))
        return `expected scalar ${fmt(cmd.expectScalar)} but got ${fmt(value.v)}`;
      return undefined;
    case 'string':
      if (cmd.expectedString !== value.v) return `expected string "${cmd.expectedString}" but got "${value.v}"`;
      return undefined;
  }
}

async function runEval(engine: Engine, storage: MemoryStorage, cmd: EvalCmd): Promise<string | undefined> {
  const fail = isFail(cmd);
  if (!cmd.instant) {
    let res: QueryResult;
    try {
      res = await engine.rangeQuery(storage, cmd.expr, cmd.start, cmd.end, cmd.step);
    } catch (err) {
      if (fail) return checkExpectedFailure(cmd, err);
      return `error evaluating query: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (fail) return 'expected error evaluating query but got none';
    return checkAnnotations(cmd, res) ?? compareResult(cmd, res.result, cmd.start, cmd.end, cmd.step);
  }
  const cases = [{ expr: cmd.expr, time: cmd.end }, ...atModifierCases(cmd.expr, cmd.end)];
  for (const c of cases) {
    const problem = await runInstant(engine, storage, cmd, c.expr, c.time);
    if (problem !== undefined) return c.expr === cmd.expr ? problem : `${c.expr} at ${c.time}ms: ${problem}`;
  }
  return undefined;
}

async function runInstant(
  engine: Engine,
  storage: MemoryStorage,
  cmd: EvalCmd,
  expr: string,
  time: number,
): Promise<string | undefined> {
  const fail = isFail(cmd);
  let res: QueryResult;
  try {
    res = await engine.instantQuery(storage, expr, time);
  } catch (err) {
    if (fail) return checkExpectedFailure(cmd, err);
    return `error evaluating query: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (fail) return 'expected error evaluating query but got none';
  const problem = checkAnnotations(cmd, res) ?? compareResult(cmd, res.result, cmd.start, cmd.end, cmd.step);
  if (problem !== undefined || cmd.excludeFromRangeQuery) return problem;
  // The same query as a range query around the eval time must agree at the middle step.
  let rangeRes: QueryResult;
  try {
    rangeRes = await engine.rangeQuery(storage, expr, time - 60_000, time + 60_000, 60_000);
  } catch (err) {
    return `error evaluating query in range mode: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (isOrdered(cmd)) return undefined;
  if (rangeRes.result.type !== 'matrix') return 'range mode did not return a matrix';
  const samples = [];
  for (const s of rangeRes.result.series) {
    for (let i = 0; i < s.timestamps.length; i++) {
      if (s.timestamps[i] === time) {
        samples.push({ metric: s.metric, t: time, f: s.values[i] as number });
        break;
      }
    }
    const hs = s.histograms;
    if (hs !== undefined) {
      for (let i = 0; i < hs.timestamps.length; i++) {
        if (hs.timestamps[i] === time) {
          samples.push({ metric: s.metric, t: time, f: 0, h: hs.values[i] as FloatHistogram });
          break;
        }
      }
    }
  }
  const asValue: QueryValue =
    res.result.type === 'scalar'
      ? { type: 'scalar', t: time, v: samples[0]?.f ?? Number.NaN }
      : { type: 'vector', samples };
  const rangeProblem = compareResult(cmd, asValue, cmd.start, cmd.end, cmd.step);
  return rangeProblem === undefined ? undefined : `range mode: ${rangeProblem}`;
}

/** Runs one promqltest script against a fresh in-memory storage. */
export async function runScript(script: string, opts: RunScriptOptions = {}): Promise<ScriptResult> {
  const engine =
    opts.engine ??
    createEngine({
      enableExperimentalFunctions: true,
      enableDurationExpressions: true,
      enableExtendedRangeSelectors: true,
      maxSamples: 50_000_000,
      lookbackDelta: 300_000,
    });
  const result: ScriptResult = { passed: 0, failed: 0, evals: [] };
  let cmds: Command[];
  try {
    cmds = parseScript(script);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    // Count every eval line as failed so a broken parse never looks like progress.
    for (const l of script.split('\n')) if (/^\s*eval/.test(l)) result.failed++;
    return result;
  }
  if ((opts.counterResetHints ?? 'ignore') === 'ignore') {
    for (const cmd of cmds) {
      if (cmd.kind !== 'eval') continue;
      for (const exp of cmd.expected.values()) for (const v of exp.values) v.hintSet = false;
    }
  }
  let storage = createMemoryStorage();
  for (const cmd of cmds) {
    if (cmd.kind === 'clear') {
      storage = createMemoryStorage();
      continue;
    }
    if (cmd.kind === 'load') {
      for (const s of cmd.series) {
        s.values.forEach((v, i) => {
          if (v.omitted) return;
          if (v.histogram) storage.appendHistogram(s.labels, i * cmd.gap, v.h as FloatHistogram);
          else storage.append(s.labels, i * cmd.gap, v.value);
        });
      }
      if (cmd.nhcb) {
        const floats = cmd.series.map((s) => ({
          labels: s.labels,
          samples: s.values.flatMap((v, i) => (v.omitted || v.histogram ? [] : [{ t: i * cmd.gap, v: v.value }])),
        }));
        for (const h of classicToNhcb(floats)) for (const x of h.samples) storage.appendHistogram(h.labels, x.t, x.h);
      }
      continue;
    }
    let message: string | undefined;
    try {
      message = await runEval(engine, storage, cmd);
    } catch (err) {
      message = `runner error: ${err instanceof Error ? err.message : String(err)}`;
    }
    const outcome: EvalOutcome = { line: cmd.line, expr: cmd.expr, passed: message === undefined };
    if (message !== undefined) outcome.message = message;
    result.evals.push(outcome);
    if (message === undefined) result.passed++;
    else result.failed++;
  }
  return result;
}
