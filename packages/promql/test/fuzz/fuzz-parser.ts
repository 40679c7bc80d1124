/**
 * Parser fuzzer: feeds random and mutated PromQL to `parseExpr` and checks that it
 *  - either returns a tree or throws ParseError (anything else is a crash),
 *  - finishes each parse in under a second,
 *  - keeps every position inside the query,
 *  - prints trees that parse back to the same text (round trip).
 * One input in ten is instead a mutated series description (`parseSeriesDesc`), checked for
 * crashes only. Seeds come from the queries and series lines of the conformance scripts
 * (../shared/promql-conformance).
 *
 * Run: npx tsx packages/promql/test/fuzz/fuzz-parser.ts [iterations=100000] [seed=1]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Expr,
  formatExpr,
  inspect,
  ParseError,
  type ParseOptions,
  parseExpr,
  parseSeriesDesc,
} from '@thanos-ts/promql';

/** What a fuzz run found. */
export interface FuzzReport {
  iterations: number;
  parsedOk: number;
  parseErrors: number;
  crashes: { input: string; error: string }[];
  slow: { input: string; ms: number }[];
  badPositions: string[];
  roundTripFailures: { input: string; printed: string; problem: string }[];
  maxParseMs: number;
  totalMs: number;
  corpusSize: number;
  /** How many of the iterations were series descriptions. */
  seriesDescriptions: number;
}

const ALL_ON: ParseOptions = {
  enableExperimentalFunctions: true,
  enableExperimentalDurationExpr: true,
  enableExtendedRangeSelectors: true,
};

const BUILTIN_SEEDS = [
  'sum by (job) (rate(http_requests_total{job=~"api.*", code!="500"}[5m] offset 1h))',
  'histogram_quantile(0.99, sum without (instance) (rate(x_bucket[1m:10s] @ 100)))',
  'topk(3, foo) / on(a) group_left(b) bar > bool 2 ^ -3 ^ 2',
  '{"utf8.name", a="\\x41\\u00e9"} unless ignoring(x) y or z and w',
  'count_values("v", x) + -absent(nonexistent{a!~`.+`}) atan2 0x1F',
  'label_replace(up, "dst", "$1", "src", "(.*)") offset -5m @ end()',
  'foo[5m + step():max(1s, step() * 2)] anchored',
  'limitk(2, x) + limit_ratio(0.5, y) % quantile(0.9, z)',
  'time() - timestamp(foo @ start()) * 1e3 == bool Inf',
];

const BUILTIN_SERIES = ['http_requests{job="api", instance="0"} 0+10x10 _ stale 1 -2+0.5x3 _x2 Inf NaN'];

/** Series lines of `load` blocks in the conformance scripts (or a built-in one). */
export function loadSeriesCorpus(): string[] {
  const dir = conformanceDir();
  const out = [...BUILTIN_SERIES];
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.test'))) {
    let inLoad = false;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (/^load/.test(line)) inLoad = true;
      else if (inLoad && /^\s+\S/.test(line)) out.push(line.trim());
      else inLoad = false;
    }
  }
  return out;
}

function conformanceDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/promql-conformance');
}

/** Queries from the conformance scripts, or built-in seeds when the folder is not there. */
export function loadCorpus(): string[] {
  const dir = conformanceDir();
  const out = [...BUILTIN_SEEDS];
  if (!existsSync(dir)) return out;
  const evalLine =
    /^\s*eval(?:_fail|_warn|_info|_ordered)?\s+(?:instant\s+at\s+\S+|range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+)\s+(.*)$/;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.test'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = evalLine.exec(line);
      if (m?.[1]) out.push(m[1]);
    }
  }
  return out;
}

/** Small deterministic PRNG (mulberry32) so failures can be replayed from the seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  'foo',
  'bar',
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'limitk',
  'limit_ratio',
  'group',
  'stddev',
  'rate',
  'irate',
  'abs',
  'time',
  'vector',
  'scalar',
  'label_replace',
  'histogram_quantile',
  'info',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  '@',
  'start()',
  'end()',
  'step()',
  'and',
  'or',
  'unless',
  'atan2',
  'anchored',
  'smoothed',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '==',
  '!=',
  '>',
  '<',
  '>=',
  '<=',
  '=~',
  '!~',
  '=',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"a"',
  "'b'",
  '`c`',
  '"\\x41"',
  '"\\u00e9"',
  '"',
  "'",
  '`',
  '\\',
  '1',
  '0',
  '-1',
  '1.5',
  '.5',
  '1e3',
  '0x1f',
  '0755',
  '1_000',
  'Inf',
  'NaN',
  '5m',
  '1h30m',
  '0s',
  '500ms',
  '1y',
  '#',
  '\n',
  ' ',
  '\t',
  'é',
  '😀',
  '\u0000',
  'job',
  'le',
  '__name__',
];

const CHARS = ' \t\n()[]{},:;=!~<>+-*/%^@#"\'`\\.0123456789_abcdefxyzABCDEFXYZmshdwy\u00e9\u263a\ud83d\ude00\u0000';

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

/** A random, mostly well-formed expression. */
function generate(r: () => number, depth: number): string {
  const leaf = (): string => {
    switch (Math.floor(r() * 6)) {
      case 0:
        return pick(r, ['1', '2.5', '-3', '0x10', 'Inf', '5m', '1e-2']);
      case 1:
        return pick(r, ['"s"', "'t'", '`u`']);
      case 2:
        return `${pick(r, ['foo', 'bar', 'sum', 'x:y'])}{${pick(r, ['', 'a="b"', 'a=~"b.*"', '"c.d"', 'a!="", b!~"x"'])}}`;
      case 3:
        return `${pick(r, ['foo', 'bar'])}[${pick(r, ['5m', '1h', '30s', '5m:1m', '1h:', 'step()', '5m+1m'])}]`;
      case 4:
        return pick(r, ['time()', 'pi()', 'vector(1)']);
      default:
        return pick(r, ['foo', 'bar', 'up', 'start', 'offset']);
    }
  };
  if (depth <= 0) return leaf();
  const sub = (): string => generate(r, depth - 1);
  switch (Math.floor(r() * 9)) {
    case 0:
      return `${sub()} ${pick(r, ['+', '-', '*', '/', '%', '^', 'atan2', '==', '!=', '>', '<=', 'and', 'or', 'unless'])}${pick(r, ['', ' bool', ' on(a)', ' ignoring(a) group_left(b)', ' on() group_right'])} ${sub()}`;
    case 1:
      return `${pick(r, ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev'])}${pick(r, ['', ' by (a)', ' without (a, "b.c")'])}(${sub()})`;
    case 2:
      return `${pick(r, ['topk', 'bottomk', 'quantile', 'limitk', 'limit_ratio', 'count_values'])}(${sub()}, ${sub()})`;
    case 3:
      return `${pick(r, ['rate', 'abs', 'round', 'clamp', 'label_join', 'hour', 'info', 'absent', 'sort_by_label'])}(${sub()}${r() < 0.5 ? `, ${sub()}` : ''})`;
    case 4:
      return `(${sub()})${pick(r, ['', '[5m:]', '[10m:1m]', '[5m]'])}`;
    case 5:
      return `${pick(r, ['-', '+'])}${sub()}`;
    case 6:
      return `${sub()} offset ${pick(r, ['5m', '-1h', 'step()', '(1m+step())', '-min(1s, step())', '1e99'])}`;
    case 7:
      return `${sub()} @ ${pick(r, ['100', '-5.5', 'start()', 'end()', 'Inf', '1e30'])}`;
    default:
      return `${sub()} ${pick(r, ['anchored', 'smoothed', ''])}`;
  }
}

function mutate(r: () => number, s: string, corpus: readonly string[]): string {
  let out = s;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(r() * (out.length + 1));
    switch (Math.floor(r() * 7)) {
      case 0: // delete a span
        out = out.slice(0, pos) + out.slice(pos + 1 + Math.floor(r() * 5));
        break;
      case 1: // insert a token
        out = `${out.slice(0, pos)}${pick(r, TOKENS)}${out.slice(pos)}`;
        break;
      case 2: // insert a character
        out = `${out.slice(0, pos)}${pick(r, Array.from(CHARS))}${out.slice(pos)}`;
        break;
      case 3: // replace a character
        out = `${out.slice(0, pos)}${pick(r, Array.from(CHARS))}${out.slice(pos + 1)}`;
        break;
      case 4: // truncate
        out = out.slice(0, pos);
        break;
      case 5: {
        // splice with another query
        const other = pick(r, corpus);
        out = out.slice(0, pos) + other.slice(Math.floor(r() * other.length));
        break;
      }
      default: {
        // duplicate a span
        const len = Math.floor(r() * 10);
        out = out.slice(0, pos) + out.slice(pos, pos + len) + out.slice(pos);
      }
    }
  }
  return out;
}

/** Very deep nesting or very long operator chains (the JavaScript stack is finite). */
function deep(r: () => number): string {
  const n = 500 + Math.floor(r() * 5000);
  const unit = pick(r, ['(', 'abs(', '-', 'x^', 'x+', 'sum(', 'x[(']);
  const close = unit.endsWith('(') ? ')'.repeat(n) : '';
  return `${unit.repeat(n)}1${close}`;
}

function tokenSoup(r: () => number): string {
  const n = 1 + Math.floor(r() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(r, TOKENS) + (r() < 0.5 ? ' ' : '');
  return s;
}

/** Removes `+x` wrappers (in place; returns the possibly replaced root). */
function stripUnaryPlus(e: Expr): Expr {
  switch (e.type) {
    case 'UnaryExpr':
      if (e.op === '+') return stripUnaryPlus(e.expr);
      e.expr = stripUnaryPlus(e.expr);
      return e;
    case 'ParenExpr':
    case 'SubqueryExpr':
    case 'StepInvariantExpr':
      e.expr = stripUnaryPlus(e.expr);
      return e;
    case 'BinaryExpr':
      e.lhs = stripUnaryPlus(e.lhs);
      e.rhs = stripUnaryPlus(e.rhs);
      return e;
    case 'AggregateExpr':
      e.expr = stripUnaryPlus(e.expr);
      if (e.param) e.param = stripUnaryPlus(e.param);
      return e;
    case 'Call':
      e.args = e.args.map(stripUnaryPlus);
      return e;
    default:
      return e;
  }
}

function checkPositions(e: Expr, len: number): string | undefined {
  let bad: string | undefined;
  inspect(e, (node) => {
    const { start, end } = node.pos;
    if (!(start >= 0 && start <= end && end <= len)) bad ??= `${node.type} at ${start}:${end}`;
  });
  return bad;
}

/** Runs the fuzzer for `iterations` inputs (random, mutated and token soup, about a third each). */
export function fuzzParser(opts: { iterations: number; seed?: number; corpus?: string[] }): FuzzReport {
  const r = rng(opts.seed ?? 1);
  const corpus = opts.corpus ?? loadCorpus();
  const seriesCorpus = loadSeriesCorpus();
  const report: FuzzReport = {
    iterations: 0,
    parsedOk: 0,
    parseErrors: 0,
    crashes: [],
    slow: [],
    badPositions: [],
    roundTripFailures: [],
    maxParseMs: 0,
    totalMs: 0,
    corpusSize: corpus.length,
    seriesDescriptions: 0,
  };
  const started = performance.now();
  for (let i = 0; i < opts.iterations; i++) {
    if (r() < 0.1) {
      fuzzSeriesOnce(mutate(r, pick(r, seriesCorpus), seriesCorpus), report);
      continue;
    }
    const kind = r();
    const input =
      kind < 0.45
        ? mutate(r, pick(r, corpus), corpus)
        : kind < 0.8
          ? generate(r, 1 + Math.floor(r() * 4))
          : kind < 0.995
            ? tokenSoup(r)
            : deep(r);
    const options = r() < 0.7 ? ALL_ON : {};
    report.iterations++;
    const t0 = performance.now();
    let expr: Expr | undefined;
    try {
      expr = parseExpr(input, options);
    } catch (err) {
      if (err instanceof ParseError) {
        report.parseErrors++;
        if (!(err.pos.start >= 0 && err.pos.start <= input.length)) {
          report.badPositions.push(`${JSON.stringify(input)}: error at ${err.pos.start}:${err.pos.end}`);
        }
      } else {
        report.crashes.push({ input, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
    }
    const ms = performance.now() - t0;
    report.maxParseMs = Math.max(report.maxParseMs, ms);
    if (ms > 1000) report.slow.push({ input, ms });
    if (process.env.FUZZ_DEBUG_SLOW && ms > Number(process.env.FUZZ_DEBUG_SLOW))
      console.log('SLOWISH', ms.toFixed(1), JSON.stringify(input).slice(0, 300));
    if (!expr) continue;
    report.parsedOk++;
    const badPos = checkPositions(expr, input.length);
    if (badPos) report.badPositions.push(`${JSON.stringify(input)}: ${badPos}`);
    const printed = formatExpr(expr);
    try {
      // Compared modulo unary plus: like Prometheus, `Inf ^ x` prints as `+Inf ^ x`, which
      // parses back as `+(Inf ^ x)` — the same value, but not the same text.
      const want = formatExpr(stripUnaryPlus(expr));
      const again = formatExpr(stripUnaryPlus(parseExpr(printed, options)));
      if (again !== want) report.roundTripFailures.push({ input, printed, problem: `reparsed as ${again}` });
    } catch (err) {
      report.roundTripFailures.push({ input, printed, problem: err instanceof Error ? err.message : String(err) });
    }
  }
  report.totalMs = performance.now() - started;
  return report;
}

function fuzzSeriesOnce(input: string, report: FuzzReport): void {
  report.iterations++;
  report.seriesDescriptions++;
  const t0 = performance.now();
  try {
    parseSeriesDesc(input);
    report.parsedOk++;
  } catch (err) {
    if (err instanceof ParseError) report.parseErrors++;
    else report.crashes.push({ input, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
  const ms = performance.now() - t0;
  report.maxParseMs = Math.max(report.maxParseMs, ms);
  if (ms > 1000) report.slow.push({ input, ms });
}

function main(): void {
  const iterations = Number(process.argv[2] ?? 100_000);
  const seed = Number(process.argv[3] ?? 1);
  const rep = fuzzParser({ iterations, seed });
  console.log(
    `iterations=${rep.iterations} (series descriptions ${rep.seriesDescriptions}) seed=${seed} corpus=${rep.corpusSize} parsed=${rep.parsedOk} parseErrors=${rep.parseErrors} ` +
      `crashes=${rep.crashes.length} slow(>1s)=${rep.slow.length} badPositions=${rep.badPositions.length} ` +
      `roundTripFailures=${rep.roundTripFailures.length} maxParseMs=${rep.maxParseMs.toFixed(2)} totalMs=${rep.totalMs.toFixed(0)}`,
  );
  for (const c of rep.crashes.slice(0, 10)) console.log('CRASH', JSON.stringify(c.input), '\n', c.error);
  for (const s of rep.slow.slice(0, 10)) console.log('SLOW', JSON.stringify(s.input), s.ms);
  for (const b of rep.badPositions.slice(0, 10)) console.log('POSITION', b);
  for (const f of rep.roundTripFailures.slice(0, 10)) {
    console.log('ROUNDTRIP', JSON.stringify(f.input), '->', JSON.stringify(f.printed), ':', f.problem);
  }
  if (rep.crashes.length || rep.slow.length || rep.badPositions.length || rep.roundTripFailures.length) {
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
