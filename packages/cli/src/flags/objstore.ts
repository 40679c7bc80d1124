import { type Bucket, type CreateBucketOptions, createBucket, loadBucketConfig } from '@thanos-ts/objstore';
import { type Command, Option } from 'commander';

/** Parsed values of the objstore flags, as commander stores them. */
export interface ObjstoreFlags {
  'objstore.configFile'?: string;
  'objstore.config'?: string;
}

/**
 * Adds Thanos's `--objstore.config-file` and `--objstore.config` flags (one of them is required
 * when the command runs; both at once is an error). Used by every command that talks to a bucket.
 */
export function addObjstoreFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--objstore.config-file <path>',
        'Path to YAML file that contains object store configuration. See format details: docs/storage.md',
      ),
    )
    .addOption(
      new Option(
        '--objstore.config <yaml>',
        "Alternative to 'objstore.config-file' flag (mutually exclusive). Content of YAML file that contains object store configuration. See format details: docs/storage.md",
      ),
    );
}

/**
 * Opens the bucket the objstore flags describe, wrapped with retries (and Thanos's metrics when
 * a registry is given). Config problems surface as one-line `ObjstoreConfigError`s.
 */
export async function bucketFromFlags(
  flags: ObjstoreFlags,
  opts: Pick<CreateBucketOptions, 'registry'> = {},
): Promise<Bucket> {
  const config = await loadBucketConfig({ configFile: flags['objstore.configFile'], config: flags['objstore.config'] });
  return createBucket(config, { registry: opts.registry });
}
