// The query frontend in front of a deduplicating querier over two HA replicas: a split range
// answers exactly as the querier answers the whole range. Penalty deduplication restarts at
// fixed windows of absolute time, so a piece starting at a split boundary keeps the samples the
// whole range keeps there (Thanos's dedup, choosing replicas from the query's start, does not).
import { createRandom } from '@thanos-ts/testing';
import { createHead, type Head, Labels } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryFrontend, type QueryFrontend } from '../src/frontend/query-frontend.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createLocalStore } from '../src/storeapi/local-store.js';

const H = 3600_000;
const T0 = 1_700_006_400_000; // a UTC midnight
const SPAN = 30 * H;

/**
 * One replica scraping every 15 s at `offsetMs` into the cycle, missing `outages` ([from, to)
 * ms after T0) and a few random scrapes; counters read a little behind the other replica's.
 */
async function replica(offsetMs: number, outages: [number, number][], seed: number, lag: number): Promise<Head> {
  const head = createHead();
  const app = head.appender();
  const rand = createRandom(seed);
  for (let t = T0 + offsetMs; t < T0 + SPAN; t += 15_000) {
    const rel = t - T0;
    if (outages.some(([a, b]) => rel >= a && rel < b) || rand() < 0.01) continue;
    for (let i = 0; i < 3; i++) {
      // A counter that resets once, at 20h (the target restarted; both replicas see it).
      const counter = ((rel % (20 * H)) / 1000) * (i + 1) - lag;
      app.append(Labels.from({ __name__: 'req_total', instance: `i${i}` }), t, Math.max(0, counter));
      app.append(Labels.from({ __name__: 'temp', instance: `i${i}` }), t, Math.sin(rel / 600_000 + i) * 10 + rand());
    }
  }
  await app.commit();
  return head;
}

describe('query frontend over deduplicated replicas', () => {
  let querier: Querier;
  let frontend: QueryFrontend;
  const heads: Head[] = [];

  beforeAll(async () => {
    heads.push(await replica(2_000, [[5 * H + 7 * 60_000, 6 * H + 3 * 60_000]], 1, 0));
    heads.push(await replica(9_000, [[14 * H, 14 * H + 40 * 60_000]], 2, 0.4));
    querier = createQuerier({
      endpoints: heads.map((h, i) =>
        createLocalStore({ queryable: h.queryable(), externalLabels: Labels.from({ replica: `r${i}` }) }),
      ),
      replicaLabels: ['replica'],
      evaluationWorkers: 0,
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
    });
    await querier.start();
    frontend = createQueryFrontend({
      downstreamUrl: `http://${querier.httpAddress}`,
      splitIntervalMs: 2 * H,
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
    });
    await frontend.start();
  }, 60_000);

  afterAll(async () => {
    await frontend?.close();
    await querier?.close();
  });

  it('randomized ranges crossing split boundaries answer as the querier does', async () => {
    const queries = [
      'rate(req_total[5m])',
      'sum(increase(req_total[10m]))',
      'irate(req_total[1m])',
      'resets(req_total[30m])',
      'temp',
      'max_over_time(temp[3m])',
      'avg by (instance) (temp offset 7m)',
      'sum(rate(req_total[2m] @ end()))',
    ];
    const rand = createRandom(42);
    let compared = 0;
    for (let i = 0; i < 160; i++) {
      const query = queries[i % queries.length] as string;
      const step = [15, 30, 60, 97, 300, 900][Math.floor(rand() * 6)] as number;
      // Starts on the step grid (the frontend aligns to it, as Thanos's does).
      const start = Math.floor((T0 / 1000 + rand() * (SPAN / 1000 - 8 * 3600)) / step) * step;
      const end = start + Math.floor((rand() * 8 * 3600) / step) * step;
      const params = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) });
      const direct = await (await fetch(`http://${querier.httpAddress}/api/v1/query_range?${params}`)).json();
      const viaFrontend = await (await fetch(`http://${frontend.httpAddress}/api/v1/query_range?${params}`)).json();
      expect(viaFrontend, `${query} ${start}..${end} step ${step}`).toEqual(direct);
      compared++;
    }
    expect(compared).toBe(160);
  }, 120_000);
});
