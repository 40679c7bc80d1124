// A range query answer read straight into typed columns. JSON.parse of a 10,000-series × 1,000-
// point matrix builds 10 million `[t, "v"]` arrays and strings (over a gigabyte of heap, seconds of
// GC); this scanner reads the `result` array of the same text into two Float64Arrays per series and
// leaves the small envelope (status, warnings, infos) to JSON.parse. Pure: no DOM, testable in Node.

/** One series of a range answer, with its samples as columns. */
export interface ColumnSeries {
  metric: Record<string, string>;
  /** Sample timestamps, Unix seconds. */
  ts: Float64Array;
  /** Sample values; native histograms give their count. NaN, +Inf and -Inf stay as they are. */
  vs: Float64Array;
}

/** A parsed range query answer. */
export interface RangeAnswer {
  status: string;
  resultType: string;
  series: ColumnSeries[];
  warnings: string[];
  infos: string[];
  /** Present when status is "error". */
  error?: string;
  errorType?: string;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const LBRACKET = 91;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Sample columns grown in place while one series is read, then copied out at their exact length:
 * one reused buffer instead of two growing arrays per series (less garbage on huge answers).
 */
class SampleBuffer {
  ts = new Float64Array(1024);
  vs = new Float64Array(1024);
  n = 0;
  push(t: number, v: number): void {
    if (this.n === this.ts.length) {
      const ts = new Float64Array(this.n * 2);
      const vs = new Float64Array(this.n * 2);
      ts.set(this.ts);
      vs.set(this.vs);
      this.ts = ts;
      this.vs = vs;
    }
    this.ts[this.n] = t;
    this.vs[this.n] = v;
    this.n++;
  }
  reset(): void {
    this.n = 0;
  }
  take(): Samples {
    return { ts: this.ts.slice(0, this.n), vs: this.vs.slice(0, this.n) };
  }
}

/**
 * Samples written straight onto the graph's step grid: one NaN-filled column per series, a sample
 * going to its nearest step (as {@link alignSeries} puts it), non-finite values left as gaps. This
 * skips the exact-length copy of every series and the separate alignment pass over them.
 */
class GridBuffer {
  readonly xs: Float64Array;
  private col: Float64Array;
  constructor(readonly range: StepRange) {
    const { startS, endS, stepS } = range;
    const n = Math.max(1, Math.floor((endS - startS) / stepS + 1e-9) + 1);
    this.xs = new Float64Array(n);
    for (let i = 0; i < n; i++) this.xs[i] = startS + i * stepS;
    this.col = this.xs;
  }
  reset(): void {
    this.col = new Float64Array(this.xs.length).fill(Number.NaN);
  }
  push(t: number, v: number): void {
    const i = Math.round((t - this.range.startS) / this.range.stepS);
    if (i >= 0 && i < this.col.length && Number.isFinite(v)) this.col[i] = v;
  }
  take(): Samples {
    return { ts: this.xs, vs: this.col };
  }
}

/** Timestamps (s) and values of one series. */
interface Samples {
  ts: Float64Array;
  vs: Float64Array;
}

class Scanner {
  pos = 0;
  readonly samples: SampleBuffer | GridBuffer;
  constructor(
    readonly s: string,
    grid?: GridBuffer,
  ) {
    this.samples = grid ?? new SampleBuffer();
  }

  ws(): void {
    const s = this.s;
    let c = s.charCodeAt(this.pos);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++this.pos);
  }
  peek(): number {
    this.ws();
    return this.s.charCodeAt(this.pos);
  }
  expect(c: number): void {
    if (this.peek() !== c)
      throw new SyntaxError(
        `matrix JSON: want ${String.fromCharCode(c)} at offset ${this.pos}, got ${this.s[this.pos]}`,
      );
    this.pos++;
  }
  /** End of the JSON string starting at pos (a quote); returns the offset after the closing quote. */
  skipString(): number {
    const s = this.s;
    let p = this.pos + 1;
    for (;;) {
      const q = s.indexOf('"', p);
      if (q < 0) throw new SyntaxError('matrix JSON: unterminated string');
      let backslashes = 0;
      for (let b = q - 1; s.charCodeAt(b) === BACKSLASH; b--) backslashes++;
      if (backslashes % 2 === 0) return q + 1;
      p = q + 1;
    }
  }
  /** Any JSON value, returned as its text (strings respected, brackets balanced). */
  rawValue(): string {
    this.ws();
    const start = this.pos;
    const s = this.s;
    let depth = 0;
    for (;;) {
      const c = s.charCodeAt(this.pos);
      if (Number.isNaN(c)) throw new SyntaxError('matrix JSON: unexpected end');
      if (c === QUOTE) {
        this.pos = this.skipString();
        if (depth === 0) break;
        continue;
      }
      if (c === LBRACE || c === LBRACKET) depth++;
      else if (c === RBRACE || c === RBRACKET) {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && c === COMMA) break;
      this.pos++;
      if (depth === 0 && (c === RBRACE || c === RBRACKET)) break;
    }
    return s.slice(start, this.pos);
  }
  key(): string {
    this.ws();
    const start = this.pos;
    this.pos = this.skipString();
    const k = JSON.parse(this.s.slice(start, this.pos)) as string;
    this.expect(COLON);
    return k;
  }
  /**
   * A decimal number from pos up to `stop` (exclusive bound char code), digits accumulated exactly
   * while under 2^53 and divided once by an exact power of ten, so the result is the correctly rounded
   * value Number() gives; anything else (exponents, NaN, Inf, long mantissas) goes through Number().
   */
  number(stop: number): number {
    const s = this.s;
    const start = this.pos;
    let p = start;
    let neg = false;
    let c = s.charCodeAt(p);
    if (c === MINUS || c === PLUS) {
      neg = c === MINUS;
      c = s.charCodeAt(++p);
    }
    let mant = 0;
    let digits = 0;
    let frac = 0;
    let seenDot = false;
    for (;;) {
      if (c >= ZERO && c <= NINE) {
        mant = mant * 10 + (c - ZERO);
        digits++;
        if (seenDot) frac++;
      } else if (c === DOT && !seenDot) seenDot = true;
      else break;
      c = s.charCodeAt(++p);
    }
    if (c === stop && digits > 0 && mant <= Number.MAX_SAFE_INTEGER && frac < POW10.length) {
      this.pos = p;
      const v = frac === 0 ? mant : mant / (POW10[frac] as number);
      return neg ? -v : v;
    }
    const end = s.indexOf(String.fromCharCode(stop), start);
    const text = s.slice(start, end);
    this.pos = end;
    if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
    if (text === '-Inf') return Number.NEGATIVE_INFINITY;
    return Number(text);
  }
}

/**
 * `"values":[[t,"v"],…]` into columns. Compact JSON (what Prometheus and thanos-ts send) takes a
 * fast path with no whitespace skipping; anything else falls back to the general steps.
 */
function readValues(sc: Scanner): Samples {
  const out = sc.samples;
  out.reset();
  const s = sc.s;
  let t: number;
  sc.expect(LBRACKET);
  if (sc.peek() === RBRACKET) {
    sc.pos++;
    return out.take();
  }
  for (;;) {
    const p = sc.pos;
    if (s.charCodeAt(p) === LBRACKET) {
      sc.pos = p + 1;
      t = sc.number(COMMA);
      if (s.charCodeAt(sc.pos) === COMMA && s.charCodeAt(sc.pos + 1) === QUOTE) {
        sc.pos += 2;
        out.push(t, sc.number(QUOTE));
        const q = sc.pos;
        if (s.charCodeAt(q + 1) === RBRACKET) {
          const c = s.charCodeAt(q + 2);
          sc.pos = q + 3;
          if (c === COMMA) continue;
          if (c === RBRACKET) return out.take();
        }
        sc.pos = q + 1;
      } else {
        sc.expect(COMMA);
        sc.expect(QUOTE);
        out.push(t, sc.number(QUOTE));
        sc.pos++;
      }
    } else {
      sc.expect(LBRACKET);
      sc.ws();
      t = sc.number(COMMA);
      sc.expect(COMMA);
      sc.expect(QUOTE);
      out.push(t, sc.number(QUOTE));
      sc.pos++; // closing quote
    }
    sc.expect(RBRACKET);
    const c = sc.peek();
    sc.pos++;
    if (c === RBRACKET) return out.take();
    if (c !== COMMA) throw new SyntaxError(`matrix JSON: want , or ] at offset ${sc.pos - 1}`);
    sc.ws();
  }
}

/** One element of `result`. */
function readSeries(sc: Scanner): ColumnSeries {
  let metric: Record<string, string> = {};
  let values: Samples = { ts: new Float64Array(0), vs: new Float64Array(0) };
  let histograms: { ts: number[]; vs: number[] } | undefined;
  sc.expect(LBRACE);
  if (sc.peek() !== RBRACE) {
    for (;;) {
      const k = sc.key();
      if (k === 'values') values = readValues(sc);
      else if (k === 'metric') metric = JSON.parse(sc.rawValue()) as Record<string, string>;
      else if (k === 'histograms') {
        const hs = JSON.parse(sc.rawValue()) as [number, { count: string }][];
        histograms = { ts: hs.map(([t]) => t), vs: hs.map(([, h]) => Number(h.count)) };
      } else sc.rawValue();
      const c = sc.peek();
      sc.pos++;
      if (c === RBRACE) break;
      if (c !== COMMA) throw new SyntaxError(`matrix JSON: want , or } at offset ${sc.pos - 1}`);
    }
  } else sc.pos++;
  if (sc.samples instanceof GridBuffer) {
    // On the grid: a series without float values still gets its (empty) column, and the
    // histograms' counts go to their steps among the floats' values.
    const grid = sc.samples;
    if (values.vs.length !== grid.xs.length || values.ts !== grid.xs) {
      grid.reset();
      values = grid.take();
    }
    if (histograms)
      for (let i = 0; i < histograms.ts.length; i++) grid.push(histograms.ts[i] as number, histograms.vs[i] as number);
    return { metric, ts: values.ts, vs: values.vs };
  }
  if (histograms) {
    // Floats and histograms of one series never share a timestamp: merge by time.
    const merged = [
      ...Array.from(values.ts, (t, i) => [t, values.vs[i] as number]),
      ...histograms.ts.map((t, i) => [t, histograms.vs[i] as number]),
    ];
    merged.sort((a, b) => (a[0] as number) - (b[0] as number));
    return {
      metric,
      ts: Float64Array.from(merged, (m) => m[0] as number),
      vs: Float64Array.from(merged, (m) => m[1] as number),
    };
  }
  return { metric, ts: values.ts, vs: values.vs };
}

/**
 * Parses a Prometheus API answer to a range query. The `result` array is scanned into columns; the
 * rest (status, resultType, warnings, infos, or an error) is ordinary JSON. Throws SyntaxError on
 * text that is not such an answer.
 */
export function parseRangeAnswer(text: string): RangeAnswer {
  const steps = parseSteps(text);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * {@link parseRangeAnswer} in slices: after `sliceMs` of scanning it lets the event loop run (a
 * macrotask) before going on, so a huge answer never freezes the page for the whole parse.
 */
export async function parseRangeAnswerAsync(text: string, sliceMs = 40): Promise<RangeAnswer> {
  const steps = parseSteps(text);
  let sliceStart = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - sliceStart > sliceMs) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      sliceStart = performance.now();
    }
  }
}

/**
 * {@link parseRangeAnswerAsync} for a graph: every series is read straight onto the step grid of
 * `range`, so each comes back with `ts` = the grid's timestamps (shared) and `vs` = its column, NaN
 * where it has no finite sample — the {@link alignSeries} result without the second pass. `aligned`
 * is that grid, ready for the graph.
 */
export async function parseRangeAnswerOnGridAsync(
  text: string,
  range: StepRange,
  sliceMs = 40,
): Promise<RangeAnswer & { aligned: GraphData }> {
  const grid = new GridBuffer(range);
  const steps = parseSteps(text, grid);
  let sliceStart = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return { ...r.value, aligned: { xs: grid.xs, columns: r.value.series.map((x) => x.vs) } };
    if (performance.now() - sliceStart > sliceMs) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      sliceStart = performance.now();
    }
  }
}

/** The parse, yielding after each series so a caller can pause between them. */
function* parseSteps(text: string, grid?: GridBuffer): Generator<void, RangeAnswer, void> {
  const at = text.indexOf('"result":');
  if (at < 0) {
    const body = JSON.parse(text) as Partial<RangeAnswer> & { data?: { resultType?: string } };
    return {
      status: body.status ?? 'error',
      resultType: body.data?.resultType ?? '',
      series: [],
      warnings: body.warnings ?? [],
      infos: body.infos ?? [],
      ...(body.error !== undefined ? { error: body.error, errorType: body.errorType } : {}),
    };
  }
  const sc = new Scanner(text, grid);
  sc.pos = at + '"result":'.length;
  const series: ColumnSeries[] = [];
  sc.expect(LBRACKET);
  const arrayStart = sc.pos - 1;
  if (sc.peek() === RBRACKET) sc.pos++;
  else {
    for (;;) {
      series.push(readSeries(sc));
      yield;
      const c = sc.peek();
      sc.pos++;
      if (c === RBRACKET) break;
      if (c !== COMMA) throw new SyntaxError(`matrix JSON: want , or ] at offset ${sc.pos - 1}`);
    }
  }
  // The envelope with an empty result in place of the scanned one.
  const envelope = JSON.parse(`${text.slice(0, arrayStart)}[]${text.slice(sc.pos)}`) as {
    status: string;
    data: { resultType: string };
    warnings?: string[];
    infos?: string[];
  };
  return {
    status: envelope.status,
    resultType: envelope.data.resultType,
    series,
    warnings: envelope.warnings ?? [],
    infos: envelope.infos ?? [],
  };
}

/** Series on one step grid: shared timestamps and one column per series. */
export interface GraphData {
  /** Step timestamps, Unix seconds. */
  xs: Float64Array;
  /** Per series, a value per step; NaN where the series has no sample or a non-finite one (a gap). */
  columns: Float64Array[];
}

/** The range a graph covers, in seconds as the API speaks. */
export interface StepRange {
  startS: number;
  endS: number;
  stepS: number;
}

function* alignSteps(series: readonly ColumnSeries[], range: StepRange): Generator<void, GraphData, void> {
  const { startS, endS, stepS } = range;
  const n = Math.max(1, Math.floor((endS - startS) / stepS + 1e-9) + 1);
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = startS + i * stepS;
  const columns: Float64Array[] = [];
  for (const s of series) {
    const col = new Float64Array(n).fill(Number.NaN);
    const { ts, vs } = s;
    for (let j = 0; j < ts.length; j++) {
      const i = Math.round(((ts[j] as number) - startS) / stepS);
      const v = vs[j] as number;
      if (i >= 0 && i < n && Number.isFinite(v)) col[i] = v;
    }
    columns.push(col);
    yield;
  }
  return { xs, columns };
}

/**
 * Puts the series on one grid over `[start, end]` by `step`. Samples off the grid (possible with a
 * custom step) go to the nearest step. Infinities and NaN become gaps, because a linear axis has no
 * place for them.
 */
export function alignSeries(series: readonly ColumnSeries[], range: StepRange): GraphData {
  const steps = alignSteps(series, range);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** {@link alignSeries} in slices of `sliceMs`, letting the event loop run between them. */
export async function alignSeriesAsync(
  series: readonly ColumnSeries[],
  range: StepRange,
  sliceMs = 40,
): Promise<GraphData> {
  const steps = alignSteps(series, range);
  let sliceStart = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - sliceStart > sliceMs) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      sliceStart = performance.now();
    }
  }
}
