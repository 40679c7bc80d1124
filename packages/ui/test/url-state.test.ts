import { describe, expect, it } from 'vitest';
import { defaultPanel, effectiveStepMs, panelsFromURL, panelsToURL } from '../web/query/state.js';

describe('query panels in the URL', () => {
  it('round-trips every field', () => {
    const panels = [
      { ...defaultPanel(), expr: 'sum by (job) (rate(x[5m]))', tab: 'graph' as const, stacked: true },
      {
        ...defaultPanel(),
        expr: 'up',
        rangeMs: 5_400_000,
        endMs: Date.UTC(2024, 0, 2, 3, 4, 5),
        stepMs: 30_000,
        momentMs: Date.UTC(2024, 0, 1),
        dedup: false,
        partialResponse: true,
        maxSourceResolution: '5m',
      },
    ];
    const params = panelsToURL(panels);
    expect(params.get('g1.range_input')).toBe('1h30m');
    expect(params.get('g1.end_input')).toBe('2024-01-02 03:04:05');
    expect(params.get('g1.deduplicate')).toBe('0');
    expect(panelsFromURL(new URLSearchParams(params.toString()))).toEqual(panels);
  });

  it.each([
    { name: "Prometheus's old numeric tab, graph", query: 'g0.expr=up&g0.tab=0', tab: 'graph' },
    { name: "Prometheus's old numeric tab, table", query: 'g0.expr=up&g0.tab=1', tab: 'table' },
    { name: 'named tab', query: 'g0.expr=up&g0.tab=graph', tab: 'graph' },
  ])('$name', ({ query, tab }) => {
    expect(panelsFromURL(new URLSearchParams(query))[0]?.tab).toBe(tab);
  });

  it("reads a Thanos link's options and falls back to Thanos's defaults on junk", () => {
    const [p] = panelsFromURL(
      new URLSearchParams('g0.expr=up&g0.max_source_resolution=1h&g0.partial_response=1&g0.range_input=bogus'),
    );
    expect(p).toMatchObject({ maxSourceResolution: '1h', partialResponse: true, dedup: true, rangeMs: 3_600_000 });
    const [q] = panelsFromURL(new URLSearchParams('g0.expr=up&g0.max_source_resolution=7m'));
    expect(q?.maxSourceResolution).toBe('0s');
    expect(panelsFromURL(new URLSearchParams('foo=bar'))).toEqual([]);
  });

  it('picks range / 250 as the step, in whole seconds, at least 1 s', () => {
    expect(effectiveStepMs({ ...defaultPanel(), rangeMs: 3_600_000 })).toBe(14_000);
    expect(effectiveStepMs({ ...defaultPanel(), rangeMs: 60_000 })).toBe(1_000);
    expect(effectiveStepMs({ ...defaultPanel(), stepMs: 60_000 })).toBe(60_000);
  });
});
