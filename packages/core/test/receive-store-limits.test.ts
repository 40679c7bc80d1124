// The receiver's StoreAPI behind Thanos's Series limits (--store.limits.request-series/-samples),
// over gRPC as a querier reaches it.
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { Matcher } from '@thanos-ts/tsdb';
import { afterEach, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../src/receive/receiver.js';
import { limitStoreSeries } from '../src/store/limited-store.js';
import { connectStoreAPI } from '../src/storeapi/grpc-client.js';
import type { SeriesResponse, StoreAPI } from '../src/storeapi/store-api.js';

const open: { r: Receiver; dir: string }[] = [];
afterEach(async () => {
  for (const { r, dir } of open.splice(0)) {
    await r.close();
    await removeTempDir(dir);
  }
});

async function drain(store: StoreAPI, name: string): Promise<SeriesResponse[]> {
  const out: SeriesResponse[] = [];
  const req = { minTime: 0, maxTime: Date.now() + 60_000, matchers: [new Matcher('=', '__name__', name)] };
  for await (const r of store.series(req)) out.push(r);
  return out;
}

describe('receiver store limits', () => {
  it.each([
    {
      limits: { seriesPerRequest: 2 },
      want: /code = RESOURCE_EXHAUSTED desc = failed to send series: limit 2 violated \(got 3\) \(--store\.limits\.request-series\)$/,
    },
    {
      limits: { samplesPerRequest: 200 },
      want: /code = RESOURCE_EXHAUSTED desc = failed to send samples: limit 200 violated \(got 240\) \(--store\.limits\.request-samples\)$/,
    },
  ])('refuses a Series call over $limits with RESOURCE_EXHAUSTED naming the flag', async ({ limits, want }) => {
    const dir = await makeTempDir('receive-limits-');
    const r = createReceiver({ tsdbPath: dir, grpcAddress: '127.0.0.1:0', grpcGracePeriodMs: 0, storeLimits: limits });
    open.push({ r, dir });
    await r.start();
    const now = Date.now();
    await r.write({
      timeseries: ['a', 'b', 'c'].map((job) => ({
        labels: [
          { name: '__name__', value: 'limited_total' },
          { name: 'job', value: job },
        ],
        timestamps: [now],
        values: [1],
        histograms: 0,
      })),
    });
    const client = connectStoreAPI(r.grpcAddress as string);
    try {
      const err = await drain(client, 'limited_total').then(
        () => undefined,
        (e: unknown) => e as { grpcCode?: number; message: string },
      );
      expect(err?.message).toMatch(want);
      // Under the limits a call answers in full.
      const ok = await drain(client, 'absent_total');
      expect(ok.filter((x) => x.type === 'series')).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('without limits the store is passed through unchanged', () => {
    const store = {} as StoreAPI;
    expect(limitStoreSeries(store, {})).toBe(store);
    expect(limitStoreSeries(store, { seriesPerRequest: 0, samplesPerRequest: 0 })).toBe(store);
  });
});
