import { describe, expect, it } from 'vitest';
import { describeToken, Lexer, type Token } from './lexer.js';

function lex(input: string, seriesDesc = false): string[] {
  const l = new Lexer(input, seriesDesc);
  const out: string[] = [];
  for (;;) {
    const t: Token = l.next();
    if (t.type === 'EOF') return out;
    out.push(t.type === 'ERROR' ? `ERROR(${t.val})@${t.pos}` : `${t.type}:${t.val}@${t.pos}`);
    if (t.type === 'ERROR') return out;
  }
}

describe('Lexer', () => {
  it.each([
    ['1 + 2', ['NUMBER:1@0', '+:+@2', 'NUMBER:2@4']],
    [
      '0x1F 1e-3 .5 5. 1_000 Inf nAn',
      [
        'NUMBER:0x1F@0',
        'NUMBER:1e-3@5',
        'NUMBER:.5@10',
        'NUMBER:5.@13',
        'NUMBER:1_000@16',
        'NUMBER:Inf@22',
        'NUMBER:nAn@26',
      ],
    ],
    ['5m 1h30m 500ms 1y2w', ['DURATION:5m@0', 'DURATION:1h30m@3', 'DURATION:500ms@9', 'DURATION:1y2w@15']],
    [
      'a==b!=c<=d>=e<f>g',
      [
        'IDENTIFIER:a@0',
        '==:==@1',
        'IDENTIFIER:b@3',
        '!=:!=@4',
        'IDENTIFIER:c@6',
        '<=:<=@7',
        'IDENTIFIER:d@9',
        '>=:>=@10',
        'IDENTIFIER:e@12',
        '<:<@13',
        'IDENTIFIER:f@14',
        '>:>@15',
        'IDENTIFIER:g@16',
      ],
    ],
    ['SUM by BY Without', ['sum:SUM@0', 'by:by@4', 'by:BY@7', 'without:Without@10']],
    ['foo:bar sum_x', ['METRIC_IDENTIFIER:foo:bar@0', 'IDENTIFIER:sum_x@8']],
    [
      '{a=~"b",c!~`d`,e!=\'f\'}',
      [
        '{:{@0',
        'IDENTIFIER:a@1',
        '=~:=~@2',
        'STRING:"b"@4',
        ',:,@7',
        'IDENTIFIER:c@8',
        '!~:!~@9',
        'STRING:`d`@11',
        ',:,@14',
        'IDENTIFIER:e@15',
        '!=:!=@16',
        "STRING:'f'@18",
        '}:}@21',
      ],
    ],
    ['x[5m:1m]', ['IDENTIFIER:x@0', '[:[@1', 'DURATION:5m@2', ':::@4', 'DURATION:1m@5', ']:]@7']],
    ['x[ step() ]', ['IDENTIFIER:x@0', '[:[@1', 'step:step@3', '(:(@7', '):)@8', ']:]@10']],
    ['# comment\nfoo # more', ['IDENTIFIER:foo@10']],
    ['foo @ start()', ['IDENTIFIER:foo@0', '@:@@4', 'start:start@6', '(:(@11', '):)@12']],
    ['"\\"\\x41\\u00e9\\101"', ['STRING:"\\"\\x41\\u00e9\\101"@0']],
    ['2.5.', ['ERROR(bad number or duration syntax: "2.5.")@0']],
    ['"abc', ['ERROR(unterminated quoted string)@0']],
    ['"\\z"', ["ERROR(unknown escape sequence U+007A 'z')@0"]],
    ['a $', ['IDENTIFIER:a@0', "ERROR(unexpected character: '$')@2"]],
    ['{a 1}', ['{:{@0', 'IDENTIFIER:a@1', "ERROR(unexpected character inside braces: '1')@3"]],
    [
      'x[5m:1m:2m]',
      ['IDENTIFIER:x@0', '[:[@1', 'DURATION:5m@2', ':::@4', 'DURATION:1m@5', "ERROR(unexpected colon ':')@7"],
    ],
  ])('%s', (input, want) => {
    expect(lex(input)).toEqual(want);
  });

  it('lexes series descriptions', () => {
    expect(lex('a{b="c"} 1+2x3 _x2 stale', true)).toEqual([
      'IDENTIFIER:a@0',
      '{:{@1',
      'IDENTIFIER:b@2',
      '=:=@3',
      'STRING:"c"@4',
      '}:}@7',
      'SPACE: @8',
      'NUMBER:1@9',
      '+:+@10',
      'NUMBER:2@11',
      'TIMES:x@12',
      'NUMBER:3@13',
      'SPACE: @14',
      'BLANK:_@15',
      'TIMES:x@16',
      'NUMBER:2@17',
      'SPACE: @18',
      'IDENTIFIER:stale@19',
    ]);
  });

  it('describes tokens like Prometheus', () => {
    const d = (type: Token['type'], val: string) => describeToken({ type, pos: 0, val });
    expect(d('EOF', '')).toBe('end of input');
    expect(d('IDENTIFIER', 'foo')).toBe('identifier "foo"');
    expect(d('+', '+')).toBe('<op:+>');
    expect(d('and', 'AND')).toBe('<op:AND>');
    expect(d('sum', 'sum')).toBe('<aggr:sum>');
    expect(d('by', 'by')).toBe('<by>');
    expect(d(',', ',')).toBe('","');
    expect(d('start', 'start')).toBe('"start"');
    expect(d('STRING', '"0123456789abc"')).toBe('string "\\"012345678"...');
  });
});
