import { XorEncoder } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import type { AggrChunk, Chunk } from '../storeapi/store-api.js';
import { aggregatesForFunc } from './queryable.js';
import { decodeChain, decodeChainInto } from './samples.js';

function xor(samples: [number, number][]): Chunk {
  const e = new XorEncoder();
  for (const [t, v] of samples) e.append(t, v);
  return { type: 'XOR', data: e.bytes() };
}

// A downsampled (5m) chunk as Thanos's compactor writes it: one XOR chunk per aggregate.
const downsampled: AggrChunk = {
  minTime: 300_000,
  maxTime: 600_000,
  count: xor([
    [300_000, 20],
    [600_000, 10],
  ]),
  sum: xor([
    [300_000, 100],
    [600_000, 30],
  ]),
  min: xor([
    [300_000, 1],
    [600_000, 2],
  ]),
  max: xor([
    [300_000, 9],
    [600_000, 8],
  ]),
  counter: xor([
    [300_000, 50],
    [600_000, 70],
  ]),
};

describe('reading chunks for the engine', () => {
  it('picks the aggregate the function needs, like Thanos', () => {
    expect(aggregatesForFunc('rate')).toEqual(['COUNTER']);
    expect(aggregatesForFunc('max_over_time')).toEqual(['MAX']);
    expect(aggregatesForFunc('min')).toEqual(['MIN']);
    expect(aggregatesForFunc('count_over_time')).toEqual(['COUNT']);
    expect(aggregatesForFunc('sum_over_time')).toEqual(['SUM']);
    expect(aggregatesForFunc('sum')).toEqual(['COUNT', 'SUM']);
    expect(aggregatesForFunc(undefined)).toEqual(['COUNT', 'SUM']);
  });

  it('decodes downsampled chunks as the requested aggregate (count+sum: the average)', () => {
    const values = (aggrs: Parameters<typeof decodeChain>[1]) =>
      Array.from(decodeChain([downsampled], aggrs, 0, 1e6).values);
    expect(values(['COUNT', 'SUM'])).toEqual([5, 3]);
    expect(values(['MAX'])).toEqual([9, 8]);
    expect(values(['MIN'])).toEqual([1, 2]);
    expect(values(['COUNTER'])).toEqual([50, 70]);
  });

  it('bounds raw chunks to the requested range', () => {
    const raw: AggrChunk = {
      minTime: 0,
      maxTime: 30_000,
      raw: xor([
        [0, 1],
        [15_000, 2],
        [30_000, 3],
      ]),
    };
    const c = decodeChain([raw], ['RAW'], 10_000, 20_000);
    expect([Array.from(c.timestamps), Array.from(c.values)]).toEqual([[15_000], [2]]);
  });
});

describe('downsampled counters', () => {
  it("apply counter resets across chunks like Thanos's ApplyCounterResetsSeriesIterator", async () => {
    const { chainCapacity, decodeChainInto } = await import('./samples.js');
    const chain: AggrChunk[] = [
      {
        minTime: 10,
        maxTime: 20,
        // The extra last sample (same timestamp) carries the true last raw value.
        counter: xor([
          [10, 5],
          [20, 8],
          [20, 9],
        ]),
      },
      {
        minTime: 30,
        maxTime: 40,
        counter: xor([
          [30, 8.5],
          [40, 9.5],
        ]),
      },
    ];
    const cap = chainCapacity(chain, ['COUNTER']);
    const ts = new Float64Array(cap);
    const vs = new Float64Array(cap);
    const n = decodeChainInto(chain, ['COUNTER'], 0, 100, ts, vs);
    // The raw counter really ended at 9, so 8.5 at t=30 is a reset (+8.5), not a rise of 0.5.
    expect([Array.from(ts.subarray(0, n)), Array.from(vs.subarray(0, n))]).toEqual([
      [10, 20, 30, 40],
      [5, 8, 16.5, 17.5],
    ]);
  });
});

describe('native histogram chunks', () => {
  it('reaching the float decoder are reported as the routing bug they are, not dropped', () => {
    const chunks: AggrChunk[] = [
      {
        minTime: 0,
        maxTime: 15_000,
        raw: xor([
          [0, 1],
          [15_000, 2],
        ]),
      },
      { minTime: 30_000, maxTime: 45_000, raw: { type: 'HISTOGRAM', data: new Uint8Array([0, 2, 0, 0]) } },
    ];
    expect(() => decodeChain(chunks, ['RAW'], 0, 60_000)).toThrow(/HISTOGRAM chunk reached the float decoder/);
    const ts = new Float64Array(8);
    const vs = new Float64Array(8);
    expect(() => decodeChainInto(chunks, ['RAW'], 0, 60_000, ts, vs)).toThrow(/float decoder/);
  });
});
