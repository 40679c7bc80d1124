import { describe, expect, it } from 'vitest';
import { JSONBytes } from './json-bytes.js';

describe('JSONBytes', () => {
  it.each([
    ['1.5'],
    ['-Inf'],
    ['NaN'],
    ['1e-07'],
    [''],
    ['a "quoted" \\ value'],
    ['tab\there'],
    ['grüße 名前'],
    ['\u007f'],
  ])('quoted(%j) is JSON.stringify’s text', (s) => {
    const w = new JSONBytes();
    w.ascii('[');
    w.quoted(s);
    w.ascii(',');
    w.text(s);
    w.ascii(']');
    expect(w.bytes().toString('utf8')).toBe(`[${JSON.stringify(s)},${s}]`);
  });

  it('grows past its first buffer without losing bytes', () => {
    const w = new JSONBytes();
    const parts: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const s = `${i * 1.25},`;
      parts.push(s);
      w.ascii(s);
    }
    expect(w.bytes().toString('latin1')).toBe(parts.join(''));
  });
});
