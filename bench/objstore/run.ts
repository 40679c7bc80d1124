/**
 * objstore benchmark: range-read latency/throughput (store-gateway-like: many concurrent small
 * ranges of one big object) against the filesystem bucket and a real S3 server (s3rver), and the
 * number of bucket API calls needed to upload and then sync N blocks (counted through the
 * metrics wrapper, i.e. thanos_objstore_bucket_operations_total).
 *
 *   npx tsx bench/objstore/run.ts [--quick]
 *
 * Prints Markdown tables for docs/benchmarks.md.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { type Bucket, createFilesystemBucket, createS3Bucket, withMetrics } from '@thanos-ts/objstore';
import { makeTempDir, startS3rver } from '@thanos-ts/testing';
import { serializeBlockMeta } from '@thanos-ts/tsdb';
import { Registry } from 'prom-client';
import { bucketUploadBlocks, scanBlockMetas } from '../../packages/cli/src/commands/tools-bucket.js';

const quick = process.argv.includes('--quick');
const OBJECT_SIZE = 64 * 1024 * 1024;
const MiB = 1024 * 1024;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function rangeRun(bucket: Bucket, name: string, rangeSize: number, count: number, concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const offsets = Array.from({ length: count }, () => Math.floor(rand() * (OBJECT_SIZE - rangeSize)));
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const off = offsets[next++] as number;
        const t = performance.now();
        const got = await bucket.getRange(name, off, rangeSize);
        latencies.push(performance.now() - t);
        if (got.byteLength !== rangeSize) throw new Error(`short read ${got.byteLength}`);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    opsPerSec: count / secs,
    mibPerSec: (count * rangeSize) / MiB / secs,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function makeLocalBlocks(dir: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const ulid = `01JBENCH${String(i).padStart(18, '0')}`;
    const d = join(dir, ulid);
    await mkdir(join(d, 'chunks'), { recursive: true });
    await writeFile(join(d, 'chunks', '000001'), Buffer.alloc(MiB, i));
    await writeFile(join(d, 'index'), Buffer.alloc(256 * 1024, i));
    const minTime = 1_700_000_000_000 + i * 7_200_000;
    await writeFile(
      join(d, 'meta.json'),
      serializeBlockMeta({
        ulid,
        minTime,
        maxTime: minTime + 7_200_000,
        stats: { numSeries: 100, numSamples: 100_000, numChunks: 1000 },
        compaction: { level: 1, sources: [ulid] },
        version: 1,
      }),
    );
  }
}

async function apiCalls(make: () => Bucket, n: number, local: string) {
  const registry = new Registry();
  const bucket = withMetrics(make(), { registry, bucketLabel: 'bench' });
  const count = async () => {
    const m = await registry.getSingleMetric('thanos_objstore_bucket_operations_total')?.get();
    const byOp: Record<string, number> = {};
    for (const v of m?.values ?? []) byOp[String(v.labels.operation)] = v.value;
    return byOp;
  };
  const t0 = performance.now();
  await bucketUploadBlocks(bucket, { path: local, labels: { cluster: 'bench' } }, () => {});
  const uploadMs = performance.now() - t0;
  const afterUpload = await count();
  const t1 = performance.now();
  const scan = await scanBlockMetas(bucket);
  const syncMs = performance.now() - t1;
  if (scan.metas.length !== n) throw new Error(`synced ${scan.metas.length} blocks, want ${n}`);
  const afterSync = await count();
  await bucket.close();
  const diff = (a: Record<string, number>, b: Record<string, number> = {}) =>
    Object.entries(a)
      .filter(([k, v]) => v - (b[k] ?? 0) > 0)
      .map(([k, v]) => `${k}=${v - (b[k] ?? 0)}`)
      .join(' ');
  return { upload: diff(afterUpload), uploadMs, sync: diff(afterSync, afterUpload), syncMs };
}

async function main() {
  // s3rver's ListObjectsV2 tokens use DES, which needs OpenSSL's legacy provider on Node 17+.
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim();
  const work = await makeTempDir('objstore-bench-');
  const s3 = await startS3rver();
  const s3Bucket = () =>
    createS3Bucket({
      bucket: s3.bucket,
      endpoint: `127.0.0.1:${s3.port}`,
      insecure: true,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
    });
  const backends: [string, () => Bucket][] = [
    ['filesystem', () => createFilesystemBucket({ directory: join(work, 'fs') })],
    ['s3 (s3rver)', s3Bucket],
  ];
  try {
    const data = Buffer.alloc(OBJECT_SIZE);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    console.log(
      `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), object ${OBJECT_SIZE / MiB} MiB\n`,
    );
    console.log('| backend | range size | concurrency | ranges | ops/s | MiB/s | p50 ms | p99 ms |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [label, make] of backends) {
      const b = make();
      await b.upload('bench/object', data);
      const runs: [number, number, number][] = [
        [16 * 1024, 1, quick ? 200 : 1000],
        [16 * 1024, 32, quick ? 1000 : 5000],
        [MiB, 8, quick ? 50 : 200],
      ];
      for (const [size, conc, count] of runs) {
        await rangeRun(b, 'bench/object', size, Math.min(count, 50), conc); // warm-up
        const r = await rangeRun(b, 'bench/object', size, count, conc);
        console.log(
          `| ${label} | ${size >= MiB ? `${size / MiB} MiB` : `${size / 1024} KiB`} | ${conc} | ${count} | ${r.opsPerSec.toFixed(0)} | ${r.mibPerSec.toFixed(1)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
        );
      }
      await b.close();
    }

    const n = quick ? 10 : 50;
    const local = join(work, 'blocks');
    await makeLocalBlocks(local, n);
    console.log(
      `\nAPI calls to upload ${n} blocks (1 MiB chunks, 256 KiB index, meta.json each) and then sync their metas:\n`,
    );
    console.log('| backend | upload calls | upload time | sync calls | sync time |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const [label, make] of backends) {
      const fresh = label.startsWith('filesystem')
        ? () => createFilesystemBucket({ directory: join(work, 'fs-blocks') })
        : make;
      const r = await apiCalls(fresh, n, local);
      console.log(
        `| ${label} | ${r.upload} | ${(r.uploadMs / 1000).toFixed(2)} s | ${r.sync} | ${(r.syncMs / 1000).toFixed(3)} s |`,
      );
    }
  } finally {
    await s3.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
