import { describe, expect, it } from 'vitest';
import { withBlockWriterLock } from '../src/block-writer-lock.js';
import { findOnPath } from '../src/programs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(findOnPath('flock') === undefined)('withBlockWriterLock', () => {
  it('runs one holder at a time and hands the lock on', async () => {
    const spans: [number, number][] = [];
    const hold = (ms: number) =>
      withBlockWriterLock(async () => {
        const began = performance.now();
        await sleep(ms);
        spans.push([began, performance.now()]);
        return ms;
      });
    expect(await Promise.all([hold(200), hold(200), hold(200)])).toEqual([200, 200, 200]);
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      expect(spans[i]?.[0]).toBeGreaterThanOrEqual(spans[i - 1]?.[1] as number);
    }
  });

  it('releases the lock when the guarded work throws', async () => {
    await expect(withBlockWriterLock(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await withBlockWriterLock(async () => 'next')).toBe('next');
  });
});
