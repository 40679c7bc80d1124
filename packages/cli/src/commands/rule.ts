import { createRuler, type RulerOptions } from '@thanos-ts/core/rule';
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
  'query.httpMethod': string;
  'alertmanagers.url': string[];
  'alertmanagers.sendTimeout': string;
  'alert.queryUrl'?: string;
  'alert.labelDrop': string[];
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
  | 'failedEvaluationsBeforeNotReady';

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

/** Validates the flags and builds the ruler configuration; errors name the flag. */
export function parseRuleFlags(o: RuleFlags): RuleCommandConfig {
  const method = o['query.httpMethod'].toUpperCase();
  if (method !== 'GET' && method !== 'POST')
    throw new InvalidArgumentError(
      `--query.http-method: want GET or POST, got ${JSON.stringify(o['query.httpMethod'])}`,
    );
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
    queryURLs: o.query.map((q) => urlFlag(q, 'query')),
    queryHttpMethod: method,
    alertmanagerURLs: o['alertmanagers.url'].map((u) => urlFlag(u, 'alertmanagers.url')),
    alertmanagerSendTimeoutMs: durationFlag(o['alertmanagers.sendTimeout'], 'alertmanagers.send-timeout'),
    alertQueryURL: o['alert.queryUrl'] === undefined ? undefined : urlFlag(o['alert.queryUrl'], 'alert.query-url'),
    alertLabelDrop: o['alert.labelDrop'],
    resendDelayMs: durationFlag(o.resendDelay, 'resend-delay'),
    forGracePeriodMs: durationFlag(o.forGracePeriod, 'for-grace-period'),
    forOutageToleranceMs: durationFlag(o.forOutageTolerance, 'for-outage-tolerance'),
    tsdbRetentionMs: durationFlag(o['tsdb.retention'], 'tsdb.retention'),
    tsdbBlockDurationMs: blockMs,
  };
  if (flags.queryURLs?.length === 0) throw new InvalidArgumentError('--query: at least one query endpoint is required');
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
  opt('--query.http-method <method>', 'HTTP method to use when sending queries. Possible options: [GET, POST]', 'POST');
  opt('--alertmanagers.url <url>', 'Alertmanager replica URLs to push firing alerts (repeated).', [], true);
  opt('--alertmanagers.send-timeout <duration>', 'Timeout for sending alerts to Alertmanager', '10s');
  opt('--alert.query-url <url>', "The external Thanos Query URL that would be set in all alerts 'Source' field");
  opt(
    '--alert.label-drop <name>',
    'Labels by name to drop before sending to alertmanager (repeated), e.g. the replica label.',
    [],
    true,
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
