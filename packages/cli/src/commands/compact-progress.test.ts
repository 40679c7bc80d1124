import type { CompactorProgress } from '@thanos-ts/core/compact';
import { describe, expect, it } from 'vitest';
import { createProgressBar, formatElapsed, renderProgressLine } from './compact-progress.js';

const p = (over: Partial<CompactorProgress>): CompactorProgress => ({
  step: 'compact',
  item: '',
  phase: '',
  done: 0,
  total: 0,
  ...over,
});

describe('renderProgressLine', () => {
  it.each([
    [p({ step: 'sync' }), 80, 'syncing metas 0s'],
    [p({ step: 'compact' }), 80, 'compacting (no groups to work on) 0s'],
    [
      p({ done: 1, total: 4, item: '0@{cluster="eu"}', phase: 'download' }),
      80,
      'compacting [#####...............] 1/4 groups 0s download 0@{cluster="eu"}',
    ],
    [
      p({ step: 'downsample', done: 2, total: 2, item: '01ABC to 5m', phase: 'done' }),
      80,
      'downsampling [####################] 2/2 blocks 0s done 01ABC to 5m',
    ],
    [
      p({ done: 3, total: 4, item: 'x'.repeat(100), phase: 'upload' }),
      40,
      'compacting [########..] 3/4 groups 0s u…',
    ],
  ])('%j at width %d', (progress, width, want) => {
    const line = renderProgressLine(progress, width, 0);
    expect(line.length).toBeLessThanOrEqual(width);
    expect(line).toBe(want);
  });

  it('formats elapsed time', () => {
    expect([formatElapsed(999), formatElapsed(42_000), formatElapsed(65_000), formatElapsed(3_600_000)]).toEqual([
      '0s',
      '42s',
      '1m05s',
      '60m00s',
    ]);
  });
});

describe('createProgressBar', () => {
  it('is not created when stderr is not a terminal', () => {
    expect(createProgressBar({ isTTY: false, write: () => true })).toBeUndefined();
    expect(createProgressBar({ write: () => true })).toBeUndefined();
  });

  it('redraws in place, prints log lines above the bar and removes it when done', () => {
    const out: string[] = [];
    let t = 0;
    const bar = createProgressBar({ isTTY: true, columns: 81, write: (s) => out.push(s) }, { now: () => t });
    if (!bar) throw new Error('no bar on a TTY');
    bar.log('before\n');
    bar.update(p({ done: 0, total: 2, item: 'g1', phase: 'download' }));
    // Same step, item and phase within the redraw interval: no redraw.
    t = 50;
    bar.update(p({ done: 0, total: 2, item: 'g1', phase: 'download' }));
    bar.log('level=info msg="compacted blocks"\n');
    t = 2000;
    bar.update(p({ done: 1, total: 2, item: 'g1', phase: 'done' }));
    bar.done();
    bar.log('after\n');
    expect(out).toEqual([
      'before\n',
      '\r\x1b[Kcompacting [....................] 0/2 groups 0s download g1',
      '\r\x1b[K',
      'level=info msg="compacted blocks"\n',
      '\r\x1b[Kcompacting [....................] 0/2 groups 0s download g1',
      '\r\x1b[Kcompacting [##########..........] 1/2 groups 2s done g1',
      '\r\x1b[K',
      'after\n',
    ]);
  });
});
