import { Server, ServerCredentials } from '@grpc/grpc-js';
import { createEngine, createMemoryStorage, type MemoryStorage } from '@thanos-ts/promql';
import { Labels, matcher } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineValue } from '../src/query/engine.js';
import { NO_STORES_MATCHED } from '../src/query/proxy.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { serveStoreAPI } from '../src/storeapi/grpc-server.js';
import { createLocalStore } from '../src/storeapi/local-store.js';
import type { SeriesResponse, StoreAPI } from '../src/storeapi/store-api.js';

const HOUR = 3600_000;
const STEP = 15_000;
const START = 1_700_000_000_000 - (1_700_000_000_000 % HOUR);

// Three hours of a counter and a gauge per instance, scraped every 15 s, as both HA replicas
// would see them; `gap` drops an hour from one replica.
function load(storage: MemoryStorage, gap?: [number, number], extra: Record<string, string> = {}): void {
  for (const instance of ['i1', 'i2', 'i3']) {
    const k = Number(instance.slice(1));
    const ts: number[] = [];
    const counter: number[] = [];
    const gauge: number[] = [];
    for (let t = START; t <= START + 3 * HOUR; t += STEP) {
      if (gap && t >= gap[0] && t < gap[1]) continue;
      const i = (t - START) / STEP;
      ts.push(t);
      counter.push(i * k * 3 + ((i * 7) % 5));
      gauge.push(Math.sin(i / 10) * 100 + k);
    }
    storage.load([
      { labels: { __name__: 'http_requests_total', job: 'api', instance, ...extra }, timestamps: ts, values: counter },
      { labels: { __name__: 'temperature', job: 'api', instance, ...extra }, timestamps: ts, values: gauge },
    ]);
  }
}

function asPairs(v: EngineValue): unknown {
  if (v.type === 'vector') return v.samples.map((s) => [s.metric.toString(), s.t, s.f]);
  if (v.type === 'matrix')
    return v.series.map((s) => [s.metric.toString(), Array.from(s.timestamps), Array.from(s.values)]);
  return v;
}

describe('querier over HA replicas', () => {
  const full = createMemoryStorage();
  const replicaA = createMemoryStorage();
  const replicaB = createMemoryStorage();
  // The reference carries the external label the querier adds (cluster), not the replica one.
  load(full, undefined, { cluster: 'eu' });
  load(replicaA);
  load(replicaB, [START + HOUR, START + 2 * HOUR]);
  const server = new Server();
  let querier: Querier;

  beforeAll(async () => {
    // Replica b is served over real gRPC, replica a in-process.
    serveStoreAPI(
      createLocalStore({ queryable: replicaB, externalLabels: Labels.from({ replica: 'b', cluster: 'eu' }) }),
      server,
    );
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    querier = createQuerier({
      endpoints: [
        {
          name: 'replica-a',
          store: createLocalStore({
            queryable: replicaA,
            externalLabels: Labels.from({ replica: 'a', cluster: 'eu' }),
          }),
        },
        `127.0.0.1:${port}`,
      ],
      replicaLabels: ['replica'],
    });
    await querier.start();
  });
  afterAll(async () => {
    await querier.close();
    server.forceShutdown();
  });

  const engine = createEngine();
  // Both replicas cut identical chunks where they hold the same data, so the merge keeps one copy
  // and the hour missing from b is filled from a. (Where chunks overlap, the penalty algorithm
  // runs; its behaviour is pinned by dedup.test.ts against Thanos's own cases.)
  const queries = [
    'http_requests_total',
    'sum by (instance) (rate(http_requests_total[5m]))',
    'temperature',
    'max(temperature) - min(temperature)',
    'increase(http_requests_total[10m])',
  ];
  for (const q of queries) {
    it(`range query ${q} equals the gap-free data`, async () => {
      const start = START + 10 * 60_000 + 7_500;
      const end = START + 3 * HOUR - 60_000;
      const got = await querier.rangeQuery(q, start, end, 5 * 60_000);
      const want = await engine.rangeQuery(full, q, start, end, 5 * 60_000);
      expect(got.warnings).toEqual([]);
      expect(asPairs(got.result)).toEqual(asPairs(want.result));
    });
  }

  it('keeps replicas apart with dedup=false', async () => {
    const r = await querier.instantQuery('temperature{instance="i1"}', START + 30 * 60_000, { dedup: false });
    expect(r.result.type).toBe('vector');
    const metrics = r.result.type === 'vector' ? r.result.samples.map((s) => s.metric.get('replica')) : [];
    expect(metrics).toEqual(['a', 'b']);
  });

  it('skips stores whose external labels cannot match and says so when none can', async () => {
    const r = await querier.instantQuery('temperature{cluster="us"}', START + HOUR);
    expect(r.result).toEqual({ type: 'vector', samples: [] });
    expect(
      r.warnings.some((w) => w.startsWith(NO_STORES_MATCHED)),
      r.warnings.join('\n'),
    ).toBe(true);
  });

  it('is itself a StoreAPI streaming merged series without replica labels', async () => {
    const names: string[] = [];
    for await (const r of querier.series({
      minTime: START,
      maxTime: START + HOUR,
      matchers: [matcher('=', '__name__', 'temperature')],
      withoutReplicaLabels: ['replica'],
    })) {
      if (r.type === 'series') names.push(r.series.labels.toString());
    }
    expect(names).toEqual([
      '{__name__="temperature", cluster="eu", instance="i1", job="api"}',
      '{__name__="temperature", cluster="eu", instance="i2", job="api"}',
      '{__name__="temperature", cluster="eu", instance="i3", job="api"}',
    ]);
    const info = await querier.info();
    expect(info.componentType).toBe('query');
    expect(info.labelSets.map((l) => l.toString())).toEqual([
      '{cluster="eu", replica="a"}',
      '{cluster="eu", replica="b"}',
    ]);
  });

  it('answers label names and values through the stores', async () => {
    const names = await querier.findLabelNames([], START, START + HOUR);
    expect(names.names).toEqual(['__name__', 'cluster', 'instance', 'job']);
    const values = await querier.findLabelValues(
      'instance',
      [[matcher('=', '__name__', 'temperature')]],
      START,
      START + HOUR,
    );
    expect(values.values).toEqual(['i1', 'i2', 'i3']);
  });
});

describe('partial response and failing stores', () => {
  const good = createMemoryStorage();
  good.load([{ labels: { __name__: 'up', job: 'x' }, timestamps: [1000, 16000], values: [1, 1] }]);
  const goodStore = createLocalStore({ queryable: good, externalLabels: Labels.from({ site: 'good' }) });
  const hanging: StoreAPI = {
    async info() {
      return { labelSets: [Labels.from({ site: 'hang' })], minTime: 0, maxTime: 1e13, componentType: 'store' };
    },
    series(): AsyncIterable<SeriesResponse> {
      return {
        [Symbol.asyncIterator]: () => ({
          // Never answers and ignores cancellation: the worst kind of store.
          next: () => new Promise<IteratorResult<SeriesResponse>>(() => undefined),
        }),
      };
    },
    labelNames: () => new Promise(() => undefined),
    labelValues: () => new Promise(() => undefined),
  };
  const dying: StoreAPI = {
    async info() {
      return { labelSets: [Labels.from({ site: 'dying' })], minTime: 0, maxTime: 1e13, componentType: 'store' };
    },
    async *series() {
      yield { type: 'series', series: { labels: Labels.from({ __name__: 'up', job: 'a' }), chunks: [] } };
      throw new Error('connection reset mid-stream');
    },
    async labelNames() {
      throw new Error('down');
    },
    async labelValues() {
      throw new Error('down');
    },
  };

  it('turns a store dying mid-stream into a warning, or an error without partial response', async () => {
    const q = createQuerier({ endpoints: [goodStore, dying] });
    await q.start();
    const warn = await q.instantQuery('up', 16000);
    expect(warn.result.type === 'vector' && warn.result.samples.map((s) => s.metric.get('site'))).toEqual(['good']);
    expect(warn.warnings.join('\n')).toMatch(/connection reset mid-stream/);
    await expect(q.instantQuery('up', 16000, { partialResponse: false })).rejects.toThrow(
      /connection reset mid-stream/,
    );
    await q.close();
  });

  it('turns a gRPC store failing mid-stream into a warning naming it', async () => {
    const server = new Server();
    serveStoreAPI(dying, server);
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    const q = createQuerier({ endpoints: [goodStore, `127.0.0.1:${port}`] });
    await q.start();
    const r = await q.instantQuery('up', 16000);
    expect(r.result.type === 'vector' && r.result.samples.map((x) => x.metric.get('site'))).toEqual(['good']);
    expect(r.warnings.join('\n')).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*connection reset mid-stream`));
    await expect(q.instantQuery('up', 16000, { partialResponse: false })).rejects.toThrow(
      /connection reset mid-stream/,
    );
    await q.close();
    server.forceShutdown();
  });

  it('does not wait for a hanging store past the response timeout', async () => {
    const q = createQuerier({ endpoints: [goodStore, hanging], responseTimeoutMs: 300 });
    await q.start();
    const r = await q.instantQuery('up', 16000);
    expect(r.result.type === 'vector' && r.result.samples.length).toBe(1);
    expect(r.warnings.join('\n')).toMatch(/no response within 300ms/);
    await q.close();
  });

  it('fails a query with a hanging store at the query timeout', async () => {
    const q = createQuerier({ endpoints: [goodStore, hanging], timeoutMs: 400 });
    await q.start();
    const started = Date.now();
    await expect(q.instantQuery('up', 16000)).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeLessThan(10_000);
    await q.close();
  });
});

describe('query of queries', () => {
  it('deduplicates through a leaf querier served over gRPC', async () => {
    const a = createMemoryStorage();
    const b = createMemoryStorage();
    const ts = [0, 15_000, 30_000, 45_000];
    a.load([{ labels: { __name__: 'up', job: 'x' }, timestamps: ts, values: [1, 1, 1, 1] }]);
    b.load([{ labels: { __name__: 'up', job: 'x' }, timestamps: ts, values: [2, 2, 2, 2] }]);
    const leaf = createQuerier({
      endpoints: [
        createLocalStore({ queryable: a, externalLabels: Labels.from({ replica: 'a' }) }),
        createLocalStore({ queryable: b, externalLabels: Labels.from({ replica: 'b' }) }),
      ],
    });
    await leaf.start();
    const server = new Server();
    serveStoreAPI(leaf, server);
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    const root = createQuerier({ endpoints: [`127.0.0.1:${port}`], replicaLabels: ['replica'] });
    await root.start();
    expect(root.endpointStatuses()[0]?.info?.componentType).toBe('query');
    // Same timestamps, different values: one replica's samples win every tie (penalty algorithm).
    const r = await root.rangeQuery('up', 0, 45_000, 15_000);
    expect(
      r.result.type === 'matrix' && r.result.series.map((s) => [s.metric.toString(), Array.from(s.values)]),
    ).toEqual([['{__name__="up", job="x"}', [1, 1, 1, 1]]]);
    const raw = await root.instantQuery('count(up)', 15_000, { dedup: false });
    expect(raw.result.type === 'vector' && raw.result.samples[0]?.f).toBe(2);
    await root.close();
    await leaf.close();
    server.forceShutdown();
  });
});

describe('--query.max-concurrent-select', () => {
  // A store wrapper counting how many Series calls are open at once.
  function countingStore(inner: StoreAPI): { store: StoreAPI; peak: () => number } {
    let open = 0;
    let peak = 0;
    const store: StoreAPI = {
      info: (signal) => inner.info(signal),
      labelNames: (req, signal) => inner.labelNames(req, signal),
      labelValues: (req, signal) => inner.labelValues(req, signal),
      async *series(req, signal): AsyncIterable<SeriesResponse> {
        open++;
        peak = Math.max(peak, open);
        try {
          await new Promise((r) => setTimeout(r, 20));
          yield* inner.series(req, signal);
        } finally {
          open--;
        }
      },
    };
    return { store, peak: () => peak };
  }

  it.each([
    [1, 1],
    [2, 2],
    [8, 4],
  ])('with %i runs at most that many selects of one query at once', async (limit, expectedPeak) => {
    const storage = createMemoryStorage();
    load(storage);
    const { store, peak } = countingStore(
      createLocalStore({ queryable: storage, externalLabels: Labels.from({ replica: 'a' }) }),
    );
    const q = createQuerier({ endpoints: [store], maxConcurrentSelect: limit });
    await q.start();
    try {
      // Four selects (temperature is asked twice, with different hints): the engine asks for all
      // of them at once, so the peak is the limit, or 4 when the limit is higher.
      const r = await q.instantQuery(
        'sum(temperature) + sum(http_requests_total) + count(up or temperature)',
        START + HOUR,
      );
      expect(r.result.type).toBe('vector');
      expect(peak()).toBe(expectedPeak);
    } finally {
      await q.close();
    }
  });
});
