import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadBlock } from '@thanos-ts/core/block';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir } from '@thanos-ts/testing';
import { Labels, openBlock, parseBlockMeta, writeBlock } from '@thanos-ts/tsdb';
import { Command } from 'commander';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { registerTools } from './tools.js';
import { registerBucketTools } from './tools-bucket.js';
import { type BucketRewriteOwnFlags, parseBucketRewriteFlags, registerBucketRewrite } from './tools-bucket-rewrite.js';

const ID = ulid();
const DEL = '- matchers: \'{job="a"}\'';

describe('tools bucket rewrite flags', () => {
  it.each<[string, BucketRewriteOwnFlags, RegExp]>([
    ['no --id', { 'rewrite.toDeleteConfig': DEL }, /required flag --id not provided/],
    ['no configuration', { id: [ID] }, /^rewrite configuration should be provided$/],
    ['a bad ULID', { id: ['nope'], 'rewrite.toDeleteConfig': DEL }, /id is not a valid block ULID, got: nope/],
    ['a bad deletion', { id: [ID], 'rewrite.toDeleteConfig': "- matchers: '{job='" }, /--rewrite.to-delete-config:/],
    [
      'a bad relabel rule',
      { id: [ID], 'rewrite.toRelabelConfig': '- action: bogus' },
      /--rewrite.to-relabel-config: rule 0/,
    ],
    [
      'both file and content',
      { id: [ID], 'rewrite.toDeleteConfig': DEL, 'rewrite.toDeleteConfigFile': '/x' },
      /both --rewrite.to-delete-config-file and --rewrite.to-delete-config flags set/,
    ],
    [
      'a missing file',
      { id: [ID], 'rewrite.toRelabelConfigFile': '/nonexistent/r.yaml' },
      /--rewrite.to-relabel-config-file: loading YAML file \/nonexistent\/r.yaml/,
    ],
    ['a bad hash function', { id: [ID], 'rewrite.toDeleteConfig': DEL, hashFunc: 'MD5' }, /--hash-func/],
  ])('refuses %s', async (_, flags, err) => {
    await expect(parseBucketRewriteFlags(flags)).rejects.toThrow(err);
  });

  it('defaults to a dry run with a change log', async () => {
    const o = await parseBucketRewriteFlags({ id: [ID], 'rewrite.toDeleteConfig': DEL });
    expect([o.dryRun, o.addChangeLog, o.deleteBlocks, o.promBlocks]).toEqual([true, true, false, false]);
    expect(o.deletions?.[0]?.matchers.map(String)).toEqual(['job="a"']);
  });
});

describe('tools bucket rewrite through the command line', () => {
  async function setup() {
    const dir = await makeTempDir('rewrite-cli-');
    const bucket = createFilesystemBucket({ directory: join(dir, 'bucket') });
    const ts = Float64Array.from({ length: 10 }, (_, i) => 1_000_000 + i * 15_000);
    const block = await writeBlock(
      ['a', 'b'].map((job, k) => ({
        labels: Labels.from({ __name__: 'up', job }),
        timestamps: ts,
        values: ts.map((_, i) => k * 100 + i),
      })),
      { outDir: join(dir, 'local') },
    );
    const id = block?.ulid as string;
    await uploadBlock(bucket, block?.dir as string, { labels: { cluster: 'c1' }, source: 'sidecar' });
    const objstore = `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${join(dir, 'bucket')}`;
    return { dir, bucket, id, objstore };
  }

  it('prints the changes of a dry run and writes nothing', async () => {
    const { dir, bucket, id, objstore } = await setup();
    const lines: string[] = [];
    const cmd = new Command('bucket');
    registerBucketRewrite(cmd, (l) => lines.push(l));
    await cmd.parseAsync([
      'node',
      'bucket',
      'rewrite',
      objstore,
      `--id=${id}`,
      `--tmp.dir=${join(dir, 'tmp')}`,
      `--rewrite.to-delete-config=${DEL}`,
      '--log.level=error',
    ]);
    expect(lines).toEqual(['Deleted {__name__="up", job="a"} [{1000000 1135000}]']);
    const names: string[] = [];
    for await (const n of bucket.iter('')) names.push(n);
    expect(names).toEqual([`${id}/`]);
  });

  it('--no-dry-run uploads the rewritten block and --delete-blocks marks the source', async () => {
    const { dir, bucket, id, objstore } = await setup();
    const relabelFile = join(dir, 'relabel.yaml');
    await writeFile(relabelFile, '- target_label: team\n  replacement: x\n');
    const program = new Command('thanos-ts');
    registerTools([registerBucketTools])(program);
    await program.parseAsync([
      'node',
      'thanos-ts',
      'tools',
      'bucket',
      'rewrite',
      objstore,
      `--id=${id}`,
      `--tmp.dir=${join(dir, 'tmp')}`,
      `--rewrite.to-delete-config=${DEL}`,
      `--rewrite.to-relabel-config-file=${relabelFile}`,
      '--no-dry-run',
      '--delete-blocks',
      '--hash-func=SHA256',
      '--log.level=error',
    ]);
    const ids: string[] = [];
    for await (const n of bucket.iter('')) ids.push(n.replace(/\/$/, ''));
    const newId = ids.find((x) => x !== id) as string;
    expect(ids).toHaveLength(2);
    expect(await bucket.exists(`${id}/deletion-mark.json`)).toBe(true);
    const meta = parseBlockMeta(Buffer.from(await bucket.get(`${newId}/meta.json`)).toString('utf8'), 'm');
    expect(meta.thanos?.source).toBe('bucket.rewrite');
    expect(meta.thanos?.files?.find((f) => f.rel_path === 'index')?.hash?.hashFunc).toBe('SHA256');
    const local = await openBlock(join(dir, 'tmp', newId));
    try {
      expect(await local.labelValues('job')).toEqual(['b']);
      expect(await local.labelValues('team')).toEqual(['x']);
      expect([meta.stats.numSeries, meta.stats.numSamples]).toEqual([1, 10]);
    } finally {
      await local.close();
    }
  });
});
