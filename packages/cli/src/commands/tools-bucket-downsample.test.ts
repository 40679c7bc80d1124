import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadBlock } from '@thanos-ts/core/block';
import { createBucketDownsampler } from '@thanos-ts/core/compact';
import { createQuerier } from '@thanos-ts/core/query';
import { createStoreGateway } from '@thanos-ts/core/store';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, e2eRequired, makeTempDir, programAvailable } from '@thanos-ts/testing';
import { type BlockMeta, isULID, newBlockId, parseBlockMeta, serializeBlockMeta } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { parseBucketDownsampleFlags } from './tools-bucket-downsample.js';

const H = 3_600_000;
const haveProm = programAvailable('promtool');
if (!haveProm && e2eRequired()) throw new Error('THANOS_TS_E2E=1 but promtool is missing');
if (!haveProm) console.warn('SKIPPING tools bucket downsample e2e: promtool not installed');

const flags = {
  'log.level': 'info',
  'log.format': 'logfmt',
  'objstore.config': 'type: FILESYSTEM\nconfig:\n  directory: /tmp/x',
  dataDir: './data',
  waitInterval: '5m',
  'downsample.concurrency': '1',
  blockFilesConcurrency: '1',
  hashFunc: '',
  httpAddress: '0.0.0.0:10902',
  httpGracePeriod: '2m',
};

async function liveMetas(dir: string): Promise<BlockMeta[]> {
  const out: BlockMeta[] = [];
  for (const e of (await readdir(dir)).filter(isULID)) {
    try {
      out.push(parseBlockMeta(await readFile(join(dir, e, 'meta.json'), 'utf8'), e));
    } catch {
      // partial upload
    }
  }
  return out;
}

describe('tools bucket downsample flags', () => {
  it.each([
    [{}, { waitIntervalMs: 300_000, downsampleConcurrency: 1, blockFilesConcurrency: 1, hashFunc: '' }],
    [
      { waitInterval: '30s', 'downsample.concurrency': '4', blockFilesConcurrency: '8', hashFunc: 'SHA256' },
      { waitIntervalMs: 30_000, downsampleConcurrency: 4, blockFilesConcurrency: 8, hashFunc: 'SHA256' },
    ],
  ])('parses %j', (over, want) => {
    expect(parseBucketDownsampleFlags({ ...flags, ...over })).toMatchObject({
      ...want,
      dataDir: './data',
      httpAddress: '0.0.0.0:10902',
    });
  });

  it.each([
    [{ 'downsample.concurrency': '0' }, /--downsample.concurrency/],
    [{ blockFilesConcurrency: 'x' }, /--block-files-concurrency/],
    [{ hashFunc: 'MD5' }, /--hash-func/],
    [{ waitInterval: 'soon' }, /--wait-interval/],
    [{ waitInterval: '0s' }, /--wait-interval/],
  ])('names the bad flag in %j', (over, want) => {
    expect(() => parseBucketDownsampleFlags({ ...flags, ...over })).toThrow(want);
  });
});

describe.skipIf(!haveProm)('tools bucket downsample', () => {
  it('downsamples a 48h promtool block to 5m as a process; the store gateway serves it and queries agree with raw', async () => {
    const S = Math.ceil(1_700_006_400_000 / (54 * H)) * 54 * H;
    const gen = await blocksFromOpenMetrics({
      seed: 9,
      metrics: 3,
      seriesPerMetric: 2,
      startMs: S + 30_000,
      durationMs: 47 * H + 1_800_000,
      scrapeIntervalMs: 60_000,
      specialValues: false,
      maxBlockDuration: '54h',
    });
    const [raw] = (await readdir(gen.dir)).filter(isULID);
    const bdir = await makeTempDir('ds-tool-bkt-');
    const bucket = createFilesystemBucket({ directory: bdir });
    await uploadBlock(bucket, join(gen.dir, raw as string), { labels: { cluster: 'eu' }, source: 'sidecar' });

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'tools',
        'bucket',
        'downsample',
        `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${bdir}`,
        `--data-dir=${await makeTempDir('ds-tool-data-')}`,
        '--http-address=127.0.0.1:0',
        '--wait-interval=1h',
        '--hash-func=SHA256',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const proc = {
      stderr: () => stderr,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
    let five: BlockMeta | undefined;
    try {
      for (let i = 0; i < 600 && !five; i++) {
        five = (await liveMetas(bdir)).find((m) => m.thanos?.downsample.resolution === 300_000);
        if (!five) await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await proc.stop();
    }
    expect(five, proc.stderr()).toBeDefined();
    expect(five?.compaction.sources).toEqual([raw]);
    expect(five?.thanos?.labels).toEqual({ cluster: 'eu' });
    expect(five?.thanos?.files?.find((f) => f.rel_path === 'index')?.hash?.hashFunc).toBe('SHA256');
    expect(proc.stderr()).toContain('downsampled block');

    // A second run finds nothing to do: the raw block's sources are all in a 5m block.
    const again = createBucketDownsampler({ bucket, dataDir: await makeTempDir('ds-tool-data2-') });
    expect(await again.runOnce()).toMatchObject({ downsampled: [], failed: [], candidates: 0 });

    const gateway = createStoreGateway({ bucket, dataDir: await makeTempDir('ds-tool-sg-') });
    await gateway.start();
    const querier = createQuerier({ endpoints: [gateway], evaluationWorkers: 0 });
    await querier.start();
    try {
      expect(
        gateway
          .blocks()
          .map((b) => b.resolution)
          .sort(),
      ).toEqual([0, 300_000]);
      for (const q of ['max_over_time(gen_counter_0_total[1h])', 'min_over_time(gen_gauge_1[1h])']) {
        const run = async (maxSourceResolutionMs: number) => {
          const r = await querier.rangeQuery(q, S + 2 * H, S + 46 * H, H, { maxSourceResolutionMs });
          if (r.result.type !== 'matrix') throw new Error(q);
          return r.result.series.map((s) => ({ m: s.metric.toString(), v: Array.from(s.values) }));
        };
        const rawAns = await run(0);
        const down = await run(300_000);
        expect(rawAns.length).toBeGreaterThan(0);
        expect(down.map((s) => s.m)).toEqual(rawAns.map((s) => s.m));
        for (const [i, s] of down.entries())
          for (const [j, v] of s.v.entries()) expect(v).toBeCloseTo(rawAns[i]?.v[j] as number, 6);
      }
    } finally {
      await querier.close();
      await gateway.close();
    }
  }, 180_000);

  it('lifecycle: create → start → close twice → start after close rejects → await using', async () => {
    const bucket = createFilesystemBucket({ directory: await makeTempDir('ds-tool-bkt-') });
    const d = createBucketDownsampler({
      bucket,
      dataDir: await makeTempDir('ds-tool-data-'),
      httpAddress: '127.0.0.1:0',
      waitIntervalMs: 60_000,
      // --http.config applies to its endpoints as to every component's.
      webConfig: { httpServerConfig: { headers: { 'X-Frame-Options': 'deny' } } },
    });
    await d.start();
    const addr = d.httpAddress as string;
    const healthy = await fetch(`http://${addr}/-/healthy`);
    expect(healthy.status).toBe(200);
    expect(healthy.headers.get('x-frame-options')).toBe('deny');
    expect(await (await fetch(`http://${addr}/metrics`)).text()).toContain(
      'thanos_compact_downsample_duration_seconds',
    );
    await d.close();
    await d.close();
    await expect(fetch(`http://${addr}/-/healthy`)).rejects.toThrow();
    await expect(d.start()).rejects.toThrow();
    {
      await using d2 = createBucketDownsampler({ bucket, dataDir: await makeTempDir('ds-tool-data-') });
      await d2.start();
      expect(d2.ready()).toBe(true);
    }
  });
});

describe('tools bucket downsample with a broken block', () => {
  it('marks a block that cannot be downsampled no-downsample, reports it on /-/ready and skips it next run', async () => {
    const dir = await makeTempDir('ds-tool-bad-');
    const bucket = createFilesystemBucket({ directory: dir });
    const id = newBlockId();
    const t = 1_700_006_400_000;
    await bucket.upload(`${id}/chunks/000001`, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    await bucket.upload(`${id}/index`, new TextEncoder().encode('not an index at all, just bytes'));
    await bucket.upload(
      `${id}/meta.json`,
      new TextEncoder().encode(
        serializeBlockMeta({
          ulid: id,
          minTime: t,
          maxTime: t + 48 * H,
          stats: { numSamples: 10 },
          compaction: { level: 3, sources: [id] },
          version: 1,
          thanos: { labels: { cluster: 'eu' }, downsample: { resolution: 0 }, source: 'compactor' },
        }),
      ),
    );
    const d = createBucketDownsampler({
      bucket,
      dataDir: await makeTempDir('ds-tool-bad-data-'),
      waitIntervalMs: 60_000,
    });
    await d.start();
    try {
      const r = await d.runOnce();
      expect(r.downsampled).toEqual([]);
      expect(r.failed.map((f) => [f.block, f.permanent])).toEqual([[id, true]]);
      expect(d.ready()).toBe(false);
      const res = new ServerResponseRecorder();
      await d.handler({ url: '/-/ready', method: 'GET', headers: {} } as never, res as never);
      expect(res.status).toBe(503);
      expect(res.body).toContain(id);
      const mark = JSON.parse(Buffer.from(await bucket.get(`${id}/no-downsample-mark.json`)).toString());
      expect(mark).toMatchObject({ id, reason: 'compactor-halt' });
      // The next run skips the marked block and has nothing left to fail on.
      expect(await d.runOnce()).toMatchObject({ downsampled: [], failed: [], candidates: 0 });
      expect(d.ready()).toBe(true);
    } finally {
      await d.close();
    }
  });
});

/** The bits of ServerResponse the readiness handler uses. */
class ServerResponseRecorder {
  status = 0;
  body = '';
  headersSent = false;
  writeHead(status: number) {
    this.status = status;
    this.headersSent = true;
    return this;
  }
  setHeader() {}
  end(body?: string) {
    this.body += body ?? '';
  }
}
