// OTLP exponential histograms become native histograms (Prometheus's otlptranslator
// exponentialToNativeHistogram / convertBucketsLayout), and remote-write histograms with schemas
// above 8 are reduced to 8 as Prometheus 3's write handler does. The end-to-end case uses the
// OpenTelemetry JS SDK (ExponentialHistogram aggregation, OTLP/HTTP protobuf exporter) as the
// sender and reads the stored histogram back through a querier.
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { STALE_NAN } from '@thanos-ts/tsdb';
import {
  CounterResetHint,
  type FloatHistogram,
  type Histogram,
  reduceHistogramResolution,
  type Span,
} from '@thanos-ts/tsdb/histogram';
import protobuf from 'protobufjs';
import { compressSync } from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createReceiver, type Receiver } from '../src/receive/index.js';
import { decodeOTLPRequest, OTLP_ZERO_THRESHOLD, otlpBucketsLayout, translateOTLP } from '../src/receive/otlp.js';

const T0 = 1_700_000_000_000;

/** Absolute counts by bucket index of one side. */
function expand(spans: readonly Span[], buckets: readonly number[], deltas: boolean): Map<number, number> {
  const out = new Map<number, number>();
  let idx = 0;
  let at = 0;
  let cur = 0;
  for (const s of spans) {
    idx += s.offset;
    for (let j = 0; j < s.length; j++, idx++, at++) {
      cur = deltas ? cur + (buckets[at] as number) : (buckets[at] as number);
      if (cur !== 0) out.set(idx, cur);
    }
  }
  return out;
}

/**
 * What an OTLP side should become, computed from bucket bounds rather than by the layout code:
 * OTLP bucket `offset+i` of scale s is Prometheus bucket `offset+i+1`, which lies in bucket
 * ⌈(offset+i+1) / 2^(s-8)⌉ of schema 8 when s > 8.
 */
function expectedSide(offset: number, counts: readonly number[], scale: number): Map<number, number> {
  const f = scale > 8 ? 2 ** (scale - 8) : 1;
  const out = new Map<number, number>();
  counts.forEach((c, i) => {
    if (c === 0) return;
    const j = Math.ceil((offset + i + 1) / f);
    out.set(j, (out.get(j) ?? 0) + c);
  });
  return out;
}

describe('otlpBucketsLayout (Prometheus TestConvertBucketsLayout)', () => {
  const cases: [string, number, number[], Record<number, [Span[], number[]]>][] = [
    [
      'zero offset',
      0,
      [4, 3, 2, 1],
      {
        0: [[{ offset: 1, length: 4 }], [4, -1, -1, -1]],
        1: [[{ offset: 1, length: 2 }], [7, -4]],
        2: [[{ offset: 1, length: 1 }], [10]],
      },
    ],
    [
      'offset 1',
      1,
      [4, 3, 2, 1],
      {
        0: [[{ offset: 2, length: 4 }], [4, -1, -1, -1]],
        1: [[{ offset: 1, length: 3 }], [4, 1, -4]],
        2: [[{ offset: 1, length: 2 }], [9, -8]],
      },
    ],
    [
      'positive offset',
      4,
      [4, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
      {
        0: [
          [
            { offset: 5, length: 4 },
            { offset: 12, length: 1 },
          ],
          [4, -2, -2, 2, -1],
        ],
        1: [
          [
            { offset: 3, length: 2 },
            { offset: 6, length: 1 },
          ],
          [6, -4, -1],
        ],
        2: [
          [
            { offset: 2, length: 1 },
            { offset: 3, length: 1 },
          ],
          [8, -7],
        ],
      },
    ],
    [
      'scaledown merges spans',
      4,
      [4, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1],
      {
        0: [
          [
            { offset: 5, length: 4 },
            { offset: 8, length: 1 },
          ],
          [4, -2, -2, 2, -1],
        ],
        1: [
          [
            { offset: 3, length: 2 },
            { offset: 4, length: 1 },
          ],
          [6, -4, -1],
        ],
        2: [[{ offset: 2, length: 4 }], [8, -8, 0, 1]],
      },
    ],
    [
      'negative offset',
      -2,
      [3, 1, 0, 0, 0, 1],
      {
        0: [
          [
            { offset: -1, length: 2 },
            { offset: 3, length: 1 },
          ],
          [3, -2, 0],
        ],
        1: [[{ offset: 0, length: 3 }], [4, -4, 1]],
        2: [[{ offset: 0, length: 2 }], [4, -3]],
      },
    ],
    [
      'gaps of size 1',
      -2,
      [3, 1, 0, 1, 0, 1],
      {
        0: [[{ offset: -1, length: 6 }], [3, -2, -1, 1, -1, 1]],
        1: [[{ offset: 0, length: 3 }], [4, -3, 0]],
        2: [[{ offset: 0, length: 2 }], [4, -2]],
      },
    ],
    [
      'gaps of size 2',
      -2,
      [3, 0, 0, 1, 0, 0, 1],
      {
        0: [[{ offset: -1, length: 7 }], [3, -3, 0, 1, -1, 0, 1]],
        1: [[{ offset: 0, length: 4 }], [3, -2, -1, 1]],
        2: [[{ offset: 0, length: 3 }], [3, -2, 0]],
      },
    ],
    ['zero buckets', 0, [], { 0: [[], []], 1: [[], []], 2: [[], []] }],
    // Not in Prometheus's table: a merged bucket after an empty one, whose first OTLP bucket is
    // non-empty and has a neighbour (Prometheus writes it one index too low; see otlpBucketsLayout).
    // Prometheus indices -4, -1, 2 hold 1, 4, 7 → schema-1-lower buckets -2, 0, 1.
    [
      'merged bucket after an empty one',
      -5,
      [1, 0, 0, 4, 0, 0, 7],
      { 1: [[{ offset: -2, length: 4 }], [1, -1, 4, 3]] },
    ],
  ];
  const rows = cases.flatMap(([name, offset, counts, want]) =>
    Object.entries(want).map(([down, w]) => [name, Number(down), offset, counts, w] as const),
  );
  it.each(rows)('%s, scale down by %i', (_name, down, offset, counts, [spans, deltas]) => {
    expect(otlpBucketsLayout(counts, offset, down)).toEqual({ spans, deltas });
  });
});

/** One OTLP resource with one exponential histogram metric. */
function expResource(
  points: {
    scale: number;
    positive?: { offset: number; counts: number[] };
    negative?: { offset: number; counts: number[] };
    zeroCount?: number;
    count: number;
    sum?: number;
    flags?: number;
  }[],
  temporality = 2,
) {
  return [
    {
      resource: [['service.name', 'svc'] as [string, string]],
      metrics: [
        {
          name: 'rpc.latency',
          unit: 's',
          data: {
            type: 'exponential_histogram' as const,
            temporality,
            points: points.map((p, i) => ({
              attrs: [['method', 'get'] as [string, string]],
              timeNs: BigInt(T0 + i * 1000) * 1_000_000n,
              count: p.count,
              sum: p.sum,
              scale: p.scale,
              zeroCount: p.zeroCount ?? 0,
              positive: p.positive ?? { offset: 0, counts: [] },
              negative: p.negative ?? { offset: 0, counts: [] },
              flags: p.flags ?? 0,
            })),
          },
        },
      ],
    },
  ];
}

const SETTINGS = { enableTargetInfo: false, promoteResourceAttributes: [] };

describe('translateOTLP: exponential histograms', () => {
  it('keeps scale -4..8 as the schema, named without suffixes beyond the unit', () => {
    const t = translateOTLP(
      expResource([
        {
          scale: 3,
          positive: { offset: -2, counts: [1, 0, 2] },
          negative: { offset: 1, counts: [4] },
          zeroCount: 2,
          count: 9,
          sum: 3.5,
        },
      ]),
      SETTINGS,
    );
    expect(t.errors).toEqual([]);
    expect(t.series).toHaveLength(1);
    const s = t.series[0];
    expect(s?.labels).toEqual([
      { name: '__name__', value: 'rpc_latency_seconds' },
      { name: 'job', value: 'svc' },
      { name: 'method', value: 'get' },
    ]);
    expect(s?.timestamps).toEqual([]);
    expect(s?.histograms).toBe(1);
    expect(s?.nativeHistograms?.[0]).toEqual({
      t: T0,
      h: {
        counterResetHint: CounterResetHint.Unknown,
        schema: 3,
        zeroThreshold: OTLP_ZERO_THRESHOLD,
        zeroCount: 2,
        count: 9,
        sum: 3.5,
        positiveSpans: [{ offset: -1, length: 3 }],
        positiveBuckets: [1, -1, 2],
        negativeSpans: [{ offset: 2, length: 1 }],
        negativeBuckets: [4],
      },
    });
  });

  it.each([9, 10, 12, 16, 20])('reduces scale %i to schema 8, as reduceHistogramResolution would', (scale) => {
    const f = 2 ** (scale - 8);
    // Counts spread so that several land in one schema-8 bucket and gaps remain.
    const positive = { offset: -3 * f + 1, counts: Array.from({ length: 6 * f }, (_, i) => (i % 3 === 0 ? i + 1 : 0)) };
    const negative = { offset: 5, counts: [2, 0, 0, 1] };
    const count = [...positive.counts, ...negative.counts].reduce((a, b) => a + b, 0);
    const t = translateOTLP(expResource([{ scale, positive, negative, count, sum: 1 }]), SETTINGS);
    expect(t.errors).toEqual([]);
    const h = t.series[0]?.nativeHistograms?.[0]?.h as Histogram;
    expect(h.schema).toBe(8);
    expect(h.count).toBe(count);
    expect(expand(h.positiveSpans, h.positiveBuckets, true)).toEqual(
      expectedSide(positive.offset, positive.counts, scale),
    );
    expect(expand(h.negativeSpans, h.negativeBuckets, true)).toEqual(
      expectedSide(negative.offset, negative.counts, scale),
    );
    // The same buckets as translating at full scale and then reducing the resolution.
    const full = otlpBucketsLayout(positive.counts, positive.offset, 0);
    const reduced = reduceHistogramResolution(
      { ...h, schema: scale, positiveSpans: full.spans, positiveBuckets: full.deltas },
      8,
    );
    expect(expand(reduced.positiveSpans, reduced.positiveBuckets, true)).toEqual(
      expand(h.positiveSpans, h.positiveBuckets, true),
    );
  });

  it("refuses scales below -4 with Prometheus's text, and delta temporality", () => {
    expect(translateOTLP(expResource([{ scale: -5, count: 0 }]), SETTINGS).errors).toEqual([
      'cannot convert exponential to native histogram. Scale must be >= -4, was -5',
    ]);
    expect(translateOTLP(expResource([{ scale: 0, count: 0 }], 1), SETTINGS).errors).toEqual([
      'invalid temporality for metric "rpc.latency"',
    ]);
  });

  it('decodes OTLP/JSON exponential histogram points (64-bit integers as strings)', () => {
    const doc = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'rpc.latency',
                  unit: 's',
                  exponentialHistogram: {
                    aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                    dataPoints: [
                      {
                        timeUnixNano: String(BigInt(T0) * 1_000_000n),
                        count: '7',
                        sum: 12.5,
                        scale: 10,
                        zeroCount: '1',
                        positive: { offset: -3, bucketCounts: ['2', '0', '0', '0', '4'] },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const t = translateOTLP(decodeOTLPRequest(Buffer.from(JSON.stringify(doc)), 'application/json'), SETTINGS);
    expect(t.errors).toEqual([]);
    const h = t.series[0]?.nativeHistograms?.[0]?.h as Histogram;
    // Prometheus indices -2 and 2 at scale 10 lie in buckets ⌈-2/4⌉ = 0 and ⌈2/4⌉ = 1 of schema 8.
    expect({ schema: h.schema, count: h.count, sum: h.sum, zeroCount: h.zeroCount }).toEqual({
      schema: 8,
      count: 7,
      sum: 12.5,
      zeroCount: 1,
    });
    expect(expand(h.positiveSpans, h.positiveBuckets, true)).toEqual(
      new Map([
        [0, 2],
        [1, 4],
      ]),
    );
    expect(h.negativeSpans).toEqual([]);
  });

  it('turns a point without a recorded value into a stale marker', () => {
    const t = translateOTLP(expResource([{ scale: 0, count: 0, flags: 1 }]), SETTINGS);
    const h = t.series[0]?.nativeHistograms?.[0]?.h as Histogram;
    expect(Object.is(h.sum, STALE_NAN) || Number.isNaN(h.sum)).toBe(true);
    expect(new Float64Array([h.sum]).buffer).toEqual(new Float64Array([STALE_NAN]).buffer);
  });
});

type SDK = {
  metrics: typeof import('@opentelemetry/sdk-metrics');
  exporter: typeof import('@opentelemetry/exporter-metrics-otlp-proto');
  resources: typeof import('@opentelemetry/resources');
};

async function loadSDK(): Promise<SDK | undefined> {
  try {
    return {
      metrics: await import('@opentelemetry/sdk-metrics'),
      exporter: await import('@opentelemetry/exporter-metrics-otlp-proto'),
      resources: await import('@opentelemetry/resources'),
    };
  } catch (err) {
    console.warn(
      `SKIPPED: receive-otlp-histogram.test.ts cannot load the OpenTelemetry SDK: ${(err as Error).message}`,
    );
    return undefined;
  }
}

const sdk = await loadSDK();

describe('native histograms through a running receiver', () => {
  let dir: string;
  let receiver: Receiver;
  let querier: Querier;

  beforeAll(async () => {
    dir = await makeTempDir('receive-exphist-');
    receiver = createReceiver({
      tsdbPath: join(dir, 'data'),
      remoteWriteAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      flushIntervalMs: 0,
    });
    await receiver.start();
    querier = createQuerier({ endpoints: [receiver], endpointRefreshIntervalMs: 3_600_000 });
    await querier.start();
  });

  afterAll(async () => {
    await querier?.close();
    await receiver?.close();
    if (dir) await removeTempDir(dir);
  });

  async function histogramsAt(expr: string, at: number): Promise<Record<string, FloatHistogram>> {
    const res = await querier.instantQuery(expr, at);
    const out: Record<string, FloatHistogram> = {};
    if (res.result.type === 'vector') for (const s of res.result.samples) if (s.h) out[s.metric.get('__name__')] = s.h;
    return out;
  }

  it.skipIf(!sdk)('stores what the SDK exports with ExponentialHistogram aggregation', async () => {
    const { metrics, exporter, resources } = sdk as SDK;
    const reader = new metrics.PeriodicExportingMetricReader({
      exporter: new exporter.OTLPMetricExporter({ url: `http://${receiver.remoteWriteAddress}/api/v1/otlp` }),
      exportIntervalMillis: 60_000,
    });
    // A second reader keeps the SDK's own view of the same cumulative points to compare with.
    const memory = new metrics.InMemoryMetricExporter(metrics.AggregationTemporality.CUMULATIVE);
    const memoryReader = new metrics.PeriodicExportingMetricReader({ exporter: memory, exportIntervalMillis: 60_000 });
    const provider = new metrics.MeterProvider({
      resource: resources.resourceFromAttributes({ 'service.name': 'api' }),
      readers: [reader, memoryReader],
      views: [{ instrumentName: '*', aggregation: { type: metrics.AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    const meter = provider.getMeter('exp-test');
    // Wide range: the SDK settles on a scale ≤ 8. Narrow range: it keeps a scale above 8.
    const wide = meter.createHistogram('req.size', { unit: 'By' });
    for (const v of [0, 1, 3, 3.5, 100, 1e4, -2, -8]) wide.record(v);
    const narrow = meter.createHistogram('tick.duration', { unit: 's' });
    for (const v of [1.0001, 1.0002, 1.0002, 1.0005, 1.001]) narrow.record(v);
    await reader.forceFlush();
    await memoryReader.forceFlush();
    await provider.shutdown();

    const sent = new Map<
      string,
      {
        scale: number;
        positive: { offset: number; bucketCounts: number[] };
        negative: { offset: number; bucketCounts: number[] };
        zeroCount: number;
        count: number;
        sum?: number;
      }
    >();
    for (const rm of memory.getMetrics())
      for (const sm of rm.scopeMetrics)
        for (const m of sm.metrics) for (const p of m.dataPoints) sent.set(m.descriptor.name, p.value as never);
    const wideSent = sent.get('req.size');
    const narrowSent = sent.get('tick.duration');
    expect(wideSent?.scale).toBeLessThanOrEqual(8);
    expect(narrowSent?.scale).toBeGreaterThan(8);

    const got = await histogramsAt('{job="api"}', Date.now());
    expect(Object.keys(got).sort()).toEqual(['req_size_bytes', 'tick_duration_seconds']);
    for (const [name, p] of [
      ['req_size_bytes', wideSent],
      ['tick_duration_seconds', narrowSent],
    ] as const) {
      const h = got[name] as FloatHistogram;
      if (!p) throw new Error(`the SDK did not export ${name}`);
      expect(h.schema).toBe(Math.min(p.scale, 8));
      expect(h.count).toBe(p.count);
      expect(h.sum).toBeCloseTo(p.sum as number, 9);
      expect(h.zeroCount).toBe(p.zeroCount);
      expect(h.zeroThreshold).toBe(1e-128);
      expect(expand(h.positiveSpans, h.positiveBuckets, false)).toEqual(
        expectedSide(p.positive.offset, p.positive.bucketCounts, p.scale),
      );
      expect(expand(h.negativeSpans, h.negativeBuckets, false)).toEqual(
        expectedSide(p.negative.offset, p.negative.bucketCounts, p.scale),
      );
    }
    // PromQL's histogram functions work on them (the SDK drops the negative recordings).
    expect(wideSent?.count).toBe(6);
    const res = await querier.instantQuery('histogram_count(req_size_bytes)', Date.now());
    expect(res.result.type === 'vector' ? res.result.samples.map((s) => s.f) : []).toEqual([6]);
  });

  it('reduces remote-write histograms with schemas 9..52 to 8 and refuses schema -5', async () => {
    const PB = protobuf.Root.fromJSON({
      nested: {
        p: {
          nested: {
            WriteRequest: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
            TimeSeries: {
              fields: {
                labels: { rule: 'repeated', type: 'Label', id: 1 },
                histograms: { rule: 'repeated', type: 'Histogram', id: 4 },
              },
            },
            Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
            BucketSpan: { fields: { offset: { type: 'sint32', id: 1 }, length: { type: 'uint32', id: 2 } } },
            Histogram: {
              oneofs: { count: { oneof: ['countInt', 'countFloat'] } },
              fields: {
                countInt: { type: 'uint64', id: 1 },
                countFloat: { type: 'double', id: 2 },
                sum: { type: 'double', id: 3 },
                schema: { type: 'sint32', id: 4 },
                zeroThreshold: { type: 'double', id: 5 },
                positiveSpans: { rule: 'repeated', type: 'BucketSpan', id: 11 },
                positiveDeltas: { rule: 'repeated', type: 'sint64', id: 12 },
                positiveCounts: { rule: 'repeated', type: 'double', id: 13 },
                timestamp: { type: 'int64', id: 15 },
              },
            },
          },
        },
      },
    }).lookupType('p.WriteRequest');
    // Near now: the head already holds the SDK's samples, and far older ones would be out of bounds.
    const T = Math.floor(Date.now() / 1000) * 1000;
    const send = async (doc: object) => {
      const res = await fetch(`http://${receiver.remoteWriteAddress}/api/v1/receive`, {
        method: 'POST',
        body: compressSync(Buffer.from(PB.encode(PB.fromObject(doc)).finish())),
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
      });
      return { status: res.status, text: await res.text() };
    };
    // Schema 12 (16 buckets per schema-8 bucket): indices 1..3 and 17, 40 → schema-8 buckets 1, 2, 3.
    const ok = await send({
      timeseries: [
        {
          labels: [{ name: '__name__', value: 'rw_hi_res' }],
          histograms: [
            {
              countInt: 20,
              sum: 2,
              schema: 12,
              positiveSpans: [
                { offset: 1, length: 3 },
                { offset: 13, length: 1 },
                { offset: 22, length: 1 },
              ],
              positiveDeltas: [1, 1, 1, 1, 6], // 1, 2, 3, 4, 10 → merged 6, 4, 10
              timestamp: T,
            },
          ],
        },
        {
          labels: [{ name: '__name__', value: 'rw_hi_res_float' }],
          histograms: [
            {
              countFloat: 3.5,
              sum: 1,
              schema: 9,
              positiveSpans: [{ offset: -1, length: 2 }],
              positiveCounts: [1.5, 2],
              timestamp: T,
            },
          ],
        },
      ],
    });
    expect(ok.status, ok.text).toBe(200);
    const got = await histogramsAt('{__name__=~"rw_hi_res.*"}', T);
    expect(got.rw_hi_res?.schema).toBe(8);
    expect(expand(got.rw_hi_res?.positiveSpans ?? [], got.rw_hi_res?.positiveBuckets ?? [], false)).toEqual(
      new Map([
        [1, 6],
        [2, 4],
        [3, 10],
      ]),
    );
    expect(got.rw_hi_res_float?.schema).toBe(8);
    // Indices -1 and 0 of schema 9 both lie in bucket 0 of schema 8.
    expect(expand(got.rw_hi_res_float?.positiveSpans ?? [], got.rw_hi_res_float?.positiveBuckets ?? [], false)).toEqual(
      new Map([[0, 3.5]]),
    );
    // Below -4 there is nothing to reduce: Prometheus's invalid-schema error, 400.
    const bad = await send({
      timeseries: [
        {
          labels: [{ name: '__name__', value: 'rw_lo_res' }],
          histograms: [{ countInt: 0, sum: 0, schema: -5, timestamp: T }],
        },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/histogram has an invalid schema, which must be between -4 and 8.*got schema -5/);
  });
});
