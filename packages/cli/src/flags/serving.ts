import { readFileSync } from 'node:fs';
import type { ComponentOptions, ServingOptions } from '@thanos-ts/core';
import {
  parseRequestLoggingConfig,
  type RequestLoggingConfig,
  readWebConfigFile,
  type WebConfig,
} from '@thanos-ts/core/component';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
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
  grpcServerMaxConnectionAge?: string;
  'http.config'?: string;
  'request.loggingConfig'?: string;
  'request.loggingConfigFile'?: string;
}

/** Commands whose component serves gRPC through the shared server, so gRPC request logging applies. */
const SHARED_GRPC_SERVER = new Set(['query', 'store', 'sidecar', 'rule', 'receive']);
/** Commands that have --request.logging-config in Thanos. */
const REQUEST_LOGGING = new Set(['query', 'query-frontend', 'receive', 'rule', 'sidecar', 'store']);

/** `thanos-ts tools bucket web` → `tools bucket web`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Adds Thanos's --http-address, --http-grace-period, --http.config, --tracing.config(-file),
 * --request.logging-config(-file) (on the commands Thanos has it) and, for components
 * that serve gRPC, --grpc-address, --grpc-grace-period and the gRPC server TLS flags, with
 * Thanos's defaults.
 */
export function addServingFlags(cmd: Command, opts: { grpc: boolean }): Command {
  addTracingFlags(cmd);
  cmd.addOption(
    new Option(
      '--http.config <path>',
      '[EXPERIMENTAL] Path to the configuration file that can enable TLS or authentication for all HTTP endpoints.',
    ),
  );
  if (REQUEST_LOGGING.has(cmd.name())) {
    cmd.addOption(
      new Option(
        '--request.logging-config-file <file-path>',
        'Path to YAML file with request logging configuration. See format details: docs/http-config.md#request-logging',
      ),
    );
    cmd.addOption(
      new Option(
        '--request.logging-config <content>',
        "Alternative to 'request.logging-config-file' flag (mutually exclusive). Content of YAML file with request logging configuration.",
      ),
    );
  }
  // Every component serves HTTP through the shared server (serveHTTP), so --http.config and HTTP
  // request logging always apply; gRPC request logging on a component without gRPC would be
  // silently ignored: refuse it.
  cmd.hook('preAction', (_cmd, action) => {
    const path = commandPath(action);
    const o = action.opts() as Partial<ServingFlags>;
    const logging = requestLoggingFromFlags(o);
    if (!logging) return;
    // Global `options` apply to every protocol the component logs; an explicit block names one.
    const blocks = topLevelKeys(requestLoggingText(o)?.text ?? '');
    if (logging.grpc.decision !== 'NoLogCall' && !SHARED_GRPC_SERVER.has(path) && blocks.has('grpc'))
      throw new InvalidArgumentError(
        `--request.logging-config: gRPC request logging does not apply to thanos-ts ${path} (it serves no gRPC)`,
      );
  });
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
  cmd.addOption(
    new Option(
      '--grpc-server-max-connection-age <duration>',
      'The grpc server max connection age. This controls how often to re-establish connections and redo TLS handshakes.',
    ).default('60m'),
  );
  return addGrpcServerTLSFlags(cmd);
}

/** The web config --http.config names (undefined: none); errors name the flag. */
export function webConfigFromFlags(o: Partial<ServingFlags>): WebConfig | undefined {
  try {
    return readWebConfigFile(o['http.config'] ?? '');
  } catch (err) {
    throw new InvalidArgumentError(`--http.config: ${(err as Error).message}`);
  }
}

/**
 * The request logging --request.logging-config(-file) gives (Thanos's YAML; undefined: none);
 * errors name the flag, in Thanos's words.
 */
export function requestLoggingFromFlags(o: Partial<ServingFlags>): RequestLoggingConfig | undefined {
  const given = requestLoggingText(o);
  if (given === undefined || given.text.trim() === '') return undefined;
  try {
    return parseRequestLoggingConfig(given.text, given.flag);
  } catch (err) {
    throw new InvalidArgumentError(`error while parsing config for request logging: ${(err as Error).message}`);
  }
}

/** The request logging YAML the flags give (file or inline), or undefined; errors name the flag. */
function requestLoggingText(o: Partial<ServingFlags>): { text: string; flag: string } | undefined {
  const file = o['request.loggingConfigFile'];
  const inline = o['request.loggingConfig'];
  if (file !== undefined && inline !== undefined)
    throw new InvalidArgumentError('both --request.logging-config-file and --request.logging-config flags set.');
  if (file === undefined || file === '')
    return inline === undefined ? undefined : { text: inline, flag: '--request.logging-config' };
  try {
    return { text: readFileSync(file, 'utf8'), flag: '--request.logging-config-file' };
  } catch (err) {
    throw new InvalidArgumentError(
      `--request.logging-config-file: loading YAML file ${file} for request.logging-config-file: ${(err as Error).message}`,
    );
  }
}

/** The top-level keys of a YAML mapping (empty for anything else). */
function topLevelKeys(text: string): Set<string> {
  const doc = parseYaml(text) as unknown;
  return new Set(doc !== null && typeof doc === 'object' ? Object.keys(doc) : []);
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
    grpcMaxConnectionAgeMs: grpc
      ? durationFlag(o.grpcServerMaxConnectionAge ?? '60m', 'grpc-server-max-connection-age')
      : undefined,
    webConfig: webConfigFromFlags(o),
    requestLogging: requestLoggingFromFlags(o),
  };
}
