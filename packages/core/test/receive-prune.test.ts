// Idle tenants (issue 15, Thanos's MultiTSDB.Prune): a tenant whose newest sample is older than
// the retention is written to blocks, shipped, closed and its directory removed; the querier
// answers the same before and after (from the bucket, through a store gateway); a write after
// (or during) the prune re-opens it; a failed upload keeps everything and is retried.
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Bucket, createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { type DB, Labels } from '@thanos-ts/tsdb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Logger, NOP_LOGGER } from '../src/log/logger.js';
import { createQuerier } from '../src/query/querier.js';
import {
  createReceiver,
  pruneAction,
  type Receiver,
  type ReceiverOptions,
  type WriteSeries,
} from '../src/receive/index.js';
import { createMultiTSDB } from '../src/receive/multi-tsdb.js';
import { createStoreGateway, type StoreGateway } from '../src/store/store-gateway.js';
import type { StoreAPI } from '../src/storeapi/store-api.js';

const H = 3_600_000;
// A block boundary, so block ranges in the assertions are easy to read.
const T0 = Math.floor(1_700_000_000_000 / (2 * H)) * 2 * H;
const RETENTION = 6 * H;

function series(name: string, i: number, from: number, n: number, stepMs = 60_000): WriteSeries {
  return {
    labels: [
      { name: '__name__', value: name },
      { name: 'i', value: String(i) },
    ],
    timestamps: Array.from({ length: n }, (_, k) => from + k * stepMs),
    values: Array.from({ length: n }, (_, k) => k * 10 + i),
    histograms: 0,
  };
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** A logger that keeps lines, so tests can await one and check what it names. */
function recordingLogger(onLine?: (msg: string, f: Record<string, unknown>) => void) {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      lines.push({ level, msg, fields });
      onLine?.(msg, fields);
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as Logger, lines };
}

/** A bucket whose uploads fail while `failing.on` is set (a fake around a real filesystem bucket). */
function flakyBucket(inner: Bucket, failing: { on: boolean }): Bucket {
  return new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop === 'upload')
        return (...args: unknown[]) =>
          failing.on
            ? Promise.reject(new Error('injected upload failure'))
            : (v as (...a: unknown[]) => Promise<void>).apply(target, args);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

async function bucketTenants(bucket: Bucket): Promise<string[]> {
  const out: string[] = [];
  for await (const name of bucket.iter('')) {
    const m = JSON.parse(Buffer.from(await bucket.get(`${name.replace(/\/$/, '')}/meta.json`)).toString());
    out.push(m.thanos.labels.tenant_id);
  }
  return out.sort();
}

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('receive-prune-');
});
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

describe('receiver prunes idle tenants', () => {
  const started: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const c of started.splice(0).reverse()) await c.close();
  });

  let n = 0;
  function setup(o: Partial<ReceiverOptions> & { clock: { now: number } }) {
    const { clock, ...rest } = o;
    const base = join(dir, `case-${n++}`);
    const rec = recordingLogger();
    const r = createReceiver({
      tsdbPath: join(base, 'data'),
      flushIntervalMs: 0,
      retentionMs: RETENTION,
      externalLabels: { replica: 'r0' },
      logger: rec.logger,
      now: () => clock.now,
      ...rest,
    });
    started.push(r);
    return { r, base, tsdbPath: join(base, 'data'), lines: rec.lines };
  }

  async function instant(stores: StoreAPI[], expr: string, at: number): Promise<Record<string, number>> {
    const q = createQuerier({ endpoints: stores, evaluationWorkers: 0 });
    await q.start();
    try {
      const res = await q.instantQuery(expr, at);
      const out: Record<string, number> = {};
      if (res.result.type === 'vector') for (const s of res.result.samples) out[s.metric.toString()] = s.f;
      return out;
    } finally {
      await q.close();
    }
  }

  it('ships and removes the idle tenant, keeps the active one, answers the same, and re-opens on write', async () => {
    const clock = { now: T0 };
    const bucketDir = join(dir, `bucket-${n}`);
    const bucket = createFilesystemBucket({ directory: bucketDir });
    const { r, base, tsdbPath, lines } = setup({ clock, bucket });
    await r.start();
    // "idle" gets 90 minutes of samples at T0; "active" the same, and more later.
    for (const tenant of ['idle', 'active'])
      await r.write({ tenant, timeseries: [0, 1, 2].map((i) => series('m', i, T0, 90)) });
    const sg: StoreGateway = createStoreGateway({ bucket, dataDir: join(base, 'sg'), syncIntervalMs: 0 });
    started.push(sg);
    await sg.start();

    const exprs = ['count_over_time(m[2h])', 'sum by (tenant_id) (sum_over_time(m[2h]))'];
    const at = T0 + 100 * 60_000;
    const before = await Promise.all(exprs.map((e) => instant([r, sg], e, at)));
    expect(Object.keys(before[0] as object)).toHaveLength(6);

    // Thanos's first threshold: a head idle for more than 1.5 block durations is written to blocks.
    const newest = T0 + 89 * 60_000;
    clock.now = newest + 3 * H;
    expect(await r.prune()).toEqual({ pruned: [], flushed: [] });
    clock.now = newest + 3 * H + 1;
    expect(await r.prune()).toEqual({ pruned: [], flushed: ['idle', 'active'] });
    for (const tenant of ['idle', 'active']) {
      const files = await readdir(join(tsdbPath, tenant));
      expect(files.filter((f) => /^[0-9A-Z]{26}$/.test(f))).toHaveLength(1);
    }
    expect(r.tenants().sort()).toEqual(['active', 'idle']);
    expect(await Promise.all(exprs.map((e) => instant([r, sg], e, at)))).toEqual(before);
    // Nothing left in the heads: a second round does nothing.
    expect(await r.prune()).toEqual({ pruned: [], flushed: [] });

    // Not idle enough to close yet: exactly the retention after the newest sample (Thanos: strictly more).
    clock.now = newest + RETENTION;
    expect(await r.prune()).toEqual({ pruned: [], flushed: [] });
    expect(r.tenants().sort()).toEqual(['active', 'idle']);

    clock.now = newest + RETENTION + 1;
    await r.write({ tenant: 'active', timeseries: [series('m', 0, clock.now - 1000, 1)] });
    expect(await r.prune()).toEqual({ pruned: ['idle'], flushed: [] });

    expect(r.tenants()).toEqual(['active']);
    expect(await exists(join(tsdbPath, 'idle'))).toBe(false);
    expect(await exists(join(tsdbPath, 'active'))).toBe(true);
    expect(await bucketTenants(bucket)).toEqual(['idle']);
    const info = await r.info();
    expect(info.labelSets.map((l) => l.get('tenant_id'))).toEqual(['active']);
    expect(info.tsdbInfos?.map((t) => t.labels.get('tenant_id'))).toEqual(['active']);
    const metrics = await r.registry.metrics();
    expect(metrics).toMatch(/^thanos_receive_pruned_tenants_total 1$/m);
    expect(metrics).not.toMatch(/thanos_receive_head_series\{tenant="idle"\}/);
    expect(lines.find((l) => l.msg === 'pruned idle tenant')?.fields).toMatchObject({ tenant: 'idle' });

    // Same answers, the idle tenant's data now from the bucket.
    await sg.sync();
    const after = await Promise.all(exprs.map((e) => instant([r, sg], e, at)));
    expect(after).toEqual(before);

    // A write re-opens it in a fresh directory.
    await r.write({ tenant: 'idle', timeseries: [series('m', 7, clock.now - 1000, 1)] });
    expect(r.tenants().sort()).toEqual(['active', 'idle']);
    expect(await exists(join(tsdbPath, 'idle', 'wal'))).toBe(true);
    expect(await instant([r], 'm{i="7"}', clock.now)).toEqual({
      '{__name__="m", i="7", replica="r0", tenant_id="idle"}': 7,
    });
  });

  it('a write arriving while the tenant is pruned waits and lands in the re-opened tenant', async () => {
    const clock = { now: T0 };
    const bucket = createFilesystemBucket({ directory: join(dir, `bucket-${n}`) });
    let r!: Receiver;
    const during: Promise<void>[] = [];
    const rec = recordingLogger((msg) => {
      // Fired from inside the prune, after the tenant was claimed.
      if (msg === 'pruning tenant')
        during.push(r.write({ tenant: 'idle', timeseries: [series('late', 0, clock.now - 1000, 1)] }));
    });
    const base = join(dir, `case-${n++}`);
    r = createReceiver({
      tsdbPath: join(base, 'data'),
      flushIntervalMs: 0,
      retentionMs: RETENTION,
      bucket,
      logger: rec.logger,
      now: () => clock.now,
    });
    started.push(r);
    await r.start();
    await r.write({ tenant: 'idle', timeseries: [series('m', 0, T0, 30)] });
    clock.now = T0 + 2 * RETENTION;
    expect(await r.prune()).toEqual({ pruned: ['idle'], flushed: [] });
    expect(during).toHaveLength(1);
    await during[0];
    expect(r.tenants()).toEqual(['idle']);
    expect(await instant([r], 'late', clock.now)).toEqual({ '{__name__="late", i="0", tenant_id="idle"}': 0 });
    // The old samples went to the bucket, not into the new TSDB.
    expect(await instant([r], 'count_over_time(m[2h])', T0 + 60 * 60_000)).toEqual({});
    expect(await bucketTenants(bucket)).toEqual(['idle']);
  });

  it('a failed upload keeps the tenant served from its blocks and is retried', async () => {
    const clock = { now: T0 };
    const failing = { on: true };
    const inner = createFilesystemBucket({ directory: join(dir, `bucket-${n}`) });
    const { r, tsdbPath, lines } = setup({ clock, bucket: flakyBucket(inner, failing) });
    await r.start();
    await r.write({ tenant: 'idle', timeseries: [0, 1].map((i) => series('m', i, T0, 200)) });
    const want = await instant([r], 'count_over_time(m[4h])', T0 + 210 * 60_000);
    expect(want).toEqual({
      '{i="0", replica="r0", tenant_id="idle"}': 200,
      '{i="1", replica="r0", tenant_id="idle"}': 200,
    });
    clock.now = T0 + 2 * RETENTION;

    await expect(r.prune()).rejects.toMatchObject({
      errors: [{ code: 'CORE_RECEIVE_PRUNE', message: expect.stringMatching(/^prune tenant idle: ship blocks: /) }],
    });
    expect(r.tenants()).toEqual(['idle']);
    // Re-opened from the blocks the prune wrote: the WAL is gone, the samples are all there.
    const files = await readdir(join(tsdbPath, 'idle'));
    expect(files.filter((f) => /^[0-9A-Z]{26}$/.test(f)).length).toBe(2);
    expect(await instant([r], 'count_over_time(m[4h])', T0 + 210 * 60_000)).toEqual(want);
    expect(await r.registry.metrics()).toMatch(/^thanos_receive_prune_failures_total 1$/m);
    expect(lines.some((l) => l.level === 'error' && String(l.fields.err).includes('prune tenant idle'))).toBe(true);
    expect(await bucketTenants(inner)).toEqual([]);

    failing.on = false;
    expect(await r.prune()).toEqual({ pruned: ['idle'], flushed: [] });
    expect(await bucketTenants(inner)).toEqual(['idle', 'idle']);
    expect(await exists(join(tsdbPath, 'idle'))).toBe(false);
  });

  it.each([
    { name: 'no bucket: removed without shipping, as Thanos', retentionMs: RETENTION, pruned: ['t'] },
    { name: 'retention 0 never prunes', retentionMs: 0, pruned: [] },
  ])('$name', async ({ retentionMs, pruned }) => {
    const clock = { now: T0 };
    const { r, tsdbPath } = setup({ clock, retentionMs });
    await r.start();
    await r.write({ tenant: 't', timeseries: [series('m', 0, T0, 10)] });
    clock.now = T0 + 100 * RETENTION + 100 * H;
    expect(await r.prune()).toEqual({ pruned, flushed: [] });
    expect(await exists(join(tsdbPath, 't'))).toBe(pruned.length === 0);
  });

  it('prunes a tenant flushed before a restart, by its newest block (Thanos would keep it)', async () => {
    const clock = { now: T0 };
    const bucket = createFilesystemBucket({ directory: join(dir, `bucket-${n}`) });
    const { r, tsdbPath } = setup({ clock, bucket });
    await r.start();
    await r.write({ tenant: 't', timeseries: [series('m', 0, T0, 30)] });
    clock.now = T0 + 4 * H;
    expect(await r.prune()).toEqual({ pruned: [], flushed: ['t'] });
    await r.close();
    const again = createReceiver({
      tsdbPath,
      flushIntervalMs: 0,
      retentionMs: RETENTION,
      bucket,
      now: () => clock.now,
    });
    started.push(again);
    await again.start();
    expect(again.tenants()).toEqual(['t']);
    clock.now = T0 + 29 * 60_000 + RETENTION + 1;
    expect(await again.prune()).toEqual({ pruned: ['t'], flushed: [] });
    expect(await bucketTenants(bucket)).toEqual(['t']);
    expect(await exists(join(tsdbPath, 't'))).toBe(false);
  });

  it('runs on its own at wall-clock multiples of two block durations, as Thanos', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const H4 = 4 * H;
      const aligned = Math.ceil((T0 + 2 * RETENTION) / H4) * H4; // 00:00, 04:00, … UTC
      const clock = { now: T0 };
      let completed: (() => void) | undefined;
      const rec = recordingLogger((msg) => {
        if (msg === 'pruning job completed') completed?.();
      });
      const base = join(dir, `case-${n++}`);
      const r = createReceiver({
        tsdbPath: join(base, 'data'),
        flushIntervalMs: 3_600_000,
        retentionMs: RETENTION,
        logger: rec.logger,
        now: () => clock.now,
      });
      started.push(r);
      await r.start();
      await r.write({ tenant: 't', timeseries: [series('m', 0, T0, 10)] });
      // Idle, but one minute past the slot: the minute check does nothing.
      clock.now = aligned + 60_000;
      vi.advanceTimersByTime(60_000);
      await new Promise((res) => setTimeout(res, 50));
      expect(r.tenants()).toEqual(['t']);
      expect(rec.lines.some((l) => l.msg === 'pruning job completed')).toBe(false);
      // On the slot it prunes.
      clock.now = aligned;
      const done = new Promise<void>((res) => {
        completed = res;
      });
      vi.advanceTimersByTime(60_000);
      await done;
      expect(r.tenants()).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('local retention deletes a block only once it is in the bucket (Thanos BlocksToDelete)', async () => {
    const failing = { on: true };
    const inner = createFilesystemBucket({ directory: join(dir, `bucket-${n}`) });
    const tenantDir = join(dir, `case-${n++}`);
    const tsdbs = createMultiTSDB({
      dir: tenantDir,
      externalLabels: Labels.from({}),
      tenantLabelName: 'tenant_id',
      blockDurationMs: 2 * H,
      retentionMs: RETENTION,
      outOfOrderTimeWindowMs: 0,
      bucket: flakyBucket(inner, failing),
      logger: NOP_LOGGER,
    });
    started.push(tsdbs);
    // 20 hours of one series: head compaction writes blocks of which the oldest are more than
    // the retention behind the newest.
    await tsdbs.use('t', async (t) => {
      const app = t.db.appender();
      for (let ts = T0; ts < T0 + 20 * H; ts += 60_000) app.append(Labels.from({ __name__: 'm' }), ts, ts);
      await app.commit();
    });
    const blocksOnDisk = async () =>
      (await readdir(join(tenantDir, 't'))).filter((f) => /^[0-9A-Z]{26}$/.test(f)).length;
    await expect(tsdbs.flush()).rejects.toThrow(/injected upload failure/);
    const written = await blocksOnDisk();
    expect(written).toBeGreaterThanOrEqual(8);
    // Nothing uploaded: compactions keep every block, however old.
    await expect(tsdbs.flush()).rejects.toThrow(/injected upload failure/);
    expect(await blocksOnDisk()).toBe(written);
    failing.on = false;
    expect((await tsdbs.flush()).uploaded).toBe(written);
    // The next compaction deletes the uploaded blocks beyond retention, keeping the recent ones.
    await tsdbs.flush();
    const kept = await blocksOnDisk();
    expect(kept).toBeLessThan(written);
    expect(kept).toBeGreaterThanOrEqual(3);
  });

  it('never prunes a tenant while a write to it runs, nor one never written', async () => {
    const tsdbs = createMultiTSDB({
      dir: join(dir, `case-${n++}`),
      externalLabels: Labels.from({}),
      tenantLabelName: 'tenant_id',
      blockDurationMs: 2 * H,
      retentionMs: RETENTION,
      outOfOrderTimeWindowMs: 0,
      logger: NOP_LOGGER,
    });
    started.push(tsdbs);
    await tsdbs.use('busy', async (t) => {
      const app = t.db.appender();
      app.append(Labels.from({ __name__: 'm' }), T0, 1);
      await app.commit();
    });
    await tsdbs.tenant('empty');
    const late = T0 + 2 * RETENTION;
    // Inside use(): the write is in flight, so the tenant stays.
    expect(await tsdbs.use('busy', () => tsdbs.prune(late))).toEqual({ pruned: [], flushed: [] });
    expect(
      tsdbs
        .tenants()
        .map((t) => t.tenant)
        .sort(),
    ).toEqual(['busy', 'empty']);
    expect(await tsdbs.prune(late)).toEqual({ pruned: ['busy'], flushed: [] });
    expect(tsdbs.tenants().map((t) => t.tenant)).toEqual(['empty']);
  });

  const B = 2 * H;
  it.each([
    { name: 'head idle 1.5 blocks exactly', head: 0, now: 1.5 * B, want: 'none' },
    { name: 'head idle 1.5 blocks + 1 ms', head: 0, now: 1.5 * B + 1, want: 'flush' },
    { name: 'head idle exactly the retention', head: 0, now: RETENTION, want: 'flush' },
    { name: 'head idle retention + 1 ms', head: 0, now: RETENTION + 1, want: 'prune' },
    { name: 'empty head, newest block sample recent', blockMax: 1, now: RETENTION, want: 'none' },
    { name: 'empty head, newest block sample old', blockMax: 1, now: RETENTION + 1, want: 'prune' },
    { name: 'block newer than the head counts', head: 0, blockMax: B + 1, now: RETENTION + 1, want: 'flush' },
    { name: 'no data at all', now: 10 * RETENTION, want: 'none' },
    { name: 'retention 0', head: 0, now: 10 * RETENTION, want: 'none', retention: 0 },
  ])('pruneAction: $name', ({ head, blockMax, now, want, retention }) => {
    const db = {
      head: { maxTime: head ?? Number.NEGATIVE_INFINITY, numSeries: head === undefined ? 0 : 1 },
      blocks: () => (blockMax === undefined ? [] : [{ meta: { maxTime: blockMax } }]),
    } as unknown as DB;
    expect(pruneAction(db, retention ?? RETENTION, B, now)).toBe(want);
  });
});
