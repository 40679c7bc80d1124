// reduceHistogramResolution / reduceFloatHistogramResolution against Prometheus's test cases
// (model/histogram TestHistogramReduceResolution) and, for schemas 9..20 → 8, against an
// independent computation from bucket bounds: origin bucket i of schema s covers
// (2^((i-1)/2^s), 2^(i/2^s)], which lies inside bucket ⌈i / 2^(s-8)⌉ of schema 8.
import { describe, expect, it } from 'vitest';
import {
  CounterResetHint,
  type FloatHistogram,
  type Histogram,
  HistogramError,
  reduceFloatHistogramResolution,
  reduceHistogramResolution,
  type Span,
  validateFloatHistogram,
  validateHistogram,
} from '../src/histogram/index.js';

function hist(
  schema: number,
  spans: Span[],
  deltas: number[],
  negSpans: Span[] = [],
  negDeltas: number[] = [],
): Histogram {
  let count = 3; // zero bucket
  for (const d of [deltas, negDeltas]) {
    let cur = 0;
    for (const x of d) {
      cur += x;
      count += cur;
    }
  }
  return {
    counterResetHint: CounterResetHint.NotCounterReset,
    schema,
    zeroThreshold: 1e-128,
    zeroCount: 3,
    count,
    sum: 42.5,
    positiveSpans: spans,
    negativeSpans: negSpans,
    positiveBuckets: deltas,
    negativeBuckets: negDeltas,
  };
}

/** Absolute counts by bucket index. */
function expand(spans: readonly Span[], buckets: readonly number[], deltas: boolean): Map<number, number> {
  const out = new Map<number, number>();
  let idx = 0;
  let at = 0;
  let cur = 0;
  for (const s of spans) {
    idx += s.offset;
    for (let j = 0; j < s.length; j++, idx++, at++) {
      cur = deltas ? cur + (buckets[at] as number) : (buckets[at] as number);
      out.set(idx, cur);
    }
  }
  return out;
}

/** The expected schema-8 buckets, grouped by ⌈i / 2^(s-8)⌉, in increasing index order. */
function expected(byIdx: Map<number, number>, schema: number): Map<number, number> {
  const out = new Map<number, number>();
  const f = 2 ** (schema - 8);
  for (const [i, c] of [...byIdx].sort((a, b) => a[0] - b[0])) {
    const j = Math.ceil(i / f);
    out.set(j, (out.get(j) ?? 0) + c);
  }
  return out;
}

// Bucket indices chosen to cross 0, merge neighbours, leave gaps and reach far indices.
function layout(schema: number): { spans: Span[]; deltas: number[] } {
  const f = 2 ** (schema - 8);
  // Runs: [-2f-1 .. -2f+2], [-1 .. 2], [5f .. 5f+1], [40f-1 .. 40f].
  const starts = [-2 * f - 1, -1, 5 * f, 40 * f - 1];
  const lengths = [4, 4, 2, 2];
  const spans: Span[] = [];
  let end = 0;
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k] as number;
    spans.push({ offset: k === 0 ? s : s - end, length: lengths[k] as number });
    end = s + (lengths[k] as number);
  }
  const n = lengths.reduce((a, b) => a + b, 0);
  // Counts 1, 3, 2, 5, 4, ... as deltas.
  const abs = Array.from({ length: n }, (_, i) => 1 + ((i * 7) % 5));
  const deltas = abs.map((c, i) => c - (i === 0 ? 0 : (abs[i - 1] as number)));
  return { spans, deltas };
}

describe('reduceHistogramResolution', () => {
  it.each([9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])('schema %i → 8 (integer)', (schema) => {
    const { spans, deltas } = layout(schema);
    const h = hist(schema, spans, deltas, spans.slice(0, 2), deltas.slice(0, 8));
    const before = JSON.stringify(h);
    const r = reduceHistogramResolution(h, 8);
    expect(JSON.stringify(h)).toBe(before); // input untouched
    expect(r.schema).toBe(8);
    expect(validateHistogram(r)).toBeUndefined();
    expect([r.count, r.sum, r.zeroCount, r.zeroThreshold, r.counterResetHint]).toEqual([
      h.count,
      h.sum,
      h.zeroCount,
      h.zeroThreshold,
      h.counterResetHint,
    ]);
    expect(expand(r.positiveSpans, r.positiveBuckets, true)).toEqual(
      expected(expand(h.positiveSpans, h.positiveBuckets, true), schema),
    );
    expect(expand(r.negativeSpans, r.negativeBuckets, true)).toEqual(
      expected(expand(h.negativeSpans, h.negativeBuckets, true), schema),
    );
    // No zero-length spans and no empty buckets are invented.
    for (const s of r.positiveSpans) expect(s.length).toBeGreaterThan(0);
  });

  it.each([9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])('schema %i → 8 (float)', (schema) => {
    const { spans, deltas } = layout(schema);
    const abs = [...expand(spans, deltas, true).values()].map((c) => c + 0.25);
    const fh: FloatHistogram = {
      ...hist(schema, spans, []),
      count: abs.reduce((a, b) => a + b, 3),
      positiveBuckets: abs,
    };
    const r = reduceFloatHistogramResolution(fh, 8);
    expect(r.schema).toBe(8);
    expect(validateFloatHistogram(r)).toBeUndefined();
    expect(expand(r.positiveSpans, r.positiveBuckets, false)).toEqual(
      expected(expand(fh.positiveSpans, fh.positiveBuckets, false), schema),
    );
    expect(r.negativeSpans).toEqual([]);
    expect(r.negativeBuckets).toEqual([]);
  });

  it('schema 9 → 8 worked by hand', () => {
    // Indices -3..0 and 3..4 with counts 1..6: ⌈i/2⌉ gives -1 (1+2), 0 (3+4), 2 (5+6).
    const h = hist(
      9,
      [
        { offset: -3, length: 4 },
        { offset: 2, length: 2 },
      ],
      [1, 1, 1, 1, 1, 1],
    );
    const r = reduceHistogramResolution(h, 8);
    expect(r.positiveSpans).toEqual([
      { offset: -1, length: 2 },
      { offset: 1, length: 1 },
    ]);
    expect(r.positiveBuckets).toEqual([3, 4, 4]);
  });

  it("Prometheus's case: schema 0 → -1, zero-length spans dropped", () => {
    const spans = [
      { offset: -2, length: 4 },
      { offset: 0, length: 0 },
      { offset: 3, length: 2 },
    ];
    const r = reduceHistogramResolution(
      hist(
        0,
        spans,
        [1, 2, -2, 1, -1, 0],
        [
          { offset: 0, length: 4 },
          { offset: 0, length: 0 },
          { offset: 3, length: 2 },
        ],
        [1, 2, -2, 1, -1, 0],
      ),
      -1,
    );
    expect(r.positiveSpans).toEqual([
      { offset: -1, length: 3 },
      { offset: 1, length: 1 },
    ]);
    expect(r.positiveBuckets).toEqual([1, 3, -2, 0]);
    expect(r.negativeSpans).toEqual([
      { offset: 0, length: 3 },
      { offset: 1, length: 1 },
    ]);
    expect(r.negativeBuckets).toEqual([1, 3, -2, 0]);
  });

  it.each([
    [
      'not enough buckets',
      [1, 2, -2, 1, -1],
      [
        { offset: -2, length: 4 },
        { offset: 0, length: 0 },
        { offset: 3, length: 2 },
      ],
      'have 5 buckets but spans need more: histogram spans specify different number of buckets than provided',
    ],
    [
      'too many buckets',
      [1, 2, -2, 1, -1, 0, 3],
      [
        { offset: -2, length: 4 },
        { offset: 0, length: 0 },
        { offset: 3, length: 2 },
      ],
      'spans need 6 buckets, have 7 buckets: histogram spans specify different number of buckets than provided',
    ],
    [
      'negative offset',
      [1, 2, -2, 1, -1, 0],
      [
        { offset: -2, length: 4 },
        { offset: -1, length: 0 },
        { offset: 3, length: 2 },
      ],
      'span number 2 with offset -1: histogram has a span whose offset is negative',
    ],
  ])("%s: Prometheus's error", (_name, buckets, spans, message) => {
    const h = { ...hist(0, [], []), positiveSpans: spans, positiveBuckets: buckets };
    expect(() => reduceHistogramResolution(h, -1)).toThrow(HistogramError);
    expect(() => reduceHistogramResolution(h, -1)).toThrow(message);
  });

  it.each([
    [8, 8, 'cannot reduce resolution from schema 8 to 8'],
    [3, 5, 'cannot reduce resolution from schema 3 to 5'],
    [-53, -1, 'cannot reduce resolution when there are custom buckets'],
    [3, -53, 'cannot reduce resolution to custom buckets schema'],
  ])('schema %i to %i is refused', (from, to, message) => {
    expect(() => reduceHistogramResolution(hist(from, [], []), to)).toThrow(message);
  });
});
