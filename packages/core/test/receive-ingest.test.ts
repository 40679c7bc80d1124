// The receiver's ways in besides remote write 1.0, and what it does to series on the way:
// relabelling (--receive.relabel-config), tenants from a label (--receive.split-tenant-label-name),
// remote write 2.0 (symbols table, written-count headers) and OTLP metrics over HTTP (protobuf
// built here with protobufjs from opentelemetry-proto's field numbers, JSON, gzip), each checked
// by querying what was stored.

import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { decodeXorInto, matcher, STALE_NAN, xorNumSamples } from '@thanos-ts/tsdb';
import { decodeFloatHistogramChunk } from '@thanos-ts/tsdb/histogram';
import protobuf from 'protobufjs';
import { compressSync } from 'snappy';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQuerier, type Querier } from '../src/query/querier.js';
import {
  createReceiver,
  decodeWriteRequest,
  encodeWriteRequest,
  otlpLabelName,
  otlpMetricName,
  type Receiver,
  type ReceiverOptions,
  type WriteSeries,
} from '../src/receive/index.js';
import { parseRelabelConfig } from '../src/store/relabel.js';
import type { StoreAPI } from '../src/storeapi/store-api.js';

const T0 = 1_700_000_000_000;

function series(labels: Record<string, string>, samples: [number, number][]): WriteSeries {
  return {
    labels: Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => ({ name, value })),
    timestamps: samples.map((s) => s[0]),
    values: samples.map((s) => s[1]),
    histograms: 0,
  };
}

async function post(
  address: string,
  path: string,
  payload: Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`http://${address}${path}`, { method: 'POST', body: payload, headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const RW1_HEADERS = {
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

function rw1(list: WriteSeries[]): Buffer {
  return compressSync(Buffer.from(encodeWriteRequest(list)));
}

let target: StoreAPI | undefined;
const delegate: StoreAPI = {
  info: (signal) => (target as StoreAPI).info(signal),
  series: (req, signal) => (target as StoreAPI).series(req, signal),
  labelNames: (req, signal) => (target as StoreAPI).labelNames(req, signal),
  labelValues: (req, signal) => (target as StoreAPI).labelValues(req, signal),
};
let sharedQuerier: Querier | undefined;

/** Instant query over one receiver: `{labels} → value`. */
async function query(r: Receiver, expr: string, at: number): Promise<Record<string, number>> {
  target = r;
  if (!sharedQuerier) {
    sharedQuerier = createQuerier({ endpoints: [delegate], endpointRefreshIntervalMs: 3_600_000 });
    await sharedQuerier.start();
  }
  const res = await sharedQuerier.instantQuery(expr, at);
  const out: Record<string, number> = {};
  if (res.result.type === 'vector') for (const s of res.result.samples) out[s.metric.toString()] = s.f;
  return out;
}

afterAll(async () => {
  await sharedQuerier?.close();
});

/** The float64 bits (hex) of every sample stored for metric `name`, read through the StoreAPI. */
async function storedBits(r: Receiver, name: string): Promise<string[]> {
  const out: string[] = [];
  const view = new DataView(new ArrayBuffer(8));
  for await (const m of r.series({ minTime: 0, maxTime: T0 + 3_600_000, matchers: [matcher('=', '__name__', name)] })) {
    if (m.type !== 'series') continue;
    for (const c of m.series.chunks) {
      const data = c.raw?.data as Uint8Array;
      const n = xorNumSamples(data);
      const ts = new Float64Array(n);
      const vs = new Float64Array(n);
      decodeXorInto(data, ts, vs);
      for (const v of vs) {
        view.setFloat64(0, v);
        out.push(view.getBigUint64(0).toString(16).padStart(16, '0'));
      }
    }
  }
  return out;
}

// --- remote write 2.0, encoded here from io/prometheus/write/v2/types.proto's field numbers ---
const RW2 = protobuf.Root.fromJSON({
  nested: {
    v2: {
      nested: {
        Request: {
          fields: {
            symbols: { rule: 'repeated', type: 'string', id: 4 },
            timeseries: { rule: 'repeated', type: 'TimeSeries', id: 5 },
          },
        },
        TimeSeries: {
          fields: {
            labelsRefs: { rule: 'repeated', type: 'uint32', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
            histograms: { rule: 'repeated', type: 'Histogram', id: 3 },
            exemplars: { rule: 'repeated', type: 'Exemplar', id: 4 },
          },
        },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
        Histogram: {
          fields: {
            countInt: { type: 'uint64', id: 1 },
            sum: { type: 'double', id: 3 },
            timestamp: { type: 'int64', id: 15 },
          },
        },
        Exemplar: {
          fields: {
            labelsRefs: { rule: 'repeated', type: 'uint32', id: 1 },
            value: { type: 'double', id: 2 },
            timestamp: { type: 'int64', id: 3 },
          },
        },
      },
    },
  },
}).lookupType('v2.Request');

const RW2_HEADERS = {
  'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '2.0.0',
};

// --- OTLP, from opentelemetry-proto's metrics.proto/common.proto/resource.proto field numbers ---
const OTLP = protobuf.Root.fromJSON({
  nested: {
    otlp: {
      nested: {
        ExportMetricsServiceRequest: {
          fields: { resourceMetrics: { rule: 'repeated', type: 'ResourceMetrics', id: 1 } },
        },
        ResourceMetrics: {
          fields: {
            resource: { type: 'Resource', id: 1 },
            scopeMetrics: { rule: 'repeated', type: 'ScopeMetrics', id: 2 },
          },
        },
        Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
        ScopeMetrics: {
          fields: { scope: { type: 'Scope', id: 1 }, metrics: { rule: 'repeated', type: 'Metric', id: 2 } },
        },
        Scope: { fields: { name: { type: 'string', id: 1 } } },
        Metric: {
          oneofs: { data: { oneof: ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] } },
          fields: {
            name: { type: 'string', id: 1 },
            description: { type: 'string', id: 2 },
            unit: { type: 'string', id: 3 },
            gauge: { type: 'Gauge', id: 5 },
            sum: { type: 'Sum', id: 7 },
            histogram: { type: 'Histogram', id: 9 },
            exponentialHistogram: { type: 'ExpHistogram', id: 10 },
            summary: { type: 'Summary', id: 11 },
          },
        },
        Gauge: { fields: { dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 } } },
        Sum: {
          fields: {
            dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 },
            aggregationTemporality: { type: 'int32', id: 2 },
            isMonotonic: { type: 'bool', id: 3 },
          },
        },
        Histogram: {
          fields: {
            dataPoints: { rule: 'repeated', type: 'HistogramDataPoint', id: 1 },
            aggregationTemporality: { type: 'int32', id: 2 },
          },
        },
        ExpHistogram: {
          fields: {
            dataPoints: { rule: 'repeated', type: 'ExpPoint', id: 1 },
            aggregationTemporality: { type: 'int32', id: 2 },
          },
        },
        ExpPoint: { fields: { timeUnixNano: { type: 'fixed64', id: 3 }, count: { type: 'fixed64', id: 4 } } },
        Summary: { fields: { dataPoints: { rule: 'repeated', type: 'SummaryDataPoint', id: 1 } } },
        NumberDataPoint: {
          oneofs: { value: { oneof: ['asDouble', 'asInt'] } },
          fields: {
            attributes: { rule: 'repeated', type: 'KeyValue', id: 7 },
            startTimeUnixNano: { type: 'fixed64', id: 2 },
            timeUnixNano: { type: 'fixed64', id: 3 },
            asDouble: { type: 'double', id: 4 },
            asInt: { type: 'sfixed64', id: 6 },
            flags: { type: 'uint32', id: 8 },
          },
        },
        HistogramDataPoint: {
          fields: {
            attributes: { rule: 'repeated', type: 'KeyValue', id: 9 },
            timeUnixNano: { type: 'fixed64', id: 3 },
            count: { type: 'fixed64', id: 4 },
            sum: { type: 'double', id: 5, options: { proto3_optional: true } },
            bucketCounts: { rule: 'repeated', type: 'fixed64', id: 6 },
            explicitBounds: { rule: 'repeated', type: 'double', id: 7 },
            flags: { type: 'uint32', id: 10 },
          },
        },
        SummaryDataPoint: {
          fields: {
            attributes: { rule: 'repeated', type: 'KeyValue', id: 7 },
            timeUnixNano: { type: 'fixed64', id: 3 },
            count: { type: 'fixed64', id: 4 },
            sum: { type: 'double', id: 5 },
            quantileValues: { rule: 'repeated', type: 'ValueAtQuantile', id: 6 },
          },
        },
        ValueAtQuantile: { fields: { quantile: { type: 'double', id: 1 }, value: { type: 'double', id: 2 } } },
        KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
        AnyValue: {
          oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue'] } },
          fields: {
            stringValue: { type: 'string', id: 1 },
            boolValue: { type: 'bool', id: 2 },
            intValue: { type: 'int64', id: 3 },
            doubleValue: { type: 'double', id: 4 },
          },
        },
      },
    },
  },
}).lookupType('otlp.ExportMetricsServiceRequest');

const kv = (key: string, v: string | number | boolean) => ({
  key,
  value:
    typeof v === 'string'
      ? { stringValue: v }
      : typeof v === 'boolean'
        ? { boolValue: v }
        : Number.isInteger(v)
          ? { intValue: v }
          : { doubleValue: v },
});
const nanos = (ms: number) => `${ms}000000`;
const OTLP_PB = { 'Content-Type': 'application/x-protobuf' };

function otlpBody(doc: Record<string, unknown>): Uint8Array {
  const msg = OTLP.fromObject(doc);
  return OTLP.encode(msg).finish();
}

describe('receiver ingestion paths', () => {
  let dir: string;
  const open: Receiver[] = [];
  const make = async (o: Partial<ReceiverOptions> = {}): Promise<Receiver> => {
    const r = createReceiver({
      tsdbPath: join(dir, 'data'),
      remoteWriteAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      flushIntervalMs: 0,
      ...o,
    });
    open.push(r);
    await r.start();
    return r;
  };
  beforeEach(async () => {
    dir = await makeTempDir('receive-ingest-');
  });
  afterEach(async () => {
    for (const r of open.splice(0)) await r.close();
    await removeTempDir(dir);
  });

  it('relabels incoming series before storing them, dropping what the rules drop', async () => {
    const r = await make({
      relabelConfigs: parseRelabelConfig(
        `
- source_labels: [__name__]
  regex: 'debug_.*'
  action: drop
- source_labels: [pod]
  target_label: instance
  regex: '(.+)-[0-9]+'
  replacement: '$1'
- regex: pod
  action: labeldrop
`,
        '--receive.relabel-config',
      ),
    });
    const addr = r.remoteWriteAddress as string;
    const res = await post(
      addr,
      '/api/v1/receive',
      rw1([
        series({ __name__: 'up', pod: 'web-7' }, [[T0, 1]]),
        series({ __name__: 'debug_x', pod: 'web-7' }, [[T0, 5]]),
        series({ __name__: 'requests_total', pod: 'api-12', code: '200' }, [[T0, 3]]),
      ]),
      RW1_HEADERS,
    );
    expect(res.status, res.text).toBe(200);
    expect(await query(r, '{__name__=~".+"}', T0)).toEqual({
      '{__name__="requests_total", code="200", instance="api", tenant_id="default-tenant"}': 3,
      '{__name__="up", instance="web", tenant_id="default-tenant"}': 1,
    });
    // A request whose every series is dropped is accepted with nothing stored.
    const dropped = await post(addr, '/api/v1/receive', rw1([series({ __name__: 'debug_y' }, [[T0, 1]])]), RW1_HEADERS);
    expect(dropped.status, dropped.text).toBe(200);
    expect(await query(r, 'debug_y', T0)).toEqual({});
    // The in-process write path relabels too.
    await r.write({
      timeseries: [series({ __name__: 'debug_z' }, [[T0, 1]]), series({ __name__: 'kept' }, [[T0, 2]])],
    });
    expect(await query(r, '{__name__=~"debug_z|kept"}', T0)).toEqual({
      '{__name__="kept", tenant_id="default-tenant"}': 2,
    });
  });

  it('keeps staleness markers sent over remote write 1.0 (they end the series in queries)', async () => {
    const r = await make();
    // staleAt makes the encoder write the marker's exact bits, as Prometheus sends them.
    const gone = {
      ...series({ __name__: 'gone' }, [
        [T0, 1],
        [T0 + 1000, STALE_NAN],
      ]),
      staleAt: [1],
    };
    const body = Buffer.from(encodeWriteRequest([gone, series({ __name__: 'plain_nan' }, [[T0, Number.NaN]])]));
    expect(body.includes(Buffer.from([2, 0, 0, 0, 0, 0, 0xf0, 0x7f]))).toBe(true);
    const res = await post(r.remoteWriteAddress as string, '/api/v1/receive', compressSync(body), RW1_HEADERS);
    expect(res.status, res.text).toBe(200);
    // The stored bits: the marker exactly (0x7ff0000000000002), the plain NaN not a marker.
    expect(await storedBits(r, 'gone')).toEqual(['3ff0000000000000', '7ff0000000000002']);
    expect((await storedBits(r, 'plain_nan'))[0]?.startsWith('7ff8')).toBe(true);
    expect(await query(r, 'gone', T0)).toEqual({ '{__name__="gone", tenant_id="default-tenant"}': 1 });
    // An ordinary NaN is a value, not a marker.
    expect(Object.values(await query(r, 'plain_nan', T0 + 1000)).map(Number.isNaN)).toEqual([true]);
  });

  it('stores native histograms sent over remote write 1.0 (integer and float), kept across a restart', async () => {
    // prompb.Histogram from prompb/types.proto's field numbers, encoded by protobufjs.
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
              oneofs: {
                count: { oneof: ['countInt', 'countFloat'] },
                zeroCount: { oneof: ['zeroCountInt', 'zeroCountFloat'] },
              },
              fields: {
                countInt: { type: 'uint64', id: 1 },
                countFloat: { type: 'double', id: 2 },
                sum: { type: 'double', id: 3 },
                schema: { type: 'sint32', id: 4 },
                zeroThreshold: { type: 'double', id: 5 },
                zeroCountInt: { type: 'uint64', id: 6 },
                zeroCountFloat: { type: 'double', id: 7 },
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
    const intH = (t: number, extra: number) => ({
      countInt: 6 + extra,
      sum: 10.5 + extra,
      schema: 1,
      zeroThreshold: 0.001,
      zeroCountInt: 1,
      positiveSpans: [{ offset: -1, length: 2 }],
      positiveDeltas: [2, 1 + extra],
      timestamp: t,
    });
    const doc = {
      timeseries: [
        { labels: [{ name: '__name__', value: 'req_hist' }], histograms: [intH(T0, 0), intH(T0 + 15_000, 2)] },
        {
          labels: [{ name: '__name__', value: 'req_fhist' }],
          histograms: [
            {
              countFloat: 3.5,
              sum: 7,
              schema: 0,
              zeroCountFloat: 0.5,
              positiveSpans: [{ offset: 0, length: 1 }],
              positiveCounts: [3],
              timestamp: T0,
            },
          ],
        },
      ],
    };
    const body = compressSync(Buffer.from(PB.encode(PB.fromObject(doc)).finish()));
    const check = async (r: Receiver) => {
      const got: Record<string, { type: string; ts: number[]; counts: number[]; sums: number[] }> = {};
      for await (const m of r.series({
        minTime: 0,
        maxTime: T0 + 60_000,
        matchers: [matcher('=~', '__name__', 'req_.*')],
      })) {
        if (m.type !== 'series') continue;
        const c = m.series.chunks[0]?.raw;
        const d = decodeFloatHistogramChunk(c?.data as Uint8Array);
        got[m.series.labels.get('__name__')] = {
          type: c?.type as string,
          ts: [...d.timestamps],
          counts: d.histograms.map((h) => h.count),
          sums: d.histograms.map((h) => h.sum),
        };
      }
      return got;
    };
    const want = {
      req_fhist: { type: 'FLOAT_HISTOGRAM', ts: [T0], counts: [3.5], sums: [7] },
      req_hist: { type: 'FLOAT_HISTOGRAM', ts: [T0, T0 + 15_000], counts: [6, 8], sums: [10.5, 12.5] },
    };
    const r = await make();
    const res = await post(r.remoteWriteAddress as string, '/api/v1/receive', body, RW1_HEADERS);
    expect(res.status, res.text).toBe(200);
    expect(await check(r)).toEqual(want);
    // Decoding and re-encoding (as forwarding to a peer does) keeps every field.
    const decoded = decodeWriteRequest(Buffer.from(PB.encode(PB.fromObject(doc)).finish()));
    expect(decodeWriteRequest(encodeWriteRequest(decoded))).toEqual(decoded);
    // An invalid histogram (spans announce more buckets than sent) is bad data: 400, Prometheus's text.
    const bad = {
      timeseries: [
        { labels: [{ name: '__name__', value: 'req_bad' }], histograms: [{ ...intH(T0, 0), positiveDeltas: [2] }] },
      ],
    };
    const badRes = await post(
      r.remoteWriteAddress as string,
      '/api/v1/receive',
      compressSync(Buffer.from(PB.encode(PB.fromObject(bad)).finish())),
      RW1_HEADERS,
    );
    expect(badRes.status).toBe(400);
    expect(badRes.text).toMatch(/^add 1 samples: .*positive/);
    // The WAL holds them: a restarted receiver serves the same.
    await r.close();
    const again = await make();
    expect(await check(again)).toEqual(want);
  });

  it('splits one request into tenants by a label, removing it; the header tenant keeps the rest', async () => {
    const r = await make({ splitTenantLabelName: 'team', tenantHeader: 'X-Scope-OrgID', defaultTenantId: 'fallback' });
    const addr = r.remoteWriteAddress as string;
    const res = await post(
      addr,
      '/api/v1/receive',
      rw1([
        series({ __name__: 'up', team: 'alpha', job: 'a' }, [[T0, 1]]),
        series({ __name__: 'up', team: 'beta', job: 'b' }, [[T0, 2]]),
        series({ __name__: 'up', job: 'c' }, [[T0, 3]]),
      ]),
      { ...RW1_HEADERS, 'X-Scope-OrgID': 'org1' },
    );
    expect(res.status, res.text).toBe(200);
    expect(r.tenants().sort()).toEqual(['alpha', 'beta', 'org1']);
    expect(await query(r, 'up', T0)).toEqual({
      '{__name__="up", job="a", tenant_id="alpha"}': 1,
      '{__name__="up", job="b", tenant_id="beta"}': 2,
      '{__name__="up", job="c", tenant_id="org1"}': 3,
    });
    // Without any tenant header: Thanos's THANOS-TENANT, then the default tenant.
    expect(
      (
        await post(addr, '/api/v1/receive', rw1([series({ __name__: 'x' }, [[T0, 1]])]), {
          ...RW1_HEADERS,
          'THANOS-TENANT': 't2',
        })
      ).status,
    ).toBe(200);
    expect((await post(addr, '/api/v1/receive', rw1([series({ __name__: 'y' }, [[T0, 1]])]), RW1_HEADERS)).status).toBe(
      200,
    );
    expect(await query(r, '{__name__=~"x|y"}', T0)).toEqual({
      '{__name__="x", tenant_id="t2"}': 1,
      '{__name__="y", tenant_id="fallback"}': 1,
    });
    // A label value that cannot be a tenant rejects the request: 400, Thanos's text, nothing stored.
    const bad = await post(
      addr,
      '/api/v1/receive',
      rw1([series({ __name__: 'z', job: 'ok' }, [[T0, 1]]), series({ __name__: 'z', team: '../etc' }, [[T0, 1]])]),
      RW1_HEADERS,
    );
    expect(bad.status).toBe(400);
    expect(bad.text).toBe('tenant name not valid: validation error\n');
    expect(await query(r, 'z', T0)).toEqual({});
  });

  it('accepts remote write 2.0 with a symbols table and answers with the written counts', async () => {
    const r = await make();
    const addr = r.remoteWriteAddress as string;
    // symbols[0] must be '' by the spec.
    const symbols = ['', '__name__', 'up', 'job', 'api', 'temp', 'zone', 'eu'];
    const msg = RW2.fromObject({
      symbols,
      timeseries: [
        {
          labelsRefs: [1, 2, 3, 4],
          samples: [
            { value: 1, timestamp: T0 },
            { value: 0, timestamp: T0 + 15_000 },
          ],
        },
        {
          labelsRefs: [1, 5, 6, 7],
          samples: [{ value: 21.5, timestamp: T0 }],
          exemplars: [{ labelsRefs: [3, 4], value: 1, timestamp: T0 }],
        },
      ],
    });
    const body = compressSync(Buffer.from(RW2.encode(msg).finish()));
    const res = await post(addr, '/api/v1/receive', body, RW2_HEADERS);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('x-prometheus-remote-write-samples-written')).toBe('3');
    expect(res.headers.get('x-prometheus-remote-write-histograms-written')).toBe('0');
    expect(res.headers.get('x-prometheus-remote-write-exemplars-written')).toBe('1');
    expect(await query(r, '{__name__=~"up|temp"}', T0 + 15_000)).toEqual({
      '{__name__="temp", tenant_id="default-tenant", zone="eu"}': 21.5,
      '{__name__="up", job="api", tenant_id="default-tenant"}': 0,
    });
    // Remote write 1.0 answers carry no such headers.
    const v1 = await post(addr, '/api/v1/receive', rw1([series({ __name__: 'a' }, [[T0, 1]])]), RW1_HEADERS);
    expect(v1.status).toBe(200);
    expect(v1.headers.get('x-prometheus-remote-write-samples-written')).toBeNull();
    // Version 2.0.0 with an unknown content type, and a label reference past the symbols: 400.
    const wrongType = await post(addr, '/api/v1/receive', body, { ...RW2_HEADERS, 'Content-Type': 'text/plain' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.text).toBe('required headers Content-Type and/or X-Prometheus-Remote-Write-Version not found\n');
    const badRef = compressSync(
      Buffer.from(
        RW2.encode(
          RW2.fromObject({ symbols, timeseries: [{ labelsRefs: [1, 99], samples: [{ value: 1, timestamp: T0 }] }] }),
        ).finish(),
      ),
    );
    const refRes = await post(addr, '/api/v1/receive', badRef, RW2_HEADERS);
    expect(refRes.status).toBe(400);
    expect(refRes.text).toMatch(/label reference 99 past the 8 symbols/);
  });

  it('ingests OTLP gauges, counters, histograms and summaries with Prometheus names and target_info', async () => {
    const r = await make({ otlpPromoteResourceAttributes: ['deployment.environment'] });
    const addr = r.remoteWriteAddress as string;
    const t = nanos(T0);
    const resource = {
      attributes: [
        kv('service.name', 'checkout'),
        kv('service.namespace', 'shop'),
        kv('service.instance.id', 'pod-1'),
        kv('deployment.environment', 'prod'),
        kv('host.cores', 8),
      ],
    };
    const doc = {
      resourceMetrics: [
        {
          resource,
          scopeMetrics: [
            {
              scope: { name: 'test' },
              metrics: [
                {
                  name: 'http.server.active_requests',
                  unit: '{request}',
                  gauge: { dataPoints: [{ timeUnixNano: t, asInt: 7, attributes: [kv('http.method', 'GET')] }] },
                },
                {
                  name: 'cpu.utilization',
                  unit: '1',
                  gauge: { dataPoints: [{ timeUnixNano: t, asDouble: 0.25 }] },
                },
                {
                  name: 'http.server.request.size',
                  unit: 'By',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: [{ timeUnixNano: t, asDouble: 1024, attributes: [kv('2xx', true)] }],
                  },
                },
                {
                  name: 'queue.length',
                  sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ timeUnixNano: t, asInt: 3 }] },
                },
                {
                  name: 'http.server.duration',
                  unit: 'ms',
                  histogram: {
                    aggregationTemporality: 2,
                    dataPoints: [
                      {
                        timeUnixNano: t,
                        count: 10,
                        sum: 1234.5,
                        bucketCounts: [2, 5, 3],
                        explicitBounds: [100, 250.5],
                      },
                    ],
                  },
                },
                {
                  name: 'rpc.latency',
                  unit: 's',
                  summary: {
                    dataPoints: [
                      { timeUnixNano: t, count: 4, sum: 2, quantileValues: [{ quantile: 0.5, value: 0.4 }] },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await post(addr, '/api/v1/otlp', otlpBody(doc), OTLP_PB);
    expect(res.status, res.text).toBe(200);
    const base = 'deployment_environment="prod", instance="pod-1", job="shop/checkout"';
    const tenant = 'tenant_id="default-tenant"';
    expect(await query(r, '{__name__=~".+"}', T0)).toEqual({
      [`{__name__="cpu_utilization_ratio", ${base}, ${tenant}}`]: 0.25,
      [`{__name__="http_server_active_requests", deployment_environment="prod", http_method="GET", instance="pod-1", job="shop/checkout", ${tenant}}`]: 7,
      [`{__name__="http_server_duration_milliseconds_bucket", ${base}, le="+Inf", ${tenant}}`]: 10,
      [`{__name__="http_server_duration_milliseconds_bucket", ${base}, le="100", ${tenant}}`]: 2,
      [`{__name__="http_server_duration_milliseconds_bucket", ${base}, le="250.5", ${tenant}}`]: 7,
      [`{__name__="http_server_duration_milliseconds_count", ${base}, ${tenant}}`]: 10,
      [`{__name__="http_server_duration_milliseconds_sum", ${base}, ${tenant}}`]: 1234.5,
      [`{__name__="http_server_request_size_bytes_total", ${base}, key_2xx="true", ${tenant}}`]: 1024,
      [`{__name__="queue_length", ${base}, ${tenant}}`]: 3,
      [`{__name__="rpc_latency_seconds", ${base}, quantile="0.5", ${tenant}}`]: 0.4,
      [`{__name__="rpc_latency_seconds_count", ${base}, ${tenant}}`]: 4,
      [`{__name__="rpc_latency_seconds_sum", ${base}, ${tenant}}`]: 2,
      // target_info: the non-identifying resource attributes, with job and instance.
      [`{__name__="target_info", deployment_environment="prod", host_cores="8", instance="pod-1", job="shop/checkout", ${tenant}}`]: 1,
    });
  });

  it('answers OTLP requests Thanos refuses with 400 and its message, storing nothing', async () => {
    const r = await make({ otlpEnableTargetInfo: false });
    const addr = r.remoteWriteAddress as string;
    const t = nanos(T0);
    const delta = otlpBody({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'ok', gauge: { dataPoints: [{ timeUnixNano: t, asDouble: 1 }] } },
                {
                  name: 'd',
                  sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: t, asInt: 1 }] },
                },
                { name: 'empty', gauge: { dataPoints: [] } },
              ],
            },
          ],
        },
      ],
    });
    const res = await post(addr, '/api/v1/otlp', delta, OTLP_PB);
    expect(res.status).toBe(400);
    expect(res.text).toBe('2 errors: invalid temporality for metric "d"; empty data points. empty is dropped\n');
    expect(await query(r, 'ok', T0)).toEqual({});

    const wrongType = await post(addr, '/api/v1/otlp', delta, { 'Content-Type': 'text/plain' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.text).toBe(
      'unsupported content type: text/plain, supported: [application/json, application/x-protobuf]\n',
    );
    const garbage = await post(addr, '/api/v1/otlp', Buffer.from([0x0a, 0xff, 0xff, 0x01]), OTLP_PB);
    expect(garbage.status).toBe(400);
    expect(garbage.text).toMatch(/decode OTLP request/);
    const badEncoding = await post(addr, '/api/v1/otlp', delta, { ...OTLP_PB, 'Content-Encoding': 'br' });
    expect(badEncoding.status).toBe(400);
    expect(badEncoding.text).toBe('unsupported compression: br. Only "gzip" or no compression supported\n');
    expect((await fetch(`http://${addr}/api/v1/otlp`)).status).toBe(405);
  });

  it('takes OTLP as gzip protobuf and as JSON, with stale markers for points without a value', async () => {
    const r = await make({ otlpEnableTargetInfo: false });
    const addr = r.remoteWriteAddress as string;
    const pb = otlpBody({
      resourceMetrics: [
        {
          resource: { attributes: [kv('service.name', 'svc')] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'temp',
                  unit: 'Cel',
                  gauge: {
                    dataPoints: [
                      { timeUnixNano: nanos(T0), asDouble: 20 },
                      { timeUnixNano: nanos(T0 + 1000), asDouble: 0, flags: 1 },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const gz = await post(addr, '/api/v1/otlp', gzipSync(pb), { ...OTLP_PB, 'Content-Encoding': 'gzip' });
    expect(gz.status, gz.text).toBe(200);
    expect(await query(r, 'temp_celsius', T0)).toEqual({
      '{__name__="temp_celsius", job="svc", tenant_id="default-tenant"}': 20,
    });
    // The stale marker ends the series.
    expect(await query(r, 'temp_celsius', T0 + 1000)).toEqual({});

    const json = JSON.stringify({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'jobs.done',
                  sum: {
                    aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                    isMonotonic: true,
                    dataPoints: [
                      {
                        timeUnixNano: `${T0}000000`,
                        asInt: '42',
                        attributes: [{ key: 'queue', value: { stringValue: 'q1' } }],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const j = await post(addr, '/api/v1/otlp', Buffer.from(json), { 'Content-Type': 'application/json' });
    expect(j.status, j.text).toBe(200);
    expect(await query(r, 'jobs_done_total', T0)).toEqual({
      '{__name__="jobs_done_total", job="svc", queue="q1", tenant_id="default-tenant"}': 42,
    });
  });
});

describe('OTLP name translation (Thanos otlptranslator with suffixes)', () => {
  it.each([
    ['http.server.duration', 'ms', 'histogram', false, 'http_server_duration_milliseconds'],
    ['system.network.io', 'By', 'sum', true, 'system_network_io_bytes_total'],
    ['requests_total', '', 'sum', true, 'requests_total'],
    ['throughput', 'By/s', 'gauge', false, 'throughput_bytes_per_second'],
    ['ratio_thing', '1', 'gauge', false, 'thing_ratio'],
    ['cpu', '1', 'gauge', false, 'cpu_ratio'],
    ['active', '{request}', 'gauge', false, 'active'],
    ['2xx.count', '', 'gauge', false, '_2xx_count'],
    ['foo__bar', 'seconds', 'gauge', false, 'foo_bar_seconds'],
    ['disk.usage', 'MiBy', 'gauge', false, 'disk_usage_mebibytes'],
    ['latency_seconds', 's', 'gauge', false, 'latency_seconds'],
  ] as const)('%s [%s] %s → %s', (name, unit, kind, monotonic, want) => {
    expect(otlpMetricName(name, unit, kind, monotonic)).toBe(want);
  });

  it.each([
    ['http.method', 'http_method'],
    ['123invalid', 'key_123invalid'],
    ['__reserved__', '__reserved__'],
    ['a..b', 'a_b'],
    ['_private', '_private'],
  ])('label %s → %s', (name, want) => {
    expect(otlpLabelName(name)).toBe(want);
  });

  it('refuses label names that are empty or underscores only', () => {
    expect(() => otlpLabelName('')).toThrow('label name is empty');
    expect(() => otlpLabelName('...')).toThrow(/resulted in invalid name "_"/);
  });
});
