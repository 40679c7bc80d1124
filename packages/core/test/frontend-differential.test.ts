// Issue 18's differential test: 10,000 randomized (query, range, step) cases, steps larger than
// the split interval among them, each asked of the querier directly and of a frontend with a
// results cache (so later cases are answered partly or wholly from extents earlier ones left);
// every fourth also of a frontend without a cache. The frontends must answer exactly what the
// querier answers.
import { createRandom } from '@thanos-ts/testing';
import { createHead, type Head, Labels } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInMemoryCache } from '../src/cache/index.js';
import { createQueryFrontend, type QueryFrontend } from '../src/frontend/query-frontend.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createLocalStore } from '../src/storeapi/local-store.js';

const H = 3600_000;
const T0 = 1_700_006_400_000; // a UTC midnight
const SPAN = 48 * H;
const CASES = 10_000;
/** Cases in flight at once (the three answers of one case are asked one after the other). */
const PARALLEL = 16;

const QUERIES = [
  'rate(req_total[5m])',
  'sum by (job) (rate(req_total[5m]))',
  'irate(req_total[1m])',
  'increase(req_total[1h])',
  'temp',
  'avg_over_time(temp[10m])',
  'max by (job) (temp offset 7m)',
  'temp @ start()',
  'sum(rate(req_total[2m] @ end()))',
  'max_over_time(rate(req_total[5m])[30m:1m])',
  'histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))',
  'count(temp > 0)',
  'topk(2, temp)',
  'timestamp(temp)',
  'deriv(temp[15m])',
  'label_replace(temp, "j", "$1", "job", "(.*)")',
  'time()',
  'changes(temp[20m])',
  'sum_over_time(temp[1h:5m])',
  'temp and on (job) (req_total > 500)',
];

/** Steps in seconds: finer than, equal to and coarser than the 4h split interval. */
const STEPS = [15, 30, 60, 97, 300, 900, 3600, 14_400, 21_600, 86_400];

async function data(): Promise<Head> {
  const head = createHead();
  const app = head.appender();
  const rand = createRandom(3);
  for (let t = T0; t < T0 + SPAN; t += 30_000) {
    const rel = t - T0;
    // A gap of 40 minutes: series go stale and come back.
    if (rel >= 20 * H && rel < 20 * H + 40 * 60_000) continue;
    for (let i = 0; i < 4; i++) {
      const job = `j${i % 2}`;
      app.append(Labels.from({ __name__: 'req_total', instance: `i${i}`, job }), t, (rel / 1000) * (i + 1));
      app.append(
        Labels.from({ __name__: 'temp', instance: `i${i}`, job }),
        t,
        Math.sin(rel / 900_000 + i) * 10 + rand(),
      );
    }
    for (const le of ['0.1', '1', '+Inf'])
      app.append(
        Labels.from({ __name__: 'lat_bucket', le }),
        t,
        (rel / 1000) * (le === '0.1' ? 1 : le === '1' ? 3 : 4),
      );
  }
  await app.commit();
  return head;
}

describe('query frontend: randomized differential against the querier', () => {
  let querier: Querier;
  let uncached: QueryFrontend;
  let cached: QueryFrontend;

  beforeAll(async () => {
    const head = await data();
    querier = createQuerier({
      endpoints: [createLocalStore({ queryable: head.queryable(), externalLabels: Labels.from({ cluster: 'c' }) })],
      evaluationWorkers: 0,
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
    });
    await querier.start();
    const common = {
      downstreamUrl: `http://${querier.httpAddress}`,
      splitIntervalMs: 4 * H,
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
    };
    uncached = createQueryFrontend(common);
    cached = createQueryFrontend({
      ...common,
      responseCache: { cache: createInMemoryCache({ maxSizeBytes: 256 << 20 }), name: 'fifocache' },
    });
    await uncached.start();
    await cached.start();
  }, 60_000);

  afterAll(async () => {
    await cached?.close();
    await uncached?.close();
    await querier?.close();
  });

  it(`${CASES.toLocaleString('en')} cases: cached (all) and uncached (a fourth) answers equal the querier's`, async () => {
    const rand = createRandom(18);
    const cases = Array.from({ length: CASES }, () => {
      const query = QUERIES[Math.floor(rand() * QUERIES.length)] as string;
      const step = STEPS[Math.floor(rand() * STEPS.length)] as number;
      // Starts on the step grid (the frontend aligns to it, as Thanos's does); up to 24 h long
      // and 1,200 steps (fine steps get shorter ranges, which keeps the run short), possibly
      // past the data's end.
      const start = Math.floor((T0 / 1000 + rand() * (SPAN / 1000)) / step) * step;
      const end = start + Math.min(1_200, Math.floor((rand() * 24 * 3600) / step)) * step;
      return new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) });
    });
    const get = async (address: string | undefined, params: URLSearchParams) => {
      const res = await fetch(`http://${address}/api/v1/query_range?${params}`);
      return { status: res.status, body: await res.json() };
    };
    let compared = 0;
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const params = cases[next++] as URLSearchParams;
        const direct = await get(querier.httpAddress, params);
        expect(direct.status, `${params}`).toBe(200);
        expect(await get(cached.httpAddress, params), `cached ${params}`).toEqual(direct);
        if (compared % 4 === 0) expect(await get(uncached.httpAddress, params), `uncached ${params}`).toEqual(direct);
        compared++;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    expect(compared).toBe(CASES);
  }, 600_000);
});
