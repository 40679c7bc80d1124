import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadBlock } from '@thanos-ts/core/block';
import { CHANGE_LOG_FILENAME, downloadBlock, parseDeletionRequests, rewriteBlocks } from '@thanos-ts/core/compact';
import { parseRelabelConfig } from '@thanos-ts/core/store';
import { type Bucket, createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir, programAvailable, promtool } from '@thanos-ts/testing';
import {
  type BlockMeta,
  BlockWriter,
  ChunkEncoding,
  isULID,
  Labels,
  Matcher,
  openBlock,
  parseBlockMeta,
} from '@thanos-ts/tsdb';
import { decodeChunkSamples, encodeChunkSamples, type RewriteSample } from '@thanos-ts/tsdb/compact';
import { CounterResetHint, type Histogram } from '@thanos-ts/tsdb/histogram';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

// One 2h block window (aligned), 30 samples a minute apart per series.
const BASE_S = 1_699_999_200;
const BASE = BASE_S * 1000;
const N = 30;
const SERIES: { name: string; labels: Record<string, string>; offset: number }[] = [
  { name: 'cpu', labels: { env: 'dev' }, offset: 0 },
  { name: 'up', labels: { job: 'a' }, offset: 100 },
  { name: 'up', labels: { job: 'b' }, offset: 200 },
  { name: 'up', labels: { job: 'c' }, offset: 300 },
];

const labelText = (name: string, l: Record<string, string>) =>
  `{${[['__name__', name] as [string, string], ...Object.entries(l)]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`;

/** The source block, made by promtool, uploaded with external labels. */
async function sourceBlock(bucket: Bucket): Promise<string> {
  const work = await makeTempDir('rewrite-om-');
  const lines: string[] = [];
  for (const name of ['cpu', 'up']) {
    lines.push(`# TYPE ${name} gauge`);
    for (const s of SERIES.filter((x) => x.name === name)) {
      const l = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      for (let i = 0; i < N; i++) lines.push(`${name}{${l}} ${s.offset + i} ${BASE_S + i * 60}`);
    }
  }
  lines.push('# EOF');
  await writeFile(join(work, 'data.om.txt'), `${lines.join('\n')}\n`);
  const dbDir = join(work, 'db');
  await promtool.createBlocksFromOpenMetrics(join(work, 'data.om.txt'), dbDir);
  const [id] = (await readdir(dbDir)).filter(isULID);
  await uploadBlock(bucket, join(dbDir, id as string), { labels: { cluster: 'c1' }, source: 'sidecar' });
  return id as string;
}

/** Expected `promtool tsdb dump` lines: every sample kept, with the labels it ends up with. */
function expectedDump(
  keep: (name: string, l: Record<string, string>, t: number) => boolean,
  rename: (l: Record<string, string>) => Record<string, string>,
): string[] {
  const out: string[] = [];
  for (const s of SERIES)
    for (let i = 0; i < N; i++) {
      const t = BASE + i * 60_000;
      if (keep(s.name, s.labels, t)) out.push(`${labelText(s.name, rename(s.labels))} ${s.offset + i} ${t}`);
    }
  return out.sort();
}

async function dumpBlock(bucket: Bucket, id: string): Promise<string[]> {
  const db = await makeTempDir('rewrite-dump-');
  await downloadBlock(bucket, id, join(db, id), 1);
  await promtool.analyze(db, id);
  return (await promtool.dump(db))
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

const DELETE_YAML = `
- matchers: '{__name__="up", job="a"}'
- matchers: '{job="b"}'
  intervals:
    - mint: ${BASE + 10 * 60_000}
      maxt: ${BASE + 15 * 60_000}
`;
const RELABEL_YAML = `
- source_labels: [env]
  target_label: environment
- regex: env
  action: labeldrop
`;

describe.skipIf(!programAvailable('promtool'))('rewriteBlocks on a promtool block', () => {
  let bucketDir: string;
  let bucket: Bucket;
  let id: string;
  beforeEach(async () => {
    bucketDir = await makeTempDir('rewrite-bucket-');
    bucket = createFilesystemBucket({ directory: bucketDir });
    id = await sourceBlock(bucket);
  });

  it('deletes a series and an interval, relabels, and promtool reads the new block', async () => {
    const tmpDir = await makeTempDir('rewrite-tmp-');
    const changes: string[] = [];
    const [res] = await rewriteBlocks(bucket, {
      ids: [id],
      tmpDir,
      dryRun: false,
      deleteBlocks: true,
      deletions: parseDeletionRequests(DELETE_YAML),
      relabels: parseRelabelConfig(RELABEL_YAML, '--rewrite.to-relabel-config'),
      relabelsRaw: parseYaml(RELABEL_YAML),
      onChange: (l) => changes.push(l),
    });
    const newId = res?.ulid as string;
    expect(changes).toEqual([
      'Relabelled {__name__="cpu", env="dev"} {__name__="cpu", environment="dev"}',
      `Deleted {__name__="up", job="a"} [{${BASE} ${BASE + (N - 1) * 60_000}}]`,
      `Deleted {__name__="up", job="b"} [{${BASE + 10 * 60_000} ${BASE + 15 * 60_000}}]`,
    ]);
    expect((await readFile(join(tmpDir, newId, CHANGE_LOG_FILENAME), 'utf8')).split('\n')).toEqual([...changes, '']);

    const dump = await dumpBlock(bucket, newId);
    expect(dump).toEqual(
      expectedDump(
        (name, l, t) =>
          !(name === 'up' && l.job === 'a') && !(l.job === 'b' && t >= BASE + 10 * 60_000 && t <= BASE + 15 * 60_000),
        (l) => (l.env ? { environment: l.env } : l),
      ),
    );

    const src = parseBlockMeta(Buffer.from(await bucket.get(`${id}/meta.json`)).toString('utf8'), 'src') as BlockMeta;
    const meta = parseBlockMeta(Buffer.from(await bucket.get(`${newId}/meta.json`)).toString('utf8'), 'new');
    expect(meta.ulid).toBe(newId);
    expect([meta.minTime, meta.maxTime]).toEqual([src.minTime, src.maxTime]);
    expect(meta.compaction.sources).toEqual([newId]);
    expect(meta.thanos?.source).toBe('bucket.rewrite');
    expect(meta.thanos?.labels).toEqual({ cluster: 'c1' });
    expect(meta.stats.numSeries).toBe(3);
    expect(meta.stats.numSamples).toBe(3 * N - 6);
    expect(meta.thanos?.rewrites).toEqual([
      {
        sources: src.compaction.sources,
        deletions_applied: [
          {
            matchers: [
              { Type: 0, Name: '__name__', Value: 'up' },
              { Type: 0, Name: 'job', Value: 'a' },
            ],
          },
          {
            matchers: [{ Type: 0, Name: 'job', Value: 'b' }],
            intervals: [{ Mint: BASE + 10 * 60_000, Maxt: BASE + 15 * 60_000 }],
          },
        ],
        relabels_applied: [
          { sourceLabels: ['env'], targetLabel: 'environment' },
          { regex: 'env', action: 'labeldrop' },
        ],
      },
    ]);
    // The source is only marked once the new block is in place.
    expect(await bucket.exists(`${id}/deletion-mark.json`)).toBe(true);
    expect(await bucket.exists(`${id}/index`)).toBe(true);
  });

  it('without relabelling copies untouched chunks and deletes only what the requests select', async () => {
    const [res] = await rewriteBlocks(bucket, {
      ids: [id],
      tmpDir: await makeTempDir('rewrite-tmp-'),
      dryRun: false,
      deletions: parseDeletionRequests(DELETE_YAML),
    });
    const dump = await dumpBlock(bucket, res?.ulid as string);
    expect(dump).toEqual(
      expectedDump(
        (name, l, t) =>
          !(name === 'up' && l.job === 'a') && !(l.job === 'b' && t >= BASE + 10 * 60_000 && t <= BASE + 15 * 60_000),
        (l) => l,
      ),
    );
    expect(await bucket.exists(`${id}/deletion-mark.json`)).toBe(false);
  });

  it('merges series that relabelling makes identical, first sample per timestamp', async () => {
    const [res] = await rewriteBlocks(bucket, {
      ids: [id],
      tmpDir: await makeTempDir('rewrite-tmp-'),
      dryRun: false,
      relabels: parseRelabelConfig('- regex: job\n  action: labeldrop\n', '--rewrite.to-relabel-config'),
    });
    const dump = await dumpBlock(bucket, res?.ulid as string);
    // up{job="a"} sorts first, so its samples win every timestamp.
    expect(dump).toEqual(
      expectedDump(
        (name, l) => name === 'cpu' || l.job === 'a',
        (l) => (l.job ? {} : l),
      ),
    );
  });

  it('a dry run reports the changes and leaves the bucket as it was', async () => {
    const before: string[] = [];
    for await (const n of bucket.iter('', { recursive: true })) before.push(n);
    const changes: string[] = [];
    const [res] = await rewriteBlocks(bucket, {
      ids: [id],
      tmpDir: await makeTempDir('rewrite-tmp-'),
      deleteBlocks: true,
      deletions: parseDeletionRequests(DELETE_YAML),
      onChange: (l) => changes.push(l),
    });
    expect(res?.changes).toBe(2);
    expect(changes).toHaveLength(2);
    const after: string[] = [];
    for await (const n of bucket.iter('', { recursive: true })) after.push(n);
    expect(after.sort()).toEqual(before.sort());
  });
});

describe('parseDeletionRequests', () => {
  it.each([
    ['not a list', 'matchers: x', /--rewrite.to-delete-config: want a YAML list/],
    ['bad selector', "- matchers: '{job='", /--rewrite.to-delete-config: deletion request 0/],
    ['bad interval', '- matchers: \'{a="b"}\'\n  intervals: [{mint: x}]', /interval 0: mint and maxt/],
  ])('%s', (_, text, err) => {
    expect(() => parseDeletionRequests(text)).toThrow(err);
  });

  it('reads matchers, intervals and request ids', () => {
    const [d] = parseDeletionRequests(
      '- matchers: \'{a=~"b.*"}\'\n  intervals: [{mint: 1, maxt: 2}]\n  request_id: r1',
    );
    expect(d?.matchers.map((m) => m.toString())).toEqual(['a=~"b.*"']);
    expect(d?.intervals).toEqual([{ mint: 1, maxt: 2 }]);
    expect(d?.requestId).toBe('r1');
  });
});

// Native histogram chunks (Thanos's rewrite panics on them): deletions over them re-encode the
// surviving samples in their own encoding; whole series are dropped; floats stay as they were.
describe('rewriteBlocks on a block with native histogram chunks', () => {
  const hist = (i: number): Histogram => ({
    counterResetHint: CounterResetHint.Unknown,
    schema: 1,
    zeroThreshold: 0.001,
    zeroCount: i,
    count: 10 * i + 3,
    sum: 1.5 * i,
    positiveSpans: [{ offset: 0, length: 3 }],
    negativeSpans: [],
    positiveBuckets: [i, 1, 1],
    negativeBuckets: [],
  });
  const H = 300;
  const where = { labels: Labels.from({}), block: 'test' };
  async function histBlock(bucket: Bucket): Promise<string> {
    const work = await makeTempDir('rewrite-hist-');
    const w = await BlockWriter.create({ outDir: work, minTime: BASE, maxTime: BASE + 2 * 3600_000 });
    const samples: RewriteSample[] = [];
    for (let i = 0; i < H; i++) samples.push({ t: BASE + i * 15_000, kind: ChunkEncoding.Histogram, h: hist(i) });
    const floats: RewriteSample[] = samples.map((s, i) => ({ t: s.t, kind: ChunkEncoding.XOR, v: i }));
    await w.addSeries(Labels.from({ __name__: 'lat', job: 'a' }), encodeChunkSamples(samples, 120));
    await w.addSeries(Labels.from({ __name__: 'lat', job: 'b' }), encodeChunkSamples(samples, 120));
    await w.addSeries(Labels.from({ __name__: 'up', job: 'a' }), encodeChunkSamples(floats, 120));
    const written = await w.commit();
    const id = written?.meta.ulid as string;
    await uploadBlock(bucket, join(work, id), { labels: { cluster: 'c1' }, source: 'sidecar' });
    return id;
  }
  async function readAll(bucket: Bucket, id: string): Promise<Map<string, { t: number; kind: number; x: unknown }[]>> {
    const dir = await makeTempDir('rewrite-hist-read-');
    await downloadBlock(bucket, id, join(dir, id), 1);
    const b = await openBlock(join(dir, id));
    const out = new Map<string, { t: number; kind: number; x: unknown }[]>();
    for await (const batch of b.selectBatches([new Matcher('=~', '__name__', '.*')], -Infinity, Infinity)) {
      for (const s of batch) {
        const list: { t: number; kind: number; x: unknown }[] = [];
        for (const c of s.chunks) {
          const enc = {
            minTime: c.minTime,
            maxTime: c.maxTime,
            encoding: c.encoding ?? ChunkEncoding.XOR,
            data: c.data as Uint8Array,
          };
          for (const x of decodeChunkSamples(enc, where)) {
            const { counterResetHint: _hint, ...h } = x.kind === ChunkEncoding.XOR ? { counterResetHint: 0 } : x.h;
            list.push({ t: x.t, kind: x.kind, x: x.kind === ChunkEncoding.XOR ? x.v : h });
          }
        }
        out.set(s.labels.toString(), list);
      }
    }
    await b.close();
    return out;
  }

  it('deletes an interval inside histogram chunks and a whole histogram series', async () => {
    const bucket = createFilesystemBucket({ directory: await makeTempDir('rewrite-hist-bucket-') });
    const id = await histBlock(bucket);
    const before = await readAll(bucket, id);
    const from = BASE + 100 * 15_000 + 1;
    const to = BASE + 150 * 15_000;
    const [res] = await rewriteBlocks(bucket, {
      ids: [id],
      tmpDir: await makeTempDir('rewrite-tmp-'),
      dryRun: false,
      deletions: parseDeletionRequests(`
- matchers: '{__name__="lat", job="b"}'
- matchers: '{job="a"}'
  intervals:
    - mint: ${from}
      maxt: ${to}
`),
    });
    const after = await readAll(bucket, res?.ulid as string);
    expect([...after.keys()]).toEqual(['{__name__="lat", job="a"}', '{__name__="up", job="a"}']);
    for (const k of after.keys()) {
      const want = (before.get(k) ?? []).filter((s) => s.t < from || s.t > to);
      expect(want.length).toBe(H - 50);
      expect(after.get(k)).toEqual(want);
    }
    const lat = await (async () => {
      const dir = await makeTempDir('rewrite-hist-enc-');
      await downloadBlock(bucket, res?.ulid as string, join(dir, 'b'), 1);
      const b = await openBlock(join(dir, 'b'));
      const encs: number[] = [];
      for await (const batch of b.selectBatches([new Matcher('=', '__name__', 'lat')], -Infinity, Infinity))
        for (const s of batch) for (const c of s.chunks) encs.push(c.encoding ?? -1);
      await b.close();
      return encs;
    })();
    // Still integer histogram chunks: the untouched ones copied, the touched one re-encoded.
    expect(lat.length).toBeGreaterThan(1);
    expect(lat.every((e) => e === ChunkEncoding.Histogram)).toBe(true);
  });

  it('merges histogram series that relabelling makes identical, one sample per timestamp', async () => {
    const bucket = createFilesystemBucket({ directory: await makeTempDir('rewrite-hist-bucket-') });
    const id = await histBlock(bucket);
    const before = await readAll(bucket, id);
    const [res] = await rewriteBlocks(bucket, {
      ids: [id],
      tmpDir: await makeTempDir('rewrite-tmp-'),
      dryRun: false,
      relabels: parseRelabelConfig(
        '- source_labels: [__name__]\n  regex: lat\n  target_label: job\n  replacement: merged\n',
        '--rewrite.to-relabel-config',
      ),
    });
    const after = await readAll(bucket, res?.ulid as string);
    expect([...after.keys()]).toEqual(['{__name__="lat", job="merged"}', '{__name__="up", job="a"}']);
    // Both inputs hold the same histograms: one sample per timestamp, values as before.
    expect(after.get('{__name__="lat", job="merged"}')).toEqual(before.get('{__name__="lat", job="a"}'));
  });
});
