// The filesystem bucket keeps files open between ranged reads; these tests check that a kept file
// never serves bytes of an object that was replaced or deleted, and that files are closed.
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@thanos-ts/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Bucket, createFilesystemBucket } from '../src/index.js';

/** Files under `dir` this process holds open (Linux /proc; undefined elsewhere). */
function openFilesUnder(dir: string): string[] | undefined {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return undefined;
  }
  const out: string[] = [];
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // Closed between readdir and readlink.
    }
  }
  return out.sort();
}

const text = (b: Uint8Array) => Buffer.from(b).toString();

describe('filesystem bucket: files kept open for ranged reads', () => {
  let dir: string;
  let bucket: Bucket;
  beforeEach(async () => {
    dir = await makeTempDir('objstore-fs-open-');
    bucket = createFilesystemBucket({ directory: dir });
  });
  afterEach(async () => {
    await bucket.close();
    await rm(dir, { recursive: true, force: true });
  });

  // Each case reads through a kept file, changes the object, then reads again.
  it.each([
    {
      name: 'replaced through the bucket',
      change: (b: Bucket) => b.upload('blk/chunks/000001', Buffer.from('second version!!')),
      want: 'second',
    },
    {
      name: 'replaced by another process (rename over it)',
      change: async () => {
        await writeFile(join(dir, 'other.tmp'), 'second version!!');
        await rename(join(dir, 'other.tmp'), join(dir, 'blk', 'chunks', '000001'));
      },
      want: 'second',
    },
    {
      name: 'rewritten in place, same size',
      change: () => writeFile(join(dir, 'blk', 'chunks', '000001'), 'FIRST version!!!'),
      want: 'FIRST ',
    },
    {
      name: 'rewritten in place, shorter',
      change: () => writeFile(join(dir, 'blk', 'chunks', '000001'), 'short'),
      want: 'short',
    },
  ])('$name: the next read gives the new bytes', async ({ change, want }) => {
    await bucket.upload('blk/chunks/000001', Buffer.from('first version!!!'));
    expect(text(await bucket.getRange('blk/chunks/000001', 0, 6))).toBe('first ');
    expect(text(await bucket.getRange('blk/chunks/000001', 6, 7))).toBe('version');
    await change(bucket);
    expect(text(await bucket.getRange('blk/chunks/000001', 0, 6))).toBe(want);
  });

  it.each([
    { name: 'through the bucket', remove: (b: Bucket) => b.delete('blk/index') },
    { name: 'by another process', remove: () => unlink(join(dir, 'blk', 'index')) },
  ])('deleted $name: the next read is not found, and the file is closed', async ({ remove }) => {
    await bucket.upload('blk/index', Buffer.from('index bytes'));
    expect(text(await bucket.getRange('blk/index', 0, 5))).toBe('index');
    await remove(bucket);
    await expect(bucket.getRange('blk/index', 0, 5)).rejects.toMatchObject({ code: 'OBJSTORE_NOT_FOUND' });
    // The unlinked file shows as "<path> (deleted)" while a descriptor still holds it.
    const open = openFilesUnder(dir);
    if (open) expect(open).toEqual([]);
  });

  it('a directory put where the object was reads as not found', async () => {
    await bucket.upload('a/b', Buffer.from('bytes'));
    expect(text(await bucket.getRange('a/b', 0, 5))).toBe('bytes');
    await unlink(join(dir, 'a', 'b'));
    await mkdir(join(dir, 'a', 'b', 'c'), { recursive: true });
    await expect(bucket.getRange('a/b', 0, 5)).rejects.toMatchObject({ code: 'OBJSTORE_NOT_FOUND' });
  });

  it('keeps one open file per object for repeated and concurrent reads, and closes them on close()', async () => {
    await bucket.upload('blk/chunks/000001', Buffer.alloc(4096, 1));
    await bucket.upload('blk/chunks/000002', Buffer.alloc(4096, 2));
    for (let i = 0; i < 3; i++) {
      const got = await Promise.all(
        Array.from({ length: 8 }, (_, k) => bucket.getRange(`blk/chunks/00000${1 + (k % 2)}`, k * 100, 100)),
      );
      for (const [k, b] of got.entries()) expect(new Uint8Array(b)).toEqual(new Uint8Array(100).fill(1 + (k % 2)));
    }
    const open = openFilesUnder(dir);
    if (open) expect(open).toEqual([join(dir, 'blk', 'chunks', '000001'), join(dir, 'blk', 'chunks', '000002')]);
    await bucket.close();
    if (open) expect(openFilesUnder(dir)).toEqual([]);
    // Reads after close still work; they just keep nothing open.
    expect(new Uint8Array(await bucket.getRange('blk/chunks/000002', 0, 3))).toEqual(new Uint8Array(3).fill(2));
    if (open) expect(openFilesUnder(dir)).toEqual([]);
  });

  it.each([
    { name: 'maxOpenFiles 2', opts: { maxOpenFiles: 2 }, want: 2 },
    { name: 'maxOpenFiles 0 (no kept files)', opts: { maxOpenFiles: 0 }, want: 0 },
  ])('$name: at most that many files stay open', async ({ opts, want }) => {
    const b = createFilesystemBucket({ directory: dir, ...opts });
    try {
      for (let i = 0; i < 5; i++) await b.upload(`o${i}`, Buffer.from(`object ${i}`));
      for (let i = 0; i < 5; i++) expect(text(await b.getRange(`o${i}`, 0, 8))).toBe(`object ${i}`);
      // A file read without being kept is closed after the read resolves: wait for those closes.
      const wanted = Array.from({ length: want }, (_, k) => join(dir, `o${5 - want + k}`));
      let open = openFilesUnder(dir);
      for (let i = 0; i < 100 && open && open.length > want; i++) {
        await new Promise((r) => setTimeout(r, 10));
        open = openFilesUnder(dir);
      }
      if (open) expect(open).toEqual(wanted);
    } finally {
      await b.close();
    }
  });

  it('closes files idle for openFileIdleMs', async () => {
    const b = createFilesystemBucket({ directory: dir, openFileIdleMs: 20 });
    try {
      await b.upload('o', Buffer.from('bytes'));
      expect(text(await b.getRange('o', 0, 5))).toBe('bytes');
      const open = openFilesUnder(dir);
      if (!open) return;
      expect(open).toEqual([join(dir, 'o')]);
      // The sweep runs every openFileIdleMs; wait for the file to be closed by it.
      for (let i = 0; i < 100 && (openFilesUnder(dir) ?? []).length > 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(openFilesUnder(dir)).toEqual([]);
      expect(text(await b.getRange('o', 1, 3))).toBe('yte');
    } finally {
      await b.close();
    }
  });
});
