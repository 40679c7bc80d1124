/**
 * Series descriptions of the promqltest script format and promtool unit tests:
 * `metric{label="value"} 1+2x3 _ stale _x3 -Inf`. Floats only; native histogram samples
 * (`{{…}}`) are reported as unsupported.
 */
import { Labels, STALE_NAN } from '@thanos-ts/tsdb';
import { ParseError } from './errors.js';
import { unquoteString } from './literals.js';
import { METRIC_IDENTIFIER_TOKENS, Parser } from './parser.js';

/** One expanded point of a series description: a value, or an omitted (`_`) slot. */
export interface SequenceValue {
  /** The sample value (`stale` is Prometheus's staleness-marker NaN); 0 when omitted. */
  value: number;
  omitted: boolean;
}

/** A parsed series description. */
export interface SeriesDescription {
  labels: Labels;
  values: SequenceValue[];
}

/**
 * Most points one series description may expand to. Prometheus has no limit (a mistyped
 * `0+1x1000000000` exhausts its memory); test scripts use a few thousand at most.
 */
export const MAX_SERIES_DESC_VALUES = 1_000_000;

/** A valid series description that uses syntax this implementation does not support yet. */
export class UnsupportedSeriesError extends ParseError {
  override readonly code = 'PROMQL_UNSUPPORTED' as 'PROMQL_PARSE';
}

/**
 * Parses a series description like Prometheus's `parser.ParseSeriesDesc`. Expansion rules:
 * `a+bxN` gives N+1 values a, a+b, … ; `axN` gives N+1 copies; `_xN` gives N omitted slots.
 */
export function parseSeriesDesc(input: string): SeriesDescription {
  const p = new Parser(input, {}, true);
  const names = new Map<string, string>();
  let metricName: string | undefined;
  const first = p.peek();
  if (METRIC_IDENTIFIER_TOKENS.has(first.type)) metricName = p.advance().val;
  if (p.peek().type === '{') parseLabelSet(p, names);
  if (metricName !== undefined) names.set('__name__', metricName);

  const values: SequenceValue[] = [];
  const unexpected = (): never => p.unexpected('series values', '');
  for (;;) {
    const t = p.peek();
    if (t.type === 'EOF') break;
    if (t.type !== 'SPACE') unexpected();
    p.advance();
    const item = p.peek();
    if (item.type === 'EOF') break;
    if (item.type === 'OPEN_HIST') {
      throw new UnsupportedSeriesError(
        'native histogram samples ({{…}}) in series descriptions are not supported yet',
        { start: item.pos, end: input.length },
        input,
      );
    }
    if (item.type === 'BLANK') {
      p.advance();
      let n = 1;
      if (p.peek().type === 'TIMES') {
        p.advance();
        n = parseRepetition(p, values.length);
      }
      for (let i = 0; i < n; i++) values.push({ value: 0, omitted: true });
      continue;
    }
    let v = parseSeriesValue(p);
    const next = p.peek().type;
    if (next === 'TIMES') {
      p.advance();
      const n = parseRepetition(p, values.length);
      for (let i = 0; i <= n; i++) values.push({ value: v, omitted: false });
    } else if (next === '+' || next === '-') {
      const inc = parseSignedNumber(p);
      if (p.peek().type !== 'TIMES') unexpected();
      p.advance();
      const n = parseRepetition(p, values.length);
      for (let i = 0; i <= n; i++) {
        values.push({ value: v, omitted: false });
        v += inc;
      }
    } else {
      values.push({ value: v, omitted: false });
    }
  }
  return { labels: Labels.from(names), values };
}

/**
 * Parses a metric in PromQL notation, `name{label="value", …}` or `{"name", label="value"}`,
 * into labels (Prometheus's `parser.ParseMetric`, used for expected series in tests).
 */
export function parseMetric(input: string): Labels {
  const p = new Parser(input, {});
  const names = new Map<string, string>();
  let metricName: string | undefined;
  if (METRIC_IDENTIFIER_TOKENS.has(p.peek().type)) metricName = p.advance().val;
  if (p.peek().type === '{') parseLabelSet(p, names);
  if (metricName !== undefined) names.set('__name__', metricName);
  if (p.peek().type !== 'EOF') p.unexpected();
  return Labels.from(names);
}

function parseLabelSet(p: Parser, out: Map<string, string>): void {
  p.advance(); // '{'
  for (;;) {
    const t = p.peek();
    if (t.type === '}') {
      p.advance();
      return;
    }
    if (t.type === 'IDENTIFIER' || t.type === 'STRING') {
      p.advance();
      const name = t.type === 'STRING' ? unquoteString(t.val) : t.val;
      if (p.peek().type === '=') {
        p.advance();
        const v = p.peek();
        if (v.type !== 'STRING') p.unexpected('label set', 'string');
        p.advance();
        out.set(name, unquoteString(v.val));
      } else if (t.type === 'STRING') {
        out.set('__name__', name);
      } else {
        p.unexpected('label set', '"="');
      }
    } else {
      p.unexpected('label set', 'identifier or "}"');
    }
    const sep = p.peek();
    if (sep.type === ',') {
      p.advance();
      continue;
    }
    if (sep.type === '}') {
      p.advance();
      return;
    }
    p.unexpected('label set', '"," or "}"');
  }
}

function parseSeriesValue(p: Parser): number {
  const t = p.peek();
  if (t.type === 'IDENTIFIER') {
    if (t.val !== 'stale') p.unexpected('series values', 'number or "stale"');
    p.advance();
    return STALE_NAN;
  }
  if (t.type === 'NUMBER') return p.number(p.advance());
  if (t.type === '+' || t.type === '-') return parseSignedNumber(p);
  return p.unexpected('series values', '');
}

function parseSignedNumber(p: Parser): number {
  const sign = p.advance();
  const n = p.peek();
  if (n.type !== 'NUMBER') p.unexpected('series values', '');
  const v = p.number(p.advance());
  return sign.type === '-' ? -v : v;
}

function parseRepetition(p: Parser, already: number): number {
  const t = p.peek();
  if (t.type !== 'NUMBER') p.unexpected('series values', '');
  p.advance();
  const pos = { start: t.pos, end: t.pos + t.val.length };
  if (!/^[0-9]+$/.test(t.val)) {
    p.fail(
      pos,
      `invalid repetition in series values: strconv.ParseUint: parsing ${JSON.stringify(t.val)}: invalid syntax`,
    );
  }
  const n = Number(t.val);
  if (already + n + 1 > MAX_SERIES_DESC_VALUES) {
    p.fail(pos, `too many values in series description (more than ${MAX_SERIES_DESC_VALUES})`);
  }
  return n;
}
