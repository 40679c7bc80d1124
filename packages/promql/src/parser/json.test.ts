import { describe, expect, it } from 'vitest';
import { exprToPrometheusJSON } from './json.js';
import { parseExpr } from './parser.js';

describe('exprToPrometheusJSON (the /api/v1/parse_query shape)', () => {
  it('translates selectors, aggregations and binary expressions with sorted keys', () => {
    const json = JSON.stringify(
      exprToPrometheusJSON(parseExpr('sum by (job) (rate(foo{a!="b"}[5m] offset 1m)) > bool 1')),
    );
    expect(json).toBe(
      '{"bool":true,"lhs":{"expr":{"args":[{"anchored":false,"matchers":[{"name":"a","type":"!=","value":"b"},' +
        '{"name":"__name__","type":"=","value":"foo"}],"name":"foo","offset":60000,"range":300000,"smoothed":false,' +
        '"startOrEnd":null,"timestamp":null,"type":"matrixSelector"}],"func":{"argTypes":["matrix"],"name":"rate",' +
        '"returnType":"vector","variadic":0},"type":"call"},"grouping":["job"],"op":"sum","param":null,' +
        '"type":"aggregation","without":false},"matching":null,"op":">","rhs":{"type":"numberLiteral","val":"1"},' +
        '"type":"binaryExpr"}',
    );
  });

  it('translates matching, subqueries, @, literals and unary expressions', () => {
    expect(exprToPrometheusJSON(parseExpr('a / on(x) group_left(y) -b'))).toMatchObject({
      matching: { card: 'many-to-one', include: ['y'], labels: ['x'], on: true },
      rhs: { op: '-', type: 'unaryExpr' },
    });
    expect(exprToPrometheusJSON(parseExpr('(foo @ start())[1h:]'))).toEqual({
      expr: {
        expr: {
          anchored: false,
          matchers: [{ name: '__name__', type: '=', value: 'foo' }],
          name: 'foo',
          offset: 0,
          smoothed: false,
          startOrEnd: 'start',
          timestamp: null,
          type: 'vectorSelector',
        },
        type: 'parenExpr',
      },
      offset: 0,
      range: 3_600_000,
      startOrEnd: null,
      step: 0,
      timestamp: null,
      type: 'subquery',
    });
    expect(exprToPrometheusJSON(parseExpr('foo @ 1.5'))).toMatchObject({ timestamp: 1500, startOrEnd: null });
    expect(exprToPrometheusJSON(parseExpr('-Inf'))).toEqual({ type: 'numberLiteral', val: '-Inf' });
    expect(exprToPrometheusJSON(parseExpr('"x"'))).toEqual({ type: 'stringLiteral', val: 'x' });
    expect(exprToPrometheusJSON(parseExpr('topk(3, foo)'))).toMatchObject({ param: { val: '3' } });
  });
});
