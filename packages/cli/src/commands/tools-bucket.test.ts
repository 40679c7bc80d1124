import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Bucket, createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, makeTempDir, programAvailable } from '@thanos-ts/testing';
import { type BlockMeta, parseBlockMeta, serializeBlockMeta } from '@thanos-ts/tsdb';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerTools } from './tools.js';
import {
  bucketInspect,
  bucketLs,
  bucketUploadBlocks,
  bucketVerify,
  findOverlaps,
  parseLabelFlags,
  registerBucketTools,
} from './tools-bucket.js';

const id = (n: number) => `01JAAAAAAAAAAAAAAAAAAAAAA${n}`;
const H = 3600_000;
const T0 = 1_700_000_000_000;
const enc = (s: string) => new TextEncoder().encode(s);

function meta(
  n: number,
  minTime: number,
  maxTime: number,
  over: Partial<BlockMeta> & { labels?: Record<string, string>; resolution?: number } = {},
): BlockMeta {
  return {
    ulid: id(n),
    minTime,
    maxTime,
    stats: { numSeries: 1234, numSamples: 5_678_901, numChunks: 4321 },
    compaction: { level: 1, sources: [id(n)] },
    version: 1,
    thanos: {
      labels: over.labels ?? { cluster: 'eu', replica: 'a' },
      downsample: { resolution: over.resolution ?? 0 },
      source: 'sidecar',
      files: [
        { rel_path: 'chunks/000001', size_bytes: 3 },
        { rel_path: 'index', size_bytes: 5 },
        { rel_path: 'meta.json' },
      ],
    },
    ...over,
  };
}

async function putBlock(b: Bucket, m: BlockMeta, opts: { index?: boolean; chunkBytes?: number; meta?: boolean } = {}) {
  await b.upload(`${m.ulid}/chunks/000001`, new Uint8Array(opts.chunkBytes ?? 3));
  if (opts.index !== false) await b.upload(`${m.ulid}/index`, new Uint8Array(5));
  if (opts.meta !== false) await b.upload(`${m.ulid}/meta.json`, enc(serializeBlockMeta(m)));
}

/** Just `thanos-ts tools bucket …`, so these tests do not depend on other components' commands. */
function buildProgram(): Command {
  const program = new Command('thanos-ts');
  registerTools([registerBucketTools])(program);
  return program;
}

describe('tools bucket commands on a filesystem bucket', () => {
  let dir: string;
  let bucket: Bucket;
  let out: string[];
  const print = (l: string) => out.push(l);
  beforeEach(async () => {
    dir = await makeTempDir('tools-bucket-');
    bucket = createFilesystemBucket({ directory: join(dir, 'bucket') });
    out = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ls prints ULIDs, the wide format and JSON metas; --exclude-delete hides marked blocks', async () => {
    await putBlock(bucket, meta(2, T0 + 2 * H, T0 + 4 * H));
    await putBlock(bucket, meta(1, T0, T0 + 2 * H));
    await bucket.upload('debug/metas/x.json', enc('{}')); // not a block
    expect(await bucketLs(bucket, {}, print)).toBe(2);
    expect(out).toEqual([id(1), id(2)]);
    out = [];
    await bucketLs(bucket, { output: 'wide' }, print);
    expect(out[0]).toBe(
      `${id(1)} -- 2023-11-14T22:13:20Z - 2023-11-15T00:13:20Z Diff: 2h0m0s, Compaction: 1, Downsample: 0, Source: sidecar`,
    );
    out = [];
    await bucketLs(bucket, { output: 'json' }, print);
    expect(parseBlockMeta(out[1] as string).thanos?.labels).toEqual({ cluster: 'eu', replica: 'a' });
    await bucket.upload(`${id(1)}/deletion-mark.json`, enc('{}'));
    out = [];
    await bucketLs(bucket, { excludeDelete: true }, print);
    expect(out).toEqual([id(2)]);
    await expect(bucketLs(bucket, { output: '{{.ULID}}' }, print)).rejects.toThrow(/not supported/);
  });

  it('inspect prints a filtered, sorted table with Thanos columns', async () => {
    await putBlock(bucket, meta(1, T0 + 2 * H, T0 + 4 * H));
    await putBlock(bucket, meta(2, T0, T0 + 2 * H));
    await putBlock(bucket, meta(3, T0, T0 + 48 * H, { labels: { cluster: 'us' }, resolution: 300_000 }));
    const rows = await bucketInspect(bucket, { selector: { cluster: 'eu' }, sortBy: ['FROM'] }, print);
    expect(rows.map((r) => r[0])).toEqual([id(2), id(1)]);
    expect(rows[0]).toEqual([
      id(2),
      '2023-11-14T22:13:20Z',
      '2023-11-15T00:13:20Z',
      '2h0m0s',
      '38h0m0s',
      '1,234',
      '5,678,901',
      '4,321',
      '1',
      'false',
      'cluster=eu,replica=a',
      '0s',
      'sidecar',
    ]);
    expect(out[1]).toMatch(/^\|\s+ULID\s+\|\s+FROM\s+\|/);
    expect(out).toHaveLength(6); // rule, header, rule, 2 rows, rule
    out = [];
    const all = await bucketInspect(bucket, { output: 'csv' }, print);
    expect(all).toHaveLength(3);
    expect(all[2]?.[4]).toBe('192h0m0s'); // 10d - 48h until 1h downsampling
    expect(out[0]).toBe(
      'ULID,FROM,UNTIL,RANGE,UNTIL-DOWN,#SERIES,#SAMPLES,#CHUNKS,COMP-LEVEL,COMP-FAILED,LABELS,RESOLUTION,SOURCE',
    );
    await expect(bucketInspect(bucket, { sortBy: ['NOPE'] }, print)).rejects.toThrow(/column NOPE not found/);
  });

  it('verify reports missing files and overlaps per external-label group and resolution', async () => {
    await putBlock(bucket, meta(1, T0, T0 + 2 * H));
    await putBlock(bucket, meta(2, T0 + H, T0 + 3 * H)); // overlaps 1 in the same group
    await putBlock(bucket, meta(3, T0, T0 + 2 * H, { labels: { cluster: 'us' } })); // other group: no overlap
    await putBlock(bucket, meta(4, T0 + 10 * H, T0 + 12 * H), { index: false });
    await putBlock(bucket, meta(5, T0 + 12 * H, T0 + 14 * H), { chunkBytes: 9 });
    await putBlock(bucket, meta(6, T0 + 14 * H, T0 + 16 * H), { meta: false });
    await putBlock(bucket, meta(7, T0, T0 + 2 * H, { resolution: 300_000 })); // other resolution: no overlap
    await bucket.upload(`${id(8)}/meta.json`, enc('{"ulid": "01J'));
    const issues = await bucketVerify(bucket, {}, print);
    expect(issues.map((i) => `${i.issue} ${i.subject} ${i.detail}`)).toEqual([
      `missing_files ${id(6)} missing meta.json (partial or abandoned upload)`,
      expect.stringMatching(new RegExp(`^missing_files ${id(8)} unreadable meta.json: .*invalid JSON`)),
      `missing_files ${id(4)} missing index`,
      `missing_files ${id(5)} chunks/000001 has 9 bytes, meta.json says 3`,
      `overlapped_blocks 0@{cluster="eu",replica="a"} overlap=[mint: ${T0 + H}, maxt: ${T0 + 2 * H}, range: 1h0m0s, blocks: 2]: ${id(1)}, ${id(2)}`,
    ]);
    expect(out.at(-1)).toBe('verify done: 5 issue(s) in 8 block(s)');
    out = [];
    expect(await bucketVerify(bucket, { issues: ['missing_files'], ids: [id(1)] }, print)).toEqual([]);
    await expect(bucketVerify(bucket, { issues: ['no_such_issue'] }, print)).rejects.toThrow(/unknown issue/);
  });

  it('upload-blocks adds the thanos section and uploads meta.json last', async () => {
    const local = join(dir, 'local');
    const mk = async (m: BlockMeta) => {
      const d = join(local, m.ulid);
      await mkdir(join(d, 'chunks'), { recursive: true });
      await writeFile(join(d, 'chunks', '000001'), 'abcdef');
      await writeFile(join(d, 'chunks', '000002'), 'gh');
      await writeFile(join(d, 'index'), 'index-bytes');
      const { thanos: _dropped, ...prom } = m;
      await writeFile(join(d, 'meta.json'), serializeBlockMeta(prom));
    };
    await mk(meta(1, T0, T0 + 2 * H));
    await mk({ ...meta(2, T0 + 2 * H, T0 + 4 * H), compaction: { level: 2, sources: [id(1)] } });
    await mkdir(join(local, 'wal'));
    const order: string[] = [];
    const recording: Bucket = {
      ...bucket,
      upload: async (n, b, o) => {
        order.push(n);
        await bucket.upload(n, b, o);
      },
    };
    await expect(bucketUploadBlocks(recording, { path: local, labels: {} }, print)).rejects.toThrow(
      /no external labels configured/,
    );
    const res = await bucketUploadBlocks(recording, { path: local, labels: { cluster: 'eu' } }, print);
    expect(res.uploaded).toEqual([id(1)]);
    expect(res.skipped.map((s) => s.id)).toEqual([id(2)]);
    // Chunk segments go up concurrently (any order), then the index, then meta.json last.
    expect(order.slice(0, 2).sort()).toEqual([`${id(1)}/chunks/000001`, `${id(1)}/chunks/000002`]);
    expect(order.slice(2)).toEqual([`${id(1)}/index`, `${id(1)}/meta.json`]);
    const up = parseBlockMeta(Buffer.from(await bucket.get(`${id(1)}/meta.json`)).toString());
    expect(up.thanos?.labels).toEqual({ cluster: 'eu' });
    expect(up.thanos?.source).toBe('bucket.upload');
    expect(up.thanos?.files).toEqual([
      { rel_path: 'chunks/000001', size_bytes: 6 },
      { rel_path: 'chunks/000002', size_bytes: 2 },
      { rel_path: 'index', size_bytes: 11 },
      { rel_path: 'meta.json' },
    ]);
    expect(await bucketVerify(bucket, { issues: ['missing_files'] }, () => {})).toEqual([]);
    const again = await bucketUploadBlocks(
      bucket,
      { path: local, labels: { cluster: 'eu' }, uploadCompacted: true },
      print,
    );
    expect(again.uploaded).toEqual([id(2)]);
    expect(again.skipped).toEqual([{ id: id(1), reason: 'already in the bucket' }]);
  });

  it('runs through the command line with --objstore.config-file', async () => {
    await putBlock(bucket, meta(1, T0, T0 + 2 * H));
    const cfg = join(dir, 'bucket.yml');
    await writeFile(cfg, `type: FILESYSTEM\nconfig:\n  directory: ${join(dir, 'bucket')}\n`);
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      written.push(String(s));
      return true;
    });
    try {
      await buildProgram().parseAsync(['node', 'thanos-ts', 'tools', 'bucket', 'ls', '--objstore.config-file', cfg]);
      await buildProgram().parseAsync([
        'node',
        'thanos-ts',
        'tools',
        'bucket',
        'inspect',
        `--objstore.config=${`type: FILESYSTEM\nconfig:\n  directory: ${join(dir, 'bucket')}`}`,
        '-l',
        'cluster="eu"',
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(written[0]).toBe(`${id(1)}\n`);
    expect(written.join('')).toContain('cluster=eu,replica=a');
    await expect(buildProgram().parseAsync(['node', 'thanos-ts', 'tools', 'bucket', 'ls'])).rejects.toThrow(
      /--objstore.config-file or --objstore.config/,
    );
  });
});

describe('tools bucket helpers', () => {
  it('parses label flags', () => {
    expect(parseLabelFlags(['a="b"', 'c=d', 'e="x=\\"y\\""'])).toEqual({ a: 'b', c: 'd', e: 'x="y"' });
    expect(() => parseLabelFlags(['1a="b"'])).toThrow(/invalid label name/);
    expect(() => parseLabelFlags(['novalue'])).toThrow(/want key="value"/);
  });
  it('finds overlapping runs only', () => {
    const ms = [meta(1, 0, 10), meta(2, 10, 20), meta(3, 15, 30), meta(4, 40, 50)];
    expect(findOverlaps(ms).map((run) => run.map((m) => m.ulid))).toEqual([[id(2), id(3)]]);
  });
});

describe.skipIf(!programAvailable('promtool'))('tools bucket with promtool-made blocks', () => {
  it('uploads, lists, inspects and verifies real blocks', async () => {
    const blocks = await blocksFromOpenMetrics({ metrics: 3, seriesPerMetric: 4, durationMs: 3 * H });
    const dir = await makeTempDir('tools-bucket-promtool-');
    try {
      const bucket = createFilesystemBucket({ directory: dir });
      const res = await bucketUploadBlocks(
        bucket,
        { path: blocks.dir, labels: { cluster: 'eu', replica: '0' } },
        () => {},
      );
      expect(res.uploaded.length).toBeGreaterThan(0);
      const rows = await bucketInspect(bucket, { selector: { replica: '0' } }, () => {});
      expect(rows.map((r) => r[0])).toEqual(res.uploaded);
      const samples = rows.reduce((sum, r) => sum + Number((r[6] as string).replaceAll(',', '')), 0);
      expect(samples).toBe(blocks.samples);
      expect(rows.every((r) => r[12] === 'bucket.upload')).toBe(true);
      expect(await bucketVerify(bucket, {}, () => {})).toEqual([]);
      // promtool's blocks have healthy indexes and no duplicated compactions.
      expect(await bucketVerify(bucket, { issues: ['index_known_issues', 'duplicated_compaction'] }, () => {})).toEqual(
        [],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(blocks.dir, { recursive: true, force: true });
    }
  });
});
