import { encodeXorChunk, Labels } from '@thanos-ts/tsdb';
import { cutHistogramChunks, type Histogram } from '@thanos-ts/tsdb/histogram';
import { describe, expect, it } from 'vitest';
import type { AggrChunk } from '../storeapi/store-api.js';
import { decodeEncodedStoreSeries, EncodedSetBuilder, type SeriesDecodeParams } from './encoded-series.js';

const PARAMS: SeriesDecodeParams = { aggregates: [], mint: 0, maxt: 1e12, func: 'penalty', counter: false };
const DECODER = { module: 'file:///unused.js', name: 'decodeEncodedStoreSeries' };

/** One raw XOR chunk per series: 120 samples a minute apart, values `base + i`. */
function xorSeries(n: number, base: number): { labels: Labels; chunks: AggrChunk[] }[] {
  const ts = Float64Array.from({ length: 120 }, (_, i) => i * 60_000);
  return Array.from({ length: n }, (_, s) => {
    const vs = Float64Array.from({ length: 120 }, (_, i) => base + s + i);
    return {
      labels: Labels.from({ __name__: 'm', s: String(s) }),
      chunks: [{ minTime: 0, maxTime: 119 * 60_000, raw: { type: 'XOR', data: encodeXorChunk(ts, vs, 0, 120) } }],
    };
  });
}

function histogramSeries(): { labels: Labels; chunks: AggrChunk[] }[] {
  const samples = Array.from({ length: 10 }, (_, i) => ({
    t: i * 60_000,
    h: {
      counterResetHint: 0,
      schema: 1,
      zeroThreshold: 0.001,
      zeroCount: i,
      count: 2 * i,
      sum: i,
      positiveSpans: [{ offset: 0, length: 1 }],
      negativeSpans: [],
      positiveBuckets: [i],
      negativeBuckets: [],
    } as Histogram,
  }));
  const chunks = cutHistogramChunks(samples, 7_200_000).map(
    (c): AggrChunk => ({ minTime: c.minTime, maxTime: c.maxTime, raw: { type: 'HISTOGRAM', data: c.data } }),
  );
  return [{ labels: Labels.from({ __name__: 'h' }), chunks }];
}

function build(series: { labels: Labels; chunks: AggrChunk[] }[]) {
  const b = new EncodedSetBuilder(PARAMS, DECODER);
  for (const s of series) b.add(s.labels, s.chunks);
  const set = b.finish(undefined);
  const payload = set.payload as { bytes: Uint8Array[]; done: Int32Array };
  return { set, payload, segment: payload.bytes[0]?.buffer };
}

const decode = (set: ReturnType<typeof build>['set']) => decodeEncodedStoreSeries(set.labels, set.payload, () => false);

describe('EncodedSetBuilder byte segments', () => {
  it('are shared memory, left out of the transfer list, and reused once the decoder is done', () => {
    const a = build(xorSeries(50, 0));
    expect(a.segment).toBeInstanceOf(SharedArrayBuffer);
    expect(a.set.transfer).not.toContain(a.segment);
    expect(Atomics.load(a.payload.done, 0)).toBe(0);
    const decodedA = decode(a.set);
    expect(Atomics.load(a.payload.done, 0)).toBe(1);

    const b = build(xorSeries(50, 1000));
    expect(b.segment).toBe(a.segment);
    // The reused segment holds b's chunks now; a's decoded samples do not refer to it.
    const decodedB = decode(b.set);
    expect(decodedA.series[3]?.values[0]).toBe(3);
    expect(decodedB.series[3]?.values[0]).toBe(1003);
    expect(decodedB.samples).toBe(50 * 120);
  });

  it.each([
    { name: 'a set not decoded yet', series: () => xorSeries(5, 0), decodeIt: false },
    { name: 'a set with native histogram chunks, decoded', series: histogramSeries, decodeIt: true },
  ])('keeps the segment of $name', ({ series, decodeIt }) => {
    const a = build(series());
    if (decodeIt) {
      expect(decode(a.set).samples).toBe(10);
      expect(Atomics.load(a.payload.done, 0)).toBe(1);
    }
    const b = build(xorSeries(5, 0));
    expect(b.segment).not.toBe(a.segment);
    decode(b.set);
  });

  it('gives a chunk larger than a segment a transferable buffer of its own', () => {
    const big: AggrChunk = { minTime: 0, maxTime: 1, raw: { type: 'XOR', data: new Uint8Array((1 << 20) + 1) } };
    const { set, payload } = build([{ labels: Labels.from({ __name__: 'big' }), chunks: [big] }]);
    const own = payload.bytes.find((b) => b.length === (1 << 20) + 1);
    expect(own?.buffer).toBeInstanceOf(ArrayBuffer);
    expect(set.transfer).toContain(own?.buffer);
  });
});
