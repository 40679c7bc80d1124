import { describe, expect, it } from 'vitest';
import type { BlockMeta } from '../src/block/meta.js';
import {
  blocksBeyondRetention,
  DEFAULT_COMPACTION_RANGES,
  exponentialBlockRanges,
  planCompaction,
  splitByRange,
} from '../src/compact/index.js';

// Small ranges as in Prometheus's and Thanos's planner tests: 20, 60, 180, 540, 1620.
const RANGES = exponentialBlockRanges(20, 5, 3);

// A block named by a small number (b1, b2, …) so expectations read like the Go tables.
function b(n: number, minTime: number, maxTime: number, extra: Partial<BlockMeta> = {}): BlockMeta {
  return {
    ulid: `01H00000000000000000000${String(n).padStart(3, '0')}`,
    minTime,
    maxTime,
    stats: {},
    compaction: { level: 1 },
    version: 1,
    ...extra,
  };
}
const id = (n: number) => b(n, 0, 0).ulid;

describe('planCompaction', () => {
  it.each([
    { name: 'a single block is never compacted', metas: [b(1, 0, 20)], want: [] },
    { name: 'two of four small blocks: wait', metas: [b(1, 0, 20), b(2, 20, 40)], want: [] },
    {
      name: 'three small blocks, the newest is left out: wait',
      metas: [b(1, 0, 20), b(2, 20, 40), b(3, 40, 60)],
      want: [],
    },
    {
      name: 'a newer block appeared: the full first window is compacted',
      metas: [b(1, 0, 20), b(2, 20, 40), b(3, 40, 60), b(4, 60, 80)],
      want: [1, 2, 3],
    },
    {
      name: 'the second level fills once its window is full',
      metas: [b(6, 0, 60), b(7, 60, 120), b(8, 120, 180), b(9, 180, 200), b(10, 200, 220)],
      want: [6, 7, 8],
    },
    {
      name: 'a gap then a block in the next window: the first window cannot fill, still wait for a newer one',
      metas: [b(1, 0, 20), b(2, 20, 40), b(4, 60, 80)],
      want: [],
    },
    {
      name: 'a gap and two blocks in the next window: compact the two before the gap',
      metas: [b(1, 0, 20), b(2, 20, 40), b(4, 60, 80), b(5, 80, 100)],
      want: [1, 2],
    },
    {
      name: 'smallest range first: 20,20,20 before 60,60',
      metas: [b(1, 0, 20), b(2, 20, 40), b(3, 40, 60), b(4, 60, 120), b(5, 120, 180)],
      want: [1, 2, 3],
    },
    {
      name: 'a window spanning its range with a gap inside is compacted',
      metas: [b(6, 0, 60), b(8, 120, 180), b(9, 180, 200), b(10, 200, 220)],
      want: [6, 8],
    },
    {
      name: 'input order does not matter; the newest is by minTime, not by ULID',
      metas: [b(2, 20, 40), b(4, 60, 120), b(5, 960, 980), b(6, 120, 180), b(7, 720, 960)],
      want: [2, 4, 6],
    },
    {
      name: 'newest block by minTime is the fresh one even when its ULID is older',
      metas: [b(5, 0, 360), b(6, 540, 560), b(7, 360, 420), b(8, 420, 540)],
      want: [7, 8],
    },
    {
      name: 'big block with >5% tombstones is rewritten once a fresher block exists',
      metas: [b(1, 0, 540, { stats: { numSeries: 10, numTombstones: 3 } }), b(2, 540, 560)],
      want: [1],
    },
    {
      name: 'big block with tombstones but nothing fresher: wait',
      metas: [b(1, 0, 540, { stats: { numSeries: 10, numTombstones: 3 } })],
      want: [],
    },
    {
      name: 'small block with some tombstones is not rewritten',
      metas: [b(1, 0, 60, { stats: { numSeries: 10, numTombstones: 3 } }), b(2, 60, 80)],
      want: [],
    },
    {
      name: 'small block whose every series is deleted is rewritten (Prometheus)',
      metas: [b(1, 0, 60, { stats: { numSeries: 10, numTombstones: 10 } }), b(2, 60, 80)],
      want: [1],
    },
    {
      name: 'no tombstones and no series: no endless rewrite loop',
      metas: [b(1, 0, 540, { stats: { numSeries: 0, numTombstones: 0 } }), b(2, 540, 560)],
      want: [],
    },
    {
      name: 'overlap: the first overlapping run, newest block included',
      metas: [b(1, 0, 20), b(2, 19, 40), b(3, 40, 60)],
      want: [1, 2],
    },
    { name: 'overlap: only the later pair', metas: [b(1, 0, 20), b(2, 20, 40), b(3, 30, 50)], want: [2, 3] },
    { name: 'overlap: chained', metas: [b(1, 0, 20), b(2, 10, 40), b(3, 30, 50)], want: [1, 2, 3] },
    {
      name: 'overlap: one block spanning several',
      metas: [b(5, 0, 360), b(6, 340, 560), b(7, 360, 420), b(8, 420, 540)],
      want: [5, 6, 7, 8],
    },
    {
      name: 'overlap: only the first of two overlapping runs',
      metas: [b(1, 0, 10), b(2, 9, 20), b(3, 30, 40), b(4, 39, 50)],
      want: [1, 2],
    },
    {
      name: 'a window with a failed compaction is skipped',
      metas: [b(1, 0, 20), b(2, 20, 40, { compaction: { level: 1, failed: true } }), b(3, 40, 60), b(4, 60, 80)],
      want: [],
    },
  ])('$name', ({ metas, want }) => {
    expect(planCompaction(metas, { ranges: RANGES }).map((m) => m.ulid)).toEqual(want.map(id));
  });

  it.each([
    { name: 'excluded single block', metas: [b(1, 0, 20)], exclude: [1], want: [] },
    {
      name: 'first excluded: the rest of the window',
      metas: [b(1, 0, 20), b(2, 20, 40), b(3, 40, 60), b(4, 60, 80)],
      exclude: [1],
      want: [2, 3],
    },
    {
      name: 'second excluded: one block on each side, nothing',
      metas: [b(1, 0, 20), b(2, 20, 40), b(3, 40, 60), b(4, 60, 80)],
      exclude: [2],
      want: [],
    },
    {
      name: 'newest excluded: it still counts as the fresh one',
      metas: [b(1, 0, 20), b(2, 20, 40), b(3, 40, 60), b(4, 60, 80)],
      exclude: [4],
      want: [1, 2, 3],
    },
    {
      name: 'first and newest excluded',
      metas: [b(1, 0, 20), b(2, 20, 40), b(3, 40, 60), b(4, 60, 80)],
      exclude: [1, 4],
      want: [2, 3],
    },
    {
      name: 'all excluded',
      metas: [b(1, 0, 20), b(2, 20, 40), b(3, 40, 60), b(4, 60, 80)],
      exclude: [1, 2, 3, 4],
      want: [],
    },
    {
      name: 'excluded in the middle of a second-level window',
      metas: [b(2, 20, 40), b(4, 60, 120), b(5, 960, 980), b(6, 120, 180), b(7, 720, 960)],
      exclude: [6],
      want: [2, 4],
    },
    {
      name: 'excluded big block with tombstones is left alone',
      metas: [b(1, 0, 540, { stats: { numSeries: 10, numTombstones: 3 } }), b(2, 540, 560)],
      exclude: [1],
      want: [],
    },
    {
      name: 'excluded block breaks an overlap',
      metas: [b(1, 0, 20), b(2, 19, 40), b(3, 40, 60)],
      exclude: [1],
      want: [],
    },
  ])('with no-compact marks: $name', ({ metas, exclude, want }) => {
    const ex = new Set(exclude.map(id));
    expect(planCompaction(metas, { ranges: RANGES, exclude: ex }).map((m) => m.ulid)).toEqual(want.map(id));
  });

  it('without vertical compaction, overlapping blocks are planned like any other', () => {
    const metas = [b(1, 0, 20), b(2, 19, 40), b(3, 40, 60), b(4, 60, 80)];
    expect(planCompaction(metas, { ranges: RANGES }).map((m) => m.ulid)).toEqual([id(1), id(2)]);
    expect(planCompaction(metas, { ranges: RANGES, vertical: false }).map((m) => m.ulid)).toEqual([
      id(1),
      id(2),
      id(3),
    ]);
  });

  it('defaults to Thanos levels 2h → 8h → 2d → 14d', () => {
    const h = 3_600_000;
    expect(DEFAULT_COMPACTION_RANGES).toEqual([2 * h, 8 * h, 48 * h, 336 * h]);
    const twoHour = [0, 1, 2, 3, 4].map((i) => b(i + 1, i * 2 * h, (i + 1) * 2 * h));
    expect(planCompaction(twoHour).map((m) => m.ulid)).toEqual([1, 2, 3, 4].map(id));
  });
});

describe('splitByRange', () => {
  it.each([
    {
      name: 'Prometheus doc example',
      blocks: [
        [0, 10],
        [10, 20],
        [50, 60],
        [90, 100],
      ],
      range: 30,
      want: [
        [
          [0, 10],
          [10, 20],
        ],
        [[50, 60]],
        [[90, 100]],
      ],
    },
    { name: 'a block larger than the range is skipped', blocks: [[0, 40]], range: 30, want: [] },
    {
      name: 'a block crossing a window end is skipped',
      blocks: [
        [20, 40],
        [40, 60],
      ],
      range: 30,
      want: [[[40, 60]]],
    },
    {
      name: 'negative times align to the window below',
      blocks: [
        [-30, -20],
        [-10, 0],
        [0, 10],
      ],
      range: 30,
      want: [
        [
          [-30, -20],
          [-10, 0],
        ],
        [[0, 10]],
      ],
    },
  ])('$name', ({ blocks, range, want }) => {
    const metas = blocks.map(([minTime, maxTime]) => ({ minTime: minTime as number, maxTime: maxTime as number }));
    expect(splitByRange(metas, range).map((g) => g.map((m) => [m.minTime, m.maxTime]))).toEqual(want);
  });
});

describe('blocksBeyondRetention', () => {
  const metas = [b(1, 0, 1000), b(2, 1000, 2000), b(3, 2000, 3000), b(4, 3000, 4000)];
  it.each([
    { name: 'disabled', opts: { retentionMs: 0 }, want: [] },
    { name: 'Prometheus: relative to the newest block', opts: { retentionMs: 1500 }, want: [1, 2] },
    { name: 'Prometheus: exactly the retention is kept', opts: { retentionMs: 2000 }, want: [1] },
    { name: 'Prometheus: the newest block is never deleted', opts: { retentionMs: 1 }, want: [1, 2, 3] },
    { name: 'Thanos: relative to now', opts: { retentionMs: 1000, nowMs: 3500 }, want: [1, 2] },
    { name: 'Thanos: everything once old enough', opts: { retentionMs: 1000, nowMs: 10_000 }, want: [1, 2, 3, 4] },
    { name: 'Thanos: at the boundary the block stays', opts: { retentionMs: 1000, nowMs: 3000 }, want: [1] },
  ])('$name', ({ opts, want }) => {
    expect(blocksBeyondRetention(metas, opts).map((m) => m.ulid)).toEqual(want.map(id));
  });

  it('Thanos truncates maxTime to whole seconds before adding the retention', () => {
    // maxTime 1999 ms counts as 1 s: with 1 s retention it is gone at 2001 ms.
    expect(blocksBeyondRetention([b(1, 0, 1999)], { retentionMs: 1000, nowMs: 2001 })).toHaveLength(1);
    expect(blocksBeyondRetention([b(1, 0, 1999)], { retentionMs: 1000, nowMs: 2000 })).toHaveLength(0);
  });
});
