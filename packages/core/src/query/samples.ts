import { decodeXorInto, InvalidArgumentError, xorNumSamples } from '@thanos-ts/tsdb';
import type { Aggr, AggrChunk, Chunk } from '../storeapi/store-api.js';
import type { SampleColumns } from './dedup.js';

function pickChunk(c: AggrChunk, aggr: Aggr): Chunk | undefined {
  switch (aggr) {
    case 'RAW':
      return c.raw;
    case 'COUNT':
      return c.count;
    case 'SUM':
      return c.sum;
    case 'MIN':
      return c.min;
    case 'MAX':
      return c.max;
    case 'COUNTER':
      return c.counter;
  }
}

function decodeOne(chunk: Chunk, mint: number, maxt: number): SampleColumns {
  if (chunk.type !== 'XOR') {
    throw new InvalidArgumentError(
      `chunk encoding ${chunk.type} is not supported by the querier yet (only XOR float chunks)`,
    );
  }
  const n = xorNumSamples(chunk.data);
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const got = decodeXorInto(chunk.data, t, v, 0);
  return bound({ timestamps: t.subarray(0, got), values: v.subarray(0, got) }, mint, maxt);
}

function bound(c: SampleColumns, mint: number, maxt: number): SampleColumns {
  const t = c.timestamps;
  let lo = 0;
  let hi = t.length;
  while (lo < hi && (t[lo] as number) < mint) lo++;
  while (hi > lo && (t[hi - 1] as number) > maxt) hi--;
  if (lo === 0 && hi === t.length) return c;
  return { timestamps: t.subarray(lo, hi), values: c.values.subarray(lo, hi) };
}

/**
 * Decodes a chain of non-overlapping chunks into sample columns bounded to [mint, maxt].
 * Raw chunks decode as they are; downsampled chunks (no `raw`) yield the aggregate the request
 * asked for, COUNT+SUM meaning the average sum/count (as Thanos's querier reads them).
 */
export function decodeChain(
  chunks: readonly AggrChunk[],
  aggregates: readonly Aggr[],
  mint: number,
  maxt: number,
): SampleColumns {
  const parts: SampleColumns[] = [];
  let total = 0;
  for (const c of chunks) {
    if (c.maxTime < mint || c.minTime > maxt) continue;
    let cols: SampleColumns | undefined;
    if (c.raw) cols = decodeOne(c.raw, mint, maxt);
    else if (aggregates.includes('COUNT') && aggregates.includes('SUM') && c.count && c.sum) {
      const count = decodeOne(c.count, mint, maxt);
      const sum = decodeOne(c.sum, mint, maxt);
      const n = Math.min(count.values.length, sum.values.length);
      const avg = new Float64Array(n);
      for (let i = 0; i < n; i++) avg[i] = (sum.values[i] as number) / (count.values[i] as number);
      cols = { timestamps: sum.timestamps.subarray(0, n), values: avg };
    } else {
      for (const a of aggregates) {
        const ch = pickChunk(c, a);
        if (ch) {
          cols = decodeOne(ch, mint, maxt);
          break;
        }
      }
    }
    if (!cols || cols.timestamps.length === 0) continue;
    parts.push(cols);
    total += cols.timestamps.length;
  }
  if (parts.length === 1) return parts[0] as SampleColumns;
  const timestamps = new Float64Array(total);
  const values = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    timestamps.set(p.timestamps, at);
    values.set(p.values, at);
    at += p.timestamps.length;
  }
  return { timestamps, values };
}
