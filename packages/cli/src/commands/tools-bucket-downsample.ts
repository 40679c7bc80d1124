import { parseHashFunc } from '@thanos-ts/core/block';
import { type BucketDownsamplerOptions, createBucketDownsampler } from '@thanos-ts/core/compact';
import { Command, Option } from 'commander';
import { Registry } from 'prom-client';
import { durationFlag, intFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';
import { addServingFlags, type ServingFlags, servingFromFlags } from '../flags/serving.js';
import { definedOnly, type FlagsFor } from '../flags/typed.js';
import { runUntilSignal } from '../run.js';

/** Raw values of `tools bucket downsample` flags as commander stores them. */
export interface BucketDownsampleFlags extends ObjstoreFlags, ServingFlags, LogFlags {
  dataDir: string;
  waitInterval: string;
  'downsample.concurrency': string;
  blockFilesConcurrency: string;
  hashFunc: string;
}

/** Options no flag sets: the bucket (from --objstore.*) and in-process objects. */
type NotDownsampleFlags = 'bucket' | 'logger' | 'registry' | 'now' | 'blockMetaFetchConcurrency';

/** Everything `tools bucket downsample` resolved from its flags. */
export type BucketDownsampleConfig = Omit<BucketDownsamplerOptions, NotDownsampleFlags> & { dataDir: string };

/** Validates `tools bucket downsample` flags; errors name the flag. */
export function parseBucketDownsampleFlags(o: BucketDownsampleFlags): BucketDownsampleConfig {
  const flags: FlagsFor<BucketDownsamplerOptions, NotDownsampleFlags> = {
    ...servingFromFlags(o),
    dataDir: o.dataDir,
    waitIntervalMs: durationFlag(o.waitInterval, 'wait-interval'),
    downsampleConcurrency: intFlag(o['downsample.concurrency'], 'downsample.concurrency', 1),
    blockFilesConcurrency: intFlag(o.blockFilesConcurrency, 'block-files-concurrency', 1),
    hashFunc: parseHashFunc(o.hashFunc),
    // The downsampler serves HTTP only.
    grpcAddress: undefined,
    grpcGracePeriodMs: undefined,
    grpcServerTLS: undefined,
  };
  if (!(flags.waitIntervalMs !== undefined && flags.waitIntervalMs > 0))
    throw new Error('--wait-interval: want a duration > 0');
  return { ...definedOnly(flags), dataDir: o.dataDir };
}

/** Defines `tools bucket downsample` with Thanos's flags and defaults. */
export function defineBucketDownsampleCommand(): Command {
  const cmd = new Command('downsample').description('Continuously downsamples blocks in an object store bucket.');
  addObjstoreFlags(cmd);
  cmd.addOption(new Option('--wait-interval <duration>', 'Wait interval between downsample runs.').default('5m'));
  cmd.addOption(
    new Option('--downsample.concurrency <n>', 'Number of goroutines to use when downsampling blocks.').default('1'),
  );
  cmd.addOption(
    new Option(
      '--block-files-concurrency <n>',
      'Number of goroutines to use when fetching/uploading block files from object storage.',
    ).default('1'),
  );
  cmd.addOption(
    new Option('--data-dir <dir>', 'Data directory in which to cache blocks and process downsamplings.').default(
      './data',
    ),
  );
  cmd.addOption(
    new Option(
      '--hash-func <func>',
      'Specify which hash function to use when calculating the hashes of produced files. If no function has been specified, it does not happen. This permits avoiding downloading some files twice albeit at some performance cost. Possible values are: "", "SHA256".',
    ).default(''),
  );
  addServingFlags(cmd, { grpc: false });
  addLogFlags(cmd);
  return cmd;
}

/** Registers `tools bucket downsample` under `bucket`: runs until SIGINT/SIGTERM, as Thanos's. */
export function registerBucketDownsample(bucket: Command): void {
  const cmd = defineBucketDownsampleCommand().action(async (o: BucketDownsampleFlags) => {
    const logger = loggerFromFlags(o, 'downsample');
    const cfg = parseBucketDownsampleFlags(o);
    const registry = new Registry();
    const b = await bucketFromFlags(o, { registry });
    const downsampler = createBucketDownsampler({ ...cfg, bucket: b, logger, registry });
    await runUntilSignal(downsampler, { logger, cleanup: () => b.close() });
  });
  bucket.addCommand(cmd);
}
