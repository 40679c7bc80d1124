import { decodeXorInto, xorNumSamples } from '@thanos-ts/tsdb';
import { expect } from 'vitest';
import type { SeriesRequest, StoreAPI } from '../storeapi/store-api.js';

/** Collects a Series stream into label key → samples, decoding XOR chunks in [minTime, maxTime]. */
export async function collectSeries(store: StoreAPI, req: SeriesRequest) {
  const out = new Map<string, { t: number[]; v: number[] }>();
  for await (const r of store.series(req)) {
    if (r.type !== 'series') continue;
    const key = r.series.labels.toString();
    expect(out.has(key), `series ${key} returned twice`).toBe(false);
    const t: number[] = [];
    const v: number[] = [];
    for (const c of r.series.chunks) {
      const data = c.raw?.data as Uint8Array;
      const n = xorNumSamples(data);
      const ts = new Float64Array(n);
      const vs = new Float64Array(n);
      decodeXorInto(data, ts, vs);
      for (let i = 0; i < n; i++) {
        if ((ts[i] as number) < req.minTime || (ts[i] as number) > req.maxTime) continue;
        t.push(ts[i] as number);
        v.push(vs[i] as number);
      }
    }
    out.set(key, { t, v });
  }
  return out;
}
