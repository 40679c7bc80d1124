import { describe, expect, it } from 'vitest';
import { createTimeSlice } from './time-slice.js';

describe('createTimeSlice', () => {
  it('does not yield before the slice is used up', () => {
    const slice = createTimeSlice(60_000);
    expect(slice.check()).toBeUndefined();
  });

  it('yields one macrotask turn once the slice is used up', async () => {
    const slice = createTimeSlice(0);
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    const turn = slice.check();
    expect(turn).toBeInstanceOf(Promise);
    await turn;
    expect(ran).toBe(true);
  });

  it('makes concurrent callers wait for the same turn, then starts a new slice', async () => {
    const slice = createTimeSlice(0);
    const a = slice.check();
    const b = slice.check();
    expect(a).toBeInstanceOf(Promise);
    expect(b).toBe(a);
    await a;
    const c = slice.check();
    expect(c).toBeInstanceOf(Promise);
    expect(c).not.toBe(a);
    await c;
  });
});
