import { createSidecar, parseTimeOrDuration, resolveTime, type SidecarOptions } from '@thanos-ts/core';
import type { Bucket } from '@thanos-ts/objstore';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { Command, Option } from 'commander';
import { addGrpcServerTLSFlags, type GrpcServerTLSFlags, grpcServerTLSFromFlags } from '../flags/grpc-tls.js';
import { collect, durationFlag, listenAddressFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';

/** Raw values of `thanos-ts sidecar` flags as commander stores them. */
export interface SidecarFlags extends ObjstoreFlags, GrpcServerTLSFlags, LogFlags {
  'prometheus.url': string;
  'prometheus.ready_timeout': string;
  'prometheus.get_config_interval': string;
  'prometheus.get_config_timeout': string;
  'tsdb.path': string;
  'shipper.uploadCompacted'?: boolean;
  'shipper.ignoreUnequalBlockSize'?: boolean;
  minTime: string;
  grpcAddress: string;
  httpAddress: string;
  'reloader.configFile'?: string;
  'reloader.configEnvsubstFile'?: string;
  'reloader.ruleDir': string[];
  'reloader.watchInterval': string;
  'reloader.retryInterval': string;
  'reloader.method': string;
}

/**
 * Validates the flags and turns them into createSidecar options (without the bucket, which
 * needs I/O). Errors name the flag.
 */
export function parseSidecarFlags(o: SidecarFlags): SidecarOptions {
  const url = o['prometheus.url'];
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new InvalidArgumentError(
      `--prometheus.url: invalid URL ${JSON.stringify(url)} (want http(s)://host:port, e.g. http://localhost:9090)`,
    );
  }
  const grpcTLS = grpcServerTLSFromFlags(o);
  const minTime = parseTimeOrDuration(o.minTime, '--min-time');
  if ((o['reloader.method'] ?? 'http') !== 'http') {
    throw new InvalidArgumentError(
      `--reloader.method: only "http" (POST /-/reload, needs Prometheus's --web.enable-lifecycle) is supported, got ${JSON.stringify(o['reloader.method'])}`,
    );
  }
  if (o['reloader.configEnvsubstFile'] !== undefined && o['reloader.configFile'] === undefined) {
    throw new InvalidArgumentError('--reloader.config-envsubst-file needs --reloader.config-file');
  }
  const ruleDirs = o['reloader.ruleDir'] ?? [];
  return {
    prometheusUrl: url,
    tsdbPath: o['tsdb.path'],
    readyTimeout: durationFlag(o['prometheus.ready_timeout'], 'prometheus.ready_timeout'),
    getConfigInterval: durationFlag(o['prometheus.get_config_interval'], 'prometheus.get_config_interval'),
    getConfigTimeout: durationFlag(o['prometheus.get_config_timeout'], 'prometheus.get_config_timeout'),
    uploadCompacted: o['shipper.uploadCompacted'] === true,
    ignoreUnequalBlockSize: o['shipper.ignoreUnequalBlockSize'] === true,
    // A relative bound (-2w) moves with time, as Thanos's TimeOrDurationValue does.
    minTime: minTime.kind === 'time' ? minTime.ms : () => resolveTime(minTime),
    grpcAddress: listenAddressFlag(o.grpcAddress, 'grpc-address'),
    httpAddress: listenAddressFlag(o.httpAddress, 'http-address'),
    ...(grpcTLS ? { grpcTLS } : {}),
    ...(o['reloader.configFile'] !== undefined || ruleDirs.length > 0
      ? {
          reloader: {
            ...(o['reloader.configFile'] !== undefined ? { configFile: o['reloader.configFile'] } : {}),
            ...(o['reloader.configEnvsubstFile'] !== undefined
              ? { configOutputFile: o['reloader.configEnvsubstFile'] }
              : {}),
            watchedDirs: ruleDirs,
            watchInterval: durationFlag(o['reloader.watchInterval'] ?? '3m', 'reloader.watch-interval'),
            retryInterval: durationFlag(o['reloader.retryInterval'] ?? '5s', 'reloader.retry-interval'),
          },
        }
      : {}),
  };
}

/** Defines the `sidecar` command and its flags (Thanos's names and defaults). */
export function defineSidecarCommand(): Command {
  const cmd = new Command('sidecar').description(
    'Sidecar for Prometheus server: serves its data as a StoreAPI (remote read, external labels attached) and uploads its blocks to object storage.',
  );
  const opt = (flags: string, help: string, dflt?: string, hidden = false) => {
    const o = new Option(flags, help);
    if (dflt !== undefined) o.default(dflt);
    if (hidden) o.hideHelp();
    cmd.addOption(o);
  };
  opt(
    '--prometheus.url <url>',
    "URL at which to reach Prometheus's API. For better performance use local network.",
    'http://localhost:9090',
  );
  opt('--prometheus.ready_timeout <duration>', 'Maximum time to wait for the Prometheus instance to start up.', '10m');
  opt(
    '--prometheus.get_config_interval <duration>',
    'How often to get Prometheus config (external labels, min time).',
    '30s',
  );
  opt('--prometheus.get_config_timeout <duration>', 'Timeout for getting Prometheus config.', '30s');
  opt(
    '--tsdb.path <dir>',
    'Data directory of TSDB (Prometheus --storage.tsdb.path); blocks found there are uploaded.',
    './data',
  );
  addObjstoreFlags(cmd);
  cmd.option(
    '--shipper.upload-compacted',
    'If true shipper will try to upload compacted blocks as well. Useful for migration purposes. Works only if compaction is disabled on Prometheus. Do it once and then disable the flag when done.',
  );
  cmd.option(
    '--shipper.ignore-unequal-block-size',
    'If true shipper will not require prometheus min and max block size flags to be set to the same value. Risks ~2h of data missing from the bucket.',
  );
  opt(
    '--min-time <time>',
    'Start of time range limit to serve. Thanos sidecar will serve only metrics, which happened later than this value. Option can be a constant time in RFC3339 format or time duration relative to current time, such as -1d or 2h45m. Valid duration units are ms, s, m, h, d, w, y.',
    '0000-01-01T00:00:00Z',
  );
  opt('--grpc-address <host:port>', 'Listen address for the gRPC StoreAPI.', '0.0.0.0:10901');
  opt('--http-address <host:port>', 'Listen address for HTTP (/metrics, /-/healthy, /-/ready).', '0.0.0.0:10902');
  addGrpcServerTLSFlags(cmd);
  opt(
    '--reloader.config-file <path>',
    'Config file watched by the reloader; Prometheus is reloaded (POST /-/reload) when it changes.',
  );
  opt(
    '--reloader.config-envsubst-file <path>',
    'Output file for the config file with $(VAR) references replaced by environment variables.',
  );
  cmd.addOption(
    new Option('--reloader.rule-dir <dir>', 'Rule directories for the reloader to watch (repeated).')
      .argParser(collect)
      .default([]),
  );
  opt('--reloader.watch-interval <duration>', 'Controls how often reloader re-reads config and rules.', '3m');
  opt(
    '--reloader.retry-interval <duration>',
    'Controls how often reloader retries config reload in case of error.',
    '5s',
  );
  opt('--reloader.method <method>', 'Method used to reload the configuration: http (signal is not supported).', 'http');
  addLogFlags(cmd);
  return cmd;
}

/** Adds `thanos-ts sidecar` to the program. */
export function registerSidecar(program: Command): void {
  const cmd = defineSidecarCommand().action(async (o: SidecarFlags) => {
    const logger = loggerFromFlags(o, 'sidecar');
    const options = parseSidecarFlags(o);
    let bucket: Bucket | undefined;
    // Uploads are optional for a sidecar: only a configured bucket turns the shipper on.
    if (o['objstore.configFile'] !== undefined || o['objstore.config'] !== undefined) bucket = await bucketFromFlags(o);
    const sidecar = createSidecar({ ...options, ...(bucket ? { bucket } : {}), logger });
    const stopping = new AbortController();
    const stop = () => stopping.abort(new DOMException('signal received', 'AbortError'));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      logger.info('starting sidecar', { prometheus: options.prometheusUrl, uploads: bucket !== undefined });
      await sidecar.start(stopping.signal);
      logger.info('sidecar ready', {
        grpc: sidecar.grpcAddress,
        http: sidecar.httpAddress,
        external_labels: sidecar.externalLabels().toString(),
      });
      await new Promise<void>((resolve) => {
        if (stopping.signal.aborted) resolve();
        stopping.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      logger.info('shutting down');
    } catch (err) {
      if (!stopping.signal.aborted) throw err;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await sidecar.close();
      await bucket?.close();
    }
  });
  program.addCommand(cmd);
}
