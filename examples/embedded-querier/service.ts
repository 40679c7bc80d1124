// A custom Node service that embeds Thanos's read path in-process: a store gateway over a local
// bucket and a deduplicating querier, with no gRPC in between. It answers its own JSON endpoint
// from PromQL, and mounts the Prometheus-compatible API next to it for Grafana.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createQuerier, createStoreGateway } from '@thanos-ts/core';
import { createQueryAPIHandler } from '@thanos-ts/core/http';
import { createFilesystemBucket } from '@thanos-ts/objstore';

export interface MetricsServiceOptions {
  /** FILESYSTEM bucket directory holding Thanos blocks. */
  bucketDir: string;
  /** Local directory for the store gateway's index-headers. */
  cacheDir: string;
  /** Port to listen on (0 picks a free one). */
  port?: number;
}

export interface MetricsService {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsService(opts: MetricsServiceOptions): Promise<MetricsService> {
  const bucket = createFilesystemBucket({ directory: opts.bucketDir });
  const store = createStoreGateway({ bucket, dataDir: opts.cacheDir });
  await store.start();
  // The store gateway object is itself a StoreAPI: the querier calls it directly, no network.
  const querier = createQuerier({ endpoints: [store], replicaLabels: ['replica'] });
  await querier.start();
  const promAPI = createQueryAPIHandler({ querier, prefix: '/prom/api/v1' });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/series-per-job') {
      const at = Number(url.searchParams.get('time') ?? Date.now() / 1000) * 1000;
      querier.instantQuery('count by (job) ({__name__=~".+"})', at).then(
        (answer) => {
          const perJob: Record<string, number> = {};
          if (answer.result.type === 'vector') for (const s of answer.result.samples) perJob[s.metric.get('job')] = s.f;
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ perJob, warnings: answer.warnings }));
        },
        (err: Error) => {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error: err.message }));
        },
      );
      return;
    }
    promAPI(req, res).then((handled: boolean) => {
      if (!handled) {
        res.writeHead(404);
        res.end('not found\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await querier.close();
      await store.close();
    },
  };
}

// `npx tsx examples/embedded-querier/service.ts <bucket-dir>` runs it on port 8080.
if (import.meta.url === `file://${process.argv[1]}`) {
  const bucketDir = process.argv[2] ?? './data/bucket';
  const service = await startMetricsService({ bucketDir, cacheDir: './data/embedded-cache', port: 8080 });
  console.log(`listening on ${service.url}: try ${service.url}/series-per-job`);
}
