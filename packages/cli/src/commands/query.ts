import { createQuerier, type QuerierOptions } from '@thanos-ts/core';
import { parseAddress } from '@thanos-ts/core/discovery';
import type { DeduplicationFunc } from '@thanos-ts/core/query';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { Command, Option } from 'commander';
import { addGrpcClientTLSFlags, type GrpcClientTLSFlags, grpcClientTLSFromFlags } from '../flags/grpc-tls.js';
import { collect, durationFlag, intFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addServingFlags, type ServingFlags, servingFromFlags } from '../flags/serving.js';
import { definedOnly, type FlagsFor } from '../flags/typed.js';
import { runUntilSignal } from '../run.js';

/** Raw values of `thanos-ts query` flags as commander stores them. */
export interface QueryFlags extends ServingFlags, GrpcClientTLSFlags, LogFlags {
  endpoint?: string[];
  store?: string[];
  rule?: string[];
  'store.sdFiles'?: string[];
  'store.sdInterval': string;
  'store.sdDnsInterval': string;
  'store.responseTimeout': string;
  'query.replicaLabel'?: string[];
  'query.timeout': string;
  'query.maxConcurrent': string;
  'query.maxConcurrentSelect': string;
  'query.lookbackDelta'?: string;
  'query.partialResponse': boolean;
  'query.autoDownsampling': boolean;
  'query.defaultEvaluationInterval': string;
  'query.defaultStep': string;
  'deduplication.func': string;
  'query.promqlEngine': string;
  'query.telemetry.requestDurationSecondsQuantiles'?: string[];
  'query.telemetry.requestSamplesQuantiles'?: string[];
  'query.telemetry.requestSeriesSecondsQuantiles'?: string[];
  'alert.queryUrl'?: string;
  'web.routePrefix'?: string;
  'web.externalPrefix': string;
  'web.prefixHeader': string;
}

/** Values --query.promql-engine accepts (Thanos's apiv1.PromqlEngineType). */
const PROMQL_ENGINES = ['prometheus', 'thanos'] as const;

/**
 * A repeatable float flag (kingpin's Float64List): the given values replace the defaults; errors
 * name the flag and quote Go's strconv.ParseFloat.
 */
function floatListFlag(values: readonly string[] | undefined, flag: string): number[] | undefined {
  if (values === undefined) return undefined;
  return values.map((v) => {
    const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity)$/i.test(v.trim())
      ? Number(v.replace(/inf(inity)?/i, 'Infinity'))
      : Number.NaN;
    if (Number.isNaN(n) && v.trim().toLowerCase() !== 'nan')
      throw new InvalidArgumentError(`--${flag}: strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    return n;
  });
}

/**
 * Options of createQuerier no flag sets: in-process objects, and the evaluation workers and their
 * heavy-query limit, which the querier sizes from --query.max-concurrent and the machine's cores.
 */
type NotQueryFlags =
  | 'logger'
  | 'registry'
  | 'now'
  | 'resolver'
  | 'engine'
  | 'buildInfo'
  | 'statusFlags'
  | 'evaluationPool'
  | 'evaluationWorkers'
  | 'maxHeavyEvaluations';

/** Validates `thanos-ts query` flags into createQuerier options; errors name the flag. */
export function parseQueryFlags(o: QueryFlags, warn: (msg: string) => void = () => {}): QuerierOptions {
  // --rule: Thanos's removed alias of --endpoint for Rules API servers (kube-thanos still writes
  // it). Endpoints whose Info advertises the Rules API are asked by the rules fan-out.
  if ((o.rule ?? []).length > 0) warn('--rule is deprecated, use --endpoint: the addresses are used as endpoints');
  const endpoints = [...(o.endpoint ?? []), ...(o.store ?? []), ...(o.rule ?? [])];
  for (const a of endpoints) {
    try {
      parseAddress(a);
    } catch (err) {
      throw new InvalidArgumentError(`--endpoint: ${(err as Error).message}`);
    }
    if (!/^(dns\+|dnssrv\+|dnssrvnoa\+)/.test(a) && !/:\d+$/.test(a)) {
      throw new InvalidArgumentError(`--endpoint: ${JSON.stringify(a)} is not host:port, dns+host:port or dnssrv+name`);
    }
  }
  const dedup = o['deduplication.func'];
  if (dedup !== 'penalty' && dedup !== 'chain') {
    throw new InvalidArgumentError(`--deduplication.func: want penalty or chain, got ${JSON.stringify(dedup)}`);
  }
  const engine = o['query.promqlEngine'];
  if (!(PROMQL_ENGINES as readonly string[]).includes(engine)) {
    throw new InvalidArgumentError(
      `--query.promql-engine: enum value must be one of ${PROMQL_ENGINES.join(',')}, got '${engine}'`,
    );
  }
  const replicaLabels = (o['query.replicaLabel'] ?? []).flatMap((l) => l.split(',')).filter((l) => l !== '');
  const timeoutMs = durationFlag(o['query.timeout'], 'query.timeout');
  if (timeoutMs <= 0) throw new InvalidArgumentError('--query.timeout: must be positive');
  const flags: FlagsFor<QuerierOptions, NotQueryFlags> = {
    ...servingFromFlags(o),
    tls: grpcClientTLSFromFlags(o),
    endpoints,
    fileSDFiles: o['store.sdFiles'] ?? [],
    fileSDIntervalMs: durationFlag(o['store.sdInterval'], 'store.sd-interval'),
    dnsIntervalMs: durationFlag(o['store.sdDnsInterval'], 'store.sd-dns-interval'),
    endpointRefreshIntervalMs: undefined,
    responseTimeoutMs: durationFlag(o['store.responseTimeout'], 'store.response-timeout'),
    replicaLabels,
    timeoutMs,
    maxConcurrent: intFlag(o['query.maxConcurrent'], 'query.max-concurrent', 1),
    maxConcurrentSelect: intFlag(o['query.maxConcurrentSelect'], 'query.max-concurrent-select', 1),
    partialResponse: o['query.partialResponse'],
    autoDownsampling: o['query.autoDownsampling'],
    defaultEvaluationIntervalMs: durationFlag(
      o['query.defaultEvaluationInterval'],
      'query.default-evaluation-interval',
    ),
    defaultStepMs: durationFlag(o['query.defaultStep'], 'query.default-step'),
    deduplicationFunc: dedup as DeduplicationFunc,
    telemetryDurationQuantiles: floatListFlag(
      o['query.telemetry.requestDurationSecondsQuantiles'],
      'query.telemetry.request-duration-seconds-quantiles',
    ),
    telemetrySamplesQuantiles: floatListFlag(
      o['query.telemetry.requestSamplesQuantiles'],
      'query.telemetry.request-samples-quantiles',
    ),
    telemetrySeriesQuantiles: floatListFlag(
      o['query.telemetry.requestSeriesSecondsQuantiles'],
      'query.telemetry.request-series-seconds-quantiles',
    ),
    alertQueryURL: o['alert.queryUrl'],
    routePrefix: o['web.routePrefix'],
    externalPrefix: o['web.externalPrefix'],
    prefixHeader: o['web.prefixHeader'],
    lookbackDeltaMs:
      o['query.lookbackDelta'] === undefined
        ? undefined
        : durationFlag(o['query.lookbackDelta'], 'query.lookback-delta'),
  };
  return definedOnly(flags);
}

/** Defines the `query` command and its flags (Thanos's names and defaults). */
export function defineQueryCommand(): Command {
  const cmd = new Command('query').description(
    'Query node exposing PromQL enabled Query API with data retrieved from multiple store nodes.',
  );
  const opt = (o: Option) => cmd.addOption(o);
  addServingFlags(cmd, { grpc: true });
  addGrpcClientTLSFlags(cmd);
  opt(
    new Option(
      '--endpoint <endpoint>',
      "Addresses of statically configured Thanos API servers (repeatable). The scheme may be prefixed with 'dns+' or 'dnssrv+' to detect Thanos API servers through respective DNS lookups.",
    ).argParser(collect),
  );
  opt(
    new Option(
      '--store <store>',
      '(Deprecated, use --endpoint) Addresses of statically configured store API servers (repeatable).',
    ).argParser(collect),
  );
  opt(
    new Option(
      '--rule <rule>',
      '(Deprecated, use --endpoint; removed from Thanos) Addresses of statically configured rules API servers (repeatable).',
    ).argParser(collect),
  );
  opt(
    new Option(
      '--store.sd-files <path>',
      'Path to files that contain addresses of store API servers. The path can be a glob pattern (repeatable).',
    ).argParser(collect),
  );
  opt(
    new Option(
      '--store.sd-interval <duration>',
      'Refresh interval to re-read file SD files. It is used as a resync fallback.',
    ).default('5m'),
  );
  opt(new Option('--store.sd-dns-interval <duration>', 'Interval between DNS resolutions.').default('30s'));
  opt(
    new Option(
      '--store.response-timeout <duration>',
      "If a Store doesn't send any data in this specified duration then a Store will be ignored and partial data will be returned if it's enabled. 0 disables timeout.",
    ).default('0ms'),
  );
  opt(
    new Option(
      '--query.replica-label <label>',
      "Labels to treat as a replica indicator along which data is deduplicated. Still you will be able to query without deduplication using 'dedup=false' parameter. Flag may be specified multiple times as well as a comma separated list of labels.",
    ).argParser(collect),
  );
  opt(new Option('--query.timeout <duration>', 'Maximum time to process query by query node.').default('2m'));
  opt(
    new Option('--query.max-concurrent <n>', 'Maximum number of queries processed concurrently by query node.').default(
      '20',
    ),
  );
  opt(
    new Option(
      '--query.max-concurrent-select <n>',
      'Maximum number of select requests made concurrently per a query.',
    ).default('4'),
  );
  opt(
    new Option(
      '--query.lookback-delta <duration>',
      'The maximum lookback duration for retrieving metrics during expression evaluations. If unset it will use the promql default of 5m.',
    ),
  );
  opt(
    new Option(
      '--query.partial-response',
      'Enable partial response for queries if no partial_response param is specified. --no-query.partial-response for disabling.',
    ).default(true),
  );
  opt(new Option('--no-query.partial-response', 'Disable partial response by default.'));
  opt(
    new Option(
      '--query.auto-downsampling',
      'Enable automatic adjustment (step / 5) to what source of data should be used in store gateways if no max_source_resolution param is specified.',
    ).default(false),
  );
  opt(
    new Option(
      '--query.default-evaluation-interval <duration>',
      'Set default evaluation interval for sub queries.',
    ).default('1m'),
  );
  opt(
    new Option('--query.default-step <duration>', 'Set default step for range queries without a step.').default('1s'),
  );
  opt(
    new Option(
      '--deduplication.func <func>',
      "Experimental. Deduplication algorithm for merging overlapping series. Possible values are: 'penalty', 'chain'.",
    ).default('penalty'),
  );
  opt(
    new Option(
      '--query.promql-engine <engine>',
      "Default PromQL engine to use. Both 'prometheus' and 'thanos' select thanos-ts's one engine (Prometheus semantics).",
    ).default('prometheus'),
  );
  opt(
    new Option(
      '--query.telemetry.request-duration-seconds-quantiles <seconds>',
      'The quantiles for exporting metrics about the request duration quantiles (repeatable).',
    ).argParser(collect),
  );
  opt(
    new Option(
      '--query.telemetry.request-samples-quantiles <n>',
      'The quantiles for exporting metrics about the samples count quantiles (repeatable).',
    ).argParser(collect),
  );
  opt(
    new Option(
      '--query.telemetry.request-series-seconds-quantiles <n>',
      'The quantiles for exporting metrics about the series count quantiles (repeatable).',
    ).argParser(collect),
  );
  opt(
    new Option(
      '--alert.query-url <url>',
      "The external Thanos Query URL that would be set in all alerts 'Source' field.",
    ),
  );
  opt(
    new Option(
      '--web.route-prefix <prefix>',
      'Prefix for API and UI endpoints. This allows thanos UI to be served on a sub-path. Defaults to the value of --web.external-prefix. This option is analogous to --web.route-prefix of Prometheus.',
    ),
  );
  opt(
    new Option(
      '--web.external-prefix <prefix>',
      'Static prefix for all HTML links and redirect URLs in the UI query web interface. Actual endpoints are still served on / or the web.route-prefix. This allows thanos UI to be served behind a reverse proxy that strips a URL sub-path.',
    ).default(''),
  );
  opt(
    new Option(
      '--web.prefix-header <header>',
      'Name of HTTP request header used for dynamic prefixing of UI links and redirects. This option is ignored if web.external-prefix argument is set. Security risk: enable this option only if a reverse proxy in front of thanos is resetting the header.',
    ).default(''),
  );
  addLogFlags(cmd);
  return cmd;
}

/** Adds `thanos-ts query` to the program. */
export function registerQuery(program: Command): void {
  const cmd = defineQueryCommand().action(async (o: QueryFlags, self: Command) => {
    const logger = loggerFromFlags(o, 'query');
    const querier = createQuerier({
      ...parseQueryFlags(o, (msg) => logger.warn(msg)),
      logger,
      statusFlags: flagValues(self),
    });
    await runUntilSignal(querier, { logger });
  });
  program.addCommand(cmd);
}

/** Every flag of `cmd` with its value as text (Thanos's /api/v1/status/flags map; repeats joined). */
function flagValues(cmd: Command): Record<string, string> {
  const out: Record<string, string> = {};
  for (const opt of cmd.options) {
    const name = opt.long?.replace(/^--/, '');
    if (!name) continue;
    const v = cmd.getOptionValue(opt.attributeName());
    out[name] = v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v);
  }
  return out;
}
