import { decodeMatrixAnswer, perStepOf, type SampleStats, sampleStatsOf, toMs } from './matrix.js';
import {
  PENDING_COLUMN,
  type RawMatrix,
  type RawSeries,
  rawFromMatrix,
  type SampleColumn,
  type SampleRun,
} from './raw-matrix.js';

// Byte values the scanner looks for.
const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** Nesting deeper than this in a skipped value gives up (JSON.parse then reads the body). */
const MAX_DEPTH = 256;

/** The scanner met something it does not expect: the caller reads the body with JSON.parse. */
class Unexpected extends Error {}
const UNEXPECTED = new Unexpected('unexpected');

/**
 * Reads a Prometheus range query success body without building a string or an object per sample:
 * each sample of `values` is checked to be exactly the text encodeMatrixResponse would write for it
 * (`[<seconds>,"<value>"]`, the timestamp as Prometheus's MarshalTimestamp writes it, the value
 * printable ASCII without escapes) and kept as a byte range of `body`; everything else (metrics,
 * histograms, stats, warnings) goes through JSON.parse of its own slice. Returns undefined for
 * anything else: another shape, whitespace inside `values`, escapes, a malformed body. The caller
 * then decodes the whole body with JSON.parse, so odd downstreams still get the same answer and
 * malformed ones the same error.
 */
export function scanMatrixBody(body: Uint8Array): { resp: RawMatrix; samples?: SampleStats } | undefined {
  const s = new Scanner(body);
  try {
    return s.document();
  } catch (err) {
    if (err instanceof Unexpected || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * A downstream's range query body (bytes as received) as a raw answer: scanned when it is in the
 * form Prometheus and thanos-ts write, else read by decodeMatrixAnswer, whose errors it throws.
 */
export function decodeRawMatrixAnswer(body: Uint8Array): { resp: RawMatrix; samples?: SampleStats } {
  const scanned = scanMatrixBody(body);
  if (scanned) return scanned;
  const { resp, samples } = decodeMatrixAnswer(bodyText(body));
  return samples ? { resp: rawFromMatrix(resp), samples } : { resp: rawFromMatrix(resp) };
}

/** The body as undici's `text()` reads it: UTF-8 after a byte order mark, if any. */
export function bodyText(body: Uint8Array): string {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const bom = buf.length > 2 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
  return buf.toString('utf8', bom ? 3 : 0);
}

/** Samples the scratch columns keep between scans at most (16 bytes each). */
const MAX_SCRATCH = 1 << 20;

/**
 * Columns the scanner fills before it knows how many samples a body has. Allocating fresh
 * oversized typed arrays per body cost about as much as scanning it (zeroing, and the garbage
 * collections external memory triggers); scans are synchronous, so one set serves them all.
 */
let scratch = { ts: new Float64Array(4096), starts: new Uint32Array(4096), ends: new Uint32Array(4096) };

class Scanner {
  private pos = 0;
  private readonly text: Buffer;
  private ts: Float64Array;
  private starts: Uint32Array;
  private ends: Uint32Array;
  private n = 0;

  constructor(private readonly b: Uint8Array) {
    this.text = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.ts = scratch.ts;
    this.starts = scratch.starts;
    this.ends = scratch.ends;
  }

  document(): { resp: RawMatrix; samples?: SampleStats } | undefined {
    let status: unknown;
    let data: { series: RawSeries[]; stats: unknown } | undefined;
    let warnings: unknown;
    let infos: unknown;
    const seen = new Set<string>();
    this.ws();
    this.object((key) => {
      if (seen.has(key)) throw UNEXPECTED;
      seen.add(key);
      if (key === 'status') status = this.parsed();
      else if (key === 'data') data = this.data();
      else if (key === 'warnings') warnings = this.parsed();
      else if (key === 'infos') infos = this.parsed();
      else this.parsed();
    });
    this.ws();
    if (this.pos !== this.b.length || status !== 'success' || !data) throw UNEXPECTED;
    // The columns go from the scratch arrays into one buffer of their exact size.
    const n = this.n;
    const mem = new ArrayBuffer(16 * n);
    const col: SampleColumn = {
      buf: this.b,
      ts: new Float64Array(mem, 0, n),
      starts: new Uint32Array(mem, 8 * n, n),
      ends: new Uint32Array(mem, 12 * n, n),
    };
    col.ts.set(this.ts.subarray(0, n));
    col.starts.set(this.starts.subarray(0, n));
    col.ends.set(this.ends.subarray(0, n));
    // Runs were made before the column existed. (Not kept in a list of the scanner's own: a new
    // list's first push changed its map, and V8 threw away the optimized loop at every body.)
    for (const s of data.series) for (const r of s.runs) r.col = col;
    const resp: RawMatrix = {
      series: data.series,
      warnings: Array.isArray(warnings) ? warnings.map(String) : [],
      infos: Array.isArray(infos) ? infos.map(String) : [],
    };
    const samples = sampleStatsOf(data.stats);
    if (!samples) return { resp };
    resp.stats = { ...samples, perStep: perStepOf(data.stats) };
    return { resp, samples };
  }

  /** `data`: an object with `resultType` "matrix" and a `result` array of series. */
  private data(): { series: RawSeries[]; stats: unknown } {
    if (this.b[this.pos] !== OPEN_OBJECT) throw UNEXPECTED;
    let resultType: unknown;
    let series: RawSeries[] | undefined;
    let stats: unknown;
    const seen = new Set<string>();
    this.object((key) => {
      if (seen.has(key)) throw UNEXPECTED;
      seen.add(key);
      if (key === 'resultType') resultType = this.parsed();
      else if (key === 'result') series = this.result();
      else if (key === 'stats') stats = this.parsed();
      else this.parsed();
    });
    if (resultType !== 'matrix' || !series) throw UNEXPECTED;
    return { series, stats };
  }

  private result(): RawSeries[] {
    const out: RawSeries[] = [];
    this.array(() => out.push(this.series()));
    return out;
  }

  private series(): RawSeries {
    if (this.b[this.pos] !== OPEN_OBJECT) throw UNEXPECTED;
    let metric: unknown;
    let run: SampleRun | undefined;
    let histograms: [number, unknown][] = [];
    const seen = new Set<string>();
    this.object((key) => {
      if (seen.has(key)) throw UNEXPECTED;
      seen.add(key);
      if (key === 'metric') metric = this.parsed();
      else if (key === 'values') run = this.values();
      else if (key === 'histograms') histograms = histogramsOf(this.parsed());
      else this.parsed();
    });
    const runs: SampleRun[] = run ? [run] : [];
    return { metric: (metric ?? {}) as Record<string, string>, runs, histograms };
  }

  /** A `values` array in its compact form; undefined when it is empty. */
  private values(): SampleRun | undefined {
    const b = this.b;
    let p = this.pos;
    if (b[p] !== OPEN_ARRAY) throw UNEXPECTED;
    p++;
    if (b[p] === CLOSE_ARRAY) {
      this.pos = p + 1;
      return undefined;
    }
    // The hot loop: columns and count in locals, written back when the array ends.
    const from = this.n;
    let n = from;
    let ts = this.ts;
    let starts = this.starts;
    let ends = this.ends;
    for (;;) {
      if (n === ts.length) {
        this.n = n;
        this.grow();
        ts = this.ts;
        starts = this.starts;
        ends = this.ends;
      }
      const start = p;
      if (b[p] !== OPEN_ARRAY) throw UNEXPECTED;
      p++;
      // The timestamp as MarshalTimestamp writes it: -?(0|[1-9][0-9]*)(\.[0-9]{3})? with a
      // nonzero fraction and no "-0"; at most 12 integer digits keep the ms exact.
      let neg = false;
      if (b[p] === MINUS) {
        neg = true;
        p++;
      }
      let c = b[p] as number;
      if (c < ZERO || c > NINE) throw UNEXPECTED;
      let sec = c - ZERO;
      p++;
      if (sec !== 0) {
        const first = p;
        for (c = b[p] as number; c >= ZERO && c <= NINE; c = b[++p] as number) sec = sec * 10 + (c - ZERO);
        if (p - first > 11) throw UNEXPECTED;
      } else if ((b[p] as number) >= ZERO && (b[p] as number) <= NINE) throw UNEXPECTED;
      let ms = sec * 1000;
      if (b[p] === DOT) {
        const d1 = (b[p + 1] as number) - ZERO;
        const d2 = (b[p + 2] as number) - ZERO;
        const d3 = (b[p + 3] as number) - ZERO;
        if (!(d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9 && d3 >= 0 && d3 <= 9)) throw UNEXPECTED;
        const frac = d1 * 100 + d2 * 10 + d3;
        if (frac === 0) throw UNEXPECTED;
        ms += frac;
        p += 4;
      } else if (neg && sec === 0) throw UNEXPECTED;
      if (neg) ms = -ms;
      if (b[p] !== COMMA || b[p + 1] !== QUOTE) throw UNEXPECTED;
      p += 2;
      // Printable ASCII without escapes; past the end b[p] is undefined, which fails the range.
      for (;;) {
        c = b[p] as number;
        if (c === QUOTE) break;
        if (!(c >= 0x20 && c <= 0x7e) || c === BACKSLASH) throw UNEXPECTED;
        p++;
      }
      if (b[p + 1] !== CLOSE_ARRAY) throw UNEXPECTED;
      p += 2;
      ts[n] = ms;
      starts[n] = start;
      ends[n] = p;
      n++;
      if (b[p] === COMMA) {
        p++;
        continue;
      }
      if (b[p] !== CLOSE_ARRAY) throw UNEXPECTED;
      p++;
      break;
    }
    this.n = n;
    this.pos = p;
    const run: SampleRun = { col: PENDING_COLUMN, from, to: n };
    return run;
  }

  private grow(): void {
    const cap = 2 * this.ts.length;
    const ts = new Float64Array(cap);
    ts.set(this.ts);
    const starts = new Uint32Array(cap);
    starts.set(this.starts);
    const ends = new Uint32Array(cap);
    ends.set(this.ends);
    this.ts = ts;
    this.starts = starts;
    this.ends = ends;
    // Kept for the next scans, up to a bound (a huge answer does not pin its size forever).
    if (cap <= MAX_SCRATCH) scratch = { ts, starts, ends };
  }

  /** Skips whitespace (JSON's four characters). */
  private ws(): void {
    const b = this.b;
    let p = this.pos;
    for (let c = b[p]; c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = b[++p]);
    this.pos = p;
  }

  /** An object at pos: calls `member` for each key with pos at its value, which it must consume. */
  private object(member: (key: string) => void): void {
    this.sequence(OPEN_OBJECT, CLOSE_OBJECT, () => {
      const key = this.key();
      this.ws();
      if (this.b[this.pos] !== COLON) throw UNEXPECTED;
      this.pos++;
      this.ws();
      member(key);
    });
  }

  /** An array at pos: calls `item` with pos at each element, which it must consume. */
  private array(item: () => void): void {
    this.sequence(OPEN_ARRAY, CLOSE_ARRAY, item);
  }

  /** `open`, elements separated by commas (each read by `element`), `close`; whitespace allowed between. */
  private sequence(open: number, close: number, element: () => void): void {
    const b = this.b;
    if (b[this.pos] !== open) throw UNEXPECTED;
    this.pos++;
    this.ws();
    if (b[this.pos] === close) {
      this.pos++;
      return;
    }
    for (;;) {
      element();
      this.ws();
      const c = b[this.pos];
      this.pos++;
      if (c === COMMA) {
        this.ws();
        continue;
      }
      if (c === close) return;
      throw UNEXPECTED;
    }
  }

  /** A key of printable ASCII without escapes (the only keys the answers have). */
  private key(): string {
    const b = this.b;
    if (b[this.pos] !== QUOTE) throw UNEXPECTED;
    const start = ++this.pos;
    for (;;) {
      const c = b[this.pos];
      if (c === undefined || c < 0x20 || c > 0x7e || c === BACKSLASH) throw UNEXPECTED;
      if (c === QUOTE) break;
      this.pos++;
    }
    return this.text.toString('latin1', start, this.pos++);
  }

  /** The value at pos, read by JSON.parse of its own text (a SyntaxError ends the scan). */
  private parsed(): unknown {
    const start = this.pos;
    this.skip();
    return JSON.parse(this.text.toString('utf8', start, this.pos));
  }

  /**
   * Moves pos past the value there. Only finds its end: JSON.parse of the slice checks it, so a
   * malformed value never reaches the answer.
   */
  private skip(): void {
    const b = this.b;
    const len = b.length;
    let depth = 0;
    let p = this.pos;
    for (;;) {
      if (p >= len) throw UNEXPECTED;
      const c = b[p] as number;
      if (c === QUOTE) {
        p++;
        for (;;) {
          if (p >= len) throw UNEXPECTED;
          const d = b[p] as number;
          if (d === QUOTE) break;
          p += d === BACKSLASH ? 2 : 1;
        }
        p++;
      } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        if (++depth > MAX_DEPTH) throw UNEXPECTED;
        p++;
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        if (depth === 0) break; // the end of the enclosing container
        depth--;
        p++;
      } else if (c === COMMA && depth === 0) break;
      else p++;
      if (depth === 0) {
        // A scalar ends at a delimiter; a container or string just closed ends here.
        if (c === QUOTE || c === CLOSE_ARRAY || c === CLOSE_OBJECT) break;
        const e = b[p];
        if (e === COMMA || e === CLOSE_ARRAY || e === CLOSE_OBJECT || e === undefined) break;
      }
    }
    this.pos = p;
  }
}

/** `histograms` of a series as the plain decoder keeps them: [ms, histogram] pairs. */
function histogramsOf(v: unknown): [number, unknown][] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw UNEXPECTED;
  return v.map((p) => {
    if (!Array.isArray(p) || typeof p[0] !== 'number') throw UNEXPECTED;
    return [toMs(p[0]), p[1]] as [number, unknown];
  });
}
