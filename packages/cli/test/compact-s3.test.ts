// `thanos-ts compact` end to end on an S3 bucket (s3rver): compaction, hashes, deletion of the
// sources, and the same samples before and after.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileHash, uploadBlock } from '@thanos-ts/core/block';
import { downloadBlock } from '@thanos-ts/core/compact';
import { type Bucket, createS3Bucket } from '@thanos-ts/objstore';
import { makeTempDir, type RunningS3, startS3rver } from '@thanos-ts/testing';
import { type BlockMeta, dumpSamples, isULID, Labels, parseBlockMeta, writeBlock } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const H = 3_600_000;
const T0 = 1_700_006_400_000;
const LABELS = { cluster: 'eu', replica: 'a' };

async function dump(path: string): Promise<string[]> {
  let text = '';
  await dumpSamples(path, (t) => {
    text += t;
  });
  return text.split('\n').filter((l) => l !== '');
}

async function metasOf(bucket: Bucket): Promise<{ live: BlockMeta[]; other: string[] }> {
  const live: BlockMeta[] = [];
  const other: string[] = [];
  for await (const n of bucket.iter('')) {
    const id = n.replace(/\/$/, '');
    if (!isULID(id)) continue;
    if ((await bucket.exists(`${id}/meta.json`)) && !(await bucket.exists(`${id}/deletion-mark.json`)))
      live.push(parseBlockMeta(new TextDecoder().decode(await bucket.get(`${id}/meta.json`))));
    else other.push(id);
  }
  return { live: live.sort((a, b) => a.minTime - b.minTime), other };
}

describe('thanos-ts compact on an S3 bucket (s3rver)', () => {
  let s3: RunningS3;
  let root: string;
  const bucket = () =>
    createS3Bucket({
      bucket: s3.bucket,
      endpoint: `127.0.0.1:${s3.port}`,
      insecure: true,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
    });
  beforeAll(async () => {
    root = await makeTempDir('compact-s3-');
    s3 = await startS3rver();
  }, 60_000);
  afterAll(async () => {
    await s3?.stop();
  });

  it('compacts four 2h blocks into one 8h block with SHA256 hashes and deletes the sources', async () => {
    const b = bucket();
    for (let i = 0; i < 5; i++) {
      const minTime = T0 + i * 2 * H;
      const series = Array.from({ length: 30 }, (_, k) => ({
        labels: Labels.from({ __name__: 's3_metric', instance: `i${String(k).padStart(2, '0')}` }),
        timestamps: Array.from({ length: 240 }, (_, j) => minTime + j * 30_000),
        values: Array.from({ length: 240 }, (_, j) => i * 240 + j + k),
      }));
      const w = await writeBlock(series, { outDir: join(root, 'source'), minTime, maxTime: minTime + 2 * H });
      if (!w) throw new Error('empty block');
      await uploadBlock(b, w.dir, { labels: LABELS, source: 'sidecar', meta: w.meta });
    }
    const source = await dump(join(root, 'source'));
    const cfg = join(root, 'objstore.yml');
    await writeFile(
      cfg,
      `type: S3\nconfig:\n  bucket: ${s3.bucket}\n  endpoint: 127.0.0.1:${s3.port}\n  insecure: true\n  access_key: ${s3.accessKey}\n  secret_key: ${s3.secretKey}\n`,
    );
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'compact',
        `--objstore.config-file=${cfg}`,
        `--data-dir=${join(root, 'data')}`,
        '--http-address=127.0.0.1:0',
        '--consistency-delay=0s',
        '--delete-delay=0s',
        '--hash-func=SHA256',
        '--block-files-concurrency=2',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        // s3rver's paginated listings need DES from OpenSSL's legacy provider (see objstore's s3 test).
        env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim() },
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, out).toBe(0);

    const { live, other } = await metasOf(b);
    expect(other).toEqual([]);
    expect(live.map((m) => [(m.maxTime - m.minTime) / H, m.compaction.level])).toEqual([
      [8, 2],
      [2, 1],
    ]);
    const compacted = live[0] as BlockMeta;
    expect(compacted.thanos?.source).toBe('compactor');
    expect(compacted.thanos?.labels).toEqual(LABELS);
    expect(
      compacted.thanos?.files
        ?.filter((f) => f.rel_path !== 'meta.json')
        .every((f) => fileHash(f)?.hashFunc === 'SHA256'),
    ).toBe(true);
    // Every source sample is in the two blocks left, once.
    const after: string[] = [];
    for (const m of live) {
      const dir = join(root, 'after', m.ulid);
      await downloadBlock(b, m.ulid, dir, 2);
      after.push(...(await dump(dir)));
    }
    expect(after.sort()).toEqual([...source].sort());
  }, 180_000);
});
