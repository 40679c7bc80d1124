import { describe, expect, it } from 'vitest';
import type { SampleColumns } from './dedup.js';
import { DEDUP_WINDOW_MS, dedupWindowStart, penaltyWindowFloats, penaltyWindowTimelines } from './dedup-window.js';

const cols = (samples: [number, number][]): SampleColumns => ({
  timestamps: Float64Array.from(samples.map((s) => s[0])),
  values: Float64Array.from(samples.map((s) => s[1])),
});
const run = (replicas: SampleColumns[], counter: boolean): [number, number][] => {
  const total = replicas.reduce((n, r) => n + r.timestamps.length, 0);
  const t = new Float64Array(total);
  const v = new Float64Array(total);
  const n = penaltyWindowFloats(replicas, counter, t, v);
  return Array.from(t.subarray(0, n), (x, i) => [x, v[i] as number]);
};
const from = (r: SampleColumns, mint: number): SampleColumns => {
  let i = 0;
  while (i < r.timestamps.length && (r.timestamps[i] as number) < mint) i++;
  return { timestamps: r.timestamps.subarray(i), values: r.values.subarray(i) };
};

/**
 * Two replicas of a counter scraped every 15 s, b 7 s after a (so Thanos's algorithm switches
 * from one to the other), each with outages, b's values a little behind a's.
 */
function replicas(hours: number): [SampleColumns, SampleColumns] {
  const a: [number, number][] = [];
  const b: [number, number][] = [];
  for (let t = 0; t < hours * 3600_000; t += 15_000) {
    const inA = !(t >= 1_234_000 && t < 1_900_000) && !(t >= 5_000_000 && t < 5_100_000);
    const inB = !(t >= 3_000_000 && t < 4_000_000);
    if (inA) a.push([t, t / 100]);
    if (inB) b.push([t + 7000, (t + 7000) / 100 - 3]);
  }
  return [cols(a), cols(b)];
}

describe('penalty deduplication by windows', () => {
  it('stays on the replica scraping first in the cycle, and fills its gaps from the other', () => {
    // b scrapes 7 s after a: Thanos's flat 5 s initial penalty would switch to b at the second
    // sample; twice the scrape interval keeps a until it misses scrapes.
    const a = cols([
      [0, 1],
      [15_000, 1],
      [30_000, 1],
      [90_000, 1],
      [105_000, 1],
    ]);
    const b = cols([
      [7_000, 2],
      [22_000, 2],
      [37_000, 2],
      [52_000, 2],
      [67_000, 2],
      [82_000, 2],
      [97_000, 2],
    ]);
    expect(run([a, b], false)).toEqual([
      [0, 1],
      [15_000, 1],
      [30_000, 1],
      [67_000, 2],
      [82_000, 2],
      [97_000, 2],
    ]);
    expect(run([b, a], false)).toEqual(run([a, b], false));
  });

  it('keeps the same samples from any start on (what a split query frontend relies on)', () => {
    const [a, b] = replicas(2);
    const whole = run([a, b], false);
    for (const start of [601_000, 1_300_000, 3_599_999, 3_600_000, 4_321_000]) {
      const read = dedupWindowStart(start);
      const piece = run([from(a, read), from(b, read)], false).filter(([t]) => t >= start);
      expect(piece).toEqual(whole.filter(([t]) => t >= start));
    }
  });

  it('keeps the same counter values from any start on', () => {
    const [a, b] = replicas(2);
    const whole = run([a, b], true);
    for (const start of [1_300_000, 3_600_000, 5_050_000]) {
      const read = dedupWindowStart(start);
      const piece = run([from(a, read), from(b, read)], true).filter(([t]) => t >= start);
      expect(piece).toEqual(whole.filter(([t]) => t >= start));
    }
  });

  it('never lowers a counter at a switch, and keeps a real reset', () => {
    const a = cols([
      [0, 100],
      [15_000, 101],
    ]);
    const b = cols([
      [7_000, 99],
      [22_000, 99.5],
      [37_000, 100],
      [52_000, 100.8],
      [67_000, 100.9],
      [82_000, 1], // b's target restarted: a real reset
      [97_000, 2],
    ]);
    // a ends at 15 s; from 52 s b answers. Its samples below a's last value hold that value
    // until b drops on its own, which stays a drop.
    expect(run([a, b], true)).toEqual([
      [0, 100],
      [15_000, 101],
      [52_000, 101],
      [67_000, 101],
      [82_000, 1],
      [97_000, 2],
    ]);
    expect(run([a, b], false).map(([, v]) => v)).toEqual([100, 101, 100.8, 100.9, 1, 2]);
  });

  it("fills one replica's outage from the other", () => {
    const [a, b] = replicas(2);
    const ts = run([a, b], false).map(([t]) => t);
    expect(ts.some((t) => t > 1_300_000 && t < 1_850_000)).toBe(true);
    expect(ts.some((t) => t > 3_100_000 && t < 3_900_000)).toBe(true);
    for (let i = 1; i < ts.length; i++) expect((ts[i] as number) - (ts[i - 1] as number)).toBeLessThanOrEqual(37_000);
  });

  it("does not depend on the replicas' order, equal first timestamps included", () => {
    const a = cols([
      [0, 1],
      [15_000, 1],
      [30_000, 1],
    ]);
    const b = cols([
      [0, 2],
      [15_000, 2],
      [30_000, 2],
    ]);
    const c = cols([
      [3_000, 3],
      [18_000, 3],
    ]);
    expect(run([a, b, c], false)).toEqual(run([c, b, a], false));
    expect(run([b, a], false).map(([, v]) => v)).toEqual([1, 1, 1]);
  });

  it('picks histograms and floats at the same timestamps', () => {
    const [a, b] = replicas(1);
    const tl = (r: SampleColumns) => ({
      t: Array.from(r.timestamps),
      v: Array.from(r.values, (x, i) => (i % 2 === 0 ? x : ({ sum: x } as never))),
    });
    const mixed = penaltyWindowTimelines([tl(a), tl(b)], false);
    expect(mixed.t).toEqual(run([a, b], false).map(([t]) => t));
  });

  it('aligns windows to absolute time', () => {
    expect(dedupWindowStart(DEDUP_WINDOW_MS * 3 + 5)).toBe(DEDUP_WINDOW_MS * 3);
    expect(dedupWindowStart(-1)).toBe(-DEDUP_WINDOW_MS);
  });
});
