import { readFile } from 'node:fs/promises';
import { parseHashFunc } from '@thanos-ts/core/block';
import { parseBytes } from '@thanos-ts/core/cache';
import { type CompactDeduplicationFunc, type CompactorOptions, createCompactor } from '@thanos-ts/core/compact';
import { parseRelabelConfig, parseTimeOrDuration, type RelabelRule } from '@thanos-ts/core/store';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { Command, Option } from 'commander';
import { Registry } from 'prom-client';
import { collect, durationFlag, intFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';
import { addServingFlags, type ServingFlags, servingFromFlags } from '../flags/serving.js';
import { definedOnly, type FlagsFor } from '../flags/typed.js';
import { runUntilSignal } from '../run.js';
import { createProgressBar } from './compact-progress.js';

/** Raw values of `thanos-ts compact` flags as commander stores them. */
export interface CompactFlags extends ObjstoreFlags, ServingFlags, LogFlags, SelectorRelabelFlags {
  dataDir: string;
  consistencyDelay: string;
  'retention.resolutionRaw': string;
  'retention.resolution5m': string;
  'retention.resolution1h': string;
  wait?: boolean;
  waitInterval: string;
  'downsampling.disable'?: boolean;
  blockMetaFetchConcurrency: string;
  blockFilesConcurrency: string;
  'compact.concurrency': string;
  'downsample.concurrency': string;
  deleteDelay: string;
  'compact.enableVerticalCompaction'?: boolean;
  'deduplication.func': string;
  'deduplication.replicaLabel'?: string[];
  'debug.maxCompactionLevel': string;
  hashFunc: string;
  'compact.blockMaxIndexSize': string;
  minTime: string;
  maxTime: string;
}

/** Options of createCompactor no flag sets: the bucket (from --objstore.*) and in-process objects. */
type NotCompactFlags = 'bucket' | 'logger' | 'registry' | 'now' | 'onProgress';

/** Everything `thanos-ts compact` resolved from its flags: createCompactor's options but the bucket. */
export type CompactCommandConfig = Omit<CompactorOptions, NotCompactFlags> & { dataDir: string };

/** Thanos's --selector.relabel-config(-file) pair, shared by compact and the bucket tools. */
export interface SelectorRelabelFlags {
  'selector.relabelConfig'?: string;
  'selector.relabelConfigFile'?: string;
}

/**
 * Reads --selector.relabel-config or --selector.relabel-config-file (mutually exclusive) and
 * parses the rules; undefined when neither is set. Errors name the flag.
 */
export async function parseSelectorRelabelFlags(o: SelectorRelabelFlags): Promise<RelabelRule[] | undefined> {
  if (o['selector.relabelConfigFile'] !== undefined && o['selector.relabelConfig'] !== undefined)
    throw new InvalidArgumentError(
      '--selector.relabel-config-file and --selector.relabel-config are mutually exclusive; set only one',
    );
  let relabelText = o['selector.relabelConfig'];
  if (o['selector.relabelConfigFile'] !== undefined) {
    try {
      relabelText = await readFile(o['selector.relabelConfigFile'], 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(
        `--selector.relabel-config-file: cannot read ${o['selector.relabelConfigFile']}: ${(err as Error).message}`,
      );
    }
  }
  return relabelText ? parseRelabelConfig(relabelText, '--selector.relabel-config') : undefined;
}

/** Adds --selector.relabel-config-file and --selector.relabel-config (Thanos's help texts). */
export function addSelectorRelabelFlags(cmd: Command): Command {
  cmd.addOption(
    new Option(
      '--selector.relabel-config-file <path>',
      'Path to a YAML relabel configuration selecting blocks by external labels and __block_id.',
    ),
  );
  cmd.addOption(
    new Option(
      '--selector.relabel-config <yaml>',
      "Alternative to 'selector.relabel-config-file' flag (mutually exclusive).",
    ),
  );
  return cmd;
}

/** Validates the flags and builds the compactor configuration; errors name the flag. */
export async function parseCompactFlags(o: CompactFlags): Promise<CompactCommandConfig> {
  const relabel = await parseSelectorRelabelFlags(o);
  const dedupFunc = o['deduplication.func'];
  if (dedupFunc !== '' && dedupFunc !== 'penalty')
    throw new InvalidArgumentError(`--deduplication.func: want "" or "penalty", got ${JSON.stringify(dedupFunc)}`);
  // Thanos takes the flag repeated and comma-separated lists.
  const replicaLabels = (o['deduplication.replicaLabel'] ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const flags: FlagsFor<CompactorOptions, NotCompactFlags> = {
    ...servingFromFlags(o),
    dataDir: o.dataDir,
    wait: o.wait ?? false,
    waitIntervalMs: durationFlag(o.waitInterval, 'wait-interval'),
    consistencyDelayMs: durationFlag(o.consistencyDelay, 'consistency-delay'),
    deleteDelayMs: durationFlag(o.deleteDelay, 'delete-delay'),
    retentionRawMs: durationFlag(o['retention.resolutionRaw'], 'retention.resolution-raw'),
    retention5mMs: durationFlag(o['retention.resolution5m'], 'retention.resolution-5m'),
    retention1hMs: durationFlag(o['retention.resolution1h'], 'retention.resolution-1h'),
    downsamplingDisable: o['downsampling.disable'] ?? false,
    compactConcurrency: intFlag(o['compact.concurrency'], 'compact.concurrency', 1),
    downsampleConcurrency: intFlag(o['downsample.concurrency'], 'downsample.concurrency', 1),
    blockFilesConcurrency: intFlag(o.blockFilesConcurrency, 'block-files-concurrency', 1),
    blockMetaFetchConcurrency: intFlag(o.blockMetaFetchConcurrency, 'block-meta-fetch-concurrency', 1),
    maxCompactionLevel: intFlag(o['debug.maxCompactionLevel'], 'debug.max-compaction-level', 0),
    enableVerticalCompaction: o['compact.enableVerticalCompaction'] ?? false,
    deduplicationReplicaLabels: replicaLabels,
    deduplicationFunc: dedupFunc as CompactDeduplicationFunc,
    hashFunc: parseHashFunc(o.hashFunc),
    blockMaxIndexSizeBytes: parseBytes(o['compact.blockMaxIndexSize'], '--compact.block-max-index-size'),
    filters: {
      minTime: parseTimeOrDuration(o.minTime, '--min-time'),
      maxTime: parseTimeOrDuration(o.maxTime, '--max-time'),
      ...(relabel ? { relabel } : {}),
    },
    // The compactor serves HTTP only.
    grpcAddress: undefined,
    grpcGracePeriodMs: undefined,
    grpcServerTLS: undefined,
  };
  return { ...definedOnly(flags), dataDir: o.dataDir };
}

/** Defines the `compact` command and its flags (Thanos's names and defaults). */
export function defineCompactCommand(): Command {
  const cmd = new Command('compact').description(
    'Continuously compacts blocks in an object store bucket: compaction, downsampling, retention and deletion of marked blocks.',
  );
  const opt = (flags: string, help: string, dflt?: string | boolean) => {
    const o = new Option(flags, help);
    if (dflt !== undefined) o.default(dflt);
    cmd.addOption(o);
  };
  opt('--data-dir <dir>', 'Data directory in which to cache blocks and process compactions.', './data');
  addObjstoreFlags(cmd);
  opt(
    '--consistency-delay <duration>',
    'Minimum age of fresh (non-compacted) blocks before they are being processed. Malformed blocks older than the maximum of consistency-delay and 48h0m0s will be removed.',
    '30m',
  );
  opt(
    '--retention.resolution-raw <duration>',
    'How long to retain raw samples in bucket. Setting this to 0d will retain samples of this resolution forever',
    '0d',
  );
  opt(
    '--retention.resolution-5m <duration>',
    'How long to retain samples of resolution 1 (5 minutes) in bucket. Setting this to 0d will retain samples of this resolution forever',
    '0d',
  );
  opt(
    '--retention.resolution-1h <duration>',
    'How long to retain samples of resolution 2 (1 hour) in bucket. Setting this to 0d will retain samples of this resolution forever',
    '0d',
  );
  opt('-w, --wait', 'Do not exit after all compactions have been processed and wait for new work.');
  opt(
    '--wait-interval <duration>',
    'Wait interval between consecutive compaction runs and bucket refreshes. Only works when --wait flag specified.',
    '5m',
  );
  opt(
    '--downsampling.disable',
    'Disables downsampling. This is not recommended as querying long time ranges without non-downsampled data is not efficient and useful.',
  );
  opt(
    '--block-meta-fetch-concurrency <n>',
    'Number of goroutines to use when fetching block metadata from object storage.',
    '32',
  );
  opt(
    '--block-files-concurrency <n>',
    'Number of goroutines to use when fetching/uploading block files from object storage.',
    '1',
  );
  opt('--compact.concurrency <n>', 'Number of goroutines to use when compacting groups.', '1');
  opt('--downsample.concurrency <n>', 'Number of goroutines to use when downsampling blocks.', '1');
  opt(
    '--delete-delay <duration>',
    'Time before a block marked for deletion is deleted from bucket. If delete-delay is 0, blocks will be deleted straight away.',
    '48h',
  );
  opt(
    '--compact.enable-vertical-compaction',
    'Experimental. When set to true, compactor will allow overlaps and perform **irreversible** vertical compaction. Enabled when --deduplication.replica-label is set.',
  );
  opt(
    '--deduplication.func <func>',
    'Experimental. Deduplication algorithm for merging overlapping blocks. Possible values are: "", "penalty". "" performs 1:1 deduplication for samples; "penalty" (needs --deduplication.replica-label) suits Prometheus HA replicas.',
    '',
  );
  cmd.addOption(
    new Option(
      '--deduplication.replica-label <label>',
      'Experimental. Label to treat as a replica indicator of blocks that can be deduplicated (repeated flag; comma-separated lists too). This process is irreversible.',
    ).argParser(collect),
  );
  opt('--debug.max-compaction-level <n>', 'Maximum compaction level, default is 3: 2h, 8h, 2d, 14d', '3');
  // Thanos verifies a block's index before compacting it and halts on out-of-order label names
  // unless this is set. thanos-ts's compactor does not run that verification (its index reader
  // takes label names as written), so the flag changes nothing; it is accepted so Thanos command
  // lines (kube-thanos passes it) keep working. Hidden, as in Thanos.
  cmd.addOption(
    new Option(
      '--debug.accept-malformed-index',
      'Compaction and downsampling index verification will ignore out of order label names.',
    ).hideHelp(),
  );
  opt(
    '--compact.block-max-index-size <size>',
    "Maximum index size for the resulted block during any compaction. Note that total size is approximated in worst case. If the block that would be resulted from compaction is estimated to exceed this number, biggest source block is marked for no compaction (no-compact-mark.json is uploaded) which causes this block to be excluded from any compaction. Default is due to https://github.com/thanos-io/thanos/issues/1424, but it's overall recommended to keeps block size to some reasonable size. 0 disables the check (thanos-ts only).",
    '64GB',
  );
  opt(
    '--hash-func <func>',
    'Specify which hash function to use when calculating the hashes of produced files. If no function has been specified, it does not happen. This permits avoiding downloading some files twice albeit at some performance cost. Possible values are: "", "SHA256".',
    '',
  );
  opt(
    '--min-time <time>',
    'Start of time range limit to compact: RFC3339 time or duration relative to now (e.g. -1d).',
    '0000-01-01T00:00:00Z',
  );
  opt(
    '--max-time <time>',
    'End of time range limit to compact: RFC3339 time or duration relative to now (e.g. -1d).',
    '9999-12-31T23:59:59Z',
  );
  addSelectorRelabelFlags(cmd);
  addServingFlags(cmd, { grpc: false });
  addLogFlags(cmd);
  return cmd;
}

/**
 * Adds `thanos-ts compact` to the program. Without --wait it runs one iteration and exits
 * (non-zero when a group was quarantined or work failed), as Thanos does; on a terminal that
 * iteration shows a progress bar per step and group below the log lines.
 */
export function registerCompact(program: Command): void {
  const cmd = defineCompactCommand().action(async (o: CompactFlags) => {
    // One-shot runs on a terminal get a progress bar under the log lines.
    const bar = o.wait ? undefined : createProgressBar(process.stderr);
    const logger = loggerFromFlags(o, 'compact', bar ? (line) => bar.log(line) : undefined);
    const cfg = await parseCompactFlags(o);
    const registry = new Registry();
    const bucket = await bucketFromFlags(o, { registry });
    const compactor = createCompactor({
      ...cfg,
      bucket,
      logger,
      registry,
      ...(bar ? { onProgress: (p) => bar.update(p) } : {}),
    });
    if (cfg.wait) {
      await runUntilSignal(compactor, { logger, cleanup: () => bucket.close() });
      return;
    }
    const stop = () => void compactor.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await compactor.start();
      await compactor.done;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      bar?.done();
      await compactor.close();
      await bucket.close();
    }
  });
  program.addCommand(cmd);
}
