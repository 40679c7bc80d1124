import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Server as GrpcServer, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

// A small OTLP trace receiver for tests, decoding ExportTraceServiceRequest as a collector does
// (opentelemetry-proto, opentelemetry/proto/collector/trace/v1/trace_service.proto and
// trace/v1/trace.proto): only the messages and fields the assertions read are declared; protobuf
// skips the others.
const PROTO = `
syntax = "proto3";
package otlp;
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTraceServiceResponse {}
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message InstrumentationScope { string name = 1; string version = 2; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  Status status = 15;
}
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    bytes bytes_value = 7;
  }
}
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const Request = root.lookupType('otlp.ExportTraceServiceRequest');
const Response = root.lookupType('otlp.ExportTraceServiceResponse');

/** One received span, flattened. Ids are hex; kind is OTLP's (1 internal, 2 server, 3 client). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, string | number | boolean>;
  statusCode: number;
  /** The resource's service.name. */
  service: string;
}

type KV = { key: string; value?: Record<string, unknown> };

function attrs(list: KV[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    // int64 arrives as a decimal string (toObject's longs: String).
    if (v.int_value !== undefined) out[kv.key] = Number(v.int_value);
    else out[kv.key] = (v.string_value ?? v.bool_value ?? v.double_value) as string | number | boolean;
  }
  return out;
}

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

/** Decodes one ExportTraceServiceRequest body into spans. */
export function decodeExport(body: Uint8Array): ReceivedSpan[] {
  // biome-ignore lint/suspicious/noExplicitAny: protobufjs plain object.
  const req = Request.toObject(Request.decode(body), { longs: String, bytes: Uint8Array as any }) as {
    resource_spans?: { resource?: { attributes?: KV[] }; scope_spans?: { spans?: Record<string, unknown>[] }[] }[];
  };
  const out: ReceivedSpan[] = [];
  for (const rs of req.resource_spans ?? []) {
    const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scope_spans ?? [])
      for (const s of ss.spans ?? [])
        out.push({
          traceId: hex(s.trace_id as Uint8Array),
          spanId: hex(s.span_id as Uint8Array),
          parentSpanId: hex(s.parent_span_id as Uint8Array),
          name: s.name as string,
          kind: (s.kind as number) ?? 0,
          startNs: BigInt(String(s.start_time_unix_nano ?? '0')),
          endNs: BigInt(String(s.end_time_unix_nano ?? '0')),
          attributes: attrs(s.attributes as KV[]),
          statusCode: ((s.status as { code?: number } | undefined)?.code ?? 0) as number,
          service,
        });
  }
  return out;
}

/** A running receiver: the spans it decoded and the requests' headers. */
export interface OTLPReceiver {
  /** host:port to put in a tracing config's `endpoint`. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Headers (HTTP) or metadata (gRPC) of each export request, lower-cased keys. */
  readonly headers: Record<string, string>[];
  close(): Promise<void>;
}

/** Starts an OTLP/HTTP (protobuf) receiver on 127.0.0.1, answering POST /v1/traces. */
export async function startOTLPHttpReceiver(path = '/v1/traces'): Promise<OTLPReceiver> {
  const spans: ReceivedSpan[] = [];
  const headers: Record<string, string>[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== path) {
      res.writeHead(404).end();
      return;
    }
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    spans.push(...decodeExport(body));
    headers.push(Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])));
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
    res.end(Buffer.from(Response.encode(Response.create({})).finish()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `127.0.0.1:${port}`,
    spans,
    headers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts an OTLP/gRPC receiver (TraceService/Export) on 127.0.0.1, plaintext. */
export async function startOTLPGrpcReceiver(): Promise<OTLPReceiver> {
  const spans: ReceivedSpan[] = [];
  const headers: Record<string, string>[] = [];
  const server = new GrpcServer();
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: () => Buffer.from(Response.encode(Response.create({})).finish()),
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
        spans.push(...decodeExport(call.request));
        headers.push(Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])));
        cb(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    endpoint: `127.0.0.1:${port}`,
    spans,
    headers,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
