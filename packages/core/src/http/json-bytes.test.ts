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

  it('copies raw ranges and single bytes, growing from a small first buffer', () => {
    const src = Buffer.from('xx[1,"2"],[3,"4"]yy');
    const w = new JSONBytes(64);
    w.byte(0x5b);
    for (let i = 0; i < 100; i++) {
      if (i > 0) w.byte(0x2c);
      w.raw(src, 2, 17);
    }
    w.byte(0x5d);
    const want = `[${Array.from({ length: 100 }, () => '[1,"2"],[3,"4"]').join(',')}]`;
    expect(w.length).toBe(want.length);
    expect(w.bytes().toString('latin1')).toBe(want);
  });
});
