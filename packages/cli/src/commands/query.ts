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
}

/**
 * Options of createQuerier no flag sets: in-process objects, and the evaluation workers, which
 * the querier sizes from --query.max-concurrent and the machine's cores.
 */
type NotQueryFlags =
  | 'logger'
  | 'registry'
  | 'now'
  | 'resolver'
  | 'engine'
  | 'buildInfo'
  | 'evaluationPool'
  | 'evaluationWorkers';

/** Validates `thanos-ts query` flags into createQuerier options; errors name the flag. */
export function parseQueryFlags(o: QueryFlags): QuerierOptions {
  const endpoints = [...(o.endpoint ?? []), ...(o.store ?? [])];
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
  addLogFlags(cmd);
  return cmd;
}

/** Adds `thanos-ts query` to the program. */
export function registerQuery(program: Command): void {
  const cmd = defineQueryCommand().action(async (o: QueryFlags) => {
    const logger = loggerFromFlags(o, 'query');
    const querier = createQuerier({ ...parseQueryFlags(o), logger });
    await runUntilSignal(querier, { logger });
  });
  program.addCommand(cmd);
}
