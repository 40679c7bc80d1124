import { Server, ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import { type Logger, NOP_LOGGER } from '../log/logger.js';
import { grpcServerCredentials } from '../tls/grpc-tls.js';
import type { ServingOptions } from './component.js';
import { DEFAULT_GRACE_PERIOD_MS } from './component.js';
import { type ProtocolRequestLogging, requestLogLine } from './request-logging.js';

/** gRPC codes whose finish line is logged at error level (Thanos's DefaultCodeToLevelGRPC): Unknown, Unimplemented, Internal, DataLoss. */
const ERROR_CODES = new Set([2, 12, 13, 15]);
/** Go's codes.Code names, as the finish line's `grpc.code` prints them. */
const CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

/**
 * A server interceptor logging calls as Thanos's gRPC logging middleware (go-grpc-middleware v2
 * logging with Thanos's options): `started call` (debug) and `finished call` (debug, or error for
 * the codes above), only for the allowlisted `/service/method`s when the config lists some.
 */
function requestLoggingInterceptor(cfg: ProtocolRequestLogging, logger: Logger): ServerInterceptor {
  const only = cfg.only ? new Set(cfg.only) : undefined;
  return (method, call) => {
    if (only && !only.has(method.path)) return new ServerInterceptingCall(call);
    const [, service = '', name = ''] = /^\/([^/]*)\/(.*)$/.exec(method.path) ?? [];
    const started = process.hrtime.bigint();
    const base = {
      protocol: 'grpc',
      'grpc.component': 'server',
      'grpc.service': service,
      'grpc.method': name,
      'grpc.method_type': method.requestStream
        ? method.responseStream
          ? 'bidi_stream'
          : 'client_stream'
        : method.responseStream
          ? 'server_stream'
          : 'unary',
      'peer.address': call.getPeer(),
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        if (cfg.decision === 'LogStartAndFinishCall')
          requestLogLine(logger, cfg, 'debug', 'started call', {
            ...base,
            'grpc.start_time': new Date().toISOString(),
          });
        next();
      },
      sendStatus(status, next) {
        const code = status.code;
        const fields: Record<string, unknown> = {
          ...base,
          'grpc.code': CODE_NAMES[code] ?? `Code(${code})`,
          'grpc.time_ms': String(Math.fround(Number((process.hrtime.bigint() - started) / 1000n) / 1000)),
        };
        if (code !== 0 && status.details) fields['grpc.error'] = status.details;
        requestLogLine(logger, cfg, ERROR_CODES.has(code) ? 'error' : 'debug', 'finished call', fields);
        next(status);
      },
    });
  };
}

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
  opts: Pick<ServingOptions, 'grpcServerTLS' | 'grpcMaxConnectionAgeMs'> & {
    /** host:port to listen on; port 0 picks a free one. */
    address: string;
    /** How long `close()` waits for open calls before cutting them, ms. Default 120_000 (Thanos's --grpc-grace-period). */
    gracePeriodMs?: number | undefined;
    /** Request logging of the calls (--request.logging-config's `grpc`). Default: none. */
    requestLogging?: ProtocolRequestLogging | undefined;
    /** Where request log lines and certificate reload failures go. Default: nowhere. */
    logger?: Logger | undefined;
  },
): Promise<ServedGrpc> {
  const server = new Server({
    'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
    ...(opts.grpcMaxConnectionAgeMs ? { 'grpc.max_connection_age_ms': opts.grpcMaxConnectionAgeMs } : {}),
    ...(opts.requestLogging && opts.requestLogging.decision !== 'NoLogCall'
      ? { interceptors: [requestLoggingInterceptor(opts.requestLogging, opts.logger ?? NOP_LOGGER)] }
      : {}),
  });
  register(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(opts.address, grpcServerCredentials(opts.grpcServerTLS, opts.logger), (err, p) =>
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
