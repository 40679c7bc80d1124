import protobuf from 'protobufjs';

/**
 * Prometheus's remote read/write protobuf messages (prompb/types.proto and prompb/remote.proto,
 * package `prometheus`), written from their field numbers as a protobufjs JSON descriptor so the
 * bundle needs no .proto files at run time. Only what the sidecar and its tests use: samples,
 * chunks, queries, read/write requests and responses. Histograms and exemplars are left out (the
 * sidecar forwards histogram chunks as bytes; it never decodes them).
 */
const DESCRIPTOR = {
  nested: {
    prometheus: {
      nested: {
        Sample: {
          fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } },
        },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
          },
        },
        LabelMatcher: {
          fields: { type: { type: 'Type', id: 1 }, name: { type: 'string', id: 2 }, value: { type: 'string', id: 3 } },
          nested: { Type: { values: { EQ: 0, NEQ: 1, RE: 2, NRE: 3 } } },
        },
        ReadHints: {
          fields: {
            stepMs: { type: 'int64', id: 1 },
            func: { type: 'string', id: 2 },
            startMs: { type: 'int64', id: 3 },
            endMs: { type: 'int64', id: 4 },
            grouping: { rule: 'repeated', type: 'string', id: 5 },
            by: { type: 'bool', id: 6 },
            rangeMs: { type: 'int64', id: 7 },
          },
        },
        Chunk: {
          fields: {
            minTimeMs: { type: 'int64', id: 1 },
            maxTimeMs: { type: 'int64', id: 2 },
            type: { type: 'Encoding', id: 3 },
            data: { type: 'bytes', id: 4 },
          },
          nested: { Encoding: { values: { UNKNOWN: 0, XOR: 1, HISTOGRAM: 2, FLOAT_HISTOGRAM: 3 } } },
        },
        ChunkedSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            chunks: { rule: 'repeated', type: 'Chunk', id: 2 },
          },
        },
        WriteRequest: {
          fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } },
        },
        ReadRequest: {
          fields: {
            queries: { rule: 'repeated', type: 'Query', id: 1 },
            acceptedResponseTypes: { rule: 'repeated', type: 'ResponseType', id: 2 },
          },
          nested: { ResponseType: { values: { SAMPLES: 0, STREAMED_XOR_CHUNKS: 1 } } },
        },
        ReadResponse: { fields: { results: { rule: 'repeated', type: 'QueryResult', id: 1 } } },
        Query: {
          fields: {
            startTimestampMs: { type: 'int64', id: 1 },
            endTimestampMs: { type: 'int64', id: 2 },
            matchers: { rule: 'repeated', type: 'LabelMatcher', id: 3 },
            hints: { type: 'ReadHints', id: 4 },
          },
        },
        QueryResult: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
        ChunkedReadResponse: {
          fields: {
            chunkedSeries: { rule: 'repeated', type: 'ChunkedSeries', id: 1 },
            queryIndex: { type: 'int64', id: 2 },
          },
        },
      },
    },
  },
};

/** The prompb message types (protobufjs reflection). */
export interface PrompbTypes {
  readonly WriteRequest: protobuf.Type;
  readonly ReadRequest: protobuf.Type;
  readonly ReadResponse: protobuf.Type;
  readonly ChunkedReadResponse: protobuf.Type;
}

let cached: PrompbTypes | undefined;

/** Loads (once per process) Prometheus's remote read/write message types. */
export function prompbTypes(): PrompbTypes {
  if (cached) return cached;
  const root = protobuf.Root.fromJSON(DESCRIPTOR);
  cached = {
    WriteRequest: root.lookupType('prometheus.WriteRequest'),
    ReadRequest: root.lookupType('prometheus.ReadRequest'),
    ReadResponse: root.lookupType('prometheus.ReadResponse'),
    ChunkedReadResponse: root.lookupType('prometheus.ChunkedReadResponse'),
  };
  return cached;
}

/** One sample of a remote-write or SAMPLES remote-read time series. */
export interface PrompbSample {
  readonly timestamp: number;
  readonly value: number;
}

/** A series with raw samples, as in prompb.TimeSeries. */
export interface PrompbTimeSeries {
  readonly labels: readonly { readonly name: string; readonly value: string }[];
  readonly samples: readonly PrompbSample[];
}

/**
 * Encodes a remote-write v1 WriteRequest (not yet snappy-compressed). Used by tests and tools
 * that push data into a Prometheus with the remote-write receiver on.
 */
export function encodeWriteRequest(series: readonly PrompbTimeSeries[]): Uint8Array {
  const { WriteRequest } = prompbTypes();
  return WriteRequest.encode(
    WriteRequest.fromObject({
      timeseries: series.map((s) => ({
        labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
        samples: s.samples.map((p) => ({ value: p.value, timestamp: p.timestamp })),
      })),
    }),
  ).finish();
}
