import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  makeTempDir,
  type RunningAzurite,
  type RunningS3,
  removeTempDir,
  startAzurite,
  startS3rver,
} from '@thanos-ts/testing';
import { type BlockMeta, serializeBlockMeta } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The command lives in the CLI package; this end-to-end test drives it over real servers.
import { registerTools } from '../../cli/src/commands/tools.js';
import { bucketReplicate, registerBucketReplicate } from '../../cli/src/commands/tools-bucket-replicate.js';
import { type Bucket, createBucketFromConfig, createFilesystemBucket } from '../src/index.js';

const id = (n: number) => `01JAAAAAAAAAAAAAAAAAAAAAA${n}`;
const H = 3600_000;
const T0 = 1_700_000_000_000;

function meta(n: number, minTime: number, over: Partial<BlockMeta['thanos']> & { level?: number } = {}): BlockMeta {
  return {
    ulid: id(n),
    minTime,
    maxTime: minTime + 2 * H,
    stats: { numSeries: 1, numSamples: 2, numChunks: 1 },
    compaction: { level: over.level ?? 1, sources: [id(n)] },
    version: 1,
    thanos: {
      labels: over.labels ?? { cluster: 'eu', replica: 'a' },
      downsample: over.downsample ?? { resolution: 0 },
      source: 'sidecar',
    },
  };
}

/** Writes a block's files into the source, meta.json last unless `partial`. */
async function putBlock(b: Bucket, m: BlockMeta, opts: { partial?: boolean; marked?: boolean } = {}) {
  await b.upload(`${m.ulid}/chunks/000001`, randomBytes(4000));
  await b.upload(`${m.ulid}/chunks/000002`, randomBytes(1234));
  await b.upload(`${m.ulid}/index`, randomBytes(999));
  if (opts.marked) await b.upload(`${m.ulid}/deletion-mark.json`, new TextEncoder().encode('{}'));
  if (!opts.partial) await b.upload(`${m.ulid}/meta.json`, new TextEncoder().encode(serializeBlockMeta(m)));
}

/** Records every upload to a bucket, in order (a test wrapper, not a fake: calls go through). */
function recording(inner: Bucket): Bucket & { uploads: string[] } {
  const uploads: string[] = [];
  return {
    ...inner,
    uploads,
    async upload(name, body, o) {
      await inner.upload(name, body, o);
      uploads.push(name);
    },
  };
}

async function listAll(b: Bucket): Promise<string[]> {
  const out: string[] = [];
  for await (const n of b.iter('', { recursive: true })) out.push(n);
  return out;
}

let az: RunningAzurite;
let s3: RunningS3;
let dir: string;
let source: Bucket;
beforeAll(async () => {
  [az, s3, dir] = await Promise.all([startAzurite(), startS3rver(), makeTempDir('replicate-')]);
  source = createFilesystemBucket({ directory: join(dir, 'source') });
  await putBlock(source, meta(3, T0 + 4 * H));
  await putBlock(source, meta(1, T0));
  await putBlock(source, meta(2, T0 + 2 * H, { labels: { cluster: 'us', replica: 'a' } }));
  await putBlock(source, meta(4, T0 + 6 * H, { downsample: { resolution: 300_000 }, level: 3 }));
  await putBlock(source, meta(5, T0 + 8 * H), { partial: true });
  await putBlock(source, meta(6, T0 + 10 * H), { marked: true });
});
afterAll(async () => {
  await Promise.all([az?.stop(), s3?.stop()]);
  if (dir) await removeTempDir(dir);
});

const targets: { name: string; yaml: () => string }[] = [
  {
    name: 'azurite',
    yaml: () =>
      `type: AZURE\nconfig:\n  storage_account: ${az.accountName}\n  storage_connection_string: "${az.connectionString}"\n  container: r-${randomBytes(4).toString('hex')}\n`,
  },
  {
    name: 's3rver',
    yaml: () =>
      `type: S3\nconfig:\n  bucket: ${s3.bucket}\n  endpoint: 127.0.0.1:${s3.port}\n  insecure: true\n  access_key: ${s3.accessKey}\n  secret_key: ${s3.secretKey}\nprefix: r-${randomBytes(4).toString('hex')}\n`,
  },
];

describe.each(targets)('tools bucket replicate: filesystem → $name', ({ yaml }) => {
  it('copies every selected block once, meta.json last, and does nothing on a rerun', async () => {
    const target = recording(await createBucketFromConfig(yaml()));
    try {
      const first = await bucketReplicate(source, target, { ignoreMarkedForDeletion: true });
      // Oldest first; the partial block (no meta.json) and the marked one are left out.
      expect(first.replicated).toEqual([id(1), id(2), id(3), id(4)]);
      const perBlock = new Map<string, string[]>();
      for (const name of target.uploads) {
        const [block, ...rest] = name.split('/');
        perBlock.set(block as string, [...(perBlock.get(block as string) ?? []), rest.join('/')]);
      }
      for (const [block, files] of perBlock) {
        expect(files.slice().sort(), block).toEqual(['chunks/000001', 'chunks/000002', 'index', 'meta.json']);
        expect(files.at(-1), block).toBe('meta.json');
      }
      expect(new Set(target.uploads).size).toBe(target.uploads.length); // each object once
      for (const b of [1, 2, 3, 4]) {
        for (const f of ['chunks/000001', 'chunks/000002', 'index', 'meta.json']) {
          const name = `${id(b)}/${f}`;
          expect(Buffer.from(await target.get(name)).equals(Buffer.from(await source.get(name))), name).toBe(true);
        }
      }
      expect((await listAll(target)).some((n) => n.startsWith(id(5)) || n.startsWith(id(6)))).toBe(false);

      target.uploads.length = 0;
      const second = await bucketReplicate(source, target, { ignoreMarkedForDeletion: true });
      expect(second.replicated).toEqual([]);
      expect(second.alreadyReplicated).toEqual([id(1), id(2), id(3), id(4)]);
      expect(target.uploads).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it('resumes an interrupted block: copies only what is missing, then meta.json', async () => {
    const target = recording(await createBucketFromConfig(yaml()));
    try {
      // As if a previous run died after one chunk: no meta.json in the target yet.
      await target.upload(`${id(1)}/chunks/000001`, await source.get(`${id(1)}/chunks/000001`));
      target.uploads.length = 0;
      const r = await bucketReplicate(source, target, { ids: [id(1)] });
      expect(r.replicated).toEqual([id(1)]);
      expect(target.uploads.slice().sort()).toEqual(
        [`${id(1)}/chunks/000002`, `${id(1)}/index`, `${id(1)}/meta.json`].sort(),
      );
      expect(target.uploads.at(-1)).toBe(`${id(1)}/meta.json`);
      expect(r.objectsSkipped).toBe(1);
    } finally {
      await target.close();
    }
  });
});

describe('tools bucket replicate command (flags as Thanos)', () => {
  async function run(args: string[]): Promise<string[]> {
    const lines: string[] = [];
    // The CLI's own commander builds the parent command (this package resolves another copy).
    let parent: Parameters<typeof registerBucketReplicate>[0] | undefined;
    registerTools([(tools) => registerBucketReplicate(tools, (l) => lines.push(l))])({
      addCommand: (c: Parameters<typeof registerBucketReplicate>[0]) => {
        parent = c;
      },
    } as never);
    await parent?.exitOverride().parseAsync(['replicate', ...args], { from: 'user' });
    return lines;
  }

  it('filters by --matcher, --resolution and --compaction, then by --id alone', async () => {
    const to = targets[1]?.yaml() as string;
    const from = `type: FILESYSTEM\nconfig:\n  directory: ${join(dir, 'source')}\n`;
    const target = await createBucketFromConfig(to);
    try {
      const lines = await run([
        `--objstore.config=${from}`,
        `--objstore-to.config=${to}`,
        '--matcher=cluster="eu"',
        '--resolution=0s',
        '--resolution=5m',
        '--compaction=1',
        '--single-run',
      ]);
      expect(lines.at(-1)).toMatch(/replication pass done" replicated=3 already_replicated=0/);
      const blocks = new Set((await listAll(target)).map((n) => n.split('/')[0]));
      // id(2) is cluster="us"; id(4) is compaction level 3; id(5) is partial; id(6) is marked but not ignored.
      expect([...blocks].sort()).toEqual([id(1), id(3), id(6)]);
      const byId = await run([`--objstore.config=${from}`, `--objstore-to.config=${to}`, `--id=${id(2)}`]);
      expect(byId.at(-1)).toMatch(/replicated=1 already_replicated=0/);
    } finally {
      await target.close();
    }
  });

  it.each([
    {
      args: ['--compaction-min=3', '--compaction-max=1'],
      want: /compaction-min must be less than or equal to compaction-max/,
    },
    { args: ['--id=nope'], want: /invalid ULID found in --id flag: "nope"/ },
    { args: ['--matcher=cluster=~"("'], want: /--matcher "cluster=~\\"\(\\"":/ },
    { args: ['--resolution=5x'], want: /--resolution "5x": want a duration/ },
    { args: [], want: /no target bucket configured; set --objstore-to.config-file or --objstore-to.config/ },
  ])('refuses $args in one line', async ({ args, want }) => {
    const err = await run(['--objstore.config=type: IN-MEMORY', '--single-run', ...args]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toMatch(want);
  });
});
