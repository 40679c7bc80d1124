/**
 * Block upload to Azure (Azurite) and S3 (s3rver): MB/s and HTTP requests per block, next to
 * the request count Thanos's own clients would make for the same files (Azure: UploadStream with
 * 3 MiB blocks — one Put Blob below a block, else one Put Block per 3 MiB and a Put Block List;
 * S3: minio-go with 64 MiB parts — one PUT below a part, else create + parts + complete).
 * Requests are counted by a pass-through HTTP proxy in front of each server, so the figure is
 * what a real storage account would bill, retries included.
 *
 *   npx tsx bench/objstore/upload-providers.ts [series=20000] [blocks=4]
 *
 * The blocks are the store benchmark's data set (bench/core/store-data.ts), built once into
 * .bench-data. Prints a Markdown table for docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Bucket, createBucketFromConfig } from '@thanos-ts/objstore';
import { type RunningAzurite, type RunningS3, startAzurite, startS3rver } from '@thanos-ts/testing';
import { uploadTsdbBlocks } from '../../packages/core/src/block/upload-blocks.js';
import { ensureBenchData } from '../core/store-data.js';

const MiB = 1024 * 1024;
const series = Number(process.argv[2] ?? 20_000);
const blocks = Number(process.argv[3] ?? 4);

/** A proxy that forwards to 127.0.0.1:target and counts requests. */
async function countingProxy(target: number) {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const up = httpRequest(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    count: () => requests,
    reset: () => {
      requests = 0;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Sizes of every file the shipper uploads for each block (chunks/*, index, meta.json). */
async function blockFiles(tsdbDir: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const id of (await readdir(tsdbDir)).filter((d) => /^[0-9A-Z]{26}$/.test(d))) {
    const dir = join(tsdbDir, id);
    const sizes: number[] = [];
    for (const c of await readdir(join(dir, 'chunks'))) sizes.push((await stat(join(dir, 'chunks', c))).size);
    sizes.push((await stat(join(dir, 'index'))).size, (await stat(join(dir, 'meta.json'))).size);
    out.set(id, sizes);
  }
  return out;
}

const thanosAzureRequests = (size: number) => (size < 3 * MiB ? 1 : Math.ceil(size / (3 * MiB)) + 1);
const thanosS3Requests = (size: number) => (size < 64 * MiB ? 1 : Math.ceil(size / (64 * MiB)) + 2);

async function run(
  name: string,
  makeBucket: (port: number) => Promise<Bucket>,
  serverPort: number,
  tsdbDir: string,
  totalBytes: number,
  nBlocks: number,
) {
  const proxy = await countingProxy(serverPort);
  const bucket = await makeBucket(proxy.port);
  try {
    await bucket.exists('warm-up'); // Connection set-up and (Azure) the one container check.
    proxy.reset();
    const t = performance.now();
    await uploadTsdbBlocks(bucket, tsdbDir, { labels: { cluster: 'bench' }, source: 'bench' });
    const secs = (performance.now() - t) / 1000;
    return { name, mbPerSec: totalBytes / 1e6 / secs, secs, requestsPerBlock: proxy.count() / nBlocks };
  } finally {
    await bucket.close();
    await proxy.close();
  }
}

const { tsdbDir } = await ensureBenchData(series, blocks, (l) => console.error(l));
const files = await blockFiles(tsdbDir);
const totalBytes = [...files.values()].flat().reduce((a, b) => a + b, 0);
const nBlocks = files.size;
const perBlock = (f: (s: number) => number) => [...files.values()].flat().reduce((a, s) => a + f(s), 0) / nBlocks;

let az: RunningAzurite | undefined;
let s3: RunningS3 | undefined;
try {
  [az, s3] = await Promise.all([startAzurite(), startS3rver()]);
  const azure = az;
  const s3r = s3;
  const results = [
    await run(
      'AZURE (Azurite 3.37)',
      (port) =>
        createBucketFromConfig(
          `type: AZURE\nconfig:\n  storage_account: ${azure.accountName}\n  storage_connection_string: "${azure.connectionString.replace(`:${azure.port}/`, `:${port}/`)}"\n  container: bench-${randomBytes(3).toString('hex')}\n`,
        ),
      azure.port,
      tsdbDir,
      totalBytes,
      nBlocks,
    ),
    await run(
      'S3 (s3rver 3.7)',
      (port) =>
        createBucketFromConfig(
          `type: S3\nconfig:\n  bucket: ${s3r.bucket}\n  endpoint: 127.0.0.1:${port}\n  insecure: true\n  access_key: ${s3r.accessKey}\n  secret_key: ${s3r.secretKey}\nprefix: bench-${randomBytes(3).toString('hex')}\n`,
        ),
      s3r.port,
      tsdbDir,
      totalBytes,
      nBlocks,
    ),
  ];
  const thanos = [perBlock(thanosAzureRequests), perBlock(thanosS3Requests)];
  console.log(
    `\nUpload of ${nBlocks} blocks × ${series} series (${(totalBytes / MiB).toFixed(1)} MiB, ${[...files.values()][0]?.length} files per block), one block at a time as the shipper does:\n`,
  );
  console.log('| provider | MB/s | seconds | requests per block | Thanos client, same files |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [i, r] of results.entries()) {
    console.log(
      `| ${r.name} | ${r.mbPerSec.toFixed(1)} | ${r.secs.toFixed(2)} | ${r.requestsPerBlock.toFixed(1)} | ${thanos[i]?.toFixed(1)} |`,
    );
  }
} finally {
  await Promise.all([az?.stop(), s3?.stop()]);
}
