import { ThanosError } from '../errors.js';

/** OpenMetrics text that is not valid, with the file and 1-based line it was found on. */
export class OpenMetricsParseError extends ThanosError {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super('TSDB_OPENMETRICS_PARSE', `${file}:${line}: ${detail}`);
  }
}

/** One sample line: metric name, raw label pairs in input order, value, timestamp (ms). */
export interface OpenMetricsSample {
  kind: 'series';
  /** Text of the series part of the line (name and label block), usable as a cache key. */
  series: string;
  name: string;
  /** Flat [name0, value0, name1, value1, …] in input order, values unescaped. */
  labels: string[];
  value: number;
  /** Milliseconds, truncated from fractional seconds as Prometheus does; undefined if absent. */
  timestamp: number | undefined;
  line: number;
}

/** A # HELP, # TYPE or # UNIT line. */
export interface OpenMetricsMetadata {
  kind: 'help' | 'type' | 'unit';
  metric: string;
  text: string;
  line: number;
}

/** An entry of an OpenMetrics exposition. */
export type OpenMetricsEntry = OpenMetricsSample | OpenMetricsMetadata;

const METRIC_TYPES = new Set([
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
  'unknown',
]);
const EXEMPLAR_SUFFIXES = ['_bucket', '_total'];
// Go's math.NaN(), which strconv.ParseFloat returns for "NaN": bits 0x7ff8000000000001.
const GO_NAN = new Float64Array(new BigUint64Array([0x7ff8000000000001n]).buffer)[0] as number;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses a float the way Prometheus's text parsers do (strconv.ParseFloat without hex, `_` or
 * `p`): decimal forms, Inf/Infinity/NaN in any case with optional sign on Inf. NaN gets Go's
 * NaN bit pattern so written chunks match Prometheus's. Returns undefined when invalid.
 */
export function parseGoFloat(s: string): number | undefined {
  if (DECIMAL.test(s)) {
    const v = Number(s);
    // Go reports overflow of a finite literal as an error (ErrRange).
    return Number.isFinite(v) ? v : undefined;
  }
  const l = s.toLowerCase();
  if (l === 'nan') return GO_NAN;
  const body = l[0] === '+' || l[0] === '-' ? l.slice(1) : l;
  if (body === 'inf' || body === 'infinity') return l[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return undefined;
}

function isNameStart(c: number, colon: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (colon && c === 58);
}

function isNameChar(c: number, colon: boolean): boolean {
  return isNameStart(c, colon) || (c >= 48 && c <= 57);
}

/**
 * Streams the entries of OpenMetrics text with the grammar of Prometheus 2.42's OpenMetrics parser
 * (model/textparse): metadata lines, samples with optional labels, timestamp and exemplar, and a
 * mandatory final `# EOF`. `_created` samples are ordinary series, as promtool treats them. The
 * yielded sample object is reused between iterations; copy what you keep.
 */
export function parseOpenMetrics(text: string, file = 'input'): Generator<OpenMetricsEntry> {
  return new OpenMetricsParser(file).feed(text, true);
}

/**
 * Incremental form of parseOpenMetrics for inputs too large for one string: call `feed` with
 * pieces that each end at a line boundary, the last one with `final = true`.
 */
export class OpenMetricsParser {
  private line = 0;
  private eofSeen = false;
  private readonly sample: OpenMetricsSample = {
    kind: 'series',
    series: '',
    name: '',
    labels: [],
    value: 0,
    timestamp: undefined,
    line: 0,
  };

  constructor(readonly file = 'input') {}

  private fail = (detail: string): never => {
    throw new OpenMetricsParseError(this.file, this.line, detail);
  };

  /** Parses the complete lines of `text`; with `final`, also checks that `# EOF` was seen. */
  *feed(text: string, final: boolean): Generator<OpenMetricsEntry> {
    let pos = 0;
    const n = text.length;
    const fail = this.fail;
    const sample = this.sample;
    for (;;) {
      if (pos >= n) {
        if (final && !this.eofSeen) {
          this.line++;
          fail('data does not end with # EOF');
        }
        return;
      }
      if (this.eofSeen) fail('unexpected data after # EOF');
      this.line++;
      const line = this.line;
      let end = text.indexOf('\n', pos);
      const hasNewline = end >= 0;
      if (!hasNewline) {
        if (!final) fail('internal: feed() text must end at a line boundary');
        end = n;
      }
      const l = text.slice(pos, end);
      pos = end + 1;
      if (l.startsWith('#')) {
        if (l === '# EOF') {
          this.eofSeen = true;
          continue;
        }
        const m = /^# (HELP|TYPE|UNIT) /.exec(l);
        if (!m) fail(`invalid comment line ${JSON.stringify(l.slice(0, 40))}`);
        if (!hasNewline) fail('data does not end with # EOF');
        const rest = l.slice(7);
        let i = 0;
        if (!isNameStart(rest.charCodeAt(0), true)) fail(`expected metric name after ${(m as RegExpExecArray)[1]}`);
        while (i < rest.length && isNameChar(rest.charCodeAt(i), true)) i++;
        const metric = rest.slice(0, i);
        if (i >= rest.length || rest[i] !== ' ') fail(`expected text in ${(m as RegExpExecArray)[1]}`);
        const txt = rest.slice(i + 1);
        const kind = (m as RegExpExecArray)[1]?.toLowerCase() as 'help' | 'type' | 'unit';
        if (kind === 'type' && !METRIC_TYPES.has(txt)) fail(`invalid metric type ${JSON.stringify(txt)}`);
        if (kind === 'unit' && txt.length > 0 && !metric.endsWith(`_${txt}`)) {
          fail(`unit not a suffix of metric ${JSON.stringify(metric)}`);
        }
        yield { kind, metric, text: txt, line };
        continue;
      }
      if (!hasNewline) fail('data does not end with # EOF');
      // Sample line.
      let i = 0;
      if (!isNameStart(l.charCodeAt(0), true)) fail(`${JSON.stringify(l.slice(0, 1))} is not a valid start token`);
      while (i < l.length && isNameChar(l.charCodeAt(i), true)) i++;
      const name = l.slice(0, i);
      const labels: string[] = [];
      if (l[i] === '{') {
        i = parseLabelBlock(l, i + 1, labels, fail);
      }
      const seriesEnd = i;
      if (l[i] !== ' ') fail('expected value after metric');
      let j = l.indexOf(' ', i + 1);
      if (j < 0) j = l.length;
      const valueText = l.slice(i + 1, j);
      if (valueText === '') fail('expected value after metric');
      const value = parseGoFloat(valueText);
      if (value === undefined) fail(`invalid value ${JSON.stringify(valueText)}`);
      let timestamp: number | undefined;
      i = j;
      if (i < l.length) {
        if (l.startsWith(' # {', i)) {
          parseExemplar(l, i + 4, name, fail);
        } else {
          let k = l.indexOf(' ', i + 1);
          if (k < 0) k = l.length;
          const tsText = l.slice(i + 1, k);
          const ts = parseGoFloat(tsText);
          if (ts === undefined || tsText === '') fail(`invalid timestamp ${JSON.stringify(tsText)}`);
          if (!Number.isFinite(ts)) fail('invalid timestamp');
          // int64(ts * 1000): float multiply, then truncate toward zero, exactly as Go.
          timestamp = Math.trunc((ts as number) * 1000) + 0; // + 0 turns -0 into 0
          if (k < l.length) {
            if (!l.startsWith(' # {', k)) fail('expected next entry after timestamp');
            parseExemplar(l, k + 4, name, fail);
          }
        }
      }
      sample.series = l.slice(0, seriesEnd);
      sample.name = name;
      sample.labels = labels;
      sample.value = value as number;
      sample.timestamp = timestamp;
      sample.line = line;
      yield sample;
    }
  }
}

// Parses `name="value",…}` starting after `{`; returns the index after `}`.
function parseLabelBlock(l: string, i: number, out: string[], fail: (d: string) => never): number {
  let first = true;
  for (;;) {
    if (l[i] === '}') return i + 1;
    if (!first) {
      if (l[i] !== ',') fail('expected comma or left brace');
      i++;
    }
    first = false;
    const s = i;
    if (!isNameStart(l.charCodeAt(i), false)) fail('expected label name');
    while (i < l.length && isNameChar(l.charCodeAt(i), false)) i++;
    const lname = l.slice(s, i);
    if (l[i] !== '=') fail('expected equal');
    i++;
    if (l[i] !== '"') fail('expected label value');
    i++;
    let v = '';
    let seg = i;
    for (;;) {
      if (i >= l.length) fail('unterminated label value');
      const c = l[i];
      if (c === '"') break;
      if (c === '\\') {
        if (i + 1 >= l.length) fail('unterminated label value');
        const e = l[i + 1];
        v += l.slice(seg, i);
        // Prometheus unescapes only \", \\ and \n; any other escape stays as written.
        if (e === '"') v += '"';
        else if (e === '\\') v += '\\';
        else if (e === 'n') v += '\n';
        else v += `\\${e}`;
        i += 2;
        seg = i;
        continue;
      }
      i++;
    }
    v += l.slice(seg, i);
    i++;
    out.push(lname, v);
  }
}

function parseExemplar(l: string, i: number, name: string, fail: (d: string) => never): void {
  if (!EXEMPLAR_SUFFIXES.some((s) => name.endsWith(s))) fail(`metric name ${name} does not support exemplars`);
  const labels: string[] = [];
  i = parseLabelBlock(l, i, labels, fail);
  const rest = l.slice(i);
  const m = /^ (\S+)(?: (\S+))?$/.exec(rest);
  if (!m) {
    fail('expected value after exemplar labels');
    return;
  }
  if (parseGoFloat(m[1] as string) === undefined) fail(`invalid exemplar value ${JSON.stringify(m[1])}`);
  if (m[2] !== undefined) {
    const ts = parseGoFloat(m[2]);
    if (ts === undefined || !Number.isFinite(ts)) fail('invalid exemplar timestamp');
  }
}
