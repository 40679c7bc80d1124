// The receiver's hand-written codec agrees with protobufjs over the reference .proto files: the
// forwarding messages (Thanos's storepb.WriteRequest) and Prometheus's remote-write WriteRequest.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  decodeForwardRequest,
  decodeWriteRequest,
  encodeForwardRequest,
  encodeWriteRequest,
  type WriteSeries,
} from '../src/receive/index.js';
import { prompbTypes } from '../src/sidecar/prompb/prompb.js';

const root = protobuf.loadSync(fileURLToPath(new URL('../src/receive/proto/write.proto', import.meta.url)));
const WriteRequest = root.lookupType('thanos.WriteRequest');

const seriesA: WriteSeries = {
  labels: [
    { name: '__name__', value: 'http_requests_total' },
    { name: 'code', value: '200' },
    { name: 'path', value: '/ünïcode' },
  ],
  timestamps: [-5, 0, 1_700_000_000_123, 2 ** 52],
  values: [0, -0.5, Number.POSITIVE_INFINITY, 1e308],
  histograms: 0,
};
const seriesB: WriteSeries = {
  labels: [{ name: '__name__', value: 'up' }],
  timestamps: [1],
  values: [1],
  histograms: 0,
};

describe('forward request codec (thanos.WriteRequest)', () => {
  it('what we encode, protobufjs decodes', () => {
    const bytes = encodeForwardRequest({
      replica: 2,
      data: [
        { tenant: 't1', series: [seriesA] },
        { tenant: 't2', series: [seriesB] },
      ],
    });
    const msg = WriteRequest.toObject(WriteRequest.decode(bytes), { longs: Number, defaults: true }) as {
      replica: number;
      timeseriesTenantData: {
        tenant: string;
        timeseries: { labels: unknown[]; samples: { value: number; timestamp: number }[] }[];
      }[];
    };
    expect(msg.replica).toBe(2);
    expect(msg.timeseriesTenantData.map((t) => t.tenant)).toEqual(['t1', 't2']);
    const ts = msg.timeseriesTenantData[0]?.timeseries[0];
    expect(ts?.labels).toEqual(seriesA.labels);
    expect(ts?.samples.map((s) => s.timestamp)).toEqual(seriesA.timestamps);
    expect(ts?.samples.map((s) => s.value)).toEqual(seriesA.values);
  });

  it('what protobufjs encodes (old single-tenant fields too), we decode', () => {
    const tuple = WriteRequest.encode(
      WriteRequest.fromObject({
        replica: 3,
        timeseriesTenantData: [
          {
            tenant: 'acme',
            timeseries: [
              {
                labels: seriesA.labels,
                samples: seriesA.timestamps.map((t, i) => ({ timestamp: t, value: seriesA.values[i] })),
              },
            ],
          },
        ],
      }),
    ).finish();
    const got = decodeForwardRequest(tuple);
    expect(got.replica).toBe(3);
    expect(got.data).toEqual([{ tenant: 'acme', series: [seriesA] }]);
    const single = WriteRequest.encode(
      WriteRequest.fromObject({
        tenant: 'old',
        timeseries: [{ labels: seriesB.labels, samples: [{ timestamp: 1, value: 1 }] }],
      }),
    ).finish();
    expect(decodeForwardRequest(single)).toEqual({ replica: 0, data: [{ tenant: 'old', series: [seriesB] }] });
  });
});

describe('remote write codec (prometheus.WriteRequest)', () => {
  it('round-trips with protobufjs both ways', () => {
    const { WriteRequest: PromWR } = prompbTypes();
    const ours = encodeWriteRequest([seriesA, seriesB]);
    const theirs = PromWR.toObject(PromWR.decode(ours), { longs: Number }) as {
      timeseries: { labels: unknown[]; samples: { value?: number; timestamp?: number }[] }[];
    };
    expect(theirs.timeseries[0]?.labels).toEqual(seriesA.labels);
    expect(theirs.timeseries[0]?.samples.map((s) => s.timestamp ?? 0)).toEqual(seriesA.timestamps);
    const back = PromWR.encode(PromWR.fromObject(theirs)).finish();
    expect(decodeWriteRequest(back)).toEqual([seriesA, seriesB]);
  });

  it.each([
    { name: 'truncated varint', bytes: [0x0a] },
    { name: 'length past the end', bytes: [0x0a, 0x05, 0x0a] },
    { name: 'truncated double', bytes: [0x0a, 0x04, 0x12, 0x02, 0x09, 0x00] },
    { name: 'bad wire type', bytes: [0x0f] },
  ])('rejects $name with DecodeRequestError', ({ bytes }) => {
    expect(() => decodeWriteRequest(new Uint8Array(bytes))).toThrow(
      expect.objectContaining({ code: 'CORE_RECEIVE_DECODE' }),
    );
  });
});
