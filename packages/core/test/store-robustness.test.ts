import { type ChildProcess, spawn } from 'node:child_process';
import { cp, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import {
  blocksFromOpenMetrics,
  freePort,
  type GeneratedBlocks,
  httpOk,
  makeTempDir,
  programAvailable,
  waitFor,
} from '@thanos-ts/testing';
import { Labels, type Matcher, matcher } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadTsdbBlocks } from '../src/block/upload-blocks.js';
import type { Logger } from '../src/log/logger.js';
import { NOP_LOGGER } from '../src/log/logger.js';
import { createQuerier } from '../src/query/querier.js';
import { collectSeries } from '../src/store/collect-series.test-util.js';
import { MatcherLimitError } from '../src/store/limits.js';
import { createLoadedBlocksHandler } from '../src/store/loaded.js';
import { createStoreGateway, type StoreGateway } from '../src/store/store-gateway.js';
import { StoreAPIError } from '../src/storeapi/errors.js';
import { connectStoreAPI } from '../src/storeapi/grpc-client.js';
import type { SeriesRequest, StoreAPI } from '../src/storeapi/store-api.js';

const START = 1_700_000_000_000;
const HOURS = 3600_000;
const EU = { cluster: 'eu1', replica: 'a' };
const US = { cluster: 'us1', replica: 'a' };
const ALL: SeriesRequest = { minTime: 0, maxTime: START + 10 * HOURS, matchers: [matcher('=~', '__name__', '.+')] };

/** The meta.json fields the sanity tests edit. */
interface MetaJSON {
  minTime: number;
  maxTime: number;
  version: number;
  compaction: { level: number };
  thanos: { downsample: { resolution: number } };
}

/** A logger keeping error lines, to check what an operator would see. */
function recordingLogger(): Logger & { errors: Array<{ msg: string; fields: Record<string, unknown> }> } {
  const errors: Array<{ msg: string; fields: Record<string, unknown> }> = [];
  return { ...NOP_LOGGER, errors, error: (msg, fields = {}) => errors.push({ msg, fields }) };
}

/** Expected samples per served label set, leaving out [skipMin, skipMax) (a skipped block's range). */
function expected(gen: GeneratedBlocks, ext: Record<string, string>, skip?: { min: number; max: number }) {
  const out = new Map<string, { t: number[]; v: number[] }>();
  for (const s of gen.data) {
    const t: number[] = [];
    const v: number[] = [];
    s.timestamps.forEach((ts, i) => {
      if (skip && ts >= skip.min && ts < skip.max) return;
      t.push(ts);
      v.push(s.values[i] as number);
    });
    if (t.length > 0) out.set(Labels.from({ ...s.labels, ...ext }).toString(), { t, v });
  }
  return out;
}

function only(got: Map<string, { t: number[]; v: number[] }>, cluster: string) {
  return new Map([...got].filter(([k]) => k.includes(`cluster="${cluster}"`)));
}

function sameData(got: Map<string, { t: number[]; v: number[] }>, want: Map<string, { t: number[]; v: number[] }>) {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, w] of want) {
    const g = got.get(k) as { t: number[]; v: number[] };
    expect(g.t, k).toEqual(w.t);
    expect(g.v.map(String), k).toEqual(w.v.map(String));
  }
}

async function drain(store: StoreAPI, req: SeriesRequest): Promise<{ series: number; warnings: string[] }> {
  let series = 0;
  const warnings: string[] = [];
  for await (const r of store.series(req)) {
    if (r.type === 'series') series++;
    else if (r.type === 'warning') warnings.push(r.warning);
  }
  return { series, warnings };
}

async function warningsOf(store: StoreAPI, req: SeriesRequest): Promise<string[]> {
  return (await drain(store, req)).warnings;
}

async function metricValue(g: StoreGateway, name: string): Promise<number | undefined> {
  return (await g.registry.getSingleMetric(name)?.get())?.values[0]?.value;
}

describe.skipIf(!programAvailable('promtool'))('store gateway robustness (promtool blocks)', () => {
  let eu: GeneratedBlocks;
  let us: GeneratedBlocks;
  let pristine: string;
  let euIds: string[];
  let usIds: string[];
  const gateways: StoreGateway[] = [];

  beforeAll(async () => {
    const shape = { metrics: 3, seriesPerMetric: 4, durationMs: 6 * HOURS, startMs: START, scrapeIntervalMs: 30_000 };
    [eu, us] = await Promise.all([blocksFromOpenMetrics(shape), blocksFromOpenMetrics({ ...shape, seed: 7 })]);
    pristine = await makeTempDir('robust-bucket-');
    const bucket = createFilesystemBucket({ directory: pristine });
    euIds = await uploadTsdbBlocks(bucket, eu.dir, { labels: EU, source: 'test' });
    usIds = await uploadTsdbBlocks(bucket, us.dir, { labels: US, source: 'test' });
  }, 120_000);
  afterAll(async () => {
    for (const g of gateways) await g.close();
  });

  /** A private copy of the two clusters' blocks, so each test may damage its own. */
  async function bucketCopy(): Promise<string> {
    const dir = await makeTempDir('robust-copy-');
    await cp(pristine, dir, { recursive: true });
    return dir;
  }

  async function gateway(dir: string, extra: Partial<Parameters<typeof createStoreGateway>[0]> = {}) {
    const g = createStoreGateway({
      bucket: createFilesystemBucket({ directory: dir }),
      dataDir: await makeTempDir('robust-data-'),
      logger: NOP_LOGGER,
      syncIntervalMs: 0,
      ...extra,
    });
    gateways.push(g);
    await g.start();
    return g;
  }

  it.each([
    {
      name: 'zeroed',
      damage: async (file: string) => writeFile(file, new Uint8Array((await readFile(file)).length)),
      detail: /checksum mismatch|invalid/,
    },
    {
      name: 'truncated',
      damage: async (file: string) => truncate(file, Math.floor((await readFile(file)).length / 2)),
      detail: /truncated|checksum mismatch/,
    },
  ])(
    'a $name chunk file is reported with block, file and offset; every other block keeps serving',
    async ({ damage, detail }) => {
      expect(euIds.length).toBeGreaterThanOrEqual(3);
      const dir = await bucketCopy();
      const bad = euIds[1] as string;
      const chunkFile = join(dir, bad, 'chunks', '000001');
      const original = await readFile(chunkFile);
      await damage(chunkFile);
      const logger = recordingLogger();
      const g = await gateway(dir, { logger });
      const badMeta = g.blocks().find((b) => b.ulid === bad);
      if (!badMeta) throw new Error('damaged block not loaded at all');

      const warnings: string[] = [];
      const got = new Map<string, { t: number[]; v: number[] }>();
      for await (const r of g.series(ALL)) if (r.type === 'warning') warnings.push(r.warning);
      for (const [k, v] of await collectSeries(g, ALL)) got.set(k, v);
      // The query that found the damage says which block, which file and where.
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(bad);
      expect(warnings[0]).toContain(`${bad}/chunks/000001 at byte `);
      expect(warnings[0]).toMatch(detail);
      // The other cluster is untouched, and the damaged cluster keeps every other block's samples.
      sameData(only(got, 'us1'), expected(us, US));
      sameData(only(got, 'eu1'), expected(eu, EU, { min: badMeta.minTime, max: badMeta.maxTime }));

      // Logged once, counted, listed as skipped with the reason, and no longer served.
      expect(logger.errors).toHaveLength(1);
      expect(logger.errors[0]?.msg).toBe('corrupted block; not served until its meta.json changes');
      expect(logger.errors[0]?.fields).toMatchObject({ block: bad, file: `${bad}/chunks/000001` });
      expect(typeof logger.errors[0]?.fields.offset).toBe('number');
      expect(await metricValue(g, 'thanos_ts_store_corrupted_blocks_total')).toBe(1);
      expect(await metricValue(g, 'thanos_ts_store_blocks_corrupted')).toBe(1);
      expect(await metricValue(g, 'thanos_bucket_store_block_load_failures_total')).toBe(1);
      expect(g.blocks().map((b) => b.ulid)).not.toContain(bad);
      expect(g.skippedBlocks()).toContainEqual({ ulid: bad, state: 'corrupted', error: expect.stringMatching(detail) });

      // Later queries over its range still warn (the gap is never silent); other ranges do not.
      await g.sync();
      expect(await warningsOf(g, ALL)).toEqual([expect.stringContaining(bad)]);
      expect(await warningsOf(g, { ...ALL, minTime: badMeta.maxTime + 1 })).toEqual([]);
      expect(await warningsOf(g, { ...ALL, matchers: [...ALL.matchers, matcher('=', 'cluster', 'us1')] })).toEqual([]);
      expect(logger.errors).toHaveLength(1);

      // Repaired and re-uploaded (meta.json changes): served again at the next sync.
      await writeFile(chunkFile, original);
      await g.sync();
      expect(g.blocks().map((b) => b.ulid)).not.toContain(bad);
      const metaFile = join(dir, bad, 'meta.json');
      const meta = JSON.parse(await readFile(metaFile, 'utf8'));
      meta.thanos.source = 'bucket.repair';
      await writeFile(metaFile, JSON.stringify(meta));
      await g.sync();
      expect(g.blocks().map((b) => b.ulid)).toContain(bad);
      expect(g.skippedBlocks().filter((s) => s.state === 'corrupted')).toEqual([]);
      const healed = await collectSeries(g, ALL);
      sameData(only(healed, 'eu1'), expected(eu, EU));
      expect(await warningsOf(g, ALL)).toEqual([]);
    },
    60_000,
  );

  it('an index damaged after the gateway loaded the block is reported the same way by series and label calls', async () => {
    const dir = await bucketCopy();
    const bad = euIds[2] as string;
    const g = await gateway(dir);
    // The index-header (symbols, postings table) is local already; postings and series entries
    // are read from the bucket on demand and are now garbage.
    const indexFile = join(dir, bad, 'index');
    await writeFile(indexFile, new Uint8Array((await readFile(indexFile)).length).fill(0xff));
    const name = eu.data[0]?.labels.__name__ as string;
    const values = await g.labelValues({
      start: 0,
      end: ALL.maxTime,
      label: 'instance',
      matchers: [matcher('=', '__name__', name)],
    });
    expect(values.warnings).toEqual([expect.stringContaining(`block ${bad} is corrupted`)]);
    expect(values.values.length).toBeGreaterThan(0);
    expect(g.skippedBlocks()).toContainEqual(expect.objectContaining({ ulid: bad, state: 'corrupted' }));
    const got = await collectSeries(g, ALL);
    sameData(only(got, 'us1'), expected(us, US));
    const badMeta = JSON.parse(await readFile(join(dir, bad, 'meta.json'), 'utf8')) as MetaJSON;
    sameData(only(got, 'eu1'), expected(eu, EU, { min: badMeta.minTime, max: badMeta.maxTime }));
  }, 60_000);

  it('a querier over the gateway answers with the other blocks and the warning naming the block', async () => {
    const dir = await bucketCopy();
    const bad = euIds[0] as string;
    const file = join(dir, bad, 'chunks', '000001');
    await writeFile(file, new Uint8Array((await readFile(file)).length));
    const g = await gateway(dir);
    const q = createQuerier({ endpoints: [g], logger: NOP_LOGGER });
    await q.start();
    try {
      const r = await q.instantQuery(`count(${eu.data[0]?.labels.__name__})`, START + HOURS);
      expect(r.warnings.join('\n')).toContain(bad);
      expect(r.result.type).toBe('vector');
      if (r.result.type === 'vector') expect(r.result.samples.length).toBeGreaterThan(0);
    } finally {
      await q.close();
    }
  }, 60_000);

  it.each([
    {
      name: 'minTime after maxTime',
      edit: (m: MetaJSON) => {
        m.minTime = m.maxTime + 1;
      },
      reason: /minTime \d+ is after maxTime \d+/,
    },
    {
      name: 'negative resolution',
      edit: (m: MetaJSON) => {
        m.thanos.downsample = { resolution: -300000 };
      },
      reason: /negative downsample resolution -300000/,
    },
    {
      name: 'compaction level 0',
      edit: (m: MetaJSON) => {
        m.compaction.level = 0;
      },
      reason: /compaction level 0 is below 1/,
    },
    {
      name: 'unknown version',
      edit: (m: MetaJSON) => {
        m.version = 7;
      },
      reason: /unexpected meta file version 7/,
    },
  ])(
    'a meta.json with $name is skipped, logged, counted and listed with the reason',
    async ({ edit, reason }) => {
      const dir = await bucketCopy();
      const bad = usIds[0] as string;
      const metaFile = join(dir, bad, 'meta.json');
      const meta = JSON.parse(await readFile(metaFile, 'utf8'));
      edit(meta);
      await writeFile(metaFile, JSON.stringify(meta));
      const logger = recordingLogger();
      const g = await gateway(dir, { logger });
      expect(
        g
          .blocks()
          .map((b) => b.ulid)
          .sort(),
      ).toEqual([...euIds, ...usIds.slice(1)].sort());
      const skipped = g.skippedBlocks().find((s) => s.ulid === bad);
      expect(skipped?.state).toBe('corrupted-meta-json');
      expect(skipped?.error).toMatch(reason);
      expect(skipped?.error).toContain(`${bad}/meta.json`);
      expect(logger.errors.map((e) => e.fields.block)).toEqual([bad]);
      const synced = (await g.registry.getSingleMetric('thanos_blocks_meta_synced')?.get())?.values;
      expect(synced?.find((v) => v.labels.state === 'corrupted-meta-json')?.value).toBe(1);
      const res = await createLoadedBlocksHandler(g)(
        { url: '/loaded?format=json', headers: {} } as never,
        fakeResponse() as never,
      );
      expect(res).toBe(true);
      expect(lastBody).toContain(bad);
      expect(lastBody).toContain('corrupted-meta-json');
    },
    60_000,
  );

  describe('matcher limits', () => {
    const many = (n: number): Matcher[] => Array.from({ length: n }, () => matcher('=~', '__name__', '.+'));
    it.each([
      {
        name: '10,000 matchers',
        req: { ...ALL, matchers: many(10_000) },
        kind: 'matchers',
        msg: /10000 label matchers.*limit of 1000/,
      },
      {
        name: 'a regex over maxRegexBytes',
        req: { ...ALL, matchers: [matcher('=~', 'job', Array.from({ length: 300 }, (_, i) => `job-${i}`).join('|'))] },
        kind: 'regex-bytes',
        msg: /regex of matcher on label "job" is 2289 bytes, more than the limit of 1024 \(maxRegexBytes/,
      },
    ])(
      'refuses $name with InvalidArgument naming the limit',
      async ({ req, kind, msg }) => {
        const g = await gateway(pristine, { grpcAddress: '127.0.0.1:0', limits: { maxRegexBytes: 1024 } });
        const err = await drain(g, req).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(MatcherLimitError);
        expect((err as MatcherLimitError).kind).toBe(kind);
        expect((err as Error).message).toMatch(msg);
        await expect(g.labelNames({ start: 0, end: ALL.maxTime, matchers: req.matchers })).rejects.toThrow(msg);
        await expect(
          g.labelValues({ start: 0, end: ALL.maxTime, label: 'job', matchers: req.matchers }),
        ).rejects.toThrow(msg);
        // Over gRPC: INVALID_ARGUMENT with the same text, refused on the raw request before
        // decoding compiles the regexes (the gateway's Series is never called).
        const remote = connectStoreAPI(g.grpcAddress as string);
        try {
          const calls = await metricValue(g, 'thanos_bucket_store_series_requests_total');
          const wire = await drain(remote, req).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(wire).toBeInstanceOf(StoreAPIError);
          expect((wire as StoreAPIError).grpcCode).toBe(3);
          expect((wire as Error).message).toMatch(msg);
          expect(await metricValue(g, 'thanos_bucket_store_series_requests_total')).toBe(calls);
          await expect(remote.labelNames({ start: 0, end: ALL.maxTime, matchers: req.matchers })).rejects.toThrow(msg);
        } finally {
          remote.close();
        }
      },
      60_000,
    );

    it('serves requests within the limits, and limits can be raised or turned off', async () => {
      const g = await gateway(pristine, { limits: { maxMatchersPerRequest: 0, maxRegexBytes: 0 } });
      expect((await drain(g, { ...ALL, matchers: many(2000) })).series).toBe(eu.series + us.series);
      const d = await gateway(pristine);
      expect((await drain(d, { ...ALL, matchers: many(1000) })).series).toBe(eu.series + us.series);
    }, 60_000);
  });

  describe('series and samples budgets', () => {
    it('a series limit holds exactly: never more series than the limit, checked before series are read', async () => {
      const total = eu.series + us.series;
      const g = await gateway(pristine, { limits: { seriesPerRequest: total - 1 } });
      await expect(drain(g, ALL)).rejects.toThrow(
        new RegExp(
          `^exceeded series limit: limit ${total - 1} violated \\(got \\d+\\) \\(--store.limits.request-series\\)$`,
        ),
      );
      // A request under the limit is served in full, however many blocks hold each series.
      const one = await drain(g, { ...ALL, matchers: [matcher('=', 'cluster', 'us1'), ...ALL.matchers] });
      expect(one.series).toBe(us.series);
      const exact = await gateway(pristine, { limits: { seriesPerRequest: total } });
      expect((await drain(exact, ALL)).series).toBe(total);
      // One block alone over the limit fails from its postings count, before series are read.
      const tiny = await gateway(pristine, { limits: { seriesPerRequest: 3 } });
      await expect(drain(tiny, ALL)).rejects.toThrow(/^exceeded series limit: limit 3 violated \(got (\d+)\)/);
    }, 60_000);

    it('a samples limit is checked from chunk metas before chunks are fetched', async () => {
      const g = await gateway(pristine, { limits: { samplesPerRequest: 1000 } });
      const err = await drain(g, ALL).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as Error).message).toMatch(/^exceeded samples limit: limit 1000 violated \(got \d+\)/);
      expect((err as StoreAPIError).grpcCode).toBe(8);
    }, 60_000);

    it('the querier answers a store limit as HTTP 422 execution error naming the limit', async () => {
      const g = await gateway(pristine, { limits: { seriesPerRequest: 5 }, grpcAddress: '127.0.0.1:0' });
      const q = createQuerier({ endpoints: [g.grpcAddress as string], httpAddress: '127.0.0.1:0', logger: NOP_LOGGER });
      await q.start();
      try {
        const url = `http://${q.httpAddress}/api/v1/query?query=${encodeURIComponent('count({__name__=~".+"})')}&time=${(START + 5 * HOURS) / 1000}`;
        const res = await fetch(url);
        const body = (await res.json()) as { status: string; errorType: string; error: string };
        expect(res.status).toBe(422);
        expect(body.errorType).toBe('execution');
        expect(body.error).toMatch(/exceeded series limit: limit 5 violated .*--store.limits.request-series/);
        // Even with partial responses allowed, a limit is not turned into a silent partial answer.
        const partial = await fetch(`${url}&partial_response=true`);
        expect(partial.status).toBe(422);
      } finally {
        await q.close();
      }
    }, 60_000);
  });

  describe('thanos-ts store as a process', () => {
    let child: ChildProcess | undefined;
    afterAll(() => {
      child?.kill('SIGTERM');
    });

    it('logs, counts and warns about a zeroed chunk file while serving the other blocks', async () => {
      const dir = await bucketCopy();
      const bad = usIds[1] as string;
      const file = join(dir, bad, 'chunks', '000001');
      await writeFile(file, new Uint8Array((await readFile(file)).length));
      const cfgFile = join(await makeTempDir('robust-cfg-'), 'bucket.yml');
      await writeFile(cfgFile, `type: FILESYSTEM\nconfig:\n  directory: ${dir}\n`);
      const grpcPort = await freePort();
      const httpPort = await freePort();
      let stderr = '';
      child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'packages/cli/src/main.ts',
          'store',
          `--objstore.config-file=${cfgFile}`,
          `--data-dir=${await makeTempDir('robust-proc-data-')}`,
          `--grpc-address=127.0.0.1:${grpcPort}`,
          `--http-address=127.0.0.1:${httpPort}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], cwd: join(import.meta.dirname, '../../..') },
      );
      child.stderr?.on('data', (d) => {
        stderr += String(d);
      });
      await waitFor('store ready', () => httpOk(`http://127.0.0.1:${httpPort}/-/ready`), 30_000).catch((err) => {
        throw new Error(`${(err as Error).message}\n${stderr}`);
      });
      const remote = connectStoreAPI(`127.0.0.1:${grpcPort}`);
      try {
        const r = await drain(remote, ALL);
        expect(r.warnings).toEqual([expect.stringContaining(`${bad}/chunks/000001 at byte `)]);
        expect(r.series).toBe(eu.series + us.series);
      } finally {
        remote.close();
      }
      await waitFor('log line', async () => stderr.includes('corrupted block'), 5_000);
      const line = stderr.split('\n').find((l) => l.includes('corrupted block')) as string;
      expect(line).toContain(bad);
      expect(line).toMatch(/level=error/);
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metrics).toContain('thanos_ts_store_corrupted_blocks_total 1');
      const loaded = (await (await fetch(`http://127.0.0.1:${httpPort}/loaded?format=json`)).json()) as {
        data: { skipped: Array<{ ulid: string; state: string }> };
      };
      expect(loaded.data.skipped).toContainEqual(expect.objectContaining({ ulid: bad, state: 'corrupted' }));
    }, 90_000);
  });
});

let lastBody = '';
/** A minimal ServerResponse capturing the body written to it. */
function fakeResponse() {
  return {
    headersSent: false,
    writeHead() {
      return this;
    },
    setHeader() {},
    end(body?: string) {
      lastBody = String(body ?? '');
    },
  };
}
