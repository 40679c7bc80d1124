import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileHash, uploadBlock } from '@thanos-ts/core/block';
import {
  createCompactor,
  downloadBlock,
  INDEX_SIZE_EXCEEDING_REASON,
  NO_COMPACT_MARK_FILENAME,
  type NoCompactMark,
  readMarker,
} from '@thanos-ts/core/compact';
import { type Bucket, createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir } from '@thanos-ts/testing';
import { type BlockMeta, Labels, parseBlockMeta, writeBlock } from '@thanos-ts/tsdb';
import { beforeEach, describe, expect, it } from 'vitest';

const H = 3_600_000;
// 8h-aligned, so four 2h blocks fill one level-2 window.
const T0 = 1_700_006_400_000;
const LABELS = { cluster: 'eu' };

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

/** A real 2h block at window `i` with `series` series (more series, bigger index). */
async function makeBlock(root: string, i: number, series: number): Promise<{ dir: string; meta: BlockMeta }> {
  const minTime = T0 + i * 2 * H;
  const s = Array.from({ length: series }, (_, k) => ({
    labels: Labels.from({ __name__: 'm', k: String(k).padStart(4, '0') }),
    timestamps: Array.from({ length: 8 }, (_, j) => minTime + j * 15 * 60_000),
    values: Array.from({ length: 8 }, (_, j) => j + k),
  }));
  const b = await writeBlock(s, {
    outDir: root,
    minTime,
    maxTime: minTime + 2 * H,
    thanos: { labels: LABELS, downsample: { resolution: 0 }, source: 'test' },
  });
  if (!b) throw new Error('empty block');
  return { dir: b.dir, meta: b.meta };
}

async function liveMetas(bucket: Bucket): Promise<BlockMeta[]> {
  const out: BlockMeta[] = [];
  for await (const n of bucket.iter('')) {
    const id = n.replace(/\/$/, '');
    if (!(await bucket.exists(`${id}/meta.json`)) || (await bucket.exists(`${id}/deletion-mark.json`))) continue;
    out.push(parseBlockMeta(new TextDecoder().decode(await bucket.get(`${id}/meta.json`))));
  }
  return out.sort((a, b) => a.minTime - b.minTime);
}

describe('--hash-func', () => {
  let root: string;
  let bucket: Bucket;
  beforeEach(async () => {
    root = await makeTempDir('compact-hash-');
    bucket = createFilesystemBucket({ directory: join(root, 'bucket') });
  });

  it('uploadBlock writes Thanos SHA256 hashes of the chunks and index (not meta.json) in thanos.files', async () => {
    const b = await makeBlock(join(root, 'local'), 0, 20);
    const up = await uploadBlock(bucket, b.dir, { labels: LABELS, source: 'test', hashFunc: 'SHA256' });
    const raw = new TextDecoder().decode(await bucket.get(`${up.ulid}/meta.json`));
    const files = parseBlockMeta(raw).thanos?.files ?? [];
    expect(files.map((f) => f.rel_path)).toEqual(['chunks/000001', 'index', 'meta.json']);
    for (const f of files) {
      if (f.rel_path === 'meta.json') expect(f.hash).toBeUndefined();
      else expect(fileHash(f)).toEqual({ hashFunc: 'SHA256', value: await sha256(join(b.dir, f.rel_path)) });
    }
    // Thanos's JSON keys (metadata.ObjectHash).
    expect(raw).toMatch(/"hash":\s*\{\s*"hashFunc":\s*"SHA256",\s*"value":\s*"[0-9a-f]{64}"\s*\}/);
    const plain = await uploadBlock(createFilesystemBucket({ directory: join(root, 'b2') }), b.dir, {
      labels: LABELS,
      source: 'test',
    });
    expect(plain.thanos?.files?.every((f) => f.hash === undefined)).toBe(true);
  });

  it('downloadBlock reuses local files whose hash matches and fetches the rest', async () => {
    const b = await makeBlock(join(root, 'local'), 0, 20);
    const up = await uploadBlock(bucket, b.dir, { labels: LABELS, source: 'test', hashFunc: 'SHA256' });
    const fetched: string[] = [];
    const counting: Bucket = new Proxy(bucket, {
      get(t, p, r) {
        if (p === 'getStream')
          return (name: string, o?: object) => {
            fetched.push(name);
            return t.getStream(name, o);
          };
        const v = Reflect.get(t, p, r);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const dir = join(root, 'dl');
    await downloadBlock(counting, up.ulid, dir, 2);
    expect(fetched.sort()).toEqual([`${up.ulid}/chunks/000001`, `${up.ulid}/index`]);
    // A crash mid-download: meta.json missing, the index damaged, a stray file.
    await rm(join(dir, 'meta.json'));
    await writeFile(join(dir, 'index'), 'garbage');
    await writeFile(join(dir, 'stray'), 'x');
    fetched.length = 0;
    await downloadBlock(counting, up.ulid, dir, 2);
    expect(fetched).toEqual([`${up.ulid}/index`]);
    expect((await readdir(dir)).sort()).toEqual(['chunks', 'index', 'meta.json']);
    expect(await sha256(join(dir, 'index'))).toBe(await sha256(join(b.dir, 'index')));
  });

  it('the compactor puts hashes on the blocks it uploads', async () => {
    for (let i = 0; i < 5; i++) {
      const b = await makeBlock(join(root, 'local'), i, 10);
      await uploadBlock(bucket, b.dir, { labels: LABELS, source: 'test', meta: b.meta });
    }
    const c = createCompactor({
      bucket,
      dataDir: join(root, 'data'),
      consistencyDelayMs: 0,
      deleteDelayMs: 0,
      downsamplingDisable: true,
      hashFunc: 'SHA256',
    });
    const r = await c.runOnce();
    expect(r.compacted).toHaveLength(1);
    const out = (await liveMetas(bucket)).find((m) => m.ulid === r.compacted[0]);
    const hashed = (out?.thanos?.files ?? []).filter((f) => fileHash(f)?.hashFunc === 'SHA256').map((f) => f.rel_path);
    expect(hashed).toEqual(['chunks/000001', 'index']);
    await c.close();
  });
});

describe('--compact.block-max-index-size', () => {
  it("marks the biggest source no-compact and compacts the rest when the plan's indexes could exceed the limit", async () => {
    const root = await makeTempDir('compact-index-size-');
    const bucket = createFilesystemBucket({ directory: join(root, 'bucket') });
    // Four blocks of one 8h window (the second has the biggest index) and a fifth, newest one the
    // planner leaves alone.
    const counts = [10, 200, 20, 30, 10];
    const metas: BlockMeta[] = [];
    for (const [i, n] of counts.entries()) {
      const b = await makeBlock(join(root, 'local'), i, n);
      metas.push(await uploadBlock(bucket, b.dir, { labels: LABELS, source: 'test', meta: b.meta }));
    }
    const indexSize = (m: BlockMeta) => m.thanos?.files?.find((f) => f.rel_path === 'index')?.size_bytes ?? 0;
    const window = metas.slice(0, 4);
    const total = window.reduce((s, m) => s + indexSize(m), 0);
    // 85% of the limit is one byte more than the window without its biggest block: the four
    // together exceed it, the other three fit.
    const biggest = window[1] as BlockMeta;
    const limit = Math.ceil((total - indexSize(biggest) + 1) / 0.85);
    const c = createCompactor({
      bucket,
      dataDir: join(root, 'data'),
      consistencyDelayMs: 0,
      deleteDelayMs: 0,
      downsamplingDisable: true,
      blockMaxIndexSizeBytes: limit,
    });
    const r = await c.runOnce();
    await c.close();
    expect(r.errors).toEqual([]);
    expect(r.halted).toEqual([]);
    const mark = await readMarker<NoCompactMark>(bucket, biggest.ulid, NO_COMPACT_MARK_FILENAME);
    expect(mark?.reason).toBe(INDEX_SIZE_EXCEEDING_REASON);
    expect(mark?.details).toBe(
      `largeTotalIndexSizeFilter: Total compacted block's index size could exceed: ${limit} with this block. See https://github.com/thanos-io/thanos/issues/1424`,
    );
    expect(r.compacted).toHaveLength(1);
    const live = await liveMetas(bucket);
    const compacted = live.find((m) => m.ulid === r.compacted[0]);
    // The marked block splits the window (Thanos's planner never compacts across a no-compact
    // block): the two blocks after it are merged, the one before it waits for more.
    expect(compacted?.compaction.sources?.sort()).toEqual([window[2], window[3]].map((m) => m?.ulid).sort());
    // The marked block stays as it is, and the compactor is not degraded by it.
    expect(live.map((m) => m.ulid)).toContain(biggest.ulid);
    expect(c.status().healthy).toBe(true);
  });
});
