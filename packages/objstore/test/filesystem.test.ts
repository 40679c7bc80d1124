import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeBucket } from '@thanos-ts/objstore/testing';
import { makeTempDir } from '@thanos-ts/testing';
import { describe, expect, it } from 'vitest';
import { createFilesystemBucket, FILESYSTEM_TEMP_DIR, ObjstoreInvalidArgumentError } from '../src/index.js';

describeBucket('filesystem', async () => {
  const dir = await makeTempDir('objstore-fs-');
  return {
    bucket: createFilesystemBucket({ directory: dir }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const n of it) out.push(n);
  return out;
}

describe('filesystem bucket specifics', () => {
  it('never lists in-flight temp files and never shows a half-written object', async () => {
    const dir = await makeTempDir('objstore-fs-');
    try {
      const b = createFilesystemBucket({ directory: dir });
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const upload = b.upload(
        'blk/chunks/000001',
        (async function* () {
          yield new Uint8Array(1000).fill(1);
          await gate; // Hold the upload open half-way.
        })(),
      );
      // While the upload is in flight, its bytes exist only as a temp file.
      for (let i = 0; i < 50 && (await readdir(join(dir, FILESYSTEM_TEMP_DIR)).catch(() => [])).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect((await readdir(join(dir, FILESYSTEM_TEMP_DIR))).length).toBe(1);
      expect(await collect(b.iter('', { recursive: true }))).toEqual([]);
      expect(await collect(b.iter(''))).toEqual([]);
      expect(await b.exists('blk/chunks/000001')).toBe(false);
      release();
      await upload;
      expect((await b.attributes('blk/chunks/000001')).size).toBe(1000);
      expect(await collect(b.iter(''))).toEqual(['blk/']);
      expect(await readdir(join(dir, FILESYSTEM_TEMP_DIR))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('removes the temp file when the upload body fails', async () => {
    const dir = await makeTempDir('objstore-fs-');
    try {
      const b = createFilesystemBucket({ directory: dir });
      const failing = (async function* () {
        yield new Uint8Array(10);
        throw new Error('source broke');
      })();
      await expect(b.upload('x/y', failing)).rejects.toThrow('source broke');
      expect(await readdir(join(dir, FILESYSTEM_TEMP_DIR))).toEqual([]);
      expect(await b.exists('x/y')).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('skips empty directories, cleans up emptied ones and refuses names escaping the root', async () => {
    const dir = await makeTempDir('objstore-fs-');
    try {
      const b = createFilesystemBucket({ directory: dir });
      await mkdir(join(dir, 'empty', 'deeper'), { recursive: true });
      await mkdir(join(dir, 'emptier'));
      await writeFile(join(dir, 'plain'), 'p');
      expect(await collect(b.iter(''))).toEqual(['empty/', 'plain']); // Thanos: only direct emptiness is checked
      await b.upload('a/b/c', new Uint8Array(1));
      await b.delete('a/b/c');
      expect(await readdir(dir)).not.toContain('a');
      await expect(b.get('../etc/passwd')).rejects.toBeInstanceOf(ObjstoreInvalidArgumentError);
      await expect(b.upload('a//b', new Uint8Array(1))).rejects.toBeInstanceOf(ObjstoreInvalidArgumentError);
      await expect(collect(b.iter('../'))).rejects.toBeInstanceOf(ObjstoreInvalidArgumentError);
      await expect(b.get(`${FILESYSTEM_TEMP_DIR}/x`)).rejects.toBeInstanceOf(ObjstoreInvalidArgumentError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
