// `thanos-ts store` and `thanos-ts query` as real processes, with what issue 13 reproduced:
// - a zeroed chunk file in one block of the bucket. The query over that block's range answers
//   with a warning naming block, file and offset (before, it answered 0 series with a bare
//   warning and the store logged nothing); the store logs the damage once, counts it, keeps
//   running and keeps serving every other block;
// - 10,000 `=~".+"` matchers in one Series call (before: seconds of CPU, no limit), refused with
//   gRPC InvalidArgument naming the limit and its flag.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectStoreAPI, StoreAPIError } from '@thanos-ts/core';
import { uploadTsdbBlocks } from '@thanos-ts/core/block';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import {
  blocksFromOpenMetrics,
  freePort,
  httpOk,
  makeTempDir,
  programAvailable,
  removeTempDir,
  waitFor,
} from '@thanos-ts/testing';
import { matcher } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, startCli } from './cli-process.js';

const START = 1_700_006_400_000; // on a 2h boundary, so promtool cuts 2h blocks at START + k·2h
const HOUR = 3_600_000;

interface QueryAnswer {
  status: string;
  warnings?: string[];
  data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
}

describe.skipIf(!programAvailable('promtool'))(
  'thanos-ts store and query as processes: a damaged block, a request over the limits',
  () => {
    const dirs: string[] = [];
    let store: CliProcess | undefined;
    let query: CliProcess | undefined;
    let storeHttp = '';
    let storeGrpc = '';
    let queryUrl = '';
    let ids: string[] = [];
    let bad = '';

    beforeAll(async () => {
      const gen = await blocksFromOpenMetrics({
        metrics: 2,
        seriesPerMetric: 3,
        startMs: START,
        durationMs: 6 * HOUR,
        maxBlockDuration: '2h',
      });
      const bucketDir = await makeTempDir('corrupt-bucket-');
      dirs.push(gen.dir, bucketDir);
      ids = await uploadTsdbBlocks(createFilesystemBucket({ directory: bucketDir }), gen.dir, {
        labels: { cluster: 'eu1' },
        source: 'test',
      });
      // The block in the middle of the time range (ULIDs of blocks made at once need not sort by time).
      for (const id of ids) {
        const meta = JSON.parse(await readFile(join(bucketDir, id, 'meta.json'), 'utf8')) as { minTime: number };
        if (meta.minTime === START + 2 * HOUR) bad = id;
      }
      expect(bad).not.toBe('');
      const chunkFile = join(bucketDir, bad, 'chunks', '000001');
      await writeFile(chunkFile, new Uint8Array((await readFile(chunkFile)).length));

      const dataDir = await makeTempDir('corrupt-store-data-');
      dirs.push(dataDir);
      storeGrpc = `127.0.0.1:${await freePort()}`;
      storeHttp = `127.0.0.1:${await freePort()}`;
      ({ proc: store } = await startCli(
        [
          'store',
          `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`,
          `--data-dir=${dataDir}`,
          `--grpc-address=${storeGrpc}`,
          `--http-address=${storeHttp}`,
        ],
        /msg=listening/,
      ));
      await waitFor('store ready', () => httpOk(`http://${storeHttp}/-/ready`), 60_000);
      const started = await startCli(
        ['query', `--endpoint=${storeGrpc}`, '--http-address=127.0.0.1:0', '--grpc-address=127.0.0.1:0'],
        /msg=listening http=(\S+)/,
      );
      query = started.proc;
      queryUrl = `http://${started.match[1]}`;
      await waitFor(
        'querier sees the store',
        async () => {
          const r = (await (await fetch(`${queryUrl}/api/v1/query?query=count(up%20or%20vector(0))`)).json()) as {
            status: string;
          };
          const stores = (await (await fetch(`${queryUrl}/api/v1/stores`)).json()) as {
            data?: Record<string, unknown[]>;
          };
          return r.status === 'success' && Object.values(stores.data ?? {}).some((s) => s.length > 0);
        },
        30_000,
      );
    }, 180_000);

    afterAll(async () => {
      await query?.stop();
      await store?.stop();
      for (const d of dirs) await removeTempDir(d);
    });

    /** `count by (__name__) ({__name__=~"gen_.+"})` over [from, to] hours after START, step 10m. */
    const countRange = async (from: number, to: number): Promise<QueryAnswer> => {
      const params = new URLSearchParams({
        query: 'count by (__name__) ({__name__=~"gen_.+"})',
        start: String((START + from * HOUR) / 1000),
        end: String((START + to * HOUR) / 1000),
        step: '600',
      });
      const res = await fetch(`${queryUrl}/api/v1/query_range?${params}`);
      expect(res.status).toBe(200);
      return (await res.json()) as QueryAnswer;
    };

    it('answers with a warning naming block, file and offset, logs and counts the damage once', async () => {
      expect(ids.length).toBeGreaterThanOrEqual(3);
      const all = await countRange(0, 6);
      expect(all.status).toBe('success');
      expect(all.warnings).toEqual([expect.stringContaining(`${bad}/chunks/000001 at byte `)]);
      expect(all.warnings?.[0]).toMatch(/checksum mismatch|invalid|truncated/);
      // The other blocks' samples are in the answer: the damage costs one block, not the query.
      expect(all.data.result.length).toBeGreaterThan(0);

      const log = store?.output() ?? '';
      const lines = log
        .split('\n')
        .filter((l) => l.includes('corrupted block; not served until its meta.json changes'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`block=${bad}`);
      expect(lines[0]).toContain(`file=${bad}/chunks/000001`);
      expect(lines[0]).toMatch(/offset=\d+/);
      const metrics = await (await fetch(`http://${storeHttp}/metrics`)).text();
      expect(metrics).toMatch(/^thanos_ts_store_corrupted_blocks_total 1$/m);
      expect(metrics).toMatch(/^thanos_ts_store_blocks_corrupted 1$/m);
    });

    it('keeps running and serving the other blocks, and never hides the gap', async () => {
      // A range inside the last block: whole answers, no warning.
      const later = await countRange(4.5, 5.5);
      expect(later.warnings ?? []).toEqual([]);
      expect(later.data.result.length).toBeGreaterThan(0);
      for (const s of later.data.result) expect(s.values.length).toBe(7);
      // The damaged block's range still warns on every query (the block is not served any more).
      const again = await countRange(2.5, 3.5);
      expect(again.warnings).toEqual([expect.stringContaining(bad)]);
      expect(store?.child.exitCode).toBeNull();
      expect(await httpOk(`http://${storeHttp}/-/ready`)).toBe(true);
      // Logged once in all.
      expect((store?.output() ?? '').split('corrupted block;').length - 1).toBe(1);
    });

    it('refuses 10,000 matchers in one Series call with InvalidArgument naming the limit', async () => {
      const remote = connectStoreAPI(storeGrpc);
      try {
        const req = {
          minTime: START,
          maxTime: START + 6 * HOUR,
          matchers: Array.from({ length: 10_000 }, () => matcher('=~', '__name__', '.+')),
        };
        const seriesCalls = async () =>
          /^thanos_bucket_store_series_requests_total (\d+)/m.exec(
            await (await fetch(`http://${storeHttp}/metrics`)).text(),
          )?.[1];
        const before = await seriesCalls();
        expect(before).toMatch(/^\d+$/);
        const err = await (async () => {
          for await (const _ of remote.series(req)) {
            // drained
          }
        })().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StoreAPIError);
        expect((err as StoreAPIError).grpcCode).toBe(3);
        expect((err as Error).message).toMatch(
          /10000 label matchers, more than the limit of 1000 \(maxMatchersPerRequest, --store\.limits\.request-matchers\)/,
        );
        // Refused on the raw request, before decoding compiles 10,000 regexes (it cost 6.6–10.6 s of
        // CPU): the gateway's Series never ran.
        expect(await seriesCalls()).toBe(before);
      } finally {
        remote.close();
      }
      expect(await httpOk(`http://${storeHttp}/-/ready`)).toBe(true);
    });
  },
);
