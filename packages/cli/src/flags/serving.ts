import type { ComponentOptions, ServingOptions } from '@thanos-ts/core';
import { type Command, Option } from 'commander';
import { addGrpcServerTLSFlags, type GrpcServerTLSFlags, grpcServerTLSFromFlags } from './grpc-tls.js';
import { durationFlag, listenAddressFlag } from './http.js';
import type { LogFlags } from './log.js';
import { addTracingFlags, type TracingFlags, tracerFromFlags } from './tracing.js';
import type { FlagsFor } from './typed.js';

/** Raw values of the listen flags every long-running component has. */
export interface ServingFlags extends GrpcServerTLSFlags, TracingFlags {
  httpAddress: string;
  grpcAddress?: string;
  httpGracePeriod: string;
  grpcGracePeriod?: string;
}

/**
 * Adds Thanos's --http-address, --http-grace-period, --tracing.config(-file) and, for components
 * that serve gRPC, --grpc-address, --grpc-grace-period and the gRPC server TLS flags, with
 * Thanos's defaults.
 */
export function addServingFlags(cmd: Command, opts: { grpc: boolean }): Command {
  addTracingFlags(cmd);
  cmd.addOption(
    new Option('--http-address <host:port>', 'Listen host:port for HTTP endpoints.').default('0.0.0.0:10902'),
  );
  cmd.addOption(
    new Option('--http-grace-period <duration>', 'Time to wait after an interrupt received for HTTP Server.').default(
      '2m',
    ),
  );
  if (!opts.grpc) return cmd;
  cmd.addOption(
    new Option('--grpc-address <host:port>', 'Listen ip:port address for gRPC endpoints (StoreAPI).').default(
      '0.0.0.0:10901',
    ),
  );
  cmd.addOption(
    new Option('--grpc-grace-period <duration>', 'Time to wait after an interrupt received for GRPC Server.').default(
      '2m',
    ),
  );
  return addGrpcServerTLSFlags(cmd);
}

/**
 * The listen options and the tracer from {@link addServingFlags}'s flags (every key present);
 * errors name the flag. A tracer set up here is flushed by runUntilSignal after the component closes.
 */
export function servingFromFlags(
  o: ServingFlags,
): FlagsFor<ServingOptions> & { httpAddress: string; tracer: ComponentOptions['tracer'] } {
  const grpc = o.grpcAddress !== undefined;
  return {
    // Every component command has the log flags too: tracing warnings go to its logger.
    tracer: tracerFromFlags(o as ServingFlags & Partial<LogFlags>),
    httpAddress: listenAddressFlag(o.httpAddress, 'http-address'),
    httpGracePeriodMs: durationFlag(o.httpGracePeriod, 'http-grace-period'),
    grpcAddress: grpc ? listenAddressFlag(o.grpcAddress as string, 'grpc-address') : undefined,
    grpcGracePeriodMs: grpc ? durationFlag(o.grpcGracePeriod ?? '2m', 'grpc-grace-period') : undefined,
    grpcServerTLS: grpc ? grpcServerTLSFromFlags(o) : undefined,
  };
}
