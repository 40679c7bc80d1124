import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Bucket, createFilesystemBucket } from '@thanos-ts/objstore';
import {
  blocksFromOpenMetrics,
  e2eRequired,
  type GeneratedBlocks,
  makeTempDir,
  programAvailable,
  removeTempDir,
} from '@thanos-ts/testing';
import { type BlockMeta, isULID, readBlockMeta } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOTLPHttpReceiver } from '../../test/otlp-receiver.js';
import { uploadBlock } from '../block/upload.js';
import { markForDeletion } from '../compact/markers.js';
import { parseRelabelConfig } from '../store/relabel.js';
import { createTracing } from '../tracing/index.js';
import { type BucketWeb, type BucketWebOptions, createBucketWeb } from './bucket-web.js';

const havePromtool = programAvailable('promtool');
if (!havePromtool && e2eRequired()) throw new Error('THANOS_TS_E2E=1 but promtool is missing');
if (!havePromtool) console.warn('SKIPPING bucket web tests: promtool not installed');

/** A valid ULID next to `id` (same time part): a compacted block's id in tests. */
function siblingULID(id: string, last: string): string {
  return `${id.slice(0, 25)}${last}`;
}

interface BlocksAnswer {
  status: string;
  data: {
    label: string;
    blocks: BlockMeta[];
    refreshedAt: string | null;
    err: string | null;
    marks: Record<string, { deletion?: { details: string }; noCompact?: { reason: string; details: string } }>;
  };
}

async function getBlocks(base: string, query = ''): Promise<BlocksAnswer> {
  const res = await fetch(`${base}/api/v1/blocks${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as BlocksAnswer;
}

/** A bucket whose listing fails while `failing.on` is set (a backend outage). */
function flakyBucket(inner: Bucket, failing: { on: boolean }): Bucket {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'iter' && failing.on)
        return () => {
          throw new Error('listing the bucket: connection refused');
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe.skipIf(!havePromtool)('tools bucket web component', () => {
  const dirs: string[] = [];
  let gen: GeneratedBlocks;
  let bucketDir: string;
  let bucket: Bucket;
  /** Uploaded blocks: two from cluster eu (one also compacted into a level-2 block), one from us. */
  const ids = { eu1: '', eu2: '', us: '', compacted: '' };

  beforeAll(async () => {
    gen = await blocksFromOpenMetrics({ metrics: 2, seriesPerMetric: 3, durationMs: 5 * 3_600_000 });
    dirs.push(gen.dir);
    bucketDir = await makeTempDir('bucket-web-');
    dirs.push(bucketDir);
    bucket = createFilesystemBucket({ directory: bucketDir });
    const blocks = (await readdir(gen.dir)).filter(isULID).sort();
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    const [a, b] = blocks.map((d) => join(gen.dir, d)) as [string, string];
    ids.eu1 = (await uploadBlock(bucket, a, { labels: { cluster: 'eu', replica: '0' }, source: 'sidecar' })).ulid;
    ids.eu2 = (await uploadBlock(bucket, b, { labels: { cluster: 'eu', replica: '0' }, source: 'sidecar' })).ulid;
    // The same data under cluster=us: a block of another stream, with its own id.
    const metaB = await readBlockMeta(b);
    ids.us = siblingULID(metaB.ulid, metaB.ulid.endsWith('Z') ? 'Y' : 'Z');
    await uploadBlock(bucket, b, {
      labels: { cluster: 'us', replica: '0' },
      source: 'sidecar',
      meta: { ...metaB, ulid: ids.us, compaction: { level: 1, sources: [ids.us] } },
    });
    // A level-2 block made from eu1 and a block since deleted: eu1's sources are a strict subset,
    // so Thanos's deduplicate filter hides eu1.
    const metaA = await readBlockMeta(a);
    ids.compacted = siblingULID(metaA.ulid, metaA.ulid.endsWith('X') ? 'W' : 'X');
    await uploadBlock(bucket, a, {
      labels: { cluster: 'eu', replica: '0' },
      source: 'compactor',
      meta: {
        ...metaA,
        ulid: ids.compacted,
        compaction: { level: 2, sources: [metaA.ulid, siblingULID(metaA.ulid, '0')] },
      },
    });
    await markForDeletion(bucket, ids.eu2, 'test mark', Date.now());
  }, 120_000);

  afterAll(async () => {
    for (const d of dirs) await removeTempDir(d);
  });

  const base = (web: BucketWeb) => `http://${web.httpAddress}`;
  const make = (opts: Partial<BucketWebOptions> = {}) =>
    createBucketWeb({ bucket, httpAddress: '127.0.0.1:0', httpGracePeriodMs: 500, ...opts });

  it('serves Thanos /api/v1/blocks: meta.json of each block, deduplicated, with marks', async () => {
    await using web = make({ label: 'cluster' });
    await web.start();
    const body = await getBlocks(base(web));
    expect(body.status).toBe('success');
    expect(Object.keys(body.data)).toEqual(['label', 'blocks', 'refreshedAt', 'err', 'marks']);
    expect(body.data.label).toBe('cluster');
    expect(body.data.err).toBeNull();
    expect(Date.parse(body.data.refreshedAt as string)).toBeGreaterThan(Date.now() - 60_000);
    const shown = body.data.blocks.map((b) => b.ulid).sort();
    expect(shown).toEqual([ids.compacted, ids.eu2, ids.us].sort());
    // Each block is its meta.json as uploaded, field for field.
    for (const b of body.data.blocks) {
      const stored = JSON.parse(await readFile(join(bucketDir, b.ulid, 'meta.json'), 'utf8'));
      expect(b).toEqual(stored);
    }
    expect(body.data.marks[ids.eu2]?.deletion?.details).toBe('test mark');
    expect(body.data.marks[ids.us]).toBeUndefined();
    expect((await getBlocks(base(web), '?view=loaded')).data.blocks).toEqual([]);
    const metrics = await (await fetch(`${base(web)}/metrics`)).text();
    expect(metrics).toContain('thanos_bucket_blocks_meta_synced{state="duplicate"} 1');
    expect(metrics).toContain('thanos_bucket_blocks_meta_syncs_total 1');
  });

  it('filters by time and by relabel rules over external labels', async () => {
    await using eu = make({
      filters: { relabel: parseRelabelConfig('- action: keep\n  source_labels: [cluster]\n  regex: eu\n', 'test') },
    });
    await eu.start();
    expect((await getBlocks(base(eu))).data.blocks.map((b) => b.thanos?.labels.cluster)).toEqual(['eu', 'eu']);
    // --max-time before every block's start: nothing to show.
    const earliest = Math.min(...(await getBlocks(base(eu))).data.blocks.map((b) => b.minTime));
    await using none = make({ filters: { maxTime: { kind: 'time', ms: earliest - 1 } } });
    await none.start();
    expect((await getBlocks(base(none))).data.blocks).toEqual([]);
  });

  it('marks blocks from the API as Thanos does, and refuses what Thanos refuses', async () => {
    await using web = make();
    await web.start();
    const post = (form: Record<string, string>) =>
      fetch(`${base(web)}/api/v1/blocks/mark`, { method: 'POST', body: new URLSearchParams(form) });
    const cases: { form: Record<string, string>; error: string }[] = [
      { form: { action: 'DELETION' }, error: 'ID cannot be empty' },
      { form: { id: ids.us }, error: 'Action cannot be empty' },
      {
        form: { id: 'nope', action: 'DELETION' },
        error: 'ULID "nope" is not valid: ulid: bad data size when unmarshaling',
      },
      {
        form: { id: `${ids.us.slice(0, 25)}U`, action: 'DELETION' },
        error: `ULID "${ids.us.slice(0, 25)}U" is not valid: ulid: bad data characters when unmarshaling`,
      },
      { form: { id: ids.us, action: 'SHRED' }, error: 'not supported marker SHRED' },
    ];
    for (const c of cases) {
      const res = await post(c.form);
      expect(res.status, c.error).toBe(400);
      expect(await res.json()).toEqual({ status: 'error', errorType: 'bad_data', error: c.error });
    }
    const res = await post({ id: ids.us, action: 'NO_COMPACTION', detail: 'keep as is' });
    expect(await res.json()).toEqual({ status: 'success' });
    const mark = JSON.parse(await readFile(join(bucketDir, ids.us, 'no-compact-mark.json'), 'utf8'));
    expect(mark).toMatchObject({ id: ids.us, version: 1, details: 'keep as is', reason: 'manual' });
    expect((await getBlocks(base(web))).data.marks[ids.us]?.noCompact?.reason).toBe('manual');

    await using locked = make({ disableAdminOperations: true });
    await locked.start();
    const denied = await fetch(`${base(locked)}/api/v1/blocks/mark`, {
      method: 'POST',
      body: new URLSearchParams({ id: ids.us, action: 'DELETION' }),
    });
    expect(await denied.json()).toEqual({
      status: 'error',
      errorType: 'bad_data',
      error: 'Admin operations are disabled',
    });
  });

  it('keeps the last good view and reports degraded on /-/ready while refreshes fail', async () => {
    const failing = { on: false };
    await using web = make({ bucket: flakyBucket(bucket, failing), retryIntervalMs: 50 });
    await web.start();
    expect((await fetch(`${base(web)}/-/ready`)).status).toBe(200);
    failing.on = true;
    expect(await web.refresh()).toBe(false);
    const ready = await fetch(`${base(web)}/-/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toBe(
      'NOT READY: refreshing the blocks view from the bucket failed: listing the bucket: connection refused',
    );
    const body = await getBlocks(base(web));
    expect(body.data.err).toBe('listing the bucket: connection refused');
    expect(body.data.blocks).toHaveLength(3);
    expect(await (await fetch(`${base(web)}/metrics`)).text()).toContain('thanos_bucket_web_refresh_degraded 1');
    failing.on = false;
    expect(await web.refresh()).toBe(true);
    expect((await fetch(`${base(web)}/-/ready`)).status).toBe(200);
    expect((await getBlocks(base(web))).data.err).toBeNull();
  });

  it('starts degraded, not failed, when the bucket is down', async () => {
    await using web = make({ bucket: flakyBucket(bucket, { on: true }) });
    await web.start();
    expect(web.ready()).toBe(false);
    expect((await getBlocks(base(web))).data).toMatchObject({
      blocks: [],
      err: 'listing the bucket: connection refused',
    });
  });

  it('serves under --web.route-prefix and links under --web.external-prefix or the prefix header', async () => {
    await using web = make({ routePrefix: '/bucket/', prefixHeader: 'X-Forwarded-Prefix' });
    await web.start();
    const root = await fetch(`${base(web)}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/bucket/');
    expect((await getBlocks(`${base(web)}/bucket`)).data.blocks).toHaveLength(3);
    expect((await fetch(`${base(web)}/api/v1/blocks`)).status).toBe(404);
    const page = await (await fetch(`${base(web)}/bucket/`)).text();
    expect(page).toContain('"prefix":"/bucket"');
    expect(page).toMatch(/src="\/bucket\/static\/[^"]+\.js"/);
    const proxied = await (await fetch(`${base(web)}/bucket/`, { headers: { 'X-Forwarded-Prefix': '/ops/b' } })).text();
    expect(proxied).toContain('"prefix":"/ops/b"');
    // Assets are served under the route prefix whatever the links say.
    const js = /src="\/ops\/b(\/static\/[^"]+\.js)"/.exec(proxied)?.[1] as string;
    expect((await fetch(`${base(web)}/bucket${js}`)).status).toBe(200);

    await using ext = make({ externalPrefix: '/thanos-bucket' });
    await ext.start();
    // The route prefix defaults to the external prefix, as Thanos.
    expect((await getBlocks(`${base(ext)}/thanos-bucket`)).data.blocks).toHaveLength(3);
  });

  it('sends CORS headers unless disabled', async () => {
    await using web = make();
    await web.start();
    expect((await fetch(`${base(web)}/api/v1/blocks`)).headers.get('access-control-allow-origin')).toBe('*');
    await using quiet = make({ disableCORS: true });
    await quiet.start();
    expect((await fetch(`${base(quiet)}/api/v1/blocks`)).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('exports one span per refresh, failed ones with their error, over OTLP', async () => {
    const receiver = await startOTLPHttpReceiver();
    try {
      const tracing = createTracing(
        `type: OTLP\nconfig:\n  client_type: http\n  service_name: bucket\n  endpoint: ${receiver.endpoint}\n  insecure: true\n  sampler_type: alwayssample\n`,
      );
      const failing = { on: false };
      const web = make({ bucket: flakyBucket(bucket, failing), tracer: tracing.tracer });
      await web.start();
      failing.on = true;
      await web.refresh();
      await web.close();
      await tracing.shutdown();
      const spans = receiver.spans.filter((x) => x.name === 'bucket_web_refresh');
      expect(spans).toHaveLength(2);
      expect(spans[0]?.attributes.blocks).toBe(3);
      expect(spans[0]?.statusCode).not.toBe(2);
      expect(spans[1]?.statusCode).toBe(2);
    } finally {
      await receiver.close();
    }
  });

  it('refuses bad options by name', () => {
    expect(() => make({ refreshIntervalMs: 0 })).toThrow('--refresh: must be positive');
    expect(() => make({ timeoutMs: -1 })).toThrow('--timeout');
  });
});
