import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHashFunc } from '@thanos-ts/core/block';
import { parseDeletionRequests, type RewriteBlocksOptions, rewriteBlocks } from '@thanos-ts/core/compact';
import { parseRelabelConfig } from '@thanos-ts/core/store';
import { InvalidArgumentError, isULID } from '@thanos-ts/tsdb';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { collect } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';

/** Raw values of the rewrite-specific `tools bucket rewrite` flags as commander stores them. */
export interface BucketRewriteOwnFlags {
  id?: string[];
  'tmp.dir'?: string;
  hashFunc?: string;
  dryRun?: boolean;
  promBlocks?: boolean;
  deleteBlocks?: boolean;
  'rewrite.toDeleteConfig'?: string;
  'rewrite.toDeleteConfigFile'?: string;
  'rewrite.toRelabelConfig'?: string;
  'rewrite.toRelabelConfigFile'?: string;
  'rewrite.addChangeLog'?: boolean;
}

/** Every `tools bucket rewrite` flag: its own, the objstore and the log flags. */
export interface BucketRewriteFlags extends BucketRewriteOwnFlags, ObjstoreFlags, LogFlags {}

// Thanos's extflag.PathOrContent: the inline flag or the file one (not both); '' when neither.
async function pathOrContent(inline: string | undefined, file: string | undefined, name: string): Promise<string> {
  if (inline !== undefined && file !== undefined)
    throw new InvalidArgumentError(`both --${name}-file and --${name} flags set.`);
  if (inline !== undefined) return inline;
  if (file === undefined || file === '') return '';
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(
      `--${name}-file: loading YAML file ${file} for ${name}-file: ${(err as Error).message}`,
    );
  }
}

/**
 * Validates `tools bucket rewrite` flags into rewriteBlocks options with Thanos's checks and
 * messages (a bad ULID, no rewrite configuration); config errors name the flag.
 */
export async function parseBucketRewriteFlags(
  o: BucketRewriteOwnFlags,
): Promise<Omit<RewriteBlocksOptions, 'logger' | 'onChange'>> {
  if (!o.id?.length) throw new InvalidArgumentError('required flag --id not provided');
  const hashFunc = parseHashFunc(o.hashFunc ?? '');
  const opts: Omit<RewriteBlocksOptions, 'logger' | 'onChange'> = {
    ids: o.id,
    tmpDir: o['tmp.dir'] ?? join(tmpdir(), 'thanos-rewrite'),
    dryRun: o.dryRun ?? true,
    promBlocks: o.promBlocks ?? false,
    deleteBlocks: o.deleteBlocks ?? false,
    addChangeLog: o['rewrite.addChangeLog'] ?? true,
    ...(hashFunc ? { hashFunc } : {}),
  };
  const relabelText = await pathOrContent(
    o['rewrite.toRelabelConfig'],
    o['rewrite.toRelabelConfigFile'],
    'rewrite.to-relabel-config',
  );
  if (relabelText.trim() !== '') {
    opts.relabels = parseRelabelConfig(relabelText, '--rewrite.to-relabel-config');
    opts.relabelsRaw = (parseYaml(relabelText) ?? []) as Record<string, unknown>[];
  }
  const deleteText = await pathOrContent(
    o['rewrite.toDeleteConfig'],
    o['rewrite.toDeleteConfigFile'],
    'rewrite.to-delete-config',
  );
  if (deleteText.trim() !== '') opts.deletions = parseDeletionRequests(deleteText, '--rewrite.to-delete-config');
  if (opts.relabels === undefined && !opts.deletions?.length)
    throw new InvalidArgumentError('rewrite configuration should be provided');
  for (const id of opts.ids)
    if (!isULID(id)) throw new InvalidArgumentError(`id is not a valid block ULID, got: ${id}`);
  return opts;
}

/** Registers `tools bucket rewrite` under `bucket` with Thanos's flags. */
export function registerBucketRewrite(bucket: Command, print: (line: string) => void = console.log): void {
  const cmd = addObjstoreFlags(
    new Command('rewrite').description(
      "Rewrite chosen blocks in the bucket, while deleting or modifying series Resulted block has modified stats in meta.json. Additionally compaction.sources are altered to not confuse readers of meta.json. Instead thanos.rewrite section is added with useful info like old sources and deletion requests. NOTE: It's recommended to turn off compactor while doing this operation. If the compactor is running and touching exactly same block that is being rewritten, the resulted rewritten block might only cause overlap (mitigated by marking overlapping block manually for deletion) and the data you wanted to rewrite could already part of bigger block.\n\nUse FILESYSTEM type of bucket to rewrite block on disk (suitable for vanilla Prometheus) After rewrite, it's caller responsibility to delete or mark source block for deletion to avoid overlaps. WARNING: This procedure is *IRREVERSIBLE* after certain time (delete delay), so do backup your blocks first.",
    ),
  )
    .addOption(new Option('--id <ulid>', 'ID (ULID) of the blocks for rewrite (repeated flag).').argParser(collect))
    .option('--tmp.dir <dir>', 'Working directory for temporary files', join(tmpdir(), 'thanos-rewrite'))
    .option(
      '--dry-run',
      'Prints the series changes instead of doing them. Defaults to true, for user to double check. (: Pass --no-dry-run to skip this.',
      true,
    )
    .option('--no-dry-run', 'Do the rewrite (see --dry-run).')
    .option(
      '--prom-blocks',
      "If specified, we assume the blocks to be uploaded are only used with Prometheus so we don't check external labels in this case.",
      false,
    )
    .option(
      '--delete-blocks',
      'Whether to delete the original blocks after rewriting blocks successfully. Available in non dry-run mode only.',
      false,
    )
    .option(
      '--hash-func <func>',
      'Specify which hash function to use when calculating the hashes of produced files. If no function has been specified, it does not happen. This permits avoiding downloading some files twice albeit at some performance cost. Possible values are: "", "SHA256".',
      '',
    )
    .option(
      '--rewrite.to-delete-config-file <path>',
      'Path to YAML file that contains []metadata.DeletionRequest that will be applied to blocks',
    )
    .option(
      '--rewrite.to-delete-config <yaml>',
      "Alternative to 'rewrite.to-delete-config-file' flag (mutually exclusive). Content of YAML file that contains []metadata.DeletionRequest that will be applied to blocks",
    )
    .option(
      '--rewrite.to-relabel-config-file <path>',
      'Path to YAML file that contains relabel configs that will be applied to blocks',
    )
    .option(
      '--rewrite.to-relabel-config <yaml>',
      "Alternative to 'rewrite.to-relabel-config-file' flag (mutually exclusive). Content of YAML file that contains relabel configs that will be applied to blocks",
    )
    .option(
      '--rewrite.add-change-log',
      'If specified, all modifications are written to new block directory. Disable if latency is to high.',
      true,
    )
    .option('--no-rewrite.add-change-log', 'Do not write change.log (see --rewrite.add-change-log).');
  addLogFlags(cmd);
  cmd.action(async (o: BucketRewriteFlags) => {
    const opts = await parseBucketRewriteFlags(o);
    const logger = loggerFromFlags(o, 'rewrite');
    const b = await bucketFromFlags(o);
    try {
      await rewriteBlocks(b, { ...opts, logger, ...(opts.dryRun ? { onChange: print } : {}) });
    } finally {
      await b.close();
    }
  });
  bucket.addCommand(cmd);
}
