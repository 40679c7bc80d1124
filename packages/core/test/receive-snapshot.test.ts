// --tsdb.memory-snapshot-on-shutdown: a receiver closing cleanly leaves a chunk snapshot in each
// tenant's TSDB (Prometheus's chunk_snapshot.<segment>.<offset>), and a receiver started on the
// same directory serves every sample written before. Without the option no snapshot is written.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { matcher, xorNumSamples } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../src/receive/index.js';

const T0 = 1_700_000_000_000;

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('receive-snapshot-');
});
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

async function samples(r: Receiver): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for await (const m of r.series({ minTime: 0, maxTime: T0 + 3_600_000, matchers: [matcher('=~', '__name__', '.+')] }))
    if (m.type === 'series')
      out[m.series.labels.toString()] = m.series.chunks.reduce(
        (n, c) => n + xorNumSamples(c.raw?.data as Uint8Array),
        0,
      );
  return out;
}

describe('memory snapshot on shutdown', () => {
  it.each([true, false])('memorySnapshotOnShutdown=%s', async (on) => {
    const tsdbPath = join(dir, `data-${on}`);
    const opts = { tsdbPath, memorySnapshotOnShutdown: on, flushIntervalMs: 0 };
    const first = createReceiver(opts);
    await first.start();
    for (const tenant of ['a', 'b'])
      await first.write({
        tenant,
        timeseries: Array.from({ length: 20 }, (_, i) => ({
          labels: [
            { name: '__name__', value: 'snap' },
            { name: 'i', value: String(i) },
          ],
          timestamps: Array.from({ length: 30 }, (_, k) => T0 + k * 15_000),
          values: Array.from({ length: 30 }, (_, k) => k + i),
          histograms: 0,
        })),
      });
    const before = await samples(first);
    expect(Object.keys(before)).toHaveLength(40);
    expect(Object.values(before).every((n) => n === 30)).toBe(true);
    await first.close();
    for (const tenant of ['a', 'b']) {
      const snapshots = (await readdir(join(tsdbPath, tenant))).filter((f) => f.startsWith('chunk_snapshot.'));
      expect(snapshots.length).toBe(on ? 1 : 0);
    }
    const second = createReceiver(opts);
    await second.start();
    expect(await samples(second)).toEqual(before);
    await second.close();
  });
});
