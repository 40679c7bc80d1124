import { describe, expect, it } from 'vitest';
import { AsyncQueue } from './async-queue.js';

/** An operation that finishes when the test says so. */
function held(): { op: () => Promise<void>; started: boolean; finish: () => void } {
  let finish = () => {};
  const h = {
    started: false,
    finish: () => finish(),
    op: () => {
      h.started = true;
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    },
  };
  return h;
}

describe('AsyncQueue (Thanos AsyncOperationProcessor)', () => {
  it('runs up to concurrency, buffers up to bufferSize and refuses the rest', async () => {
    const q = new AsyncQueue(2, 2);
    const ops = Array.from({ length: 5 }, held);
    expect(ops.map((o) => q.enqueue(o.op))).toEqual([true, true, true, true, false]);
    expect(ops.map((o) => o.started)).toEqual([true, true, false, false, false]);
    ops[0]?.finish();
    await Promise.resolve();
    await Promise.resolve();
    expect(ops[2]?.started).toBe(true);
    expect(q.pending).toBe(3);
  });

  it('lets queued operations finish on close and refuses new ones', async () => {
    const q = new AsyncQueue(10, 1);
    const done: number[] = [];
    for (let i = 0; i < 3; i++) q.enqueue(async () => void done.push(i));
    q.enqueue(() => Promise.reject(new Error('counted by the caller')));
    await q.close();
    expect(done).toEqual([0, 1, 2]);
    expect(q.enqueue(async () => {})).toBe(false);
    await q.close();
  });
});
