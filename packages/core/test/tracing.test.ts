import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createMemoryStorage } from '@thanos-ts/promql';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { Labels } from '@thanos-ts/tsdb';
import { compressSync } from 'snappy';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedGrpc, serveGrpc } from '../src/component/grpc-server.js';
import { createQueryFrontend } from '../src/frontend/query-frontend.js';
import type { Logger } from '../src/log/logger.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createReceiver } from '../src/receive/receiver.js';
import { encodeWriteRequest } from '../src/receive/wire.js';
import { createRuler } from '../src/rule/ruler.js';
import { serveStoreAPI } from '../src/storeapi/grpc-server.js';
import { createLocalStore } from '../src/storeapi/local-store.js';
import { createTracing, type Tracing } from '../src/tracing/index.js';
import { type OTLPReceiver, type ReceivedSpan, startOTLPGrpcReceiver, startOTLPHttpReceiver } from './otlp-receiver.js';

// One query through a querier and two stores, each with its own tracer provider (as three
// processes would have), exported over OTLP to a receiver that decodes the protobuf as a
// collector does: the spans must form one trace, linked across the gRPC hops.

const SERVER = 2;
const CLIENT = 3;

function otlpConfig(endpoint: string, service: string, client: 'http' | 'grpc' = 'http', extra = ''): string {
  return `type: OTLP
config:
  client_type: ${client}
  service_name: ${service}
  endpoint: ${endpoint}
  insecure: true
  sampler_type: alwayssample
${extra}`;
}

interface Stack {
  querier: Querier;
  stores: ServedGrpc[];
  addresses: string[];
  close(): Promise<void>;
}

async function startStack(tracers: { querier?: Tracing; stores?: Tracing[] }): Promise<Stack> {
  const stores: ServedGrpc[] = [];
  for (const [i, name] of ['a', 'b'].entries()) {
    const storage = createMemoryStorage();
    storage.load([
      { labels: { __name__: 'temp', room: name }, timestamps: [0, 15_000, 30_000], values: [20 + i, 21 + i, 22 + i] },
    ]);
    const store = createLocalStore({ queryable: storage, externalLabels: Labels.from({ store: name }) });
    const tracer = tracers.stores?.[i]?.tracer;
    stores.push(
      await serveGrpc((server) => serveStoreAPI(store, server, tracer ? { tracer } : {}), {
        address: '127.0.0.1:0',
        gracePeriodMs: 0,
      }),
    );
  }
  const addresses = stores.map((s) => s.address);
  const querier = createQuerier({
    endpoints: addresses,
    httpAddress: '127.0.0.1:0',
    httpGracePeriodMs: 0,
    grpcGracePeriodMs: 0,
    evaluationWorkers: 0,
    ...(tracers.querier ? { tracer: tracers.querier.tracer } : {}),
  });
  await querier.start();
  return {
    querier,
    stores,
    addresses,
    async close() {
      await querier.close();
      await Promise.all(stores.map((s) => s.close()));
    },
  };
}

async function query(q: Querier, headers: Record<string, string> = {}) {
  const res = await fetch(`http://${q.httpAddress}/api/v1/query?query=${encodeURIComponent('sum(temp)')}&time=30`, {
    headers,
  });
  const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
  return { status: res.status, traceId: res.headers.get('x-thanos-trace-id'), body };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan[] {
  return spans.filter((s) => s.name === name);
}

describe.each([
  { client: 'http' as const, start: startOTLPHttpReceiver },
  { client: 'grpc' as const, start: startOTLPGrpcReceiver },
])('one query is one trace across querier and two stores (OTLP/$client)', ({ client, start }) => {
  it('links HTTP, PromQL, select, store client and store server spans', async () => {
    const receiver: OTLPReceiver = await start();
    cleanups.push(() => receiver.close());
    const qt = createTracing(otlpConfig(receiver.endpoint, 'querier', client));
    const st = [
      createTracing(otlpConfig(receiver.endpoint, 'store-a', client)),
      createTracing(otlpConfig(receiver.endpoint, 'store-b', client)),
    ];
    const stack = await startStack({ querier: qt, stores: st });
    const parentTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpan = '00f067aa0ba902b7';
    const res = await query(stack.querier, { traceparent: `00-${parentTrace}-${parentSpan}-01` });
    expect(res.status).toBe(200);
    expect(res.body.data.result[0]?.value[1]).toBe('45');
    expect(res.traceId).toBe(parentTrace);
    await stack.close();
    await Promise.all([qt.shutdown(), ...st.map((t) => t.shutdown())]);

    // The querier's health checks (Info calls) are traces of their own, as in Thanos.
    const others = receiver.spans.filter((s) => s.traceId !== parentTrace);
    expect(new Set(others.map((s) => s.name))).toEqual(new Set(['/thanos.info.Info/Info']));
    const spans = receiver.spans.filter((s) => s.traceId === parentTrace);
    const [http] = byName(spans, '/query HTTP[server]');
    expect(http).toBeDefined();
    expect(http?.kind).toBe(SERVER);
    expect(http?.parentSpanId).toBe(parentSpan);
    expect(http?.service).toBe('querier');
    expect(http?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/v1/query',
      'http.response.status_code': 200,
    });
    const [create] = byName(spans, 'instant_query_create');
    const [exec] = byName(spans, 'instant_query_exec');
    expect(create?.parentSpanId).toBe(http?.spanId);
    expect(exec?.parentSpanId).toBe(http?.spanId);
    expect(exec?.attributes.query).toBe('sum(temp)');
    const [prepare] = byName(spans, 'promqlPrepare');
    const [innerEval] = byName(spans, 'promqlInnerEval');
    expect(prepare?.parentSpanId).toBe(exec?.spanId);
    expect(innerEval?.parentSpanId).toBe(exec?.spanId);
    const [select] = byName(spans, 'querier_select');
    expect(select?.parentSpanId).toBe(prepare?.spanId);
    expect(select?.attributes.matchers).toBe('{__name__="temp"}');

    const clients = byName(spans, '/thanos.Store/Series').filter((s) => s.kind === CLIENT);
    const servers = byName(spans, '/thanos.Store/Series').filter((s) => s.kind === SERVER);
    expect(clients.map((s) => s.attributes.target).sort()).toEqual([...stack.addresses].sort());
    for (const c of clients) {
      expect(c.parentSpanId).toBe(select?.spanId);
      expect(c.service).toBe('querier');
      expect(c.attributes['store.matchers']).toBe('{__name__="temp"}');
      expect(c.attributes['store.series']).toBe(1);
    }
    // Each store's server span is the child of the querier's client span for that store.
    expect(servers.map((s) => s.service).sort()).toEqual(['store-a', 'store-b']);
    for (const s of servers) {
      const parent = clients.find((c) => c.spanId === s.parentSpanId);
      expect(parent, `parent of ${s.service}'s span`).toBeDefined();
      expect(s.attributes).toMatchObject({
        'rpc.system': 'grpc',
        'rpc.service': 'thanos.Store',
        'rpc.method': 'Series',
        'rpc.grpc.status_code': 0,
        'store.matchers': '{__name__="temp"}',
        'store.series': 1,
      });
    }
  });
});

describe('query frontend in front', () => {
  it('frontend → querier → two stores is one trace; the slow query log names it', async () => {
    const receiver = await startOTLPHttpReceiver();
    cleanups.push(() => receiver.close());
    const ft = createTracing(otlpConfig(receiver.endpoint, 'frontend'));
    const qt = createTracing(otlpConfig(receiver.endpoint, 'querier'));
    const stack = await startStack({ querier: qt });
    const lines: Record<string, unknown>[] = [];
    const logger: Logger = {
      debug() {},
      info: (msg, fields) => lines.push({ msg, ...fields }),
      warn() {},
      error() {},
    };
    const frontend = createQueryFrontend({
      downstreamUrl: `http://${stack.querier.httpAddress}`,
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      logQueriesLongerThanMs: -1,
      tracer: ft.tracer,
      logger,
    });
    await frontend.start();
    const qs = new URLSearchParams({ query: 'sum(temp)', start: '0', end: '30', step: '15' });
    const res = await fetch(`http://${frontend.httpAddress}/api/v1/query_range?${qs}`);
    expect(res.status).toBe(200);
    await frontend.close();
    await stack.close();
    await Promise.all([ft.shutdown(), qt.shutdown()]);

    const [front] = byName(receiver.spans, '/query_range HTTP[server]').filter((s) => s.service === 'frontend');
    expect(front).toBeDefined();
    const trace = receiver.spans.filter((s) => s.traceId === front?.traceId);
    // The querier's server span continues the frontend's trace (traceparent on the downstream request).
    const querierHttp = trace.filter((s) => s.service === 'querier' && s.name === '/query_range HTTP[server]');
    expect(querierHttp.length).toBeGreaterThan(0);
    expect(byName(trace, '/thanos.Store/Series').length).toBeGreaterThanOrEqual(2);
    const slow = lines.find((l) => l.msg === 'slow query detected');
    expect(slow?.trace_id).toBe(front?.traceId);
  });
});

describe('ruler', () => {
  it("each rule's evaluation is a `rule` span, and the querier's spans for its query join that trace", async () => {
    const receiver = await startOTLPHttpReceiver();
    cleanups.push(() => receiver.close());
    const rt = createTracing(otlpConfig(receiver.endpoint, 'rule'));
    const qt = createTracing(otlpConfig(receiver.endpoint, 'querier'));
    const stack = await startStack({ querier: qt });
    const dir = await makeTempDir('tracing-rule-');
    cleanups.push(() => removeTempDir(dir));
    await writeFile(
      join(dir, 'rules.yml'),
      'groups:\n  - name: temps\n    interval: 1s\n    rules:\n      - record: temp:sum\n        expr: sum(temp)\n',
    );
    const ruler = createRuler({
      ruleFiles: [join(dir, 'rules.yml')],
      dataDir: join(dir, 'data'),
      queryURLs: [`http://${stack.querier.httpAddress}`],
      httpAddress: '127.0.0.1:0',
      grpcAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      grpcGracePeriodMs: 0,
      tracer: rt.tracer,
    });
    await ruler.start();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (ruler.ruleGroups()[0]?.lastEvaluation ?? 0) === 0) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await ruler.close();
    await stack.close();
    await Promise.all([rt.shutdown(), qt.shutdown()]);

    const [rule] = byName(receiver.spans, 'rule');
    expect(rule?.service).toBe('rule');
    const trace = receiver.spans.filter((s) => s.traceId === rule?.traceId);
    const querierHttp = trace.filter((s) => s.service === 'querier' && s.name === '/query HTTP[server]');
    expect(querierHttp.length).toBe(1);
    expect(querierHttp[0]?.parentSpanId).toBe(rule?.spanId);
    expect(byName(trace, '/thanos.Store/Series').length).toBeGreaterThanOrEqual(2);
  });
});

describe('receiver', () => {
  it("a remote write is a receive_http span continuing the sender's traceparent", async () => {
    const receiver = await startOTLPHttpReceiver();
    cleanups.push(() => receiver.close());
    const rt = createTracing(otlpConfig(receiver.endpoint, 'receive'));
    const dir = await makeTempDir('tracing-receive-');
    cleanups.push(() => removeTempDir(dir));
    const r = createReceiver({
      tsdbPath: dir,
      remoteWriteAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      tracer: rt.tracer,
    });
    await r.start();
    const body = encodeWriteRequest([
      {
        labels: [
          { name: '__name__', value: 'traced_total' },
          { name: 'job', value: 'a' },
        ],
        timestamps: [Date.now()],
        values: [1],
        histograms: 0,
      },
    ]);
    const parentTrace = '0af7651916cd43dd8448eb211c80319c';
    const res = await fetch(`http://${r.remoteWriteAddress}/api/v1/receive`, {
      method: 'POST',
      body: compressSync(Buffer.from(body)),
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        traceparent: `00-${parentTrace}-b7ad6b7169203331-01`,
      },
    });
    expect(res.status).toBe(200);
    await r.close();
    await rt.shutdown();
    const [span] = byName(receiver.spans, 'receive_http');
    expect(span?.traceId).toBe(parentTrace);
    expect(span?.parentSpanId).toBe('b7ad6b7169203331');
    expect(span?.kind).toBe(SERVER);
  });
});

describe('tracing off and tracing to nowhere', () => {
  it('without a tracer: no trace id header, same answer', async () => {
    const stack = await startStack({});
    cleanups.push(() => stack.close());
    const res = await query(stack.querier);
    expect(res.status).toBe(200);
    expect(res.body.data.result[0]?.value[1]).toBe('45');
    expect(res.traceId).toBeNull();
  });

  it('a collector on a closed port neither fails queries nor blocks shutdown', async () => {
    const port = await closedPort();
    const warnings: string[] = [];
    const logger: Logger = {
      ...({} as Logger),
      debug() {},
      info() {},
      warn: (msg: string) => warnings.push(msg),
      error: (msg: string) => warnings.push(msg),
    } as Logger;
    const qt = createTracing(otlpConfig(`127.0.0.1:${port}`, 'querier', 'http'), {
      logger,
      shutdownTimeoutMs: 500,
    });
    // Shutdown gives up on the unreachable collector after shutdownTimeoutMs instead of hanging.
    const st = [
      createTracing(otlpConfig(`127.0.0.1:${port}`, 'a', 'grpc'), { shutdownTimeoutMs: 500 }),
      createTracing(otlpConfig(`127.0.0.1:${port}`, 'b'), { shutdownTimeoutMs: 500 }),
    ];
    const stack = await startStack({ querier: qt, stores: st });
    for (let i = 0; i < 5; i++) {
      const res = await query(stack.querier);
      expect(res.status).toBe(200);
      expect(res.body.data.result[0]?.value[1]).toBe('45');
      expect(res.traceId).toMatch(/^[0-9a-f]{32}$/);
    }
    await stack.close();
    await Promise.all([qt.shutdown(), ...st.map((t) => t.shutdown())]);
    expect(warnings.some((w) => w.startsWith('tracing'))).toBe(true);
  });
});

describe('sampling', () => {
  it.each([
    { name: 'neversample drops the request', sampler: 'neversample', headers: {}, sampled: false },
    {
      name: 'X-Thanos-Force-Tracing samples it anyway',
      sampler: 'neversample',
      headers: { 'X-Thanos-Force-Tracing': 'true' },
      sampled: true,
    },
    { name: 'ratio 0 drops', sampler: 'traceidratiobased\n  sampler_param: "0"', headers: {}, sampled: false },
    {
      name: 'parent-based follows a sampled parent',
      sampler: 'parentbasedneversample',
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      sampled: true,
    },
    {
      name: 'parent-based follows an unsampled parent',
      sampler: 'parentbasedalwayssample',
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' },
      sampled: false,
    },
  ])('$name', async ({ sampler, headers, sampled }) => {
    const receiver = await startOTLPHttpReceiver();
    cleanups.push(() => receiver.close());
    const text = otlpConfig(receiver.endpoint, 'q').replace('sampler_type: alwayssample', `sampler_type: ${sampler}`);
    const qt = createTracing(text);
    const stack = await startStack({ querier: qt });
    const res = await query(stack.querier, headers as Record<string, string>);
    expect(res.status).toBe(200);
    await stack.close();
    await qt.shutdown();
    expect(res.traceId !== null).toBe(sampled);
    expect(receiver.spans.length > 0).toBe(sampled);
  });
});

describe('metadata calls', () => {
  it('label names: HTTP, querier_label_names and a client and server span per store', async () => {
    const receiver = await startOTLPHttpReceiver();
    cleanups.push(() => receiver.close());
    const qt = createTracing(otlpConfig(receiver.endpoint, 'querier'));
    const st = [createTracing(otlpConfig(receiver.endpoint, 'a')), createTracing(otlpConfig(receiver.endpoint, 'b'))];
    const stack = await startStack({ querier: qt, stores: st });
    const res = await fetch(`http://${stack.querier.httpAddress}/api/v1/labels?match[]=temp`);
    expect(res.status).toBe(200);
    const traceId = res.headers.get('x-thanos-trace-id');
    await stack.close();
    await Promise.all([qt.shutdown(), ...st.map((t) => t.shutdown())]);
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const [http] = byName(spans, '/label_names HTTP[server]');
    const [names] = byName(spans, 'querier_label_names');
    expect(names?.parentSpanId).toBe(http?.spanId);
    expect(names?.attributes.matchers).toBe('{__name__="temp"}');
    const calls = byName(spans, '/thanos.Store/LabelNames');
    expect(
      calls
        .filter((s) => s.kind === CLIENT)
        .map((s) => s.attributes.target)
        .sort(),
    ).toEqual([...stack.addresses].sort());
    expect(
      calls
        .filter((s) => s.kind === SERVER)
        .map((s) => s.service)
        .sort(),
    ).toEqual(['a', 'b']);
  });
});

describe('exporter settings reach the wire', () => {
  it('headers, gzip and url_path on OTLP/HTTP', async () => {
    const receiver = await startOTLPHttpReceiver('/custom/traces');
    cleanups.push(() => receiver.close());
    const qt = createTracing(
      otlpConfig(
        receiver.endpoint,
        'q',
        'http',
        '  url_path: /custom/traces\n  compression: gzip\n  headers:\n    x-scope-orgid: tenant-1\n  resource_attributes:\n    cluster: eu-1',
      ),
    );
    const stack = await startStack({ querier: qt });
    await query(stack.querier);
    await stack.close();
    await qt.shutdown();
    expect(receiver.headers[0]?.['x-scope-orgid']).toBe('tenant-1');
    expect(receiver.headers[0]?.['content-encoding']).toBe('gzip');
    expect(receiver.spans.length).toBeGreaterThan(0);
  });
});
