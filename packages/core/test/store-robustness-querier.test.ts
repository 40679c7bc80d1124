import { createMemoryStorage } from '@thanos-ts/promql';
import { Labels } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOP_LOGGER } from '../src/log/logger.js';
import { NO_STORES_MATCHED } from '../src/query/proxy.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createLocalStore } from '../src/storeapi/local-store.js';
import type { StoreAPI } from '../src/storeapi/store-api.js';

const T = 1_000_000_000; // query time, ms

function memoryStore(ext: Record<string, string>, range?: { minTime: number; maxTime: number }): StoreAPI {
  const storage = createMemoryStorage();
  storage.load([{ labels: { __name__: 'up', job: 'x' }, timestamps: [T - 1000], values: [1] }]);
  return createLocalStore({ queryable: storage, externalLabels: Labels.from(ext), ...range });
}

/** A store whose Info always fails, as an unreachable address does. */
const deadStore: StoreAPI = {
  info: async () => {
    throw new Error('connection refused');
  },
  // biome-ignore lint/correctness/useYield: never asked; the querier skips unhealthy stores.
  series: async function* () {
    throw new Error('not reached');
  },
  labelNames: async () => ({ names: [], warnings: [] }),
  labelValues: async () => ({ values: [], warnings: [] }),
};

describe('No StoreAPIs matched: each store left out is named with the reason', () => {
  let q: Querier;
  let base: string;
  beforeAll(async () => {
    q = createQuerier({
      logger: NOP_LOGGER,
      httpAddress: '127.0.0.1:0',
      endpoints: [
        { name: 'old', store: memoryStore({ site: 'old' }, { minTime: 0, maxTime: 10_000 }) },
        { name: 'us', store: memoryStore({ cluster: 'us' }) },
        { name: 'empty', store: createLocalStore({ blocks: [], externalLabels: Labels.from({ cluster: 'eu' }) }) },
        { name: 'dead', store: deadStore },
      ],
    });
    await q.start();
    base = `http://${q.httpAddress}`;
  });
  afterAll(async () => {
    await q.close();
  });

  it('names the query range and every store with why it was left out, keeping the original sentence first', async () => {
    const r = await q.instantQuery('up{cluster="eu"}', T);
    expect(r.result).toEqual({ type: 'vector', samples: [] });
    expect(r.warnings).toHaveLength(1);
    const w = r.warnings[0] as string;
    expect(w.startsWith(`${NO_STORES_MATCHED}: query time range [`)).toBe(true);
    expect(w).toContain(`(${new Date(T).toISOString()})`);
    expect(w).toMatch(
      /store old \(store\) filtered out: does not have data within this time period: \[\d+,\d+\]\. Store time ranges: \[0 \(1970-01-01T00:00:00\.000Z\),10000 \(1970-01-01T00:00:10\.000Z\)\]/,
    );
    expect(w).toContain(
      'store us (store) filtered out: external labels [{cluster="us"}] does not match request label matchers: {cluster="eu", __name__="up"}',
    );
    expect(w).toMatch(
      /store dead \(unknown\) filtered out: unhealthy since \d{4}-\d\d-\d\dT[\d:.]+Z \(last error: connection refused\)/,
    );
    expect(w).toContain('store empty (store) filtered out: has no data yet');
  });

  it('answers from the stores that match, without the warning', async () => {
    const r = await q.instantQuery('up{cluster="us"}', T);
    expect(r.warnings).toEqual([]);
    expect(r.result.type === 'vector' && r.result.samples.length).toBe(1);
  });

  it('lists every endpoint in /api/v1/stores with health, unhealthy-since and last error', async () => {
    const body = (await (await fetch(`${base}/api/v1/stores`)).json()) as {
      data: Record<string, Array<Record<string, unknown>>>;
    };
    const dead = body.data.unknown?.find((s) => s.name === 'dead');
    expect(dead).toMatchObject({ healthy: false, lastError: 'connection refused', labelSets: [] });
    expect(typeof dead?.unhealthySince).toBe('string');
    const old = body.data.store?.find((s) => s.name === 'old');
    expect(old).toMatchObject({ healthy: true, unhealthySince: null, lastError: null, minTime: 0, maxTime: 10_000 });
  });

  it('shows the same selection in stats=all', async () => {
    const url = `${base}/api/v1/query?query=${encodeURIComponent('up{cluster="eu"}')}&time=${T / 1000}&stats=all`;
    const body = (await (await fetch(url)).json()) as {
      warnings: string[];
      data: { stats: { storeSelection: { queryMinTime: number; stores: Array<Record<string, unknown>> } } };
    };
    expect(body.warnings[0]?.startsWith(NO_STORES_MATCHED)).toBe(true);
    const sel = body.data.stats.storeSelection;
    expect(sel.queryMinTime).toBe(T - 300_000);
    const by = Object.fromEntries(sel.stores.map((s) => [s.name, s]));
    expect(by.old).toMatchObject({ queried: false, leftOutBecause: 'time-range' });
    expect(by.dead).toMatchObject({ queried: false, leftOutBecause: 'unhealthy', healthy: false });
    expect(by.empty).toMatchObject({ queried: false, leftOutBecause: 'no-data' });
    expect(by.us).toMatchObject({ queried: true });
    // Without stats=all there is no selection detail.
    const plain = (await (await fetch(url.replace('stats=all', 'stats=true'))).json()) as {
      data: { stats: Record<string, unknown> };
    };
    expect(plain.data.stats.storeSelection).toBeUndefined();
  });
});

describe('a healthy store with no data yet', () => {
  it('never causes the warning: an empty answer is just empty', async () => {
    const q = createQuerier({
      logger: NOP_LOGGER,
      endpoints: [{ name: 'empty', store: createLocalStore({ blocks: [] }) }],
    });
    await q.start();
    try {
      const r = await q.instantQuery('up', T);
      expect(r.result).toEqual({ type: 'vector', samples: [] });
      expect(r.warnings).toEqual([]);
      const names = await q.findLabelNames([], 0, T);
      expect(names.warnings).toEqual([]);
    } finally {
      await q.close();
    }
  });

  it('with no store at all the warning says so', async () => {
    const q = createQuerier({ logger: NOP_LOGGER, endpoints: [] });
    await q.start();
    try {
      const r = await q.instantQuery('up', T);
      expect(r.warnings).toEqual([`${NO_STORES_MATCHED}: no StoreAPIs are configured or discovered`]);
    } finally {
      await q.close();
    }
  });
});
