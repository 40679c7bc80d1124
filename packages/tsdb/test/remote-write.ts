// A small remote-write v1 client for tests and benchmarks that fill a real Prometheus's WAL:
// a hand-built prompb.WriteRequest, snappy block compression, POST /api/v1/write.
import { compressSync } from 'snappy';

/** One series to push: labels (sorted by name, as Prometheus expects) and samples. */
export interface PushSeries {
  labels: readonly (readonly [string, string])[];
  samples: readonly { t: number; v: number }[];
}

const utf8 = new TextEncoder();

class ProtoWriter {
  private b = new Uint8Array(64);
  p = 0;

  private reserve(n: number): void {
    if (this.p + n <= this.b.length) return;
    const next = new Uint8Array(Math.max(this.b.length * 2, this.p + n));
    next.set(this.b.subarray(0, this.p));
    this.b = next;
  }

  varint(v: number): void {
    this.reserve(10);
    // int64 fields: negative values are ten-byte two's complement varints.
    let big = v < 0 ? BigInt.asUintN(64, BigInt(v)) : undefined;
    if (big !== undefined) {
      while (big >= 0x80n) {
        this.b[this.p++] = Number(big & 0x7fn) | 0x80;
        big >>= 7n;
      }
      this.b[this.p++] = Number(big);
      return;
    }
    while (v >= 0x80) {
      this.b[this.p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.b[this.p++] = v;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.reserve(data.length);
    this.b.set(data, this.p);
    this.p += data.length;
  }

  double(field: number, v: number): void {
    this.tag(field, 1);
    this.reserve(8);
    new DataView(this.b.buffer).setFloat64(this.p, v, true);
    this.p += 8;
  }

  done(): Uint8Array {
    return this.b.subarray(0, this.p);
  }
}

/** Encodes prompb.WriteRequest{timeseries}: TimeSeries = 1, Label{name=1,value=2} = 1, Sample{value=1,timestamp=2} = 2. */
export function encodeWriteRequest(series: readonly PushSeries[]): Uint8Array {
  const out = new ProtoWriter();
  for (const s of series) {
    const ts = new ProtoWriter();
    for (const [name, value] of s.labels) {
      const l = new ProtoWriter();
      l.bytes(1, utf8.encode(name));
      l.bytes(2, utf8.encode(value));
      ts.bytes(1, l.done());
    }
    for (const { t, v } of s.samples) {
      const sm = new ProtoWriter();
      sm.double(1, v);
      sm.tag(2, 0);
      sm.varint(t);
      ts.bytes(2, sm.done());
    }
    out.bytes(1, ts.done());
  }
  return out.done();
}

/** POSTs one snappy-compressed WriteRequest to `<url>/api/v1/write`; throws on a non-2xx answer. */
export async function remoteWrite(url: string, series: readonly PushSeries[]): Promise<void> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    },
    body: compressSync(encodeWriteRequest(series)),
  });
  if (!res.ok) throw new Error(`remote write to ${url}: HTTP ${res.status}: ${await res.text()}`);
}
