import { readFileSync } from 'node:fs';
import {
  buildAlertmanagerConfig,
  buildQueryConfigFromAddresses,
  createRuler,
  parseAlertingConfig,
  parseQueryConfig,
  parseRemoteWriteConfig,
  type RulerOptions,
} from '@thanos-ts/core/rule';
import { parseRelabelConfig } from '@thanos-ts/core/store';
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

/** Raw values of `thanos-ts rule` flags as commander stores them. */
export interface RuleFlags extends ObjstoreFlags, ServingFlags, LogFlags {
  ruleFile: string[];
  evalInterval: string;
  ruleQueryOffset: string;
  dataDir: string;
  label: string[];
  query: string[];
  'query.sdFiles': string[];
  'query.sdInterval': string;
  'query.sdDnsInterval': string;
  'query.config'?: string;
  'query.configFile'?: string;
  'query.httpMethod': string;
  'alertmanagers.url': string[];
  'alertmanagers.sendTimeout': string;
  'alertmanagers.sdDnsInterval': string;
  'alertmanagers.config'?: string;
  'alertmanagers.configFile'?: string;
  'alert.queryUrl'?: string;
  'alert.labelDrop': string[];
  'alert.relabelConfig'?: string;
  'alert.relabelConfigFile'?: string;
  'remoteWrite.config'?: string;
  'remoteWrite.configFile'?: string;
  'query.defaultStep': string;
  restoreIgnoredLabel: string[];
  resendDelay: string;
  forGracePeriod: string;
  forOutageTolerance: string;
  'tsdb.retention': string;
  'tsdb.blockDuration': string;
}

/** Options of createRuler no flag sets: in-process objects, and the bucket (from --objstore.*). */
type NotRuleFlags =
  | 'logger'
  | 'registry'
  | 'now'
  | 'query'
  | 'bucket'
  | 'shipIntervalMs'
  | 'failedEvaluationsBeforeNotReady'
  | 'resolver';

/** Everything `thanos-ts rule` resolved from its flags. */
export type RuleCommandConfig = Omit<RulerOptions, NotRuleFlags>;

const LABEL_RE = /^([a-zA-Z_][a-zA-Z0-9_]*)=(".*")$/;

/** Parses Thanos's `--label 'name="value"'` flags; errors name the flag. */
export function parseLabelFlags(values: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const m = LABEL_RE.exec(v);
    if (!m) throw new InvalidArgumentError(`--${flag}: unrecognized label ${JSON.stringify(v)}, want name="value"`);
    let value: string;
    try {
      value = JSON.parse(m[2] as string) as string;
    } catch {
      throw new InvalidArgumentError(`--${flag}: unquote label value ${m[2]}`);
    }
    out[m[1] as string] = value;
  }
  return out;
}

function urlFlag(v: string, flag: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(v) ? v : `http://${v}`;
  try {
    new URL(withScheme);
  } catch {
    throw new InvalidArgumentError(`--${flag}: invalid URL ${JSON.stringify(v)}`);
  }
  return withScheme;
}

/**
 * Thanos's path-or-content flag pair (`--x` and `--x-file`): the content, the file's text, or
 * undefined when neither is set. Both at once is Thanos's error.
 */
export function pathOrContent(content: string | undefined, file: string | undefined, flag: string): string | undefined {
  if (content !== undefined && file !== undefined)
    throw new InvalidArgumentError(`both ${flag}-file and ${flag} flags set.`);
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(`--${flag}-file: loading YAML file ${file}: ${(err as Error).message}`);
    }
  }
  return content;
}

/** Wraps a configuration parse error so it names the flag. */
function configFlag<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new InvalidArgumentError(`--${flag}: ${(err as Error).message}`, { cause: err });
  }
}

/** Validates the flags and builds the ruler configuration; errors name the flag. */
export function parseRuleFlags(o: RuleFlags): RuleCommandConfig {
  const seen = new Set<string>();
  for (const q of o.query) {
    if (seen.has(q)) throw new InvalidArgumentError(`Address ${q} is duplicated for --query flag.`);
    seen.add(q);
  }
  const queryYAML = pathOrContent(o['query.config'], o['query.configFile'], 'query.config');
  const hasQueryYAML = queryYAML !== undefined && queryYAML.trim() !== '';
  if (o['query.sdFiles'].length === 0 && o.query.length === 0 && !hasQueryYAML)
    throw new InvalidArgumentError('no query configuration parameter was given');
  if ((o['query.sdFiles'].length > 0 || o.query.length > 0) && hasQueryYAML)
    throw new InvalidArgumentError(
      '--query/--query.sd-files/--grpc-query-endpoint and --query.config* parameters cannot be defined at the same time',
    );
  const amYAML = pathOrContent(o['alertmanagers.config'], o['alertmanagers.configFile'], 'alertmanagers.config');
  const hasAmYAML = amYAML !== undefined && amYAML.trim() !== '';
  if (hasAmYAML && o['alertmanagers.url'].length > 0)
    throw new InvalidArgumentError(
      '--alertmanagers.url and --alertmanagers.config* parameters cannot be defined at the same time',
    );
  const relabelYAML = pathOrContent(o['alert.relabelConfig'], o['alert.relabelConfigFile'], 'alert.relabel-config');
  // An empty config (or file) is ignored: the ruler keeps its own TSDB (Thanos).
  const rwYAML = pathOrContent(o['remoteWrite.config'], o['remoteWrite.configFile'], 'remote-write.config');
  const remoteWrite =
    rwYAML !== undefined && rwYAML.trim() !== ''
      ? configFlag('remote-write.config', () => parseRemoteWriteConfig(rwYAML))
      : [];
  const sendTimeoutMs = durationFlag(o['alertmanagers.sendTimeout'], 'alertmanagers.send-timeout');
  // Thanos declares the flag as a kingpin enum: exact, case-sensitive values.
  const method = o['query.httpMethod'];
  if (method !== 'GET' && method !== 'POST')
    throw new InvalidArgumentError(`--query.http-method: enum value must be one of GET,POST, got '${method}'`);
  const evalIntervalMs = durationFlag(o.evalInterval, 'eval-interval');
  if (evalIntervalMs <= 0) throw new InvalidArgumentError('--eval-interval: must be positive');
  const blockMs = durationFlag(o['tsdb.blockDuration'], 'tsdb.block-duration');
  if (blockMs <= 0) throw new InvalidArgumentError('--tsdb.block-duration: must be positive');
  if (o.ruleFile.length === 0) throw new InvalidArgumentError('--rule-file: at least one rule file is required');
  const flags: FlagsFor<RulerOptions, NotRuleFlags> = {
    ...servingFromFlags(o),
    ruleFiles: o.ruleFile,
    dataDir: o.dataDir,
    evalIntervalMs,
    queryOffsetMs: durationFlag(o.ruleQueryOffset, 'rule-query-offset'),
    externalLabels: parseLabelFlags(o.label, 'label'),
    queryURLs: o.query.length > 0 ? o.query : undefined,
    querySDFiles: o['query.sdFiles'].length > 0 ? o['query.sdFiles'] : undefined,
    querySDIntervalMs: durationFlag(o['query.sdInterval'], 'query.sd-interval'),
    queryDNSIntervalMs: durationFlag(o['query.sdDnsInterval'], 'query.sd-dns-interval'),
    queryConfig: hasQueryYAML ? configFlag('query.config', () => parseQueryConfig(queryYAML as string)) : undefined,
    queryHttpMethod: method,
    alertmanagerURLs: o['alertmanagers.url'].length > 0 ? o['alertmanagers.url'] : undefined,
    alertmanagersConfig: hasAmYAML
      ? configFlag('alertmanagers.config', () => parseAlertingConfig(amYAML as string))
      : undefined,
    alertmanagersDNSIntervalMs: durationFlag(o['alertmanagers.sdDnsInterval'], 'alertmanagers.sd-dns-interval'),
    alertmanagerSendTimeoutMs: sendTimeoutMs,
    alertQueryURL: o['alert.queryUrl'] === undefined ? undefined : urlFlag(o['alert.queryUrl'], 'alert.query-url'),
    alertLabelDrop: o['alert.labelDrop'],
    alertRelabelConfig:
      relabelYAML !== undefined && relabelYAML.trim() !== ''
        ? parseRelabelConfig(relabelYAML, '--alert.relabel-config')
        : undefined,
    resendDelayMs: durationFlag(o.resendDelay, 'resend-delay'),
    forGracePeriodMs: durationFlag(o.forGracePeriod, 'for-grace-period'),
    forOutageToleranceMs: durationFlag(o.forOutageTolerance, 'for-outage-tolerance'),
    tsdbRetentionMs: durationFlag(o['tsdb.retention'], 'tsdb.retention'),
    tsdbBlockDurationMs: blockMs,
    remoteWrite: remoteWrite.length > 0 ? remoteWrite : undefined,
    queryDefaultStepMs: durationFlag(o['query.defaultStep'], 'query.default-step'),
    restoreIgnoredLabels: o.restoreIgnoredLabel.length > 0 ? o.restoreIgnoredLabel : undefined,
  };
  // Addresses are checked now so a typo fails at start-up, naming the flag.
  configFlag('query', () => buildQueryConfigFromAddresses(o.query));
  for (const u of o['alertmanagers.url'])
    configFlag('alertmanagers.url', () => buildAlertmanagerConfig(u, sendTimeoutMs));
  return { ...definedOnly(flags), ruleFiles: o.ruleFile, dataDir: o.dataDir };
}

/** Defines the `rule` command and its flags (Thanos's names and defaults). */
export function defineRuleCommand(): Command {
  const cmd = new Command('rule').description(
    'Ruler evaluating Prometheus rules against given Query nodes, exposing Store API and storing old blocks in bucket.',
  );
  const opt = (flags: string, help: string, dflt?: string | string[], repeat = false) => {
    const o = new Option(flags, help);
    if (repeat) o.argParser(collect);
    if (dflt !== undefined) o.default(dflt);
    cmd.addOption(o);
  };
  opt(
    '--rule-file <path>',
    'Rule files that should be used by rule manager. Can be in glob format (repeated).',
    [],
    true,
  );
  opt('--eval-interval <duration>', 'The default evaluation interval to use.', '1m');
  opt(
    '--rule-query-offset <duration>',
    'The default rule group query_offset duration to use: evaluate this far in the past so data still being ingested is complete.',
    '0s',
  );
  opt('--data-dir <dir>', 'data directory', 'data/');
  opt('--label <key="value">', 'Labels to be applied to all generated metrics (repeated).', [], true);
  opt('--query <url>', 'Addresses of statically configured query API servers (repeatable).', [], true);
  opt(
    '--query.config <yaml>',
    "Alternative to 'query.config-file' flag (mutually exclusive). Content of YAML file that contains query API servers configuration. If defined, it takes precedence over the '--query' and '--query.sd-files' flags.",
  );
  opt(
    '--query.config-file <path>',
    "Path to YAML file that contains query API servers configuration. If defined, it takes precedence over the '--query' and '--query.sd-files' flags.",
  );
  opt(
    '--query.sd-files <path>',
    'Path to file that contains addresses of query API servers. The path can be a glob pattern (repeatable).',
    [],
    true,
  );
  opt('--query.sd-interval <duration>', 'Refresh interval to re-read file SD files. (used as a fallback)', '5m');
  opt('--query.sd-dns-interval <duration>', 'Interval between DNS resolutions.', '30s');
  opt('--query.http-method <method>', 'HTTP method to use when sending queries. Possible options: [GET, POST]', 'POST');
  opt(
    '--alertmanagers.config <yaml>',
    "Alternative to 'alertmanagers.config-file' flag (mutually exclusive). Content of YAML file that contains alerting configuration. If defined, it takes precedence over the '--alertmanagers.url' and '--alertmanagers.send-timeout' flags.",
  );
  opt(
    '--alertmanagers.config-file <path>',
    "Path to YAML file that contains alerting configuration. If defined, it takes precedence over the '--alertmanagers.url' and '--alertmanagers.send-timeout' flags.",
  );
  opt(
    '--alertmanagers.url <url>',
    "Alertmanager replica URLs to push firing alerts. Ruler claims success if push to at least one alertmanager from discovered succeeds. The scheme should not be empty e.g `http` might be used. The scheme may be prefixed with 'dns+' or 'dnssrv+' to detect Alertmanager IPs through respective DNS lookups. The port defaults to 9093 or the SRV record's value. The URL path is used as a prefix for the regular Alertmanager API path.",
    [],
    true,
  );
  opt('--alertmanagers.send-timeout <duration>', 'Timeout for sending alerts to Alertmanager', '10s');
  opt('--alertmanagers.sd-dns-interval <duration>', 'Interval between DNS resolutions of Alertmanager hosts.', '30s');
  opt('--alert.query-url <url>', "The external Thanos Query URL that would be set in all alerts 'Source' field");
  opt(
    '--alert.label-drop <name>',
    'Labels by name to drop before sending to alertmanager (repeated), e.g. the replica label.',
    [],
    true,
  );
  opt(
    '--alert.relabel-config <yaml>',
    "Alternative to 'alert.relabel-config-file' flag (mutually exclusive). Content of YAML file that contains alert relabelling configuration.",
  );
  opt('--alert.relabel-config-file <path>', 'Path to YAML file that contains alert relabelling configuration.');
  opt(
    '--query.default-step <duration>',
    'Default range query step to use. This is only used in stateless Ruler and alert state restoration.',
    '1s',
  );
  opt(
    '--restore-ignored-label <label>',
    'Label names to be ignored when restoring alerts from the remote storage. This is only used in stateless mode.',
    [],
    true,
  );
  opt(
    '--remote-write.config-file <path>',
    "Path to YAML config for the remote-write configurations, that specify servers where samples should be sent to (see https://prometheus.io/docs/prometheus/latest/configuration/configuration/#remote_write). This automatically enables stateless mode for ruler and no series will be stored in the ruler's TSDB. If an empty config (or file) is provided, the flag is ignored and ruler is run with its own TSDB.",
  );
  opt(
    '--remote-write.config <yaml>',
    "Alternative to 'remote-write.config-file' flag (mutually exclusive). Content of YAML config for the remote-write configurations.",
  );
  opt('--resend-delay <duration>', 'Minimum amount of time to wait before resending an alert to Alertmanager.', '1m');
  opt(
    '--for-grace-period <duration>',
    "Minimum duration between alert and restored 'for' state. This is maintained only for alerts with configured 'for' time greater than grace period.",
    '10m',
  );
  opt(
    '--for-outage-tolerance <duration>',
    "Max time to tolerate prometheus outage for restoring 'for' state of alert.",
    '1h',
  );
  opt('--tsdb.retention <duration>', 'Block retention time on local disk.', '48h');
  opt('--tsdb.block-duration <duration>', 'Block duration for TSDB block.', '2h');
  addObjstoreFlags(cmd);
  addServingFlags(cmd, { grpc: true });
  addLogFlags(cmd);
  return cmd;
}

/** Adds `thanos-ts rule` to the program. */
export function registerRule(program: Command): void {
  const cmd = defineRuleCommand().action(async (o: RuleFlags) => {
    const logger = loggerFromFlags(o, 'rule');
    const cfg = parseRuleFlags(o);
    const registry = new Registry();
    let bucket: Bucket | undefined;
    if (o['objstore.configFile'] !== undefined || o['objstore.config'] !== undefined)
      bucket = await bucketFromFlags(o, { registry });
    const ruler = createRuler({ ...cfg, ...(bucket ? { bucket } : {}), logger, registry });
    await runUntilSignal(ruler, {
      logger,
      ...(bucket ? { cleanup: () => (bucket as Bucket).close() } : {}),
      onReload: () => {
        ruler.reload().then(
          () => logger.info('reloaded rule files'),
          (err: unknown) => logger.error('reloading rule files failed', { err: (err as Error).message }),
        );
      },
    });
  });
  program.addCommand(cmd);
}
