import { Server, ServerCredentials } from '@grpc/grpc-js';
import { createMemoryStorage } from '@thanos-ts/promql';
import { Labels } from '@thanos-ts/tsdb';
import { afterAll, describe, expect, it } from 'vitest';
import { availableCores } from '../src/concurrency/cores.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { serveStoreAPI } from '../src/storeapi/grpc-server.js';
import { createLocalStore } from '../src/storeapi/local-store.js';

describe('querier served over HTTP and gRPC', () => {
  let component: Querier | undefined;
  const server = new Server();
  afterAll(async () => {
    await component?.close();
    server.forceShutdown();
  });

  it('serves the API, health and Thanos-named metrics', async () => {
    const storage = createMemoryStorage();
    storage.load([{ labels: { __name__: 'up', job: 'x' }, timestamps: [1000], values: [1] }]);
    serveStoreAPI(createLocalStore({ queryable: storage, externalLabels: Labels.from({ site: 's' }) }), server);
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    component = createQuerier({
      httpAddress: '127.0.0.1:0',
      grpcAddress: '127.0.0.1:0',
      endpoints: [`127.0.0.1:${port}`],
    });
    await component.start();
    const base = `http://${component.httpAddress}`;
    expect((await fetch(`${base}/-/ready`)).status).toBe(200);
    const q = (await (await fetch(`${base}/api/v1/query?query=up&time=1`)).json()) as { data: { result: unknown[] } };
    expect(q.data.result).toHaveLength(1);
    await fetch(`${base}/api/v1/query?query=up(`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/thanos_store_nodes_grpc_connections\{store_type="store"\} 1/);
    // The evaluation workers: idle now, and the limit on heavy evaluations (cores + 1).
    expect(metrics).toMatch(/thanos_ts_query_evaluations\{state="running"\} 0/);
    expect(metrics).toMatch(/thanos_ts_query_evaluations\{state="waiting"\} 0/);
    expect(metrics).toContain(`thanos_ts_query_heavy_evaluations_max ${availableCores() + 1}`);
    expect(metrics).toMatch(/http_requests_total\{code="200",handler="\/api\/v1\/query",method="GET"\} 1/);
    expect(metrics).toMatch(/http_requests_total\{code="400",handler="\/api\/v1\/query",method="GET"\} 1/);
    expect(metrics).toMatch(/http_request_duration_seconds_bucket/);
    expect(component.grpcAddress).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  });

  it('takes its heavy-evaluation limit from maxHeavyEvaluations', async () => {
    await using q = createQuerier({ httpAddress: '127.0.0.1:0', maxHeavyEvaluations: 1 });
    await q.start();
    const metrics = await (await fetch(`http://${q.httpAddress}/metrics`)).text();
    expect(metrics).toContain('thanos_ts_query_heavy_evaluations_max 1');
  });
});
