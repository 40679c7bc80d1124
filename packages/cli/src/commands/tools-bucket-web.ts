import { readFile } from 'node:fs/promises';
import { type BucketWebOptions, createBucketWeb } from '@thanos-ts/core/bucketweb';
import { parseRelabelConfig, parseTimeOrDuration } from '@thanos-ts/core/store';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { Command, Option } from 'commander';
import { Registry } from 'prom-client';
import { durationFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';
import { addServingFlags, type ServingFlags, servingFromFlags } from '../flags/serving.js';
import { definedOnly, type FlagsFor } from '../flags/typed.js';
import { runUntilSignal } from '../run.js';

/** Raw values of `thanos-ts tools bucket web` flags as commander stores them. */
export interface BucketWebFlags extends ObjstoreFlags, ServingFlags, LogFlags {
  'web.routePrefix': string;
  'web.externalPrefix': string;
  'web.prefixHeader': string;
  'web.disableCors': boolean;
  refresh: string;
  timeout: string;
  label: string;
  disableAdminOperations: boolean;
  minTime: string;
  maxTime: string;
  'selector.relabelConfig'?: string;
  'selector.relabelConfigFile'?: string;
}

/** Options of createBucketWeb no flag sets: the bucket (from --objstore.*), in-process objects, two tunables Thanos has no flag for. */
type NotBucketWebFlags =
  | 'bucket'
  | 'logger'
  | 'registry'
  | 'now'
  | 'retryIntervalMs'
  | 'metaFetchConcurrency'
  // No gRPC server.
  | 'grpcMaxConnectionAgeMs';

/** Everything `tools bucket web` resolved from its flags: createBucketWeb's options but the bucket. */
export type BucketWebCommandConfig = Omit<BucketWebOptions, NotBucketWebFlags>;

async function relabelText(o: BucketWebFlags): Promise<string | undefined> {
  const file = o['selector.relabelConfigFile'];
  const inline = o['selector.relabelConfig'];
  if (file !== undefined && inline !== undefined)
    throw new InvalidArgumentError(
      '--selector.relabel-config-file and --selector.relabel-config are mutually exclusive; set only one',
    );
  if (file === undefined) return inline;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`--selector.relabel-config-file: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Validates the flags and builds the component configuration; errors name the flag. */
export async function parseBucketWebFlags(o: BucketWebFlags): Promise<BucketWebCommandConfig> {
  const text = await relabelText(o);
  const refreshIntervalMs = durationFlag(o.refresh, 'refresh');
  if (refreshIntervalMs <= 0) throw new InvalidArgumentError('--refresh: must be positive');
  // No gRPC: servingFromFlags gives the HTTP listen options and the tracer (--tracing.config).
  const serving = servingFromFlags(o);
  const flags: FlagsFor<BucketWebOptions, NotBucketWebFlags> = {
    httpAddress: serving.httpAddress,
    httpGracePeriodMs: serving.httpGracePeriodMs,
    webConfig: serving.webConfig,
    requestLogging: serving.requestLogging,
    tracer: serving.tracer,
    refreshIntervalMs,
    timeoutMs: durationFlag(o.timeout, 'timeout'),
    label: o.label,
    filters: {
      minTime: parseTimeOrDuration(o.minTime, '--min-time'),
      maxTime: parseTimeOrDuration(o.maxTime, '--max-time'),
      ...(text ? { relabel: parseRelabelConfig(text, '--selector.relabel-config') } : {}),
    },
    routePrefix: o['web.routePrefix'] === '' ? undefined : o['web.routePrefix'],
    externalPrefix: o['web.externalPrefix'],
    prefixHeader: o['web.prefixHeader'],
    disableCORS: o['web.disableCors'],
    disableAdminOperations: o.disableAdminOperations,
  };
  return definedOnly(flags);
}

/** Defines `tools bucket web` and its flags (Thanos's names, help and defaults). */
export function defineBucketWebCommand(): Command {
  const cmd = new Command('web').description('Web interface for remote storage bucket.');
  const opt = (flags: string, help: string, dflt?: string | boolean) => {
    const o = new Option(flags, help);
    if (dflt !== undefined) o.default(dflt);
    cmd.addOption(o);
  };
  addServingFlags(cmd, { grpc: false });
  opt(
    '--web.route-prefix <prefix>',
    'Prefix for API and UI endpoints. This allows thanos UI to be served on a sub-path. Defaults to the value of --web.external-prefix. This option is analogous to --web.route-prefix of Prometheus.',
    '',
  );
  opt(
    '--web.external-prefix <prefix>',
    'Static prefix for all HTML links and redirect URLs in the bucket web UI interface. Actual endpoints are still served on / or the web.route-prefix. This allows thanos bucket web UI to be served behind a reverse proxy that strips a URL sub-path.',
    '',
  );
  opt(
    '--web.prefix-header <header>',
    'Name of HTTP request header used for dynamic prefixing of UI links and redirects. This option is ignored if web.external-prefix argument is set. Security risk: enable this option only if a reverse proxy in front of thanos is resetting the header.',
    '',
  );
  opt(
    '--web.disable-cors',
    'Whether to disable CORS headers to be set by Thanos. By default Thanos sets CORS headers to be allowed by all.',
    false,
  );
  opt('--refresh <duration>', 'Refresh interval to download metadata from remote storage', '30m');
  opt('--timeout <duration>', 'Timeout to download metadata from remote storage', '5m');
  opt('--label <name>', 'External block label to use as group title', '');
  opt(
    '--disable-admin-operations',
    'Disable UI/API admin operations like marking blocks for deletion and no compaction.',
    false,
  );
  opt(
    '--min-time <time>',
    'Start of time range limit to serve. Thanos tool bucket web will serve only blocks, which happened later than this value. Option can be a constant time in RFC3339 format or time duration relative to current time, such as -1d or 2h45m. Valid duration units are ms, s, m, h, d, w, y.',
    '0000-01-01T00:00:00Z',
  );
  opt(
    '--max-time <time>',
    'End of time range limit to serve. Thanos tool bucket web will serve only blocks, which happened earlier than this value. Option can be a constant time in RFC3339 format or time duration relative to current time, such as -1d or 2h45m. Valid duration units are ms, s, m, h, d, w, y.',
    '9999-12-31T23:59:59Z',
  );
  opt(
    '--selector.relabel-config-file <path>',
    'Path to YAML file with relabeling configuration that allows selecting blocks. It follows native Prometheus relabel-config syntax. See format details: https://prometheus.io/docs/prometheus/latest/configuration/configuration/#relabel_config',
  );
  opt('--selector.relabel-config <yaml>', "Alternative to 'selector.relabel-config-file' flag (mutually exclusive).");
  addObjstoreFlags(cmd);
  addLogFlags(cmd);
  return cmd;
}

/**
 * Adds `web` to the `tools bucket` command: serves the blocks page and /api/v1/blocks over the
 * bucket until SIGINT/SIGTERM.
 */
export function registerBucketWeb(bucketCmd: Command): void {
  const cmd = defineBucketWebCommand().action(async (o: BucketWebFlags) => {
    const logger = loggerFromFlags(o, 'bucket');
    const cfg = await parseBucketWebFlags(o);
    const registry = new Registry();
    const bucket = await bucketFromFlags(o, { registry });
    const web = createBucketWeb({ ...cfg, bucket, logger, registry });
    await runUntilSignal(web, { logger, cleanup: () => bucket.close() });
  });
  bucketCmd.addCommand(cmd);
}
