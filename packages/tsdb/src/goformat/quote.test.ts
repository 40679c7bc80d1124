import { describe, expect, it } from 'vitest';
import { goQuote, utf8Length } from './quote.js';

describe('Go quoting', () => {
  it('quotes like Go strconv.Quote', () => {
    expect(goQuote('a"b\\c\n\t\x01\x7f')).toBe('"a\\"b\\\\c\\n\\t\\x01\\x7f"');
    expect(goQuote('é☺😀')).toBe('"é☺😀"');
    expect(goQuote('\u200b\u00a0')).toBe('"\\u200b\\u00a0"');
    expect(goQuote('a\udcc5z')).toBe('"a\\xc5z"');
  });

  it('computes line:column in UTF-8 bytes', () => {
    expect(utf8Length('a😀é')).toBe(7);
  });
});
