import { TemplateExecError } from './errors.js';
import { type Arg, type Pipe, parseTemplate, type TmplNode } from './template-parse.js';

// Prometheus's alert templating (template/template.go): the Go text/template subset of
// template-parse.ts, run over Prometheus's data ($labels, $externalLabels, $externalURL, $value)
// with its function map (humanize*, query, first, label, value, printf, …). Rendering is
// synchronous; `query` suspends the run, the query is made, and the (pure) run starts again with
// the answer cached, so templates without `query` never wait on a promise.

/** One sample a template's `query` returns: `.Labels` and `.Value`, as Prometheus's `sample`. */
export interface TemplateSample {
  Labels: Record<string, string>;
  Value: number;
}

/** Answers a template's `{{ query "…" }}` at the evaluation time. */
export type TemplateQueryFunc = (expr: string) => Promise<TemplateSample[]>;

/** What an alert's templates see. */
export interface TemplateData {
  /** The alert's labels (`$labels`, `.Labels`), after the `__name__` label was dropped. */
  labels: Record<string, string>;
  /** The ruler's external labels (`$externalLabels`). */
  externalLabels: Record<string, string>;
  /** `$externalURL` (the ruler's --alert.query-url). */
  externalURL: string;
  /** The sample value (`$value`, `.Value`). */
  value: number;
}

const STRUCT = Symbol('struct');
type GoStruct = { [STRUCT]: string; [k: string]: unknown };

function struct(type: string, fields: Record<string, unknown>): GoStruct {
  return Object.assign({ [STRUCT]: type }, fields) as GoStruct;
}

class NeedQuery {
  constructor(readonly expr: string) {}
}

/** Go's `%v` of a float64 (strconv 'g' with the shortest digits): 1e+06, 0.5, 123456. */
export function formatGoFloat(v: number): string {
  return formatG(v, 0);
}

/** Go's `%.<prec>g`: shortest digits up to `prec`, exponent form when exp < -4 or ≥ prec. */
export function formatG(v: number, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  // prec 0 means the shortest digits that round-trip; exponent form from 1e+06 on, as Go.
  const e = prec === 0 ? v.toExponential() : v.toExponential(prec - 1);
  const eprec = prec === 0 ? 6 : prec;
  const neg = e[0] === '-';
  const body = neg ? e.slice(1) : e;
  const ePos = body.indexOf('e');
  const digits = body.slice(0, ePos).replace('.', '').replace(/0+$/, '') || '0';
  const exp = Number(body.slice(ePos + 1));
  let out: string;
  if (exp < -4 || exp >= eprec) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ax = Math.abs(exp);
    out = `${mant}e${exp < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  } else if (exp < 0) out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) out = digits + '0'.repeat(exp + 1 - digits.length);
  else out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return neg ? `-${out}` : out;
}

function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = v.trim();
    const n = /^[+-]?inf(inity)?$/i.test(t) ? (t.startsWith('-') ? -Infinity : Infinity) : Number(t);
    if (t === '' || Number.isNaN(n)) {
      if (/^[+-]?nan$/i.test(t)) return Number.NaN;
      throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    return n;
  }
  if (typeof v === 'boolean') throw new Error("can't convert bool to float");
  throw new Error(`can't convert ${typeName(v)} to float`);
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object' && STRUCT in v) return (v as GoStruct)[STRUCT];
  return 'map[string]string';
}

const SI_BIG = ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
const SI_SMALL = ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];

/** Prometheus's `humanize`: SI prefixes, 4 significant digits (1234567 → "1.235M"). */
export function humanize(i: unknown): string {
  let v = toFloat(i);
  if (v === 0 || !Number.isFinite(v)) return formatG(v, 4);
  let prefix = '';
  if (Math.abs(v) >= 1) {
    for (const p of SI_BIG) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const p of SI_SMALL) {
      if (Math.abs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return formatG(v, 4) + prefix;
}

/** Prometheus's `humanize1024`: binary prefixes (ki, Mi, …). */
export function humanize1024(i: unknown): string {
  let v = toFloat(i);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return formatG(v, 4);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return formatG(v, 4) + prefix;
}

/** Prometheus's `humanizeDuration`: seconds as "1d 2h 3m 4s", or "1.5s", "250ms". */
export function humanizeDuration(i: unknown): string {
  let v = toFloat(i);
  if (!Number.isFinite(v)) return formatG(v, 4);
  if (v === 0) return `${formatG(v, 4)}s`;
  if (Math.abs(v) >= 1) {
    let sign = '';
    if (v < 0) {
      sign = '-';
      v = -v;
    }
    const d = Math.trunc(v);
    const seconds = d % 60;
    const minutes = Math.trunc(d / 60) % 60;
    const hours = Math.trunc(d / 3600) % 24;
    const days = Math.trunc(d / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${formatG(v, 4)}s`;
  }
  let prefix = '';
  for (const p of SI_SMALL) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${formatG(v, 4)}${prefix}s`;
}

/** Prometheus's `humanizePercentage`: 0.1234 → "12.34%". */
export function humanizePercentage(i: unknown): string {
  return `${formatG(toFloat(i) * 100, 4)}%`;
}

/** Go's `time.Time.String()` in UTC: "2006-01-02 15:04:05.999999999 +0000 UTC". */
function goTimeString(ms: number, nanosExtra = 0): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const nanos = d.getUTCMilliseconds() * 1e6 + nanosExtra;
  const frac = nanos === 0 ? '' : `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac} +0000 UTC`;
}

/** Prometheus's `humanizeTimestamp`: unix seconds as Go prints a UTC time. */
export function humanizeTimestamp(i: unknown): string {
  const v = toFloat(i);
  if (!Number.isFinite(v)) return formatG(v, 4);
  // Prometheus goes through model.Time, so precision is milliseconds.
  return goTimeString(Math.trunc(v * 1000));
}

/** Go's fmt.Sprint of one template value. */
function goPrint(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatGoFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Date) return goTimeString(v.getTime());
  if (Array.isArray(v)) return `[${v.map(goPrint).join(' ')}]`;
  if (typeof v === 'object') {
    if (STRUCT in v) {
      const o = v as GoStruct;
      return `{${Object.keys(o)
        .map((k) => goPrint(o[k]))
        .join(' ')}}`;
    }
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o)
      .sort()
      .map((k) => `${k}:${goPrint(o[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

/** Go's fmt.Sprintf for the verbs templates use (%s %v %d %f %g %e %q %x %t %%, width/precision). */
export function sprintf(format: string, args: readonly unknown[]): string {
  let ai = 0;
  return format.replace(
    /%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])/g,
    (all, flags: string, w, p, verb: string) => {
      if (verb === '%') return '%';
      if (ai >= args.length) return `%!${verb}(MISSING)`;
      const a = args[ai++];
      let s: string;
      const prec = p === undefined ? undefined : Number(p === '*' ? 0 : p);
      const hasDot = all.includes('.');
      switch (verb) {
        case 'v':
        case 's':
          s = goPrint(a);
          if (prec !== undefined && verb === 's') s = s.slice(0, prec);
          break;
        case 'q':
          s = JSON.stringify(goPrint(a));
          break;
        case 'd':
          if (typeof a !== 'number' || !Number.isInteger(a)) return `%!d(${typeName(a)}=${goPrint(a)})`;
          s = String(a);
          if (flags.includes('+') && a >= 0) s = `+${s}`;
          break;
        case 'f':
        case 'F':
        case 'e':
        case 'g': {
          if (typeof a !== 'number') return `%!${verb}(${typeName(a)}=${goPrint(a)})`;
          if (!Number.isFinite(a))
            s = Number.isNaN(a) ? 'NaN' : a > 0 ? (flags.includes('+') ? '+Inf' : '+Inf') : '-Inf';
          else if (verb === 'f' || verb === 'F') s = a.toFixed(hasDot ? (prec ?? 0) : 6);
          else if (verb === 'e') s = a.toExponential(hasDot ? (prec ?? 0) : 6).replace(/e([+-])(\d)$/, 'e$10$2');
          else s = hasDot ? formatG(a, prec || 1) : formatGoFloat(a);
          if (flags.includes('+') && a >= 0 && !s.startsWith('+')) s = `+${s}`;
          break;
        }
        case 'x':
        case 'X':
          s = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(goPrint(a), 'utf8').toString('hex');
          if (verb === 'X') s = s.toUpperCase();
          break;
        case 't':
          s = typeof a === 'boolean' ? String(a) : `%!t(${typeName(a)}=${goPrint(a)})`;
          break;
        default:
          return `%!${verb}(${typeName(a)}=${goPrint(a)})`;
      }
      const width = w === undefined ? 0 : w === '*' ? 0 : Number(w);
      if (s.length < width) {
        if (flags.includes('-')) s = s.padEnd(width);
        else if (flags.includes('0') && typeof a === 'number') {
          const neg = s.startsWith('-') || s.startsWith('+');
          s = neg ? s[0] + s.slice(1).padStart(width - 1, '0') : s.padStart(width, '0');
        } else s = s.padStart(width);
      }
      return s;
    },
  );
}

function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !(STRUCT in v) && !(v instanceof Date)) return Object.keys(v).length > 0;
  return true;
}

function compare(a: unknown, b: unknown, name: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (name === 'eq' || name === 'ne') return a === b ? 0 : 1;
  throw new Error(`error calling ${name}: incompatible types for comparison`);
}

function goRegexp(pattern: string): RegExp {
  // Go's RE2 syntax is close to JS's for what alert templates use; (?P<name>…) is Go-only.
  return new RegExp(pattern.replace(/\(\?P</g, '(?<'), 'u');
}

function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

type Fn = (...args: unknown[]) => unknown;

function templateFuncs(externalURL: string, query: (q: string) => TemplateSample[]): Map<string, Fn> {
  const f = new Map<string, Fn>();
  f.set('and', (...a) => {
    for (const x of a.slice(0, -1)) if (!truth(x)) return x;
    return a[a.length - 1];
  });
  f.set('or', (...a) => {
    for (const x of a.slice(0, -1)) if (truth(x)) return x;
    return a[a.length - 1];
  });
  f.set('not', (a) => !truth(a));
  f.set('len', (a) => {
    if (typeof a === 'string' || Array.isArray(a)) return a.length;
    if (a && typeof a === 'object') return Object.keys(a).length;
    throw new Error(`error calling len: len of type ${typeName(a)}`);
  });
  f.set('index', (a, ...keys) => {
    let v: unknown = a;
    for (const k of keys) {
      if (Array.isArray(v)) v = v[Number(k)];
      else if (v && typeof v === 'object') v = (v as Record<string, unknown>)[String(k)] ?? '';
      else throw new Error(`error calling index: can't index item of type ${typeName(v)}`);
    }
    return v;
  });
  f.set('print', (...a) =>
    a.map((x, i) => (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + goPrint(x)).join(''),
  );
  f.set('println', (...a) => `${a.map(goPrint).join(' ')}\n`);
  f.set('printf', (fmt, ...a) => sprintf(String(fmt), a));
  f.set('eq', (a, ...b) => b.some((x) => compare(a, x, 'eq') === 0));
  f.set('ne', (a, b) => compare(a, b, 'ne') !== 0);
  f.set('lt', (a, b) => compare(a, b, 'lt') < 0);
  f.set('le', (a, b) => compare(a, b, 'le') <= 0);
  f.set('gt', (a, b) => compare(a, b, 'gt') > 0);
  f.set('ge', (a, b) => compare(a, b, 'ge') >= 0);
  f.set('html', (a) =>
    goPrint(a).replace(
      /[<>&'"\0]/g,
      (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' })[c] ?? c,
    ),
  );
  f.set('js', (a) => JSON.stringify(goPrint(a)).slice(1, -1).replace(/'/g, "\\'"));
  f.set('urlquery', (...a) => goQueryEscape(a.map(goPrint).join('')));
  f.set('slice', (a, ...i) => {
    if (typeof a !== 'string' && !Array.isArray(a))
      throw new Error(`error calling slice: can't slice item of type ${typeName(a)}`);
    return a.slice(Number(i[0] ?? 0), i[1] === undefined ? undefined : Number(i[1]));
  });
  // Prometheus's own functions (template/template.go).
  f.set('query', (q) => query(String(q)));
  f.set('first', (v) => {
    if (Array.isArray(v) && v.length > 0) return v[0];
    throw new Error('error calling first: first() called on vector with no elements');
  });
  f.set('label', (name, s) => (s as TemplateSample | undefined)?.Labels?.[String(name)] ?? '');
  f.set('value', (s) => (s as TemplateSample | undefined)?.Value ?? 0);
  f.set('strvalue', (s) => (s as TemplateSample | undefined)?.Labels?.__value__ ?? '');
  f.set('args', (...a) => Object.fromEntries(a.map((x, i) => [`arg${i}`, x])));
  f.set('reReplaceAll', (pattern, repl, text) =>
    String(text).replace(
      new RegExp(goRegexp(String(pattern)).source, 'gu'),
      String(repl).replace(/\$\{(\w+)\}/g, '$$$1'),
    ),
  );
  f.set('safeHtml', (s) => String(s));
  f.set('match', (pattern, s) => goRegexp(String(pattern)).test(String(s)));
  f.set('title', (s) =>
    String(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
  );
  f.set('toUpper', (s) => String(s).toUpperCase());
  f.set('toLower', (s) => String(s).toLowerCase());
  f.set('graphLink', (e) => `/graph?g0.expr=${goQueryEscape(String(e))}&g0.tab=0`);
  f.set('tableLink', (e) => `/graph?g0.expr=${goQueryEscape(String(e))}&g0.tab=1`);
  f.set('sortByLabel', (label, v) =>
    [...((v as TemplateSample[]) ?? [])].sort((a, b) => {
      const x = a.Labels[String(label)] ?? '';
      const y = b.Labels[String(label)] ?? '';
      return x < y ? -1 : x > y ? 1 : 0;
    }),
  );
  f.set('humanize', humanize);
  f.set('humanize1024', humanize1024);
  f.set('humanizeDuration', humanizeDuration);
  f.set('humanizePercentage', humanizePercentage);
  f.set('humanizeTimestamp', humanizeTimestamp);
  f.set('toTime', (v) => {
    const x = toFloat(v);
    if (!Number.isFinite(x)) throw new Error(`error calling toTime: cannot convert ${formatG(x, 4)} to time.Time`);
    return new Date(Math.trunc(x * 1000));
  });
  f.set('pathPrefix', () => {
    try {
      return new URL(externalURL).pathname.replace(/\/$/, '');
    } catch {
      return '';
    }
  });
  f.set('externalURL', () => externalURL);
  f.set('parseDuration', (s) => {
    const m = /^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/.exec(String(s));
    if (!m || String(s) === '')
      throw new Error(`error calling parseDuration: not a valid duration string: "${String(s)}"`);
    const n = (i: number) => Number(m[i] ?? 0);
    return n(2) * 31536000 + n(4) * 604800 + n(6) * 86400 + n(8) * 3600 + n(10) * 60 + n(12) + n(14) / 1000;
  });
  f.set('stripPort', (hp) => {
    const s = String(hp);
    const m = /^\[([^\]]+)\](:\d*)?$/.exec(s);
    if (m) return m[1];
    const i = s.lastIndexOf(':');
    return i >= 0 && s.indexOf(':') === i ? s.slice(0, i) : s;
  });
  return f;
}

let currentAnswers: Map<string, TemplateSample[]> = new Map();
const funcCache = new Map<string, Map<string, Fn>>();

/** The function map for one external URL, built once (building it per render dominated the cost). */
function funcsFor(externalURL: string): Map<string, Fn> {
  let f = funcCache.get(externalURL);
  if (f === undefined) {
    f = templateFuncs(externalURL, (q) => {
      const a = currentAnswers.get(q);
      if (a === undefined) throw new NeedQuery(q);
      return a;
    });
    if (funcCache.size > 16) funcCache.clear();
    funcCache.set(externalURL, f);
  }
  return f;
}

/** Names callable from alert templates (Go's builtins and Prometheus's function map). */
export const TEMPLATE_FUNCS: ReadonlySet<string> = new Set(templateFuncs('', () => []).keys());

const NO_FINAL: unique symbol = Symbol('no final');

class BreakSignal {}
class ContinueSignal {}

/**
 * A parsed alert template (Prometheus's template.NewTemplateExpander with the `$labels`,
 * `$externalLabels`, `$externalURL` and `$value` preamble). Parse errors throw
 * TemplateParseError with Go's text (`template: __alert_X:1: unclosed action`). Rendering is safe
 * to call concurrently.
 */
export class AlertTemplate {
  readonly name: string;
  private readonly nodes: TmplNode[];
  /** Whether the text has no actions, so rendering is the text itself. */
  private readonly literal: string | undefined;

  constructor(name: string, text: string) {
    this.name = name;
    this.literal = text.includes('{{') ? undefined : text;
    const preamble =
      '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}';
    this.nodes = this.literal === undefined ? parseTemplate(name, preamble + text, TEMPLATE_FUNCS) : [];
  }

  /**
   * Renders synchronously; throws TemplateExecError, or the NeedQuery marker when `query` was called
   * with an expression not in `answers`.
   */
  private run(data: TemplateData, answers: Map<string, TemplateSample[]>): string {
    if (this.literal !== undefined) return this.literal;
    const funcs = funcsFor(data.externalURL);
    // Rendering is synchronous, so the shared function map reads this run's answers.
    currentAnswers = answers;
    const dot = struct('*template.tmplData', {
      Labels: data.labels,
      ExternalLabels: data.externalLabels,
      ExternalURL: data.externalURL,
      Value: data.value,
    });
    const out: string[] = [];
    const vars: Array<[string, unknown]> = [['$', dot]];
    const name = this.name;
    const fail = (line: number, msg: string): never => {
      throw new TemplateExecError(`template: ${name}:${line}: executing "${name}": ${msg}`);
    };
    const lookup = (n: string, line: number): unknown => {
      for (let i = vars.length - 1; i >= 0; i--)
        if ((vars[i] as [string, unknown])[0] === n) return (vars[i] as [string, unknown])[1];
      return fail(line, `undefined variable: ${n}`);
    };
    const field = (v: unknown, names: readonly string[], line: number): unknown => {
      let cur = v;
      for (const n of names) {
        if (cur === null || cur === undefined) return fail(line, `nil pointer evaluating ${typeName(cur)}.${n}`);
        if (typeof cur === 'object' && STRUCT in cur) {
          if (!(n in cur)) return fail(line, `can't evaluate field ${n} in type ${(cur as GoStruct)[STRUCT]}`);
          cur = (cur as Record<string, unknown>)[n];
        } else if (typeof cur === 'object' && !Array.isArray(cur) && !(cur instanceof Date)) {
          // missingkey=zero, as Prometheus sets: a missing label is "".
          cur = (cur as Record<string, unknown>)[n] ?? '';
        } else return fail(line, `can't evaluate field ${n} in type ${typeName(cur)}`);
      }
      return cur;
    };
    const evalArg = (a: Arg, dotV: unknown, line: number): unknown => {
      switch (a.kind) {
        case 'field':
          return field(dotV, a.names, line);
        case 'var':
          return field(lookup(a.name, line), a.names, line);
        case 'dot':
          return dotV;
        case 'string':
        case 'number':
        case 'bool':
          return a.value;
        case 'nil':
          return fail(line, 'nil is not a command');
        case 'pipe':
          return field(evalPipe(a.pipe, dotV, line), a.names, line);
        case 'ident':
          return call(a.name, [], dotV, line, NO_FINAL);
      }
    };
    const call = (fn: string, args: readonly Arg[], dotV: unknown, line: number, final: unknown): unknown => {
      const f = funcs.get(fn) as Fn;
      const vals = args.map((x) => evalArg(x, dotV, line));
      if (final !== NO_FINAL) vals.push(final);
      try {
        return f(...vals);
      } catch (err) {
        if (err instanceof NeedQuery || err instanceof TemplateExecError) throw err;
        const msg = (err as Error).message;
        return fail(line, msg.startsWith('error calling') ? msg : `error calling ${fn}: ${msg}`);
      }
    };
    const evalPipe = (p: Pipe, dotV: unknown, line: number): unknown => {
      let v: unknown = NO_FINAL;
      for (const cmd of p.cmds) {
        const first = cmd[0] as Arg;
        if (first.kind === 'ident') v = call(first.name, cmd.slice(1), dotV, line, v);
        else {
          if (cmd.length > 1 || v !== NO_FINAL)
            fail(
              line,
              `can't give argument to non-function ${first.kind === 'field' ? `.${first.names.join('.')}` : first.kind}`,
            );
          v = evalArg(first, dotV, line);
        }
      }
      if (p.decl.length === 1) {
        const n = p.decl[0] as string;
        if (p.assign) {
          for (let i = vars.length - 1; i >= 0; i--)
            if ((vars[i] as [string, unknown])[0] === n) {
              (vars[i] as [string, unknown])[1] = v;
              break;
            }
        } else vars.push([n, v]);
      }
      return v;
    };
    const walk = (list: readonly TmplNode[], dotV: unknown): void => {
      for (const n of list) {
        switch (n.kind) {
          case 'text':
            out.push(n.text);
            break;
          case 'action': {
            const v = evalPipe(n.pipe, dotV, n.line);
            if (n.pipe.decl.length === 0) out.push(goPrint(v));
            break;
          }
          case 'break':
            throw new BreakSignal();
          case 'continue':
            throw new ContinueSignal();
          case 'if':
          case 'with': {
            const mark = vars.length;
            const v = evalPipe(n.pipe, dotV, n.line);
            if (truth(v)) walk(n.list, n.kind === 'with' ? v : dotV);
            else if (n.elseList) walk(n.elseList, dotV);
            vars.length = mark;
            break;
          }
          case 'range': {
            const mark = vars.length;
            const decl = n.pipe.decl;
            const v = evalPipe({ ...n.pipe, decl: [] }, dotV, n.line);
            let entries: Array<[unknown, unknown]> | undefined;
            if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
            else if (v && typeof v === 'object' && !(STRUCT in v))
              entries = Object.keys(v)
                .sort()
                .map((k) => [k, (v as Record<string, unknown>)[k]]);
            else if (typeof v === 'number' && Number.isInteger(v))
              entries = Array.from({ length: v }, (_, i) => [i, i]);
            else if (v === undefined || v === null) entries = [];
            else fail(n.line, `range can't iterate over ${goPrint(v)}`);
            entries ??= [];
            if (entries.length === 0) {
              if (n.elseList) walk(n.elseList, dotV);
              break;
            }
            for (const [k, x] of entries) {
              vars.length = mark;
              if (decl.length === 1) vars.push([decl[0] as string, x]);
              else if (decl.length === 2) vars.push([decl[0] as string, k], [decl[1] as string, x]);
              try {
                walk(n.list, x);
              } catch (sig) {
                if (sig instanceof BreakSignal) break;
                if (sig instanceof ContinueSignal) continue;
                throw sig;
              }
            }
            vars.length = mark;
            break;
          }
        }
      }
    };
    walk(this.nodes, dot);
    return out.join('');
  }

  /**
   * Renders the template over `data`. `query` answers `{{ query "…" }}` (a template calling it
   * without one fails). Throws TemplateExecError with Go's wording.
   */
  async render(data: TemplateData, query?: TemplateQueryFunc): Promise<string> {
    const answers = new Map<string, TemplateSample[]>();
    for (;;) {
      try {
        return this.run(data, answers);
      } catch (err) {
        if (!(err instanceof NeedQuery)) throw err;
        if (!query) throw new TemplateExecError(`template: ${this.name}: error calling query: no query engine`);
        try {
          answers.set(err.expr, await query(err.expr));
        } catch (qerr) {
          throw new TemplateExecError(`template: ${this.name}: error calling query: ${(qerr as Error).message}`, {
            cause: qerr,
          });
        }
      }
    }
  }

  /** Renders without queries; a template that calls `query` throws. For hot paths and benchmarks. */
  renderSync(data: TemplateData): string {
    try {
      return this.run(data, new Map());
    } catch (err) {
      if (err instanceof NeedQuery)
        throw new TemplateExecError(`template: ${this.name}: error calling query: needs render()`);
      throw err;
    }
  }
}
