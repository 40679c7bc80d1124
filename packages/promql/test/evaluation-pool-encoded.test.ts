/**
 * Encoded series (`EncodedQueryable.selectEncoded`): a Queryable leaves its samples encoded, the
 * evaluation worker imports the Queryable's decoder and decodes them before evaluating. Answers
 * equal plain selects; the decoder's sample count and warnings come back to the Queryable; its
 * errors fail the query.
 */
import type { Labels, Matcher, SelectHints, SeriesSamples } from '@thanos-ts/tsdb';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createEngine,
  createEvaluationPool,
  createMemoryStorage,
  type DecodeReport,
  type EncodedQueryable,
  type EncodedSeriesSet,
  isEncodedQueryable,
} from '../src/index.js';
import type { PairsPayload } from './evaluation-pool-decoder.js';

const DECODER = { module: new URL('./evaluation-pool-decoder.ts', import.meta.url).href, name: 'decodePairs' };

function storage() {
  const s = createMemoryStorage();
  for (let i = 0; i < 6; i++) {
    const ts: number[] = [];
    const vs: number[] = [];
    for (let p = 0; p < 480; p++) {
      if (i === 2 && p > 100 && p < 140) continue;
      ts.push(p * 15_000);
      vs.push(i === 4 && p > 300 ? p - 300 : p * (i + 1));
    }
    s.load([
      { labels: { __name__: 'requests_total', job: i % 2 ? 'a' : 'b', instance: `i${i}` }, timestamps: ts, values: vs },
    ]);
  }
  return s;
}

/** The storage's series, encoded as (t, v) pairs for the fixture decoder. */
function encodedQueryable(
  inner: ReturnType<typeof storage>,
  extra: Partial<PairsPayload> = {},
  decoder = DECODER,
): EncodedQueryable & { reports: DecodeReport[]; encodedSelects: number } {
  const q = {
    reports: [] as DecodeReport[],
    encodedSelects: 0,
    select: (m: readonly Matcher[], h: SelectHints, s?: AbortSignal) => inner.select(m, h, s),
    labelNames: (m: readonly Matcher[], h: SelectHints, s?: AbortSignal) => inner.labelNames(m, h, s),
    labelValues: (n: string, m: readonly Matcher[], h: SelectHints, s?: AbortSignal) => inner.labelValues(n, m, h, s),
    async selectEncoded(m: readonly Matcher[], h: SelectHints, s?: AbortSignal): Promise<EncodedSeriesSet> {
      q.encodedSelects++;
      const got: SeriesSamples[] = await inner.select(m, h, s);
      const pairs = got.map((x) => {
        const p = new Float64Array(2 * x.timestamps.length);
        x.timestamps.forEach((t, k) => {
          p[2 * k] = t;
          p[2 * k + 1] = x.values[k] as number;
        });
        return p;
      });
      const payload: PairsPayload = { pairs, ...extra };
      return {
        encoded: true,
        labels: got.map((x): Labels => x.labels),
        decoder,
        payload,
        transfer: pairs.map((p) => p.buffer as ArrayBuffer),
        decoded: (r) => q.reports.push(r),
      };
    },
  };
  return q;
}

const json = (v: unknown) =>
  JSON.stringify(v, (_k, x) =>
    x instanceof Float64Array
      ? Array.from(x)
      : typeof x?.toString === 'function' && x?.constructor?.name === 'Labels'
        ? String(x)
        : x,
  );

describe('evaluation pool: encoded series', () => {
  const pool = createEvaluationPool({ size: 1, decoders: [DECODER] });
  afterAll(() => pool.close());
  const engine = createEngine({ pool });
  const plain = createEngine();

  it.each([
    { name: 'range of a rate', query: 'sum by (job) (rate(requests_total[5m]))' },
    { name: 'raw series', query: 'requests_total' },
    { name: 'the same select twice', query: 'requests_total / requests_total offset 0' },
    { name: 'subquery', query: 'max_over_time(rate(requests_total[5m])[30m:1m])' },
  ])('$name: the same answer as a plain select; the decoder reports back', async ({ query }) => {
    const s = storage();
    const q = encodedQueryable(s, { warning: 'decoded elsewhere' });
    expect(isEncodedQueryable(q)).toBe(true);
    const got = await engine.rangeQuery(q, query, 600_000, 7_000_000, 60_000);
    const want = await plain.rangeQuery(s, query, 600_000, 7_000_000, 60_000);
    expect(json(got.result)).toBe(json(want.result));
    expect(q.encodedSelects).toBeGreaterThan(0);
    // Identical selects are fetched (and decoded) once.
    expect(q.reports).toHaveLength(q.encodedSelects);
    expect(q.reports[0]?.samples).toBeGreaterThan(0);
    expect(q.reports[0]?.warnings).toEqual(['decoded elsewhere']);
  });

  it('an engine without a pool uses the plain select', async () => {
    const q = encodedQueryable(storage());
    await plain.instantQuery(q, 'count(requests_total)', 3_600_000);
    expect(q.encodedSelects).toBe(0);
  });

  it("a decoder's error fails the query with its message", async () => {
    const q = encodedQueryable(storage(), { fail: 'chunk 3 of {instance="i1"}: bad checksum' });
    await expect(engine.instantQuery(q, 'count(requests_total)', 3_600_000)).rejects.toThrow(
      'chunk 3 of {instance="i1"}: bad checksum',
    );
    expect(q.reports).toEqual([]);
  });

  it('a decoder that is not exported fails the query naming it', async () => {
    const q = encodedQueryable(storage(), {}, { module: DECODER.module, name: 'noSuchDecoder' });
    await expect(engine.instantQuery(q, 'count(requests_total)', 3_600_000)).rejects.toThrow(
      'exports no function named noSuchDecoder',
    );
  });
});
