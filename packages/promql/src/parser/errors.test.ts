import { describe, expect, it } from 'vitest';
import { positionString } from './errors.js';

describe('positionString', () => {
  it.each([
    ['abc', 2, '1:3'],
    ['é + x', 4, '1:6'],
    ['a\nbc', 3, '2:2'],
    ['', 0, 'unknown position'],
    ['a', 5, 'invalid position'],
  ])('%j at %d is %s', (query, pos, want) => {
    expect(positionString(query, pos)).toBe(want);
  });
});
