// The frontend's raw answers: the byte scanner of downstream bodies, merge/extract/encode over
// sample runs, and the binary results cache entries, each checked against the plain (JSON.parse)
// path, whose bytes the frontend answered with before.
import { createRandom } from '@thanos-ts/testing';
import { describe, expect, it } from 'vitest';
import {
  decodeExtents,
  decodeMatrixAnswer,
  decodeRawMatrixAnswer,
  type Extent,
  encodeExtents,
  encodeMatrixResponse,
  encodeRawMatrix,
  encodeRawMatrixParts,
  extractMatrix,
  extractRawMatrix,
  type MatrixResponse,
  type MatrixSeries,
  matrixFromRaw,
  mergeMatrices,
  mergeRawMatrices,
  rawFromMatrix,
  scanMatrixBody,
} from '../src/frontend/index.js';

const enc = (s: string) => Buffer.from(s, 'utf8');

/** What the frontend answered for these bodies before: JSON.parse, plain merge, plain encode. */
function plainAnswer(bodies: string[], withStats = false): string {
  return encodeMatrixResponse(mergeMatrices(bodies.map((b) => decodeMatrixAnswer(b).resp)), withStats).toString('utf8');
}

/** What it answers now. */
function rawAnswer(bodies: string[], withStats = false): string {
  return encodeRawMatrix(mergeRawMatrices(bodies.map((b) => decodeRawMatrixAnswer(enc(b)).resp)), withStats).toString(
    'utf8',
  );
}

const ok = (result: string, extra = '') =>
  `{"status":"success","data":{"resultType":"matrix","result":${result}${extra}}}`;

describe('scanMatrixBody', () => {
  it.each([
    { name: 'empty result', body: ok('[]'), scanned: true },
    {
      name: 'NaN, ±Inf, exponent and empty values',
      body: ok('[{"metric":{"a":"b"},"values":[[1,"NaN"],[2,"+Inf"],[3,"-Inf"],[4,"1e-07"],[5,""]]}]'),
      scanned: true,
    },
    {
      name: 'escaped label values (Go escapes <, > and &)',
      body: ok('[{"metric":{"q":"a\\"b\\\\c","h":"\\u003cx\\u003e\\u0026","t":"tab\\there"},"values":[[1,"1"]]}]'),
      scanned: true,
    },
    {
      name: 'unicode label names and values',
      body: ok('[{"metric":{"名前":"値 ✓","e":"\\ud83d\\ude00 😀"},"values":[[1.5,"1"]]}]'),
      scanned: false, // "1.5" is not how Prometheus writes the timestamp (1.500): read by JSON.parse
    },
    {
      name: 'fractional and negative timestamps as Prometheus writes them',
      body: ok('[{"metric":{},"values":[[-1.500,"1"],[-0.001,"2"],[0,"3"],[0.010,"4"],[1700000000.123,"5"]]}]'),
      scanned: true,
    },
    {
      name: 'series without metric or values, and unknown keys',
      body: ok('[{"values":[[1,"1"]],"x":[1,{"y":"]"}]},{"metric":{"a":"1"}},{"metric":{"a":"2"},"values":[]}]'),
      scanned: true,
    },
    {
      name: 'native histograms',
      body: ok(
        '[{"metric":{"__name__":"h"},"histograms":[[1,{"count":"3","sum":"1.5","buckets":[[0,"-0.5","0.5","3"]]}],[2.250,{"count":"1","sum":"0"}]]},{"metric":{"__name__":"f"},"values":[[1,"2"]],"histograms":[[3,{"count":"1","sum":"1"}]]}]',
      ),
      scanned: true,
    },
    {
      name: 'stats, warnings and infos',
      body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[60,"1"]]}],"stats":{"timings":{"evalTotalTime":0.1},"samples":{"totalQueryableSamples":7,"totalQueryableSamplesPerStep":[[60,7]],"peakSamples":3}}},"warnings":["w1","w2"],"infos":["i1"]}`,
      scanned: true,
    },
    {
      name: 'whitespace between keys (pretty JSON): structure scanned, values are not',
      body: '{ "status" : "success" ,\n "data" : { "resultType" : "matrix", "result" : [ ] } }\n',
      scanned: true,
    },
    {
      name: 'whitespace inside values',
      body: ok('[{"metric":{},"values":[[1, "1"]]}]'),
      scanned: false,
    },
    { name: 'a value with an escape', body: ok('[{"metric":{},"values":[[1,"\\u0031"]]}]'), scanned: false },
    { name: 'a numeric value', body: ok('[{"metric":{},"values":[[1,1.5]]}]'), scanned: false },
    { name: 'timestamp 1.000', body: ok('[{"metric":{},"values":[[1.000,"1"]]}]'), scanned: false },
    { name: 'timestamp -0', body: ok('[{"metric":{},"values":[[-0,"1"]]}]'), scanned: false },
    { name: 'timestamp with exponent', body: ok('[{"metric":{},"values":[[1e3,"1"]]}]'), scanned: false },
    { name: 'timestamp with 4 decimals', body: ok('[{"metric":{},"values":[[1.0005,"1"]]}]'), scanned: false },
    { name: 'a byte order mark', body: `\ufeff${ok('[{"metric":{},"values":[[1,"1"]]}]')}`, scanned: false },
    { name: 'duplicate values key', body: ok('[{"metric":{},"values":[[1,"1"]],"values":[[2,"2"]]}]'), scanned: false },
    { name: 'values null', body: ok('[{"metric":{},"values":null}]'), scanned: false },
    { name: 'metric null', body: ok('[{"metric":null,"values":[[1,"1"]]}]'), scanned: true },
    {
      name: 'data before status',
      body: '{"data":{"result":[],"resultType":"matrix"},"status":"success"}',
      scanned: true,
    },
  ])('$name: same answer bytes as JSON.parse', ({ body, scanned }) => {
    expect(scanMatrixBody(enc(body)) !== undefined).toBe(scanned);
    expect(rawAnswer([body], true)).toBe(plainAnswer(body.startsWith('\ufeff') ? [body.slice(1)] : [body], true));
    const plain = decodeMatrixAnswer(body.replace(/^\ufeff/, ''));
    const raw = decodeRawMatrixAnswer(enc(body));
    expect(raw.samples).toEqual(plain.samples);
    expect(matrixFromRaw(raw.resp)).toEqual(plain.resp);
  });

  it.each([
    ['not JSON', 'oops'],
    ['truncated', ok('[{"metric":{},"values":[[1,"1"]')],
    [
      'truncated inside a value',
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1',
    ],
    ['trailing garbage', `${ok('[]')}x`],
    ['an error answer', '{"status":"error","errorType":"bad_data","error":"x"}'],
    ['a vector', '{"status":"success","data":{"resultType":"vector","result":[]}}'],
    ['data null', '{"status":"success","data":null}'],
    ['a control character in a value', ok('[{"metric":{},"values":[[1,"a\u0001"]]}]')],
    ['a string timestamp', ok('[{"metric":{},"values":[["1","1"]]}]')],
    ['a broken metric', ok('[{"metric":{"a":},"values":[[1,"1"]]}]')],
    ['a histogram without a timestamp', ok('[{"metric":{},"histograms":[[null,{}]]}]')],
    ['an empty body', ''],
    ['a timestamp with a leading zero', ok('[{"metric":{},"values":[[01,"1"]]}]')],
  ])('%s: the same error as JSON.parse', (_name, body) => {
    let want: unknown;
    try {
      decodeMatrixAnswer(body);
    } catch (err) {
      want = (err as Error).message;
    }
    expect(want).toBeDefined();
    expect(() => decodeRawMatrixAnswer(enc(body))).toThrow(want as string);
    expect(scanMatrixBody(enc(body))).toBeUndefined();
  });
});

const METRICS: Record<string, string>[] = [
  {},
  { __name__: 'up', job: 'a' },
  { __name__: 'up', job: 'b', instance: 'h"1\\' },
  { job: '名前', l: '<&>' },
  { a: '\n\t', z: '😀' },
  { __name__: 'x', le: '+Inf' },
];
const VALUES = ['1', '-0.5', 'NaN', '+Inf', '-Inf', '1e-07', '12345.678', '', '0', '3.141592653589793'];

describe('raw answers equal plain answers, byte for byte', () => {
  it('randomized differential: 10,000 cases of split pieces merged, cut, cached and encoded', () => {
    const rand = createRandom(20_261_206);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    let total = 0;
    let scanned = 0;
    for (let c = 0; c < 10_000; c++) {
      const step = pick([1, 15, 60, 1500, 60_000, 3600_000]) * (rand() < 0.2 ? 7 : 1);
      const start = Math.floor((rand() - 0.2) * 1e6) * (rand() < 0.5 ? 1 : 1000) + (rand() < 0.3 ? 123 : 0);
      const points = 1 + Math.floor(rand() * 40);
      const end = start + (points - 1) * step;
      // The whole answer: each series present at a random subset of the grid (churn).
      const series: MatrixSeries[] = [];
      for (const metric of METRICS) {
        if (rand() < 0.3) continue;
        const density = rand();
        const timestamps: number[] = [];
        const values: string[] = [];
        for (let t = start; t <= end; t += step)
          if (rand() < density) {
            timestamps.push(t);
            values.push(pick(VALUES));
          }
        const histograms: [number, unknown][] =
          rand() < 0.15
            ? [
                [start, { count: '1', sum: String(c) }],
                [end + 1, { count: '2', sum: '0.5' }],
              ]
            : [];
        if (timestamps.length > 0 || histograms.length > 0) series.push({ metric, timestamps, values, histograms });
      }
      const whole: MatrixResponse = { series, warnings: [], infos: [] };
      // Pieces over random cuts, sometimes overlapping, each with its own warnings and stats.
      const bodies: string[] = [];
      let from = start;
      while (from <= end) {
        const to = Math.min(end, from + Math.floor(rand() * points) * step);
        const piece = extractMatrix(whole, Math.max(start, from - (rand() < 0.3 ? step : 0)), to);
        if (rand() < 0.3) piece.warnings = [pick(['w1', 'w2', 'wé'])];
        if (rand() < 0.1) piece.infos = ['i'];
        if (rand() < 0.2) piece.stats = { totalQueryableSamples: 5, peakSamples: c % 7, perStep: [[from, 5]] };
        let body = encodeMatrixResponse(piece, true).toString('utf8');
        // Now and then a body the scanner leaves to JSON.parse (pretty printed).
        if (rand() < 0.05) body = JSON.stringify(JSON.parse(body), null, 1);
        bodies.push(body);
        from = to + step;
      }
      if (rand() < 0.5) bodies.reverse();
      const shards = rand() < 0.2;
      const withStats = rand() < 0.5;
      let plain = mergeMatrices(
        bodies.map((b) => decodeMatrixAnswer(b).resp),
        { shards },
      );
      let raw = mergeRawMatrices(
        bodies.map((b) => decodeRawMatrixAnswer(enc(b)).resp),
        { shards },
      );
      total += bodies.length;
      for (const b of bodies) if (scanMatrixBody(enc(b))) scanned++;
      // Through a cache entry and back, now and then.
      if (rand() < 0.3) {
        const extents = decodeExtents(encodeExtents('k', [{ start, end, resp: raw }]), 'k') as Extent[];
        raw = (extents[0] as Extent).resp;
      }
      // Cut to a sub-range, sometimes thinned to a coarser step.
      if (rand() < 0.6) {
        const a = start + Math.floor(rand() * points) * step - (rand() < 0.2 ? 1 : 0);
        const b = a + Math.floor(rand() * points) * step;
        const thin = rand() < 0.4 ? step * pick([2, 3, 5]) : 0;
        plain = extractMatrix(plain, a, b, thin);
        raw = extractRawMatrix(raw, a, b, thin);
      }
      const want = encodeMatrixResponse(plain, withStats).toString('utf8');
      const got = encodeRawMatrix(raw, withStats).toString('utf8');
      if (got !== want) expect([c, got]).toEqual([c, want]);
    }
    // The scanner read nearly every body (the rest went through JSON.parse on purpose).
    expect(scanned / total).toBeGreaterThan(0.9);
  });

  it('long runs are written where they lie, short ones copied; the parts join to the same bytes', () => {
    const grid = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i * 60_000);
    const day = (from: number, n: number): MatrixResponse => ({
      series: [
        { metric: { job: 'long' }, timestamps: grid(from, n), values: grid(from, n).map(String), histograms: [] },
        { metric: { job: 'short' }, timestamps: grid(from, 3), values: ['1', '2', '3'], histograms: [] },
      ],
      warnings: [],
      infos: [],
    });
    const bodies = [day(0, 2000), day(2000 * 60_000, 1500)].map((m) => encodeMatrixResponse(m).toString('utf8'));
    const raws = bodies.map((b) => decodeRawMatrixAnswer(enc(b)).resp);
    const merged = mergeRawMatrices(raws);
    const parts = encodeRawMatrixParts(merged);
    // The two long runs are views of the bodies; the rest is in copied parts around them.
    const inside = (p: Uint8Array, b: Uint8Array) =>
      p.buffer === b.buffer && p.byteOffset >= b.byteOffset && p.byteOffset + p.length <= b.byteOffset + b.length;
    const views = parts.filter((p) => raws.some((r) => inside(p, r.series[0]?.runs[0]?.col.buf as Uint8Array)));
    expect(views.map((p) => p.length)).toEqual([38_288, 31_499]);
    expect(Buffer.concat(parts).toString('utf8')).toBe(plainAnswer(bodies));
    expect(encodeRawMatrix(merged).toString('utf8')).toBe(plainAnswer(bodies));
  });

  it('rawFromMatrix and matrixFromRaw are inverses, with escapes and unicode', () => {
    const m: MatrixResponse = {
      series: [
        { metric: { a: 'é' }, timestamps: [-1500, 0, 1], values: ['a"b', '\u0001', 'ü'], histograms: [] },
        { metric: {}, timestamps: [], values: [], histograms: [[5, { count: '1' }]] },
      ],
      warnings: ['w'],
      infos: [],
      stats: { totalQueryableSamples: 1, peakSamples: 1, perStep: [] },
    };
    expect(matrixFromRaw(rawFromMatrix(m))).toEqual(m);
    expect(encodeRawMatrix(rawFromMatrix(m), true).equals(encodeMatrixResponse(m, true))).toBe(true);
  });
});

describe('results cache entries', () => {
  const body = ok('[{"metric":{"a":"1"},"values":[[1,"1"],[2,"2"],[3,"3"]]},{"metric":{"a":"2"},"values":[[2,"x"]]}]');
  const extents = (): Extent[] => [
    { start: 1000, end: 3000, resp: decodeRawMatrixAnswer(enc(body)).resp },
    { start: 9000, end: 9000, resp: { series: [], warnings: ['w'], infos: [] } },
  ];

  it('round trip, also from an unaligned buffer (a network cache hands out any offset)', () => {
    const entry = encodeExtents('key', extents());
    const unaligned = new Uint8Array(entry.length + 3).subarray(3);
    unaligned.set(entry);
    for (const e of [entry, unaligned]) {
      const got = decodeExtents(e, 'key') as Extent[];
      expect(got.map((x) => [x.start, x.end, matrixFromRaw(x.resp)])).toEqual(
        extents().map((x) => [x.start, x.end, matrixFromRaw(x.resp)]),
      );
    }
  });

  it.each([
    ['another key (a hash collision)', (e: Uint8Array) => e, 'other'],
    ['a format 1 entry (one JSON document)', () => enc(JSON.stringify({ key: 'key', extents: [] })), 'key'],
    ['an empty entry', () => new Uint8Array(0), 'key'],
  ])('%s reads as a miss', (_name, make, key) => {
    expect(decodeExtents(make(encodeExtents('key', extents())), key)).toBeUndefined();
  });

  it.each([
    ['cut short', (e: Uint8Array) => e.subarray(0, e.length - 4)],
    ['a sample count past the columns', (e: Uint8Array) => Object.assign(e.slice(), { 12: 200 })],
    [
      "a series' first timestamp overwritten",
      (e: Uint8Array) => {
        const d = e.slice();
        const view = new DataView(d.buffer);
        // The sample bytes follow the 16-byte prefix, the header (8-aligned) and the u32 starts.
        const samplesAt = ((16 + view.getUint32(8, true) + 7) & ~7) + 4 * view.getUint32(12, true);
        expect(d[samplesAt]).toBe(0x5b);
        d[samplesAt + 1] = 0x78; // 'x' where the first timestamp's first digit was
        return d;
      },
    ],
  ])('a damaged entry (%s) throws, so the cache logs it and misses', (_name, damage) => {
    expect(() => decodeExtents(damage(encodeExtents('key', extents())), 'key')).toThrow();
  });
});
