import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Bucket, createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, makeTempDir, programAvailable } from '@thanos-ts/testing';
import { readBlockMeta, writeBlockMeta } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '../block/upload.js';
import { createShipper, readShipperMeta, SHIPPER_META_FILENAME } from './shipper.js';

const LABELS = { cluster: 'c1', replica: 'r0' };

/**
 * A fault-injecting wrapper (not a fake: every call goes to the real filesystem bucket) that
 * fails uploads of names matching `failOn` while `armed` is true, and records every upload.
 */
function faultyBucket(inner: Bucket, failOn: RegExp) {
  const uploads: string[] = [];
  const state = { armed: true };
  const bucket: Bucket = {
    ...inner,
    name: inner.name,
    provider: inner.provider,
    get: (n, o) => inner.get(n, o),
    getStream: (n, o) => inner.getStream(n, o),
    getRange: (n, off, len, o) => inner.getRange(n, off, len, o),
    delete: (n, o) => inner.delete(n, o),
    exists: (n, o) => inner.exists(n, o),
    attributes: (n, o) => inner.attributes(n, o),
    iter: (d, o) => inner.iter(d, o),
    close: () => inner.close(),
    async upload(name, body, o) {
      if (state.armed && failOn.test(name)) throw new Error(`injected failure uploading ${name}`);
      uploads.push(name);
      await inner.upload(name, body, o);
    },
  };
  return { bucket, uploads, state };
}

describe.skipIf(!programAvailable('promtool'))('shipper', () => {
  let dir: string;
  let ids: string[];
  beforeAll(async () => {
    dir = await makeTempDir('shipper-');
    await blocksFromOpenMetrics({
      dir,
      startMs: 1_700_000_000_000,
      durationMs: 5 * 3600_000,
      metrics: 3,
      seriesPerMetric: 2,
    });
    ids = (await readdir(dir)).filter((n) => /^[0-9A-Z]{26}$/.test(n)).sort();
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('marks a block shipped only after meta.json is uploaded, and retries a failed one', async () => {
    expect(ids.length).toBeGreaterThanOrEqual(3);
    const { bucket, uploads, state } = faultyBucket(
      createFilesystemBucket({ directory: await makeTempDir('shipper-bkt-') }),
      new RegExp(`^${ids[1]}/meta\\.json$`),
    );
    const shipper = createShipper({ bucket, dir, labels: () => LABELS });
    await expect(shipper.sync()).rejects.toMatchObject({
      code: 'CORE_SHIPPER',
      message: expect.stringContaining(`upload ${ids[1]}: injected failure`),
    });
    // The first block is recorded; the failed one is not, and its meta.json never reached the bucket.
    expect((await readShipperMeta(join(dir, SHIPPER_META_FILENAME)))?.uploaded).toEqual([ids[0]]);
    expect(await bucket.exists(`${ids[1]}/meta.json`)).toBe(false);
    // Chunks and index went first, meta.json last, for each block.
    const first = uploads.filter((u) => u.startsWith(`${ids[0]}/`));
    expect(first.at(-1)).toBe(`${ids[0]}/meta.json`);
    expect(first.slice(0, -1).every((u) => u.includes('/chunks/') || u.endsWith('/index'))).toBe(true);
    // The upload directory was cleaned up.
    expect(await readdir(join(dir, 'thanos', 'upload'))).toEqual([]);

    state.armed = false;
    uploads.length = 0;
    const res = await shipper.sync();
    expect(res.uploaded).toEqual(ids.slice(1));
    expect(uploads.some((u) => u.startsWith(`${ids[0]}/`))).toBe(false);
    expect((await shipper.uploadedBlocks()).size).toBe(ids.length);
    expect((await shipper.sync()).uploaded).toEqual([]);
  });

  it('runs overlapping sync calls one after the other, never uploading twice', async () => {
    await rm(join(dir, SHIPPER_META_FILENAME), { force: true });
    const { bucket, uploads } = faultyBucket(
      createFilesystemBucket({ directory: await makeTempDir('shipper-bkt-') }),
      /^$/,
    );
    const shipper = createShipper({ bucket, dir, labels: () => LABELS });
    const results = await Promise.all([shipper.sync(), shipper.sync(), shipper.sync()]);
    expect(results.map((r) => r.uploaded.length)).toEqual([ids.length, 0, 0]);
    expect(uploads.filter((u) => u.endsWith('/meta.json'))).toHaveLength(ids.length);
  });

  it('skips compacted blocks unless asked, then refuses ones overlapping the bucket', async () => {
    const work = await makeTempDir('shipper-compacted-');
    await blocksFromOpenMetrics({
      dir: work,
      startMs: 1_600_000_000_000,
      durationMs: 3600_000,
      metrics: 1,
      seriesPerMetric: 1,
    });
    const blockIds = (await readdir(work)).filter((n) => /^[0-9A-Z]{26}$/.test(n)).sort();
    // Pretend Prometheus compacted them.
    for (const b of blockIds) {
      const m = await readBlockMeta(join(work, b));
      await writeBlockMeta(join(work, b), { ...m, compaction: { ...m.compaction, level: 2 } });
    }
    const id = blockIds[0] as string;
    const meta = await readBlockMeta(join(work, id));
    const bucketDir = await makeTempDir('shipper-bkt-');
    const plain = createShipper({
      bucket: createFilesystemBucket({ directory: bucketDir }),
      dir: work,
      labels: () => LABELS,
    });
    expect((await plain.sync()).uploaded).toEqual([]);
    const compacted = createShipper({
      bucket: createFilesystemBucket({ directory: bucketDir }),
      dir: work,
      labels: () => LABELS,
      uploadCompacted: true,
      metaFileName: 'other.shipper.json',
    });
    expect([...(await compacted.sync()).uploaded].sort()).toEqual(blockIds);
    // A second compacted block over the same range with the same labels is refused.
    const twin = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    await mkdir(join(work, twin, 'chunks'), { recursive: true });
    for (const f of await readdir(join(work, id, 'chunks'))) {
      await writeFile(join(work, twin, 'chunks', f), await readFile(join(work, id, 'chunks', f)));
    }
    await writeFile(join(work, twin, 'index'), await readFile(join(work, id, 'index')));
    await writeBlockMeta(join(work, twin), { ...meta, ulid: twin, compaction: { ...meta.compaction, level: 2 } });
    await expect(compacted.sync()).rejects.toThrow(`shipping compacted block ${twin} is blocked; overlap spotted`);
    await rm(work, { recursive: true, force: true });
  });

  it('rejects uploads without external labels', async () => {
    const shipper = createShipper({
      bucket: createFilesystemBucket({ directory: await makeTempDir('shipper-bkt-') }),
      dir,
      labels: () => ({}),
      metaFileName: 'nolabels.shipper.json',
    });
    await expect(shipper.sync()).rejects.toThrow(/empty external labels are not allowed/);
  });

  it('uploads a block without external labels only when allowed (Thanos UploadPromBlock)', async () => {
    const bucket = createFilesystemBucket({ directory: await makeTempDir('promblock-bkt-') });
    const id = (await readdir(dir)).find((e) => /^[0-9A-Z]{26}$/.test(e)) as string;
    await expect(uploadBlock(bucket, join(dir, id), { labels: {}, source: 'bucket.rewrite' })).rejects.toThrow(
      /empty external labels are not allowed/,
    );
    const meta = await uploadBlock(bucket, join(dir, id), {
      labels: {},
      source: 'bucket.rewrite',
      allowEmptyLabels: true,
    });
    expect(meta.thanos?.source).toBe('bucket.rewrite');
    expect(await bucket.exists(`${id}/meta.json`)).toBe(true);
  });
});
