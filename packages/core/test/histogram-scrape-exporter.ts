// A small test exporter serving native histograms in Prometheus's protobuf exposition format
// (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited`):
// each scrape answers varint-length-delimited io.prometheus.client.MetricFamily messages, encoded
// with protobufjs from the fields of client_model's metrics.proto. Every scrape first records a
// deterministic batch of observations, so the histograms grow like a real service's.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';
import { prng } from '../../tsdb/test/histogram-fixtures.js';

/** The content type Prometheus asks for with `--enable-feature=native-histograms`. */
export const PROTOBUF_EXPOSITION_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

// The subset of io.prometheus.client's metrics.proto (github.com/prometheus/client_model,
// io/prometheus/client/metrics.proto) a histogram exposition needs, with its field numbers and
// types. Exemplars and created timestamps are left out: the exporter sends neither.
const METRICS_PROTO = `
syntax = "proto2";
package io.prometheus.client;
message LabelPair { optional string name = 1; optional string value = 2; }
enum MetricType { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4; GAUGE_HISTOGRAM = 5; }
message Histogram {
  optional uint64 sample_count = 1;
  optional double sample_count_float = 4;
  optional double sample_sum = 2;
  optional sint32 schema = 5;
  optional double zero_threshold = 6;
  optional uint64 zero_count = 7;
  optional double zero_count_float = 8;
  repeated BucketSpan negative_span = 9;
  repeated sint64 negative_delta = 10;
  repeated double negative_count = 11;
  repeated BucketSpan positive_span = 12;
  repeated sint64 positive_delta = 13;
  repeated double positive_count = 14;
}
message BucketSpan { optional sint32 offset = 1; optional uint32 length = 2; }
message Metric {
  repeated LabelPair label = 1;
  optional Histogram histogram = 7;
  optional int64 timestamp_ms = 6;
}
message MetricFamily {
  optional string name = 1;
  optional string help = 2;
  optional MetricType type = 3;
  repeated Metric metric = 4;
}
`;

const MetricFamily = protobuf.parse(METRICS_PROTO).root.lookupType('io.prometheus.client.MetricFamily');

/** One histogram series of the exporter and how it is observed. */
export interface ExporterSeries {
  /** Metric name. */
  name: string;
  /** Labels besides the name (the scrape adds job and instance). */
  labels: Record<string, string>;
  /** Bucket schema (-4…8). */
  schema: number;
  /** Width of the zero bucket (observations with |v| ≤ it land there); > 0 makes it native in 2.42. */
  zeroThreshold: number;
  /** Observation generator: draws one value from the PRNG. */
  observe: (rnd: () => number) => number;
  /** Observations per scrape. */
  perScrape: number;
  /** Expose float counts (sample_count_float, *_count) instead of integer deltas. */
  float?: boolean;
  /** Scrape number (0-based) at which the state is cleared, as after a restart: a counter reset. */
  resetAt?: number;
}

interface State {
  pos: Map<number, number>;
  neg: Map<number, number>;
  zero: number;
  count: number;
  sum: number;
}

/** A running exporter. */
export interface HistogramExporter {
  /** host:port to put in a scrape config. */
  readonly address: string;
  /** Scrapes answered so far. */
  readonly scrapes: number;
  /** Stops the server. Idempotent. */
  close(): Promise<void>;
}

// Prometheus's bucket index for |v| at `schema`: bucket i holds (base^(i-1), base^i] with
// base = 2^(2^-schema) (model/histogram's exponential buckets).
function bucketIndex(v: number, schema: number): number {
  return Math.ceil(Math.log2(v) * 2 ** schema);
}

function spansAndBuckets(
  counts: Map<number, number>,
  float: boolean,
): { spans: { offset: number; length: number }[]; values: number[] } {
  const idx = [...counts.keys()].sort((a, b) => a - b);
  const spans: { offset: number; length: number }[] = [];
  const values: number[] = [];
  let last = 0;
  let prev = 0;
  for (const i of idx) {
    // Adjacent indexes share a span; a gap starts a new span whose offset is the gap.
    if (spans.length > 0 && i === last + 1) (spans[spans.length - 1] as { length: number }).length++;
    else spans.push({ offset: spans.length === 0 ? i : i - last - 1, length: 1 });
    last = i;
    const c = counts.get(i) as number;
    values.push(float ? c : c - prev);
    prev = c;
  }
  return { spans, values };
}

/** Encodes one scrape's body: a delimited MetricFamily per metric name. */
function encodeScrape(series: readonly ExporterSeries[], states: readonly State[]): Buffer {
  const families = new Map<string, object[]>();
  series.forEach((s, k) => {
    const st = states[k] as State;
    const pos = spansAndBuckets(st.pos, s.float === true);
    const neg = spansAndBuckets(st.neg, s.float === true);
    const h: Record<string, unknown> = {
      sampleSum: st.sum,
      schema: s.schema,
      zeroThreshold: s.zeroThreshold,
      positiveSpan: pos.spans,
      negativeSpan: neg.spans,
    };
    if (s.float) {
      // Quarter counts keep the float path honest (an integer-valued float histogram would pass
      // even if it were read as an integer one).
      Object.assign(h, {
        sampleCountFloat: st.count * 1.25,
        zeroCountFloat: st.zero * 1.25,
        positiveCount: pos.values.map((c) => c * 1.25),
        negativeCount: neg.values.map((c) => c * 1.25),
      });
    } else {
      Object.assign(h, {
        sampleCount: st.count,
        zeroCount: st.zero,
        positiveDelta: pos.values,
        negativeDelta: neg.values,
      });
    }
    const metric = { label: Object.entries(s.labels).map(([name, value]) => ({ name, value })), histogram: h };
    const list = families.get(s.name) ?? [];
    list.push(metric);
    families.set(s.name, list);
  });
  const parts: Uint8Array[] = [];
  for (const [name, metric] of families) {
    const msg = MetricFamily.fromObject({ name, help: `test histogram ${name}`, type: 'HISTOGRAM', metric });
    parts.push(MetricFamily.encodeDelimited(msg).finish());
  }
  return Buffer.concat(parts);
}

/**
 * Starts the exporter on 127.0.0.1 (a free port). Each request to any path is one scrape: the
 * series record their observations for it, then the state is served. With the same `seed` the
 * n-th scrape always serves the same histograms.
 */
export async function startHistogramExporter(series: readonly ExporterSeries[], seed = 19): Promise<HistogramExporter> {
  const rnd = prng(seed);
  const fresh = (): State => ({ pos: new Map(), neg: new Map(), zero: 0, count: 0, sum: 0 });
  const states = series.map(fresh);
  let scrapes = 0;
  const server: Server = createServer((req, res) => {
    series.forEach((s, k) => {
      if (scrapes === s.resetAt) states[k] = fresh();
      const st = states[k] as State;
      for (let i = 0; i < s.perScrape; i++) {
        const v = s.observe(rnd);
        st.count++;
        st.sum += v;
        if (Math.abs(v) <= s.zeroThreshold) st.zero++;
        else {
          const m = v > 0 ? st.pos : st.neg;
          const idx = bucketIndex(Math.abs(v), s.schema);
          m.set(idx, (m.get(idx) ?? 0) + 1);
        }
      }
    });
    scrapes++;
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/vnd.google.protobuf')) {
      // Only the protobuf format carries native histograms; a scraper asking for text would
      // silently get nothing useful, so say so.
      res.writeHead(406, { 'content-type': 'text/plain' }).end('this exporter serves only the protobuf format\n');
      return;
    }
    res.writeHead(200, { 'content-type': PROTOBUF_EXPOSITION_TYPE }).end(encodeScrape(series, states));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    address: `127.0.0.1:${port}`,
    get scrapes() {
      return scrapes;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}

/** Decodes a scrape body back into plain objects (the exporter's own self-check). */
export function decodeScrape(body: Uint8Array): Record<string, unknown>[] {
  const reader = protobuf.Reader.create(body);
  const out: Record<string, unknown>[] = [];
  while (reader.pos < reader.len)
    out.push(MetricFamily.toObject(MetricFamily.decodeDelimited(reader), { longs: Number, enums: String }));
  return out;
}
