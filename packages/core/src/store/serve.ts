import { Server } from '@grpc/grpc-js';
import { createComponentHandler, type ListeningHTTPServer, listenHTTP } from '../http/http-server.js';
import { serveStoreAPI } from '../storeapi/grpc-server.js';
import { type GrpcServerTLSOptions, grpcServerCredentials } from '../tls/grpc-tls.js';
import { createLoadedBlocksHandler } from './loaded.js';
import type { StoreGateway } from './store-gateway.js';

/** Where to expose a store gateway. */
export interface ServeStoreGatewayOptions {
  /** gRPC StoreAPI address (--grpc-address), e.g. `0.0.0.0:10901`; port 0 picks a free one. */
  grpcAddress: string;
  grpcTLS?: GrpcServerTLSOptions | undefined;
  /** HTTP address (--http-address) for /metrics, /-/healthy, /-/ready and /loaded. */
  httpAddress: string;
}

/** A served gateway: the bound ports and a close that stops both servers (not the gateway). */
export interface ServedStoreGateway {
  grpcPort: number;
  http: ListeningHTTPServer;
  close(): Promise<void>;
}

/** Exposes a gateway over gRPC (Thanos's Store and Info services) and HTTP. */
export async function serveStoreGateway(
  gateway: StoreGateway,
  opts: ServeStoreGatewayOptions,
): Promise<ServedStoreGateway> {
  const server = new Server({
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  serveStoreAPI(gateway, server);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(opts.grpcAddress, grpcServerCredentials(opts.grpcTLS), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  const http = await listenHTTP(
    opts.httpAddress,
    createComponentHandler({
      registry: gateway.metrics.registry,
      ready: () => gateway.ready(),
      handlers: [createLoadedBlocksHandler(gateway)],
    }),
  );
  return {
    grpcPort,
    http,
    async close() {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await http.close();
    },
  };
}
