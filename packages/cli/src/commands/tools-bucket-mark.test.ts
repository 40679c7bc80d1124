import {
  DELETION_MARK_FILENAME,
  NO_COMPACT_MARK_FILENAME,
  type NoCompactMark,
  readMarker,
} from '@thanos-ts/core/compact';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir } from '@thanos-ts/testing';
import { Command } from 'commander';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { registerTools } from './tools.js';
import { registerBucketTools } from './tools-bucket.js';
import { parseBucketMarkFlags } from './tools-bucket-mark.js';

const base = { 'log.level': 'error', 'log.format': 'logfmt' };

describe('tools bucket mark', () => {
  it.each([
    [{ marker: DELETION_MARK_FILENAME, details: 'x' }, /required flag --id not provided/],
    [{ id: [ulid()], details: 'x' }, /required flag --marker not provided/],
    [{ id: [ulid()], marker: 'foo.json', details: 'x' }, /--marker: enum value must be one of/],
    [{ id: ['01BAD'], marker: DELETION_MARK_FILENAME, details: 'x' }, /block.id is not a valid UUID, got: 01BAD/],
    [{ id: [ulid()], marker: DELETION_MARK_FILENAME }, /required flag --details not provided/],
  ])('refuses %j', (flags, err) => {
    expect(() => parseBucketMarkFlags({ ...base, ...flags })).toThrow(err);
  });

  it('--remove needs no details', () => {
    const id = ulid();
    expect(parseBucketMarkFlags({ ...base, id: [id], marker: DELETION_MARK_FILENAME, remove: true })).toEqual({
      ids: [id],
      marker: DELETION_MARK_FILENAME,
      details: '',
      remove: true,
    });
  });

  it('marks and unmarks blocks through the command line', async () => {
    const dir = await makeTempDir('tools-mark-');
    const bucket = createFilesystemBucket({ directory: dir });
    const [a, b] = [ulid(), ulid()];
    const cfg = `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${dir}`;
    const run = (...args: string[]) => {
      const program = new Command('thanos-ts');
      registerTools([registerBucketTools])(program);
      return program.parseAsync(['node', 'thanos-ts', 'tools', 'bucket', 'mark', cfg, '--log.level=error', ...args]);
    };
    await run('--id', a, '--id', b, '--marker', NO_COMPACT_MARK_FILENAME, '--details', 'keep it');
    expect((await readMarker<NoCompactMark>(bucket, a, NO_COMPACT_MARK_FILENAME))?.reason).toBe('manual');
    expect((await readMarker<NoCompactMark>(bucket, b, NO_COMPACT_MARK_FILENAME))?.details).toBe('keep it');
    await run('--id', a, '--marker', NO_COMPACT_MARK_FILENAME, '--remove');
    expect(await bucket.exists(`${a}/${NO_COMPACT_MARK_FILENAME}`)).toBe(false);
    expect(await bucket.exists(`${b}/${NO_COMPACT_MARK_FILENAME}`)).toBe(true);
    await run('--id', a, '--marker', DELETION_MARK_FILENAME, '--details', 'gone');
    expect(await bucket.exists(`${a}/${DELETION_MARK_FILENAME}`)).toBe(true);
  });
});
