import { describe, expect, it } from 'vitest';
import { isStaleNaN, STALE_NAN } from './stale.js';

describe('staleness marker', () => {
  it('is told apart from ordinary NaN and survives a Float64Array copy', () => {
    const values = new Float64Array([1, Number.NaN, STALE_NAN]);
    const copy = new Float64Array(values);
    expect(isStaleNaN(copy[0] as number)).toBe(false);
    expect(isStaleNaN(copy[1] as number)).toBe(false);
    expect(isStaleNaN(copy[2] as number)).toBe(true);
  });
});
