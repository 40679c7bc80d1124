import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { CompactorProgress } from '@thanos-ts/core/compact';
import { makeTempDir } from '@thanos-ts/testing';
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
    [p({ done: 3, total: 4, item: 'x'.repeat(100), phase: 'upload' }), 40, 'compacting [########..] 3/4 groups 0s u…'],
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

const haveScript = spawnSync('script', ['--version']).status === 0;
if (!haveScript)
  console.warn('SKIPPING the pseudo-terminal test of the compact progress bar: util-linux script missing');

describe.skipIf(!haveScript)('thanos-ts compact progress bar as a process', () => {
  async function run(tty: boolean): Promise<string> {
    const dir = await makeTempDir('compact-bar-');
    const args = [
      '--import',
      'tsx',
      'packages/cli/src/main.ts',
      'compact',
      `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${dir}`,
      `--data-dir=${join(dir, 'data')}`,
      '--http-address=127.0.0.1:0',
    ];
    // `script` gives the command a pseudo-terminal (its stderr is a TTY).
    const cmd = tty
      ? spawn(
          'script',
          ['-qec', [process.execPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' '), '/dev/null'],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        )
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cmd.stdout?.on('data', (d) => (out += d));
    cmd.stderr?.on('data', (d) => (out += d));
    const code = await new Promise((resolve) => cmd.once('exit', resolve));
    expect(code, out).toBe(0);
    return out;
  }

  it('draws the bar on a terminal and nothing of it otherwise', async () => {
    const tty = await run(true);
    expect(tty).toContain('\r\x1b[Kcompacting (no groups to work on)');
    expect(tty).toContain('\r\x1b[Kdownsampling (no blocks to work on)');
    expect(tty).toContain('msg="compaction iteration done"');
    const plain = await run(false);
    expect(plain).not.toContain('\x1b[');
    expect(plain).toContain('msg="compaction iteration done"');
  }, 60_000);
});
