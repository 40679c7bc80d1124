// An existing Node service (plain node:http, with its own routes) that embeds a Thanos receiver:
// Prometheus or any remote-write agent pushes to POST /ingest/prometheus, the app records its own
// business metrics in-process with receiver.write(), and /stats answers from PromQL over both —
// all in one process, no gRPC, no extra port.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createQuerier } from '@thanos-ts/core';
import { createReceiver } from '@thanos-ts/core/receive';

export interface IngestServiceOptions {
  /** Where the receiver keeps its per-tenant TSDBs (WAL and blocks). */
  dataDir: string;
  /** Port to listen on (0 picks a free one). */
  port?: number;
}

export interface IngestService {
  url: string;
  close(): Promise<void>;
}

export async function startIngestService(opts: IngestServiceOptions): Promise<IngestService> {
  // No addresses: the receiver binds nothing itself; this service mounts its handlers.
  const receiver = createReceiver({ tsdbPath: opts.dataDir, externalLabels: { service: 'shop' } });
  await receiver.start();
  // The receiver is a StoreAPI: the querier reads its heads directly.
  const querier = createQuerier({ endpoints: [receiver] });
  await querier.start();

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // 1. Remote write, mounted at a path of our choosing. writeHandler answers with Prometheus's
    //    status codes (200, 400/409 never retried, 429/5xx retried) and always ends the response.
    if (url.pathname === '/ingest/prometheus') {
      void receiver.writeHandler(req, res);
      return;
    }
    // 2. The app's own route, recording a business metric in-process.
    if (url.pathname === '/orders' && req.method === 'POST') {
      const shop = url.searchParams.get('shop') ?? 'main';
      receiver
        .write({
          tenant: 'business',
          timeseries: [
            {
              labels: [
                { name: '__name__', value: 'orders_placed' },
                { name: 'shop', value: shop },
              ],
              timestamps: [Date.now()],
              values: [Number(url.searchParams.get('total') ?? 1)],
              histograms: 0,
            },
          ],
        })
        .then(
          () => {
            res.writeHead(201);
            res.end();
          },
          (err: Error) => {
            res.writeHead(500);
            res.end(err.message);
          },
        );
      return;
    }
    // 3. The app's own JSON answer from PromQL over everything received.
    if (url.pathname === '/stats') {
      const expr = url.searchParams.get('query') ?? 'count by (tenant_id) ({__name__=~".+"})';
      querier.instantQuery(expr, Date.now()).then(
        (answer) => {
          const rows =
            answer.result.type === 'vector'
              ? answer.result.samples.map((s) => ({ metric: s.metric.toRecord(), value: s.f }))
              : [];
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ rows }));
        },
        (err: Error) => {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error: err.message }));
        },
      );
      return;
    }
    // 4. The receiver's own endpoints (/metrics, /-/ready, /api/v1/receive), then a 404.
    receiver.handler(req, res).then((handled) => {
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
      await receiver.close();
    },
  };
}

// `npx tsx examples/embedded-receiver/service.ts` runs it on port 8080.
if (import.meta.url === `file://${process.argv[1]}`) {
  const service = await startIngestService({ dataDir: './data/embedded-receiver', port: 8080 });
  console.log(`listening on ${service.url}: remote write to ${service.url}/ingest/prometheus`);
}
