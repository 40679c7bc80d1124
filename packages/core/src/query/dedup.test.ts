import { describe, expect, it } from 'vitest';
import type { AggrChunk } from '../storeapi/store-api.js';
import { dedupPair, dedupReplicas, type SampleColumns, splitOverlapping } from './dedup.js';

const cols = (samples: [number, number][]): SampleColumns => ({
  timestamps: Float64Array.from(samples.map((s) => s[0])),
  values: Float64Array.from(samples.map((s) => s[1])),
});
const pairs = (c: SampleColumns): [number, number][] => Array.from(c.timestamps, (t, i) => [t, c.values[i] as number]);

// Expected outputs are Thanos's own (pkg/dedup/iter_test.go), so the penalty algorithm here
// picks exactly the samples Thanos picks.
describe('penalty deduplication', () => {
  const cases: { name: string; a: [number, number][]; b: [number, number][]; exp: [number, number][] }[] = [
    {
      name: 'prefers the first replica',
      a: [
        [10000, 10],
        [20000, 11],
        [30000, 12],
        [40000, 13],
      ],
      b: [
        [10000, 20],
        [20000, 21],
        [30000, 22],
        [40000, 23],
      ],
      exp: [
        [10000, 10],
        [20000, 11],
        [30000, 12],
        [40000, 13],
      ],
    },
    {
      name: 'prefers b when it starts earlier',
      a: [
        [10100, 1],
        [20100, 1],
        [30100, 1],
        [40100, 1],
      ],
      b: [
        [10000, 2],
        [20000, 2],
        [30000, 2],
        [40000, 2],
      ],
      exp: [
        [10000, 2],
        [20000, 2],
        [30000, 2],
        [40000, 2],
      ],
    },
    {
      name: 'does not switch on a single-delta gap',
      a: [
        [10000, 1],
        [20000, 1],
        [40000, 1],
      ],
      b: [
        [10000, 2],
        [20000, 2],
        [30000, 2],
        [40000, 2],
      ],
      exp: [
        [10000, 1],
        [20000, 1],
        [40000, 1],
      ],
    },
    {
      name: 'does not switch on a single-delta gap with shifted replica',
      a: [
        [10000, 1],
        [20000, 1],
        [40000, 1],
      ],
      b: [
        [15000, 2],
        [25000, 2],
        [35000, 2],
        [45000, 2],
      ],
      exp: [
        [10000, 1],
        [20000, 1],
        [40000, 1],
      ],
    },
    {
      name: 'switches and stays once the gap exceeds two deltas',
      a: [
        [10000, 1],
        [20000, 1],
        [30000, 1],
        [60000, 1],
        [70000, 1],
      ],
      b: [
        [10100, 2],
        [20100, 2],
        [30100, 2],
        [40100, 2],
        [50100, 2],
        [60100, 2],
      ],
      exp: [
        [10000, 1],
        [20000, 1],
        [30000, 1],
        [50100, 2],
        [60100, 2],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(pairs(dedupPair(cols(c.a), cols(c.b), false))).toEqual(c.exp);
    });
  }

  const a2401: [number, number][] = [
    [10000, 8],
    [20000, 9],
    [50001, 10],
    [60000, 11],
    [70000, 12],
    [80000, 13],
    [90000, 14],
    [100000, 15],
  ];
  const b2401: [number, number][] = [
    [10001, 8],
    [45001, 8.5],
    [55001, 9.5],
    [65001, 10.5],
  ];

  // Thanos's test for issue 2401 expects a sample at 90000 after the switch back to a, but only
  // because its mocked iterator seeks backwards; real chunk iterators (and this code) only seek
  // forward, so a stays on 100000 where the 50002 ms penalty had moved it.
  it('adjusts counters when switching replicas (Thanos issue 2401)', () => {
    expect(pairs(dedupPair(cols(a2401), cols(b2401), true))).toEqual([
      [10000, 8],
      [20000, 9],
      [45001, 9],
      [55001, 10],
      [65001, 11],
      [100000, 15],
    ]);
  });

  it('leaves values alone for non-counters', () => {
    expect(pairs(dedupPair(cols(a2401), cols(b2401), false))).toEqual([
      [10000, 8],
      [20000, 9],
      [45001, 8.5],
      [55001, 9.5],
      [65001, 10.5],
      [100000, 15],
    ]);
  });

  it('fills a missing hour of one replica from the other', () => {
    const step = 15000;
    const a: [number, number][] = [];
    const b: [number, number][] = [];
    for (let t = 0; t <= 3 * 3600_000; t += step) {
      if (t < 3600_000 || t >= 2 * 3600_000) a.push([t, t / 1000]);
      b.push([t + 1200, (t + 1200) / 1000]);
    }
    const out = dedupReplicas([cols(a), cols(b)], false);
    const ts = Array.from(out.timestamps);
    // Strictly increasing, never denser than the scrape interval, no hole wider than two intervals.
    for (let i = 1; i < ts.length; i++) {
      expect(ts[i] as number).toBeGreaterThan(ts[i - 1] as number);
      expect((ts[i] as number) - (ts[i - 1] as number)).toBeLessThanOrEqual(2 * step + 1200);
    }
    expect(ts.some((t) => t > 3600_000 && t < 2 * 3600_000)).toBe(true);
    expect(ts.length).toBeGreaterThan(3 * 240 - 5);
    expect(ts.length).toBeLessThanOrEqual(3 * 240 + 1);
  });

  it('folds three replicas left to right, keeping the penalty when one replica ends', () => {
    const a = cols([
      [10000, 1],
      [20000, 1],
    ]);
    const b = cols([
      [10000, 2],
      [20000, 2],
      [30000, 2],
    ]);
    const c = cols([
      [10000, 3],
      [20000, 3],
      [30000, 3],
      [40000, 3],
      [50000, 3],
      [60000, 3],
    ]);
    // (a ⊕ b) ends at 20000 (b's 30000 is within its 20000 ms penalty); c then resumes after
    // the same penalty, at 50000.
    expect(pairs(dedupReplicas([a, b, c], false))).toEqual([
      [10000, 1],
      [20000, 1],
      [50000, 3],
      [60000, 3],
    ]);
  });
});

describe('overlap split', () => {
  const ch = (minTime: number, maxTime: number): AggrChunk => ({ minTime, maxTime });
  it('puts overlapping chunks (HA replicas) in separate chains', () => {
    const chains = splitOverlapping([ch(0, 10), ch(0, 10), ch(11, 20), ch(12, 25), ch(30, 40)]);
    expect(chains.map((c) => c.map((x) => [x.minTime, x.maxTime]))).toEqual([
      [
        [0, 10],
        [11, 20],
        [30, 40],
      ],
      [
        [0, 10],
        [12, 25],
      ],
    ]);
  });
});

describe('chain deduplication', () => {
  it('merges replicas by timestamp, first replica winning ties', async () => {
    const { chainReplicas } = await import('./dedup.js');
    const a = cols([
      [10, 1],
      [20, 1],
      [40, 1],
    ]);
    const b = cols([
      [10, 2],
      [30, 2],
      [40, 2],
      [50, 2],
    ]);
    expect(pairs(chainReplicas([a, b]))).toEqual([
      [10, 1],
      [20, 1],
      [30, 2],
      [40, 1],
      [50, 2],
    ]);
  });
});
