import { createSidecar, type SidecarOptions } from '@thanos-ts/core';
import { parseTimeOrDuration, resolveTime } from '@thanos-ts/core/store';
import type { Bucket } from '@thanos-ts/objstore';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { Command, Option } from 'commander';
import { Registry } from 'prom-client';
import { collect, durationFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';
import { addServingFlags, type ServingFlags, servingFromFlags } from '../flags/serving.js';
import { definedOnly, type FlagsFor } from '../flags/typed.js';
import { runUntilSignal } from '../run.js';

/** Raw values of `thanos-ts sidecar` flags as commander stores them. */
export interface SidecarFlags extends ObjstoreFlags, ServingFlags, LogFlags {
  'prometheus.url': string;
  'prometheus.ready_timeout': string;
  'prometheus.get_config_interval': string;
  'prometheus.get_config_timeout': string;
  'tsdb.path': string;
  'shipper.uploadCompacted'?: boolean;
  'shipper.ignoreUnequalBlockSize'?: boolean;
  minTime: string;
  'reloader.configFile'?: string;
  'reloader.configEnvsubstFile'?: string;
  'reloader.ruleDir': string[];
  'reloader.watchInterval': string;
  'reloader.retryInterval': string;
  'reloader.method': string;
}

/** Options of createSidecar no flag sets: the bucket (from --objstore.*, opened later) and in-process objects. */
type NotSidecarFlags =
  | 'bucket'
  | 'logger'
  | 'registry'
  | 'now'
  | 'dispatcher'
  | 'onRemoteRead'
  | 'acceptedResponseTypes';

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
  const flags: FlagsFor<SidecarOptions, NotSidecarFlags> = {
    ...servingFromFlags(o),
    externalLabels: undefined,
    shipIntervalMs: undefined,
    prometheusUrl: url,
    tsdbPath: o['tsdb.path'],
    readyTimeoutMs: durationFlag(o['prometheus.ready_timeout'], 'prometheus.ready_timeout'),
    getConfigIntervalMs: durationFlag(o['prometheus.get_config_interval'], 'prometheus.get_config_interval'),
    getConfigTimeoutMs: durationFlag(o['prometheus.get_config_timeout'], 'prometheus.get_config_timeout'),
    uploadCompacted: o['shipper.uploadCompacted'] === true,
    ignoreUnequalBlockSize: o['shipper.ignoreUnequalBlockSize'] === true,
    // A relative bound (-2w) moves with time, as Thanos's TimeOrDurationValue does.
    minTime: minTime.kind === 'time' ? minTime.ms : () => resolveTime(minTime),
    reloader:
      o['reloader.configFile'] !== undefined || ruleDirs.length > 0
        ? {
            ...(o['reloader.configFile'] !== undefined ? { configFile: o['reloader.configFile'] } : {}),
            ...(o['reloader.configEnvsubstFile'] !== undefined
              ? { configOutputFile: o['reloader.configEnvsubstFile'] }
              : {}),
            watchedDirs: ruleDirs,
            watchInterval: durationFlag(o['reloader.watchInterval'] ?? '3m', 'reloader.watch-interval'),
            retryInterval: durationFlag(o['reloader.retryInterval'] ?? '5s', 'reloader.retry-interval'),
          }
        : undefined,
  };
  return definedOnly(flags);
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
  addServingFlags(cmd, { grpc: true });
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
    const registry = new Registry();
    let bucket: Bucket | undefined;
    // Uploads are optional for a sidecar: only a configured bucket turns the shipper on.
    if (o['objstore.configFile'] !== undefined || o['objstore.config'] !== undefined)
      bucket = await bucketFromFlags(o, { registry });
    const sidecar = createSidecar({ ...options, ...(bucket ? { bucket } : {}), logger, registry });
    logger.info('starting sidecar', { prometheus: options.prometheusUrl, uploads: bucket !== undefined });
    await runUntilSignal(sidecar, {
      logger,
      cleanup: async () => bucket?.close(),
      onStarted: () =>
        logger.info('sidecar ready', {
          grpc: sidecar.grpcAddress,
          http: sidecar.httpAddress,
          external_labels: sidecar.externalLabels().toString(),
        }),
    });
  });
  program.addCommand(cmd);
}
