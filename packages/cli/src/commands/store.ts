import { readFile } from 'node:fs/promises';
import { createStoreGateway, type StoreGatewayOptions } from '@thanos-ts/core';
import {
  createInMemoryCache,
  parseBytes,
  parseCachingBucketConfig,
  parseIndexCacheConfig,
} from '@thanos-ts/core/cache';
import {
  type IndexCache,
  type MetaFilters,
  parseRelabelConfig,
  parseTimeOrDuration,
  type RequestLimits,
} from '@thanos-ts/core/store';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { Command, Option } from 'commander';
import { Registry } from 'prom-client';
import { durationFlag, intFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';
import { addServingFlags, type ServingFlags, servingFromFlags } from '../flags/serving.js';
import { definedOnly, type FlagsFor } from '../flags/typed.js';
import { runUntilSignal } from '../run.js';

/** Raw values of `thanos-ts store` flags as commander stores them. */
export interface StoreFlags extends ObjstoreFlags, ServingFlags, LogFlags {
  dataDir: string;
  syncBlockDuration: string;
  minTime: string;
  maxTime: string;
  'selector.relabelConfig'?: string;
  'selector.relabelConfigFile'?: string;
  'indexCache.config'?: string;
  'indexCache.configFile'?: string;
  indexCacheSize: string;
  'store.cachingBucket.config'?: string;
  'store.cachingBucket.configFile'?: string;
  blockSyncConcurrency: string;
  blockMetaFetchConcurrency: string;
  'store.limits.requestSeries': string;
  'store.limits.requestSamples': string;
  'store.limits.requestMatchers': string;
  'store.limits.regexBytes': string;
  'store.grpc.touchedSeriesLimit'?: string;
  'store.grpc.seriesSampleLimit'?: string;
  'store.grpc.downloadedBytesLimit': string;
  'store.grpc.seriesMaxConcurrency': string;
  consistencyDelay: string;
  ignoreDeletionMarksDelay: string;
  'store.indexHeaderLazyReaderIdleTimeout': string;
}

/** Options of createStoreGateway no flag sets: the bucket (from --objstore.*) and in-process objects. */
type NotStoreFlags = 'bucket' | 'logger' | 'registry' | 'now';

/** Everything `thanos-ts store` resolved from its flags: createStoreGateway's options but the bucket. */
export type StoreCommandConfig = Omit<StoreGatewayOptions, NotStoreFlags> & {
  filters: MetaFilters;
  indexCache: IndexCache;
  limits: RequestLimits;
  syncIntervalMs: number;
};

async function fileOrInline(
  file: string | undefined,
  inline: string | undefined,
  flag: string,
): Promise<string | undefined> {
  if (file !== undefined && inline !== undefined)
    throw new InvalidArgumentError(`--${flag}-file and --${flag} are mutually exclusive; set only one`);
  if (file !== undefined) {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(`--${flag}-file: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return inline;
}

/** Validates the flags and builds the gateway configuration; errors name the flag. */
export async function parseStoreFlags(o: StoreFlags): Promise<StoreCommandConfig> {
  const relabelText = await fileOrInline(
    o['selector.relabelConfigFile'],
    o['selector.relabelConfig'],
    'selector.relabel-config',
  );
  const indexCacheText = await fileOrInline(o['indexCache.configFile'], o['indexCache.config'], 'index-cache.config');
  const cachingBucketText = await fileOrInline(
    o['store.cachingBucket.configFile'],
    o['store.cachingBucket.config'],
    'store.caching-bucket.config',
  );
  const filters: MetaFilters = {
    minTime: parseTimeOrDuration(o.minTime, '--min-time'),
    maxTime: parseTimeOrDuration(o.maxTime, '--max-time'),
    consistencyDelayMs: durationFlag(o.consistencyDelay, 'consistency-delay'),
    ignoreDeletionMarksDelayMs: durationFlag(o.ignoreDeletionMarksDelay, 'ignore-deletion-marks-delay'),
  };
  if (relabelText) filters.relabel = parseRelabelConfig(relabelText, '--selector.relabel-config');
  let indexCache: IndexCache;
  if (indexCacheText) indexCache = parseIndexCacheConfig(indexCacheText, '--index-cache.config');
  else {
    const size = parseBytes(o.indexCacheSize, '--index-cache-size');
    indexCache = {
      cache: createInMemoryCache({ maxSizeBytes: size, maxItemSizeBytes: Math.floor(size / 2) }),
      ttlMs: 0,
      enabledItems: new Set(['Postings', 'Series', 'ExpandedPostings']),
    };
  }
  // The deprecated aliases write the same setting as their successors (the last one given wins,
  // as kingpin sets one variable for both); validated here under their own names.
  if (o['store.grpc.touchedSeriesLimit'] !== undefined)
    intFlag(o['store.grpc.touchedSeriesLimit'], 'store.grpc.touched-series-limit', 0);
  if (o['store.grpc.seriesSampleLimit'] !== undefined)
    intFlag(o['store.grpc.seriesSampleLimit'], 'store.grpc.series-sample-limit', 0);
  const syncIntervalMs = durationFlag(o.syncBlockDuration, 'sync-block-duration');
  if (syncIntervalMs <= 0) throw new InvalidArgumentError('--sync-block-duration: must be positive');
  const flags: FlagsFor<StoreGatewayOptions, NotStoreFlags> = {
    ...servingFromFlags(o),
    dataDir: o.dataDir,
    syncIntervalMs,
    filters,
    indexCache,
    cachingBucket: cachingBucketText
      ? parseCachingBucketConfig(cachingBucketText, '--store.caching-bucket.config')
      : undefined,
    limits: {
      seriesPerRequest: intFlag(o['store.limits.requestSeries'], 'store.limits.request-series', 0),
      samplesPerRequest: intFlag(o['store.limits.requestSamples'], 'store.limits.request-samples', 0),
      maxMatchersPerRequest: intFlag(o['store.limits.requestMatchers'], 'store.limits.request-matchers', 0),
      maxRegexBytes: parseBytes(o['store.limits.regexBytes'], '--store.limits.regex-bytes'),
      downloadedBytesPerRequest: parseBytes(
        o['store.grpc.downloadedBytesLimit'],
        '--store.grpc.downloaded-bytes-limit',
      ),
    },
    blockSyncConcurrency: intFlag(o.blockSyncConcurrency, 'block-sync-concurrency', 1),
    metaFetchConcurrency: intFlag(o.blockMetaFetchConcurrency, 'block-meta-fetch-concurrency', 1),
    maxConcurrentSeries: intFlag(o['store.grpc.seriesMaxConcurrency'], 'store.grpc.series-max-concurrency', 1),
    idleUnloadAfterMs: durationFlag(
      o['store.indexHeaderLazyReaderIdleTimeout'],
      'store.index-header-lazy-reader-idle-timeout',
    ),
    blockQueryConcurrency: undefined,
  };
  return {
    ...definedOnly(flags),
    dataDir: o.dataDir,
    filters,
    indexCache,
    limits: flags.limits as RequestLimits,
    syncIntervalMs,
  };
}

/** Defines the `store` command and its flags (Thanos's names and defaults). */
export function defineStoreCommand(): Command {
  const cmd = new Command('store').description(
    'Store node giving access to blocks in a bucket provider: serves the StoreAPI over the blocks in object storage.',
  );
  addObjstoreFlags(cmd);
  const opt = (flags: string, help: string, dflt?: string) => {
    const o = new Option(flags, help);
    if (dflt !== undefined) o.default(dflt);
    cmd.addOption(o);
  };
  opt(
    '--data-dir <dir>',
    'Local data directory for index-headers (safe to delete: rebuilt from the bucket).',
    './data',
  );
  opt(
    '--sync-block-duration <duration>',
    'Repeat interval for syncing the blocks between local and remote view.',
    '3m',
  );
  opt(
    '--min-time <time>',
    'Serve only blocks overlapping times after this: RFC3339 time or duration relative to now (e.g. -2w).',
    '0000-01-01T00:00:00Z',
  );
  opt(
    '--max-time <time>',
    'Serve only blocks overlapping times before this: RFC3339 time or duration relative to now (e.g. -1d).',
    '9999-12-31T23:59:59Z',
  );
  opt(
    '--selector.relabel-config-file <path>',
    'Path to a YAML relabel configuration selecting blocks by external labels and __block_id.',
  );
  opt('--selector.relabel-config <yaml>', "Alternative to 'selector.relabel-config-file' flag (mutually exclusive).");
  opt(
    '--index-cache.config-file <path>',
    'Path to YAML index cache configuration (type: IN-MEMORY, MEMCACHED or REDIS).',
  );
  opt('--index-cache.config <yaml>', "Alternative to 'index-cache.config-file' flag (mutually exclusive).");
  opt(
    '--index-cache-size <bytes>',
    'Maximum size of the in-memory index cache; ignored with --index-cache.config.',
    '250MB',
  );
  opt(
    '--store.caching-bucket.config-file <path>',
    'Path to YAML caching bucket configuration (chunks, meta.json, block listing).',
  );
  opt(
    '--store.caching-bucket.config <yaml>',
    "Alternative to 'store.caching-bucket.config-file' flag (mutually exclusive).",
  );
  opt(
    '--block-sync-concurrency <n>',
    'Blocks whose index-header is built in parallel during a sync. Must be ≥ 1.',
    '20',
  );
  opt('--block-meta-fetch-concurrency <n>', 'meta.json files fetched in parallel.', '32');
  opt('--store.limits.request-series <n>', 'Maximum series one Series call may touch (0: no limit).', '0');
  opt('--store.limits.request-samples <n>', 'Maximum samples one Series call may return (0: no limit).', '0');
  opt(
    '--store.limits.request-matchers <n>',
    'Maximum label matchers in one request (0: no limit). Not in Thanos: bounds the CPU one request can cost.',
    '1000',
  );
  opt(
    '--store.limits.regex-bytes <bytes>',
    'Maximum total size of the regular expressions in one request (0: no limit). Not in Thanos.',
    '1MiB',
  );
  // kingpin binds each deprecated alias to its successor's variable: copy the value over as it is
  // parsed, so whichever of the two comes last on the command line wins.
  const alias = (flags: string, help: string, target: string) => {
    cmd.addOption(
      new Option(flags, help).argParser((v: string) => {
        cmd.setOptionValueWithSource(target, v, 'cli');
        return v;
      }),
    );
  };
  alias(
    '--store.grpc.touched-series-limit <n>',
    'DEPRECATED: use store.limits.request-series.',
    'store.limits.requestSeries',
  );
  alias(
    '--store.grpc.series-sample-limit <n>',
    'DEPRECATED: use store.limits.request-samples.',
    'store.limits.requestSamples',
  );
  opt(
    '--store.grpc.downloaded-bytes-limit <bytes>',
    'Maximum amount of downloaded (either fetched or touched) bytes in a single Series/LabelNames/LabelValues call. The Series call fails if this limit is exceeded. 0 means no limit.',
    '0',
  );
  opt('--store.grpc.series-max-concurrency <n>', 'Maximum number of concurrent Series calls.', '20');
  opt('--consistency-delay <duration>', 'Minimum age of blocks before they are read.', '0s');
  opt(
    '--ignore-deletion-marks-delay <duration>',
    'Blocks marked for deletion longer ago than this are not served.',
    '24h',
  );
  opt(
    '--store.index-header-lazy-reader-idle-timeout <duration>',
    'Unload a block index after this long without queries (0: never).',
    '5m',
  );
  addServingFlags(cmd, { grpc: true });
  addLogFlags(cmd);
  return cmd;
}

/** Adds `thanos-ts store` to the program. */
export function registerStore(program: Command): void {
  const cmd = defineStoreCommand().action(async (o: StoreFlags) => {
    const logger = loggerFromFlags(o, 'store');
    const cfg = await parseStoreFlags(o);
    const registry = new Registry();
    const bucket = await bucketFromFlags(o, { registry });
    const gateway = createStoreGateway({ ...cfg, bucket, logger, registry });
    await runUntilSignal(gateway, { logger, cleanup: () => bucket.close() });
  });
  program.addCommand(cmd);
}
