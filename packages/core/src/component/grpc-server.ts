import { Server } from '@grpc/grpc-js';
import { grpcServerCredentials } from '../tls/grpc-tls.js';
import type { ServingOptions } from './component.js';
import { DEFAULT_GRACE_PERIOD_MS } from './component.js';

/**
 * Largest gRPC message sent or received, bytes. Thanos sets math.MaxInt32 on its servers
 * (pkg/server/grpc), so a querier can receive any Series frame a Thanos store sends.
 */
export const GRPC_MAX_MESSAGE_BYTES = 2 ** 31 - 1;

/** A bound gRPC server. */
export interface ServedGrpc {
  /** host:port actually bound. */
  readonly address: string;
  readonly port: number;
  /** Stops accepting calls, lets open ones finish for the grace period, then cuts them. Idempotent. */
  close(): Promise<void>;
}

/**
 * Binds one gRPC server with the settings every component shares (message limits, TLS, grace
 * period) and the services `register` adds.
 */
export async function serveGrpc(
  register: (server: Server) => void,
  opts: Pick<ServingOptions, 'grpcServerTLS'> & {
    /** host:port to listen on; port 0 picks a free one. */
    address: string;
    /** How long `close()` waits for open calls before cutting them, ms. Default 120_000 (Thanos's --grpc-grace-period). */
    gracePeriodMs?: number | undefined;
  },
): Promise<ServedGrpc> {
  const server = new Server({
    'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
  });
  register(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(opts.address, grpcServerCredentials(opts.grpcServerTLS), (err, p) =>
      err ? reject(new Error(`listen on gRPC address ${opts.address}: ${err.message}`, { cause: err })) : resolve(p),
    ),
  );
  const host = opts.address.slice(0, opts.address.lastIndexOf(':'));
  const grace = opts.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS;
  let closing: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, grace);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
      return closing;
    },
  };
}
