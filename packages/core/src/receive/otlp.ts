// OTLP metrics in (Thanos's receiveOTLPHTTP and its otlptranslator): decodes an
// ExportMetricsServiceRequest (protobuf or JSON) and turns it into remote-write series the way
// Thanos does with AddMetricSuffixes on, non-UTF-8 names, no created series.
import { STALE_NAN } from '@thanos-ts/tsdb';
import {
  CounterResetHint,
  EXPONENTIAL_SCHEMA_MAX,
  EXPONENTIAL_SCHEMA_MIN,
  type Histogram,
  type Span,
} from '@thanos-ts/tsdb/histogram';
import { ProtoReader } from '../protowire/reader.js';
import { DecodeRequestError } from './errors.js';
import { markStale, type WireLabel, type WriteSeries } from './wire.js';

/** Path of the OTLP endpoint, as Thanos's (POST only). */
export const OTLP_PATH = '/api/v1/otlp';

/** How OTLP metrics are translated (Thanos's --receive.otlp-* flags). */
export interface OTLPSettings {
  /** Write a `target_info` series per resource (--receive.otlp-enable-target-info). Default true in Thanos. */
  enableTargetInfo: boolean;
  /** Resource attributes copied onto every series as labels (--receive.otlp-promote-resource-attributes). */
  promoteResourceAttributes: readonly string[];
}

// --- the OTLP model, only the parts the translation reads -----------------------------------

/** An attribute value (AnyValue) already rendered as pdata's Value.AsString does. */
type Attrs = [string, string][];

interface NumberPoint {
  attrs: Attrs;
  timeNs: bigint;
  value: number;
  flags: number;
}

interface HistogramPoint {
  attrs: Attrs;
  timeNs: bigint;
  count: number;
  sum: number | undefined;
  bucketCounts: number[];
  bounds: number[];
  flags: number;
}

/** One side's buckets of an exponential histogram point (dense counts from `offset`). */
interface ExpBuckets {
  offset: number;
  counts: number[];
}

interface ExpHistogramPoint {
  attrs: Attrs;
  timeNs: bigint;
  count: number;
  sum: number | undefined;
  scale: number;
  zeroCount: number;
  positive: ExpBuckets;
  negative: ExpBuckets;
  flags: number;
}

interface SummaryPoint {
  attrs: Attrs;
  timeNs: bigint;
  count: number;
  sum: number;
  quantiles: [number, number][];
  flags: number;
}

type MetricData =
  | { type: 'gauge'; points: NumberPoint[] }
  | { type: 'sum'; points: NumberPoint[]; temporality: number; monotonic: boolean }
  | { type: 'histogram'; points: HistogramPoint[]; temporality: number }
  | { type: 'exponential_histogram'; points: ExpHistogramPoint[]; temporality: number }
  | { type: 'summary'; points: SummaryPoint[] }
  | { type: 'none' };

interface OTLPMetric {
  name: string;
  unit: string;
  data: MetricData;
}

interface ResourceMetrics {
  resource: Attrs;
  metrics: OTLPMetric[];
}

/** OTLP's AggregationTemporality enum. */
const CUMULATIVE = 2;
/** DataPointFlags.FLAG_NO_RECORDED_VALUE. */
const NO_RECORDED_VALUE = 1;

// --- protobuf decoding ------------------------------------------------------------------------
// Field numbers from opentelemetry-proto: ExportMetricsServiceRequest {resource_metrics=1};
// ResourceMetrics {resource=1, scope_metrics=2}; Resource {attributes=1}; ScopeMetrics
// {metrics=2}; Metric {name=1, description=2, unit=3, gauge=5, sum=7, histogram=9,
// exponential_histogram=10, summary=11}; Gauge/Sum/Histogram/ExponentialHistogram/Summary
// {data_points=1, aggregation_temporality=2, is_monotonic=3 (Sum)}; NumberDataPoint
// {start_time=2, time=3 (fixed64), as_double=4, as_int=6 (sfixed64), attributes=7, flags=8};
// ExponentialHistogramDataPoint {attributes=1, start_time=2, time=3, count=4 (fixed64), sum=5,
// scale=6 (sint32), zero_count=7 (fixed64), positive=8, negative=9 {offset=1 (sint32),
// bucket_counts=2 (packed uint64)}, flags=10, zero_threshold=14};
// HistogramDataPoint {time=3, count=4 (fixed64), sum=5, bucket_counts=6 (packed fixed64),
// explicit_bounds=7 (packed double), attributes=9, flags=10}; SummaryDataPoint {time=3, count=4,
// sum=5, quantile_values=6 {quantile=1, value=2}, attributes=7, flags=8}; KeyValue {key=1,
// value=2}; AnyValue {string=1, bool=2, int=3, double=4, array=5 {values=1}, kvlist=6
// {values=1}, bytes=7}.

class Decoder {
  readonly r: ProtoReader;
  private readonly view: DataView;

  constructor(buf: Uint8Array) {
    this.r = new ProtoReader(buf, 'ExportMetricsServiceRequest');
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private fixed64(): bigint {
    const r = this.r;
    if (r.pos + 8 > r.end) r.fail('truncated fixed64');
    const v = this.view.getBigUint64(r.pos, true);
    r.pos += 8;
    return v;
  }

  private double(): number {
    const r = this.r;
    if (r.pos + 8 > r.end) r.fail('truncated double');
    const v = this.view.getFloat64(r.pos, true);
    r.pos += 8;
    return v;
  }

  /** Runs `field(tag)` for every field up to `end`; `field` returns false to have it skipped. */
  private each(end: number, field: (tag: number) => boolean): void {
    const r = this.r;
    while (r.pos < end) {
      const tag = r.uint32();
      if (!field(tag)) r.skip(tag & 7);
    }
    if (r.pos !== end) r.fail('field past its message');
  }

  request(): ResourceMetrics[] {
    const out: ResourceMetrics[] = [];
    this.each(this.r.end, (tag) => {
      if (tag !== 0x0a) return false;
      out.push(this.resourceMetrics(this.r.messageEnd()));
      return true;
    });
    return out;
  }

  private resourceMetrics(end: number): ResourceMetrics {
    const rm: ResourceMetrics = { resource: [], metrics: [] };
    this.each(end, (tag) => {
      if (tag === 0x0a) {
        this.each(this.r.messageEnd(), (t) => {
          if (t !== 0x0a) return false;
          rm.resource.push(this.keyValue(this.r.messageEnd()));
          return true;
        });
        return true;
      }
      if (tag === 0x12) {
        this.each(this.r.messageEnd(), (t) => {
          if (t !== 0x12) return false;
          rm.metrics.push(this.metric(this.r.messageEnd()));
          return true;
        });
        return true;
      }
      return false;
    });
    return rm;
  }

  private metric(end: number): OTLPMetric {
    const m: OTLPMetric = { name: '', unit: '', data: { type: 'none' } };
    this.each(end, (tag) => {
      const r = this.r;
      switch (tag) {
        case 0x0a:
          m.name = r.string();
          return true;
        case 0x1a:
          m.unit = r.string();
          return true;
        case 0x2a: {
          const points: NumberPoint[] = [];
          this.each(r.messageEnd(), (t) => {
            if (t !== 0x0a) return false;
            points.push(this.numberPoint(r.messageEnd()));
            return true;
          });
          m.data = { type: 'gauge', points };
          return true;
        }
        case 0x3a: {
          const d = { type: 'sum' as const, points: [] as NumberPoint[], temporality: 0, monotonic: false };
          this.each(r.messageEnd(), (t) => {
            if (t === 0x0a) d.points.push(this.numberPoint(r.messageEnd()));
            else if (t === 0x10) d.temporality = r.uint32();
            else if (t === 0x18) d.monotonic = r.uint32() !== 0;
            else return false;
            return true;
          });
          m.data = d;
          return true;
        }
        case 0x4a: {
          const d = { type: 'histogram' as const, points: [] as HistogramPoint[], temporality: 0 };
          this.each(r.messageEnd(), (t) => {
            if (t === 0x0a) d.points.push(this.histogramPoint(r.messageEnd()));
            else if (t === 0x10) d.temporality = r.uint32();
            else return false;
            return true;
          });
          m.data = d;
          return true;
        }
        case 0x52: {
          const d = { type: 'exponential_histogram' as const, points: [] as ExpHistogramPoint[], temporality: 0 };
          this.each(r.messageEnd(), (t) => {
            if (t === 0x0a) d.points.push(this.expHistogramPoint(r.messageEnd()));
            else if (t === 0x10) d.temporality = r.uint32();
            else return false;
            return true;
          });
          m.data = d;
          return true;
        }
        case 0x5a: {
          const points: SummaryPoint[] = [];
          this.each(r.messageEnd(), (t) => {
            if (t !== 0x0a) return false;
            points.push(this.summaryPoint(r.messageEnd()));
            return true;
          });
          m.data = { type: 'summary', points };
          return true;
        }
        default:
          return false;
      }
    });
    return m;
  }

  private numberPoint(end: number): NumberPoint {
    const p: NumberPoint = { attrs: [], timeNs: 0n, value: 0, flags: 0 };
    this.each(end, (tag) => {
      switch (tag) {
        case 0x19:
          p.timeNs = this.fixed64();
          return true;
        case 0x21:
          p.value = this.double();
          return true;
        case 0x31:
          p.value = Number(BigInt.asIntN(64, this.fixed64()));
          return true;
        case 0x3a:
          p.attrs.push(this.keyValue(this.r.messageEnd()));
          return true;
        case 0x40:
          p.flags = this.r.uint32();
          return true;
        default:
          return false;
      }
    });
    return p;
  }

  private histogramPoint(end: number): HistogramPoint {
    const p: HistogramPoint = {
      attrs: [],
      timeNs: 0n,
      count: 0,
      sum: undefined,
      bucketCounts: [],
      bounds: [],
      flags: 0,
    };
    this.each(end, (tag) => {
      const r = this.r;
      switch (tag) {
        case 0x19:
          p.timeNs = this.fixed64();
          return true;
        case 0x21:
          p.count = Number(this.fixed64());
          return true;
        case 0x29:
          p.sum = this.double();
          return true;
        case 0x31:
          p.bucketCounts.push(Number(this.fixed64()));
          return true;
        case 0x32: {
          const e = r.messageEnd();
          while (r.pos < e) p.bucketCounts.push(Number(this.fixed64()));
          return true;
        }
        case 0x39:
          p.bounds.push(this.double());
          return true;
        case 0x3a: {
          const e = r.messageEnd();
          while (r.pos < e) p.bounds.push(this.double());
          return true;
        }
        case 0x4a:
          p.attrs.push(this.keyValue(r.messageEnd()));
          return true;
        case 0x50:
          p.flags = r.uint32();
          return true;
        default:
          return false;
      }
    });
    return p;
  }

  private expHistogramPoint(end: number): ExpHistogramPoint {
    const p: ExpHistogramPoint = {
      attrs: [],
      timeNs: 0n,
      count: 0,
      sum: undefined,
      scale: 0,
      zeroCount: 0,
      positive: { offset: 0, counts: [] },
      negative: { offset: 0, counts: [] },
      flags: 0,
    };
    this.each(end, (tag) => {
      const r = this.r;
      switch (tag) {
        case 0x0a:
          p.attrs.push(this.keyValue(r.messageEnd()));
          return true;
        case 0x19:
          p.timeNs = this.fixed64();
          return true;
        case 0x21:
          p.count = Number(this.fixed64());
          return true;
        case 0x29:
          p.sum = this.double();
          return true;
        case 0x30:
          p.scale = zigzag32(r.uint32());
          return true;
        case 0x39:
          p.zeroCount = Number(this.fixed64());
          return true;
        case 0x42:
          p.positive = this.expBuckets(r.messageEnd());
          return true;
        case 0x4a:
          p.negative = this.expBuckets(r.messageEnd());
          return true;
        case 0x50:
          p.flags = r.uint32();
          return true;
        default:
          return false;
      }
    });
    return p;
  }

  private expBuckets(end: number): ExpBuckets {
    const b: ExpBuckets = { offset: 0, counts: [] };
    this.each(end, (tag) => {
      const r = this.r;
      if (tag === 0x08) b.offset = zigzag32(r.uint32());
      else if (tag === 0x10) b.counts.push(Number(r.uint64()));
      else if (tag === 0x12) {
        const e = r.messageEnd();
        while (r.pos < e) b.counts.push(Number(r.uint64()));
        if (r.pos !== e) r.fail('bucket counts past their field');
      } else return false;
      return true;
    });
    return b;
  }

  private summaryPoint(end: number): SummaryPoint {
    const p: SummaryPoint = { attrs: [], timeNs: 0n, count: 0, sum: 0, quantiles: [], flags: 0 };
    this.each(end, (tag) => {
      const r = this.r;
      switch (tag) {
        case 0x19:
          p.timeNs = this.fixed64();
          return true;
        case 0x21:
          p.count = Number(this.fixed64());
          return true;
        case 0x29:
          p.sum = this.double();
          return true;
        case 0x32: {
          const q: [number, number] = [0, 0];
          this.each(r.messageEnd(), (t) => {
            if (t === 0x09) q[0] = this.double();
            else if (t === 0x11) q[1] = this.double();
            else return false;
            return true;
          });
          p.quantiles.push(q);
          return true;
        }
        case 0x3a:
          p.attrs.push(this.keyValue(r.messageEnd()));
          return true;
        case 0x40:
          p.flags = r.uint32();
          return true;
        default:
          return false;
      }
    });
    return p;
  }

  private keyValue(end: number): [string, string] {
    let key = '';
    let value = '';
    this.each(end, (tag) => {
      if (tag === 0x0a) key = this.r.string();
      else if (tag === 0x12) value = renderAny(this.anyValue(this.r.messageEnd()));
      else return false;
      return true;
    });
    return [key, value];
  }

  private anyValue(end: number): AnyValue {
    let v: AnyValue = { kind: 'empty' };
    const r = this.r;
    this.each(end, (tag) => {
      switch (tag) {
        case 0x0a:
          v = { kind: 'string', value: r.string() };
          return true;
        case 0x10:
          v = { kind: 'bool', value: r.uint32() !== 0 };
          return true;
        case 0x18:
          v = { kind: 'int', value: BigInt.asIntN(64, r.uint64()) };
          return true;
        case 0x21:
          v = { kind: 'double', value: this.double() };
          return true;
        case 0x2a: {
          const values: AnyValue[] = [];
          this.each(r.messageEnd(), (t) => {
            if (t !== 0x0a) return false;
            values.push(this.anyValue(r.messageEnd()));
            return true;
          });
          v = { kind: 'array', values };
          return true;
        }
        case 0x32: {
          const entries: [string, AnyValue][] = [];
          this.each(r.messageEnd(), (t) => {
            if (t !== 0x0a) return false;
            const kvEnd = r.messageEnd();
            let k = '';
            let kv: AnyValue = { kind: 'empty' };
            this.each(kvEnd, (f) => {
              if (f === 0x0a) k = r.string();
              else if (f === 0x12) kv = this.anyValue(r.messageEnd());
              else return false;
              return true;
            });
            entries.push([k, kv]);
            return true;
          });
          v = { kind: 'map', entries };
          return true;
        }
        case 0x3a:
          v = { kind: 'bytes', value: Buffer.from(r.bytes()) };
          return true;
        default:
          return false;
      }
    });
    return v;
  }
}

const zigzag32 = (n: number): number => (n >>> 1) ^ -(n & 1);

type AnyValue =
  | { kind: 'empty' }
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint }
  | { kind: 'double'; value: number }
  | { kind: 'bytes'; value: Buffer }
  | { kind: 'array'; values: AnyValue[] }
  | { kind: 'map'; entries: [string, AnyValue][] };

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function formatFloatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!/e/i.test(s)) return s;
  // Expand JavaScript's exponent form (shortest digits already) without changing the digits.
  const [mant, expText] = s.toLowerCase().split('e') as [string, string];
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const pointAt = (mant.replace('-', '').indexOf('.') + 1 || mant.replace('-', '').length + 1) - 1;
  const exp = Number(expText) + pointAt;
  let out: string;
  if (exp <= 0) out = `0.${'0'.repeat(-exp)}${digits}`;
  else if (exp >= digits.length) out = digits + '0'.repeat(exp - digits.length);
  else out = `${digits.slice(0, exp)}.${digits.slice(exp)}`;
  return neg ? `-${out}` : out;
}

function anyToJSON(v: AnyValue): unknown {
  switch (v.kind) {
    case 'empty':
      return null;
    case 'string':
    case 'bool':
    case 'double':
      return v.value;
    case 'int':
      return Number(v.value);
    case 'bytes':
      return v.value.toString('base64');
    case 'array':
      return v.values.map(anyToJSON);
    case 'map':
      return Object.fromEntries(v.entries.map(([k, x]) => [k, anyToJSON(x)]));
  }
}

/** pdata's Value.AsString: strings as is, numbers as Go prints them, bytes base64, maps and arrays as JSON. */
function renderAny(v: AnyValue): string {
  switch (v.kind) {
    case 'empty':
      return '';
    case 'string':
      return v.value;
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'int':
      return v.value.toString();
    case 'double':
      return formatFloatF(v.value);
    case 'bytes':
      return v.value.toString('base64');
    case 'array':
    case 'map':
      return JSON.stringify(anyToJSON(v));
  }
}

// --- JSON decoding (OTLP/JSON: lowerCamelCase keys, 64-bit integers as strings) ---------------

type J = Record<string, unknown>;

function jsonAny(v: unknown): AnyValue {
  if (v === null || typeof v !== 'object') return { kind: 'empty' };
  const o = v as J;
  if ('stringValue' in o) return { kind: 'string', value: String(o.stringValue) };
  if ('boolValue' in o) return { kind: 'bool', value: o.boolValue === true };
  if ('intValue' in o) return { kind: 'int', value: BigInt(o.intValue as string | number) };
  if ('doubleValue' in o) return { kind: 'double', value: Number(o.doubleValue) };
  if ('bytesValue' in o) return { kind: 'bytes', value: Buffer.from(String(o.bytesValue), 'base64') };
  if ('arrayValue' in o)
    return { kind: 'array', values: ((o.arrayValue as J)?.values as unknown[] | undefined)?.map(jsonAny) ?? [] };
  if ('kvlistValue' in o)
    return {
      kind: 'map',
      entries: (((o.kvlistValue as J)?.values as J[] | undefined) ?? []).map((kv) => [
        String(kv.key ?? ''),
        jsonAny(kv.value),
      ]),
    };
  return { kind: 'empty' };
}

function jsonAttrs(list: unknown): Attrs {
  if (!Array.isArray(list)) return [];
  return list.map((kv: J) => [String(kv.key ?? ''), renderAny(jsonAny(kv.value))]);
}

const num = (v: unknown): number => (v === undefined || v === null ? 0 : Number(v));
const ns = (v: unknown): bigint => (v === undefined || v === null || v === '' ? 0n : BigInt(v as string | number));
const arr = (v: unknown): J[] => (Array.isArray(v) ? (v as J[]) : []);

function jsonNumberPoint(p: J): NumberPoint {
  return {
    attrs: jsonAttrs(p.attributes),
    timeNs: ns(p.timeUnixNano),
    value: p.asInt !== undefined ? Number(p.asInt) : num(p.asDouble),
    flags: num(p.flags),
  };
}

function jsonExpBuckets(b: unknown): ExpBuckets {
  const o = (b ?? {}) as J;
  return { offset: num(o.offset), counts: (Array.isArray(o.bucketCounts) ? o.bucketCounts : []).map(Number) };
}

function jsonMetric(m: J): OTLPMetric {
  const out: OTLPMetric = { name: String(m.name ?? ''), unit: String(m.unit ?? ''), data: { type: 'none' } };
  const temporality = (d: J) =>
    d.aggregationTemporality === 'AGGREGATION_TEMPORALITY_CUMULATIVE'
      ? CUMULATIVE
      : d.aggregationTemporality === 'AGGREGATION_TEMPORALITY_DELTA'
        ? 1
        : num(d.aggregationTemporality);
  if (m.gauge) out.data = { type: 'gauge', points: arr((m.gauge as J).dataPoints).map(jsonNumberPoint) };
  else if (m.sum) {
    const d = m.sum as J;
    out.data = {
      type: 'sum',
      points: arr(d.dataPoints).map(jsonNumberPoint),
      temporality: temporality(d),
      monotonic: d.isMonotonic === true,
    };
  } else if (m.histogram) {
    const d = m.histogram as J;
    out.data = {
      type: 'histogram',
      temporality: temporality(d),
      points: arr(d.dataPoints).map((p) => ({
        attrs: jsonAttrs(p.attributes),
        timeNs: ns(p.timeUnixNano),
        count: num(p.count),
        sum: p.sum === undefined ? undefined : Number(p.sum),
        bucketCounts: (Array.isArray(p.bucketCounts) ? p.bucketCounts : []).map(Number),
        bounds: (Array.isArray(p.explicitBounds) ? p.explicitBounds : []).map(Number),
        flags: num(p.flags),
      })),
    };
  } else if (m.exponentialHistogram) {
    const d = m.exponentialHistogram as J;
    out.data = {
      type: 'exponential_histogram',
      temporality: temporality(d),
      points: arr(d.dataPoints).map((p) => ({
        attrs: jsonAttrs(p.attributes),
        timeNs: ns(p.timeUnixNano),
        count: num(p.count),
        sum: p.sum === undefined ? undefined : Number(p.sum),
        scale: num(p.scale),
        zeroCount: num(p.zeroCount),
        positive: jsonExpBuckets(p.positive),
        negative: jsonExpBuckets(p.negative),
        flags: num(p.flags),
      })),
    };
  } else if (m.summary)
    out.data = {
      type: 'summary',
      points: arr((m.summary as J).dataPoints).map((p) => ({
        attrs: jsonAttrs(p.attributes),
        timeNs: ns(p.timeUnixNano),
        count: num(p.count),
        sum: num(p.sum),
        quantiles: arr(p.quantileValues).map((q) => [num(q.quantile), num(q.value)] as [number, number]),
        flags: num(p.flags),
      })),
    };
  return out;
}

function decodeJSON(body: Uint8Array): ResourceMetrics[] {
  const doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as J;
  return arr(doc.resourceMetrics).map((rm) => ({
    resource: jsonAttrs((rm.resource as J | undefined)?.attributes),
    metrics: arr(rm.scopeMetrics).flatMap((sm) => arr(sm.metrics).map(jsonMetric)),
  }));
}

/**
 * Decodes an OTLP ExportMetricsServiceRequest body: `application/x-protobuf` or
 * `application/json` (Prometheus's DecodeOTLPWriteRequest; other content types are refused with
 * its message). Throws DecodeRequestError.
 */
export function decodeOTLPRequest(body: Uint8Array, contentType: string): ResourceMetrics[] {
  if (contentType === 'application/x-protobuf') {
    try {
      return new Decoder(body).request();
    } catch (err) {
      throw new DecodeRequestError(`decode OTLP request: ${(err as Error).message}`, { cause: err });
    }
  }
  if (contentType === 'application/json') {
    try {
      return decodeJSON(body);
    } catch (err) {
      throw new DecodeRequestError(`decode OTLP JSON request: ${(err as Error).message}`, { cause: err });
    }
  }
  throw new DecodeRequestError(
    `unsupported content type: ${contentType}, supported: [application/json, application/x-protobuf]`,
  );
}

// --- names (Thanos's otlptranslator normalize_name.go and prometheus/otlptranslator) --------

const UNITS: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

const PER_UNITS: Record<string, string> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** strutil.SanitizeLabelName, `__+` collapsed, a leading `_` trimmed (cleanUpUnit). */
function cleanUpUnit(unit: string): string {
  return unit
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .replace(/__+/g, '_')
    .replace(/^_/, '');
}

/**
 * Thanos's BuildCompliantName with AddMetricSuffixes (normalizeName, non-UTF-8): the name split
 * into tokens at anything but `[a-zA-Z0-9:]`, the unit (and `per_` unit) appended unless already
 * a token, `_total` for monotonic sums, `_ratio` for gauges of unit "1", `_` before a leading digit.
 */
export function otlpMetricName(name: string, unit: string, kind: MetricData['type'], monotonic: boolean): string {
  let tokens = name.split(/[^a-zA-Z0-9:]/).filter((t) => t !== '');
  const slash = unit.indexOf('/');
  const unitParts = slash < 0 ? [unit] : [unit.slice(0, slash), unit.slice(slash + 1)];
  let main = '';
  let per = '';
  const mainOTel = (unitParts[0] as string).trim();
  if (mainOTel !== '' && !/[{}]/.test(mainOTel)) {
    main = cleanUpUnit(UNITS[mainOTel] ?? mainOTel);
    if (tokens.includes(main)) main = '';
  }
  if (unitParts.length > 1 && unitParts[1] !== '') {
    const perOTel = (unitParts[1] as string).trim();
    if (perOTel !== '' && !/[{}]/.test(perOTel)) per = cleanUpUnit(PER_UNITS[perOTel] ?? perOTel);
    if (per !== '') {
      per = `per_${per}`;
      if (tokens.includes(per)) per = '';
    }
  }
  if (per !== '') main = main.replace(/_$/, '');
  if (main !== '') tokens.push(main);
  if (per !== '') tokens.push(per);
  if (kind === 'sum' && monotonic) tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && kind === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  let out = tokens.join('_');
  if (isDigit(out[0])) out = `_${out}`;
  return out;
}

/**
 * prometheus/otlptranslator LabelNamer.Build (non-UTF-8): characters outside `[a-zA-Z0-9]`
 * become one `_` per run (reserved `__x__` names keep their underscores), `key_` before a leading
 * digit; empty names and names of underscores only are errors.
 */
export function otlpLabelName(label: string): string {
  if (label === '') throw new Error('label name is empty');
  let inner = label;
  const reserved = label.length >= 4 && label.startsWith('__') && label.endsWith('__');
  if (reserved) inner = label.slice(2, -2);
  let out = inner.replace(/[^a-zA-Z0-9]+/g, '_');
  if (reserved) out = `__${out}__`;
  if (isDigit(out[0])) out = `key_${out}`;
  if (/^_*$/.test(out))
    throw new Error(
      `normalization for label name ${JSON.stringify(label)} resulted in invalid name ${JSON.stringify(out)}`,
    );
  return out;
}

// --- translation -------------------------------------------------------------------------------

const SERVICE_NAME = 'service.name';
const SERVICE_NAMESPACE = 'service.namespace';
const SERVICE_INSTANCE_ID = 'service.instance.id';

function attr(list: Attrs, key: string): string | undefined {
  for (const [k, v] of list) if (k === key) return v;
  return undefined;
}

/**
 * Thanos's createAttributes: point attributes (sorted by key; names that collide once sanitized
 * joined with `;`), promoted resource attributes that are not already there, job from
 * service.namespace/service.name, instance from service.instance.id, then the extra pairs.
 */
function createAttributes(
  resource: Attrs,
  attributes: Attrs,
  promote: readonly string[],
  ignore: readonly string[],
  extras: readonly string[],
): Map<string, string> {
  const l = new Map<string, string>();
  const sorted = attributes
    .filter(([k]) => !ignore.includes(k))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [k, v] of sorted) {
    let name: string;
    try {
      name = otlpLabelName(k);
    } catch (err) {
      throw new Error(`invalid label name: ${JSON.stringify(k)}: ${(err as Error).message}`);
    }
    const prev = l.get(name);
    l.set(name, prev === undefined ? v : `${prev};${v}`);
  }
  const promoted: [string, string][] = [];
  for (const name of promote) {
    const v = attr(resource, name);
    if (v !== undefined) promoted.push([name, v]);
  }
  promoted.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [k, v] of promoted) {
    let name: string;
    try {
      name = otlpLabelName(k);
    } catch (err) {
      throw new Error(`invalid promoted resource attribute name: ${JSON.stringify(k)}: ${(err as Error).message}`);
    }
    if (!l.has(name)) l.set(name, v);
  }
  const service = attr(resource, SERVICE_NAME);
  if (service !== undefined) {
    const ns = attr(resource, SERVICE_NAMESPACE);
    l.set('job', ns !== undefined ? `${ns}/${service}` : service);
  }
  const instance = attr(resource, SERVICE_INSTANCE_ID);
  if (instance !== undefined) l.set('instance', instance);
  for (let i = 0; i + 1 < extras.length; i += 2) l.set(extras[i] as string, extras[i + 1] as string);
  return l;
}

/** ns → ms as Thanos's convertTimeStamp (truncating integer division). */
const toMs = (tNs: bigint): number => Number(tNs / 1_000_000n);

/** The result of translating one OTLP request. */
export interface OTLPTranslation {
  series: WriteSeries[];
  /** Why parts of the request could not be translated (Thanos answers 400 with them joined). */
  errors: string[];
}

/**
 * Prometheus's zero threshold for native histograms made from OTLP (defaultZeroThreshold): the
 * translator does not read the point's zero_threshold yet (a TODO in Prometheus and Thanos).
 */
export const OTLP_ZERO_THRESHOLD = 1e-128;

/**
 * One side of an OTLP exponential histogram (dense `counts` from `offset`) as native histogram
 * spans and delta-encoded buckets, merging 2^scaleDown neighbours into one (Prometheus's
 * convertBucketsLayout, itself client_golang's makeBuckets). OTLP bucket `offset + i` covers
 * (base^(offset+i), base^(offset+i+1)], which is Prometheus's bucket `offset + i + 1`, hence the +1.
 * The first span starts at the first merged bucket's index; empty merged buckets are gaps, and a
 * gap of up to two buckets is filled with empty buckets rather than starting a new span, as
 * client_golang does; the last merged bucket is always written.
 *
 * One deliberate difference: Prometheus's version (and Thanos's copy) forgets to move its bucket
 * index when an empty merged bucket is followed by a non-empty one, so with scaleDown > 0 a merged
 * bucket whose first OTLP bucket is non-empty and which has more OTLP buckets after it is written
 * one index too low (its observations move to a lower bucket). Here every bucket is written at its
 * own index; the layouts are identical whenever Prometheus's is right (its test table passes).
 */
export function otlpBucketsLayout(
  counts: readonly number[],
  offset: number,
  scaleDown: number,
): { spans: Span[]; deltas: number[] } {
  if (counts.length === 0) return { spans: [], deltas: [] };
  let idx = (offset >> scaleDown) + 1; // The merged bucket being summed.
  const spans: Span[] = [{ offset: idx, length: 0 }];
  const deltas: number[] = [];
  let emitted = idx - 1; // Index of the last bucket written (the span starts right after it).
  let prev = 0;
  const push = (count: number) => {
    (spans[spans.length - 1] as Span).length++;
    deltas.push(count - prev);
    prev = count;
  };
  // Writes the merged bucket `idx`: after a gap of more than two buckets a new span, otherwise
  // empty buckets up to it.
  const write = (count: number) => {
    const gap = idx - emitted - 1;
    if (gap > 2) spans.push({ offset: gap, length: 0 });
    else for (let g = 0; g < gap; g++) push(0);
    push(count);
    emitted = idx;
  };
  let count = 0;
  for (let i = 0; i < counts.length; i++) {
    const next = ((i + offset) >> scaleDown) + 1;
    if (next !== idx) {
      if (count !== 0) write(count);
      idx = next;
      count = 0;
    }
    count += counts[i] as number;
  }
  write(count);
  return { spans, deltas };
}

/**
 * An OTLP exponential histogram point as an integer native histogram (Prometheus's
 * exponentialToNativeHistogram): scale becomes the schema; scales above 8 are reduced to 8 by
 * merging 2^(scale-8) buckets into one; scales below -4 are an error. The zero bucket keeps its
 * count with threshold OTLP_ZERO_THRESHOLD; the counter-reset hint is unknown (cumulative
 * points). A point flagged "no recorded value" becomes a stale marker (sum StaleNaN).
 */
function exponentialToNative(p: ExpHistogramPoint): Histogram {
  let scale = p.scale;
  if (scale < EXPONENTIAL_SCHEMA_MIN)
    throw new Error(
      `cannot convert exponential to native histogram. Scale must be >= ${EXPONENTIAL_SCHEMA_MIN}, was ${scale}`,
    );
  let scaleDown = 0;
  if (scale > EXPONENTIAL_SCHEMA_MAX) {
    scaleDown = scale - EXPONENTIAL_SCHEMA_MAX;
    scale = EXPONENTIAL_SCHEMA_MAX;
  }
  const pos = otlpBucketsLayout(p.positive.counts, p.positive.offset, scaleDown);
  const neg = otlpBucketsLayout(p.negative.counts, p.negative.offset, scaleDown);
  const stale = (p.flags & NO_RECORDED_VALUE) !== 0;
  return {
    counterResetHint: CounterResetHint.Unknown,
    schema: scale,
    zeroThreshold: OTLP_ZERO_THRESHOLD,
    zeroCount: p.zeroCount,
    // Prometheus sets Count to the StaleNaN bits as an integer; any count at least the buckets' works.
    count: stale ? Number(STALE_COUNT) : p.count,
    sum: stale ? STALE_NAN : (p.sum ?? 0),
    positiveSpans: pos.spans,
    positiveBuckets: pos.deltas,
    negativeSpans: neg.spans,
    negativeBuckets: neg.deltas,
  };
}

/** value.StaleNaN's bits read as an unsigned integer (what Prometheus puts in a stale histogram's Count). */
const STALE_COUNT = 0x7ff0000000000002n;

/**
 * Thanos's PrometheusConverter.FromMetrics with its receive settings: gauges and cumulative sums
 * to samples (monotonic sums as `_total` counters), cumulative histograms to classic
 * `_bucket{le}`/`_sum`/`_count`, cumulative exponential histograms to native histograms under the
 * metric's name (scale → schema, scales above 8 merged down to 8), summaries to
 * quantiles/`_sum`/`_count`, a `target_info` per resource. Points flagged as having no recorded
 * value become stale markers. Delta temporality, scales below -4 and metrics without points are
 * errors (the request gets 400).
 */
export function translateOTLP(resources: readonly ResourceMetrics[], settings: OTLPSettings): OTLPTranslation {
  const bySeries = new Map<string, WriteSeries>();
  const errors: string[] = [];
  // A point flagged as having no recorded value becomes a staleness marker (noted in staleAt).
  const add = (labels: Map<string, string>, t: number, v: number, stale = false) => {
    const sorted: WireLabel[] = [...labels]
      .map(([name, value]) => ({ name, value }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const key = sorted.map((l) => `${l.name}\xff${l.value}`).join('\xff');
    let s = bySeries.get(key);
    if (!s) {
      s = { labels: sorted, timestamps: [], values: [], histograms: 0 };
      bySeries.set(key, s);
    }
    if (stale) markStale(s, s.timestamps.length);
    s.timestamps.push(t);
    s.values.push(stale ? Number.NaN : v);
  };
  const addHistogram = (labels: Map<string, string>, t: number, h: Histogram) => {
    const sorted: WireLabel[] = [...labels]
      .map(([name, value]) => ({ name, value }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const key = sorted.map((l) => `${l.name}\xff${l.value}`).join('\xff');
    let s = bySeries.get(key);
    if (!s) {
      s = { labels: sorted, timestamps: [], values: [], histograms: 0 };
      bySeries.set(key, s);
    }
    s.histograms++;
    if (s.nativeHistograms) s.nativeHistograms.push({ t, h });
    else s.nativeHistograms = [{ t, h }];
  };
  const withName = (base: Map<string, string>, name: string, extra?: [string, string]) => {
    const l = new Map(base);
    if (extra) l.set(extra[0], extra[1]);
    l.set('__name__', name);
    return l;
  };
  for (const rm of resources) {
    let newest = 0n;
    for (const m of rm.metrics) {
      const d = m.data;
      if (d.type !== 'none') for (const p of d.points) if (p.timeNs > newest) newest = p.timeNs;
      if (
        (d.type === 'sum' || d.type === 'histogram' || d.type === 'exponential_histogram') &&
        d.temporality !== CUMULATIVE
      ) {
        errors.push(`invalid temporality for metric ${JSON.stringify(m.name)}`);
        continue;
      }
      if (d.type === 'none') {
        errors.push('unsupported metric type');
        continue;
      }
      if (d.points.length === 0) {
        errors.push(`empty data points. ${m.name} is dropped`);
        continue;
      }
      const name = otlpMetricName(m.name, m.unit, d.type, d.type === 'sum' && d.monotonic);
      try {
        switch (d.type) {
          case 'gauge':
          case 'sum':
            for (const p of d.points) {
              const labels = createAttributes(
                rm.resource,
                p.attrs,
                settings.promoteResourceAttributes,
                [],
                ['__name__', name],
              );
              add(labels, toMs(p.timeNs), p.value, (p.flags & NO_RECORDED_VALUE) !== 0);
            }
            break;
          case 'histogram':
            for (const p of d.points) {
              const t = toMs(p.timeNs);
              const stale = (p.flags & NO_RECORDED_VALUE) !== 0;
              const base = createAttributes(rm.resource, p.attrs, settings.promoteResourceAttributes, [], []);
              if (p.sum !== undefined) add(withName(base, `${name}_sum`), t, p.sum, stale);
              add(withName(base, `${name}_count`), t, p.count, stale);
              let cumulative = 0;
              for (let i = 0; i < p.bounds.length && i < p.bucketCounts.length; i++) {
                cumulative += p.bucketCounts[i] as number;
                add(
                  withName(base, `${name}_bucket`, ['le', formatFloatF(p.bounds[i] as number)]),
                  t,
                  cumulative,
                  stale,
                );
              }
              add(withName(base, `${name}_bucket`, ['le', '+Inf']), t, p.count, stale);
            }
            break;
          case 'summary':
            for (const p of d.points) {
              const t = toMs(p.timeNs);
              const stale = (p.flags & NO_RECORDED_VALUE) !== 0;
              const base = createAttributes(rm.resource, p.attrs, settings.promoteResourceAttributes, [], []);
              add(withName(base, `${name}_sum`), t, p.sum, stale);
              add(withName(base, `${name}_count`), t, p.count, stale);
              for (const [q, v] of p.quantiles) add(withName(base, name, ['quantile', formatFloatF(q)]), t, v, stale);
            }
            break;
          case 'exponential_histogram':
            // A native histogram sample under the metric's own name (no _count/_sum/_bucket).
            for (const p of d.points) {
              const h = exponentialToNative(p);
              const labels = createAttributes(
                rm.resource,
                p.attrs,
                settings.promoteResourceAttributes,
                [],
                ['__name__', name],
              );
              addHistogram(labels, toMs(p.timeNs), h);
            }
            break;
        }
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    // target_info: the resource's non-identifying attributes, when it has a job or instance.
    if (!settings.enableTargetInfo || newest === 0n) continue;
    const identifying = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];
    if (!rm.resource.some(([k]) => !identifying.includes(k))) continue;
    let labels: Map<string, string>;
    try {
      labels = createAttributes(rm.resource, rm.resource, [], identifying, ['__name__', 'target_info']);
    } catch {
      continue;
    }
    if (!labels.has('job') && !labels.has('instance')) continue;
    add(labels, toMs(newest), 1);
  }
  return { series: [...bySeries.values()], errors };
}

/** Thanos's errutil.MultiError text: `N errors: a; b`, or the one error alone. */
export function joinOTLPErrors(errors: readonly string[]): string {
  return errors.length > 1 ? `${errors.length} errors: ${errors.join('; ')}` : (errors[0] ?? '');
}
