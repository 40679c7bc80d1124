import { rm } from 'node:fs/promises';
import { makeTempDir } from '@thanos-ts/testing';
import {
  type BlockReader,
  compareLabels,
  Labels,
  type MatchType,
  matcher,
  openBlock,
  writeBlock,
} from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTimeSlice } from '../concurrency/time-slice.js';
import { forEachSeriesLabels, postingsForMatchersSliced } from './postings.js';
import { sortSliced } from './series.js';

/** Series count: above the values-per-read batch (4096) so every path of the sliced reader runs. */
const SERIES = 6000;
let dir: string;
let block: BlockReader;

beforeAll(async () => {
  dir = await makeTempDir('store-postings-');
  const series = Array.from({ length: SERIES }, (_, i) => {
    const l: Record<string, string> = { __name__: `m_${i % 20}`, id: String(i), job: `job-${i % 3}` };
    if (i % 4 === 0) l.even = 'yes'; // a label only some series have
    return { labels: Labels.from(l), timestamps: [1000], values: [i] };
  }).sort((a, b) => compareLabels(a.labels, b.labels));
  const written = await writeBlock(series, { outDir: dir });
  if (!written) throw new Error('no block written');
  block = await openBlock(written.dir);
});

afterAll(async () => {
  await block?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('postingsForMatchersSliced', () => {
  // Each row: matchers as [type, name, value]; the answer must equal tsdb's IndexReader's.
  const cases: Array<[string, Array<[MatchType, string, string]>]> = [
    ['equal', [['=', '__name__', 'm_3']]],
    ['equal, no such value', [['=', '__name__', 'nope']]],
    ['set regex', [['=~', '__name__', 'm_1|m_2|m_3']]],
    ['regex over 6000 values (batched reads)', [['=~', 'id', '.*1.*']]],
    ['regex matching every value', [['=~', 'id', '.+']]],
    [
      'not equal',
      [
        ['=', 'job', 'job-1'],
        ['!=', '__name__', 'm_1'],
      ],
    ],
    [
      'negative regex',
      [
        ['=~', '__name__', 'm_.*'],
        ['!~', 'id', '1.*'],
      ],
    ],
    ['only negative matchers (all postings first)', [['!=', 'job', 'job-0']]],
    ['label present', [['!=', 'even', '']]],
    [
      'label absent',
      [
        ['=', 'even', ''],
        ['=', 'job', 'job-2'],
      ],
    ],
    [
      'regex accepting empty',
      [
        ['=~', 'even', 'yes|'],
        ['=', '__name__', 'm_4'],
      ],
    ],
    [
      'negative regex rejecting empty',
      [
        ['!~', 'even', ''],
        ['=', 'job', 'job-0'],
      ],
    ],
    ['missing label name', [['=', 'nosuch', 'x']]],
    [
      'intersection is empty',
      [
        ['=', '__name__', 'm_1'],
        ['=', 'id', '2'],
      ],
    ],
  ];
  it.each(cases)('%s: same postings as the index reader', async (_name, rows) => {
    const ms = rows.map(([t, n, v]) => matcher(t, n, v));
    const want = await block.index.postingsForMatchers(ms);
    // A 0 ms slice yields at every check, so every yield point runs.
    const got = await postingsForMatchersSliced(block.index, ms, createTimeSlice(0));
    expect([...got]).toEqual([...want]);
  });

  it('yields to the event loop while matching a regex over many values', async () => {
    // The block's index is in memory, so without yields the whole call would resolve in
    // microtasks and no macrotask (this setImmediate chain) could run before it ends.
    let ticks = 0;
    let done = false;
    const tick = () => {
      ticks++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    await postingsForMatchersSliced(block.index, [matcher('=~', 'id', '.*7.*')], createTimeSlice(0));
    const during = ticks;
    done = true;
    // One yield per 256 values tested (6000 here): well over 10.
    expect(during).toBeGreaterThan(10);
  });
});

describe('forEachSeriesLabels', () => {
  it('visits the labels of every ref, in order, as the index reader returns them', async () => {
    const refs = await block.index.postingsForMatchers([matcher('=~', 'job', 'job-0|job-2')]);
    const want = (await block.index.series(refs, { skipChunks: true })).map((s) => s.labels.key());
    const got: string[] = [];
    await forEachSeriesLabels(block.index, refs, createTimeSlice(0), undefined, (l) => got.push(l.key()));
    expect(got).toEqual(want);
  });
});

describe('sortSliced', () => {
  it.each([0, 1, 2047, 2048, 2049, 9000])('sorts %i series like a stable Array.prototype.sort', async (n) => {
    // Few distinct label sets, so stability (ties keep their order) is tested too.
    const list = Array.from({ length: n }, (_, i) => ({
      labels: Labels.from({ a: String((i * 7919) % 97) }),
      chunks: [{ minTime: i, maxTime: i, ref: i, block: undefined as never }],
    }));
    const want = [...list].sort((x, y) => compareLabels(x.labels, y.labels));
    const got = await sortSliced([...list], createTimeSlice(0));
    expect(got.map((s) => s.chunks[0]?.ref)).toEqual(want.map((s) => s.chunks[0]?.ref));
  });
});
