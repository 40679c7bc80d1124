import { describe, expect, it } from 'vitest';
import { isStaleNaN, STALE_NAN } from './stale.js';

describe('staleness marker', () => {
  it('is told apart from ordinary NaN and survives typed-array copies', () => {
    const values = new Float64Array(3);
    values[0] = 1;
    values[1] = Number.NaN;
    values[2] = STALE_NAN;
    const copy = new Float64Array(values);
    const sliced = values.slice(1);
    expect(isStaleNaN(copy[0] as number)).toBe(false);
    expect(isStaleNaN(copy[1] as number)).toBe(false);
    expect(isStaleNaN(copy[2] as number)).toBe(true);
    expect(isStaleNaN(sliced[1] as number)).toBe(true);
    expect(isStaleNaN(STALE_NAN)).toBe(true);
    expect(isStaleNaN(Number.NaN)).toBe(false);
  });
});
