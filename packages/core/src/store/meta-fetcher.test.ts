import { createMemoryBucket } from '@thanos-ts/objstore';
import { type BlockMeta, serializeBlockMeta, ulidTime } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { createMetaFetcher } from './meta-fetcher.js';
import { parseRelabelConfig } from './relabel.js';

const enc = new TextEncoder();
const NOW = Date.parse('2026-01-10T00:00:00Z');

/** A ULID whose time part is `ms`. */
function ulidAt(ms: number, n: number): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = ms;
  let s = '';
  for (let i = 0; i < 10; i++) {
    s = alphabet[t % 32] + s;
    t = Math.floor(t / 32);
  }
  return `${s}${String(n).padStart(16, '0')}`;
}

function meta(
  ulid: string,
  minTime: number,
  maxTime: number,
  labels: Record<string, string>,
  source = 'sidecar',
): BlockMeta {
  return {
    ulid,
    minTime,
    maxTime,
    stats: {},
    compaction: { level: 1, sources: [ulid] },
    version: 1,
    thanos: { labels, downsample: { resolution: 0 }, source },
  };
}

describe('meta fetcher filters', () => {
  it('reports partial and corrupt blocks and applies time, relabel, consistency and deletion filters', async () => {
    const bucket = createMemoryBucket();
    const day = 86400_000;
    const ids = {
      old: ulidAt(NOW - 30 * day, 1),
      recent: ulidAt(NOW - 2 * day, 2),
      fresh: ulidAt(NOW - 60_000, 3),
      freshCompacted: ulidAt(NOW - 60_000, 4),
      otherCluster: ulidAt(NOW - 3 * day, 5),
      deleted: ulidAt(NOW - 4 * day, 6),
      deletedRecently: ulidAt(NOW - 4 * day, 7),
      corrupt: ulidAt(NOW - 4 * day, 8),
      partial: ulidAt(NOW - 4 * day, 9),
    };
    const put = (id: string, m: BlockMeta) => bucket.upload(`${id}/meta.json`, enc.encode(serializeBlockMeta(m)));
    await put(ids.old, meta(ids.old, NOW - 31 * day, NOW - 30 * day, { cluster: 'a' }));
    await put(ids.recent, meta(ids.recent, NOW - 3 * day, NOW - 2 * day, { cluster: 'a' }));
    await put(ids.fresh, meta(ids.fresh, NOW - 2 * 3600_000, NOW - 60_000, { cluster: 'a' }));
    await put(ids.freshCompacted, meta(ids.freshCompacted, NOW - 2 * day, NOW - day, { cluster: 'a' }, 'compactor'));
    await put(ids.otherCluster, meta(ids.otherCluster, NOW - 4 * day, NOW - 3 * day, { cluster: 'b' }));
    await put(ids.deleted, meta(ids.deleted, NOW - 5 * day, NOW - 4 * day, { cluster: 'a' }));
    await bucket.upload(
      `${ids.deleted}/deletion-mark.json`,
      enc.encode(JSON.stringify({ id: ids.deleted, deletion_time: (NOW - 2 * day) / 1000, version: 1 })),
    );
    await put(ids.deletedRecently, meta(ids.deletedRecently, NOW - 5 * day, NOW - 4 * day, { cluster: 'a' }));
    await bucket.upload(
      `${ids.deletedRecently}/deletion-mark.json`,
      enc.encode(JSON.stringify({ id: ids.deletedRecently, deletion_time: (NOW - 3600_000) / 1000, version: 1 })),
    );
    await bucket.upload(`${ids.corrupt}/meta.json`, enc.encode('{"ulid": "nope"'));
    await bucket.upload(`${ids.partial}/index`, enc.encode('x'));

    const fetcher = createMetaFetcher({
      bucket,
      now: () => NOW,
      filters: {
        minTime: { kind: 'duration', ms: -7 * day },
        relabel: parseRelabelConfig('- action: keep\n  source_labels: [cluster]\n  regex: a'),
        consistencyDelayMs: 30 * 60_000,
        ignoreDeletionMarksDelayMs: day,
      },
    });
    const r = await fetcher.fetch();
    expect([...r.metas.keys()].sort()).toEqual([ids.recent, ids.freshCompacted, ids.deletedRecently].sort());
    const state = (id: string) => r.skipped.get(id)?.state;
    expect(state(ids.old)).toBe('time-excluded');
    expect(state(ids.fresh)).toBe('too-fresh');
    expect(state(ids.otherCluster)).toBe('label-excluded');
    expect(state(ids.deleted)).toBe('marked-for-deletion');
    expect(state(ids.corrupt)).toBe('corrupted-meta-json');
    expect(r.skipped.get(ids.corrupt)?.error).toContain(`${ids.corrupt}/meta.json`);
    expect(state(ids.partial)).toBe('no-meta-json');
    expect(r.counts.loaded).toBe(3);
    expect(ulidTime(ids.old)).toBe(NOW - 30 * day);
  });

  it('with an infinite deletion delay reads no deletion mark and keeps marked blocks', async () => {
    const inner = createMemoryBucket();
    const id = ulidAt(NOW - 4 * 86400_000, 1);
    await inner.upload(`${id}/meta.json`, enc.encode(serializeBlockMeta(meta(id, NOW - 5 * 86400_000, NOW, {}))));
    await inner.upload(`${id}/deletion-mark.json`, enc.encode(JSON.stringify({ id, deletion_time: 1, version: 1 })));
    const read: string[] = [];
    const bucket = new Proxy(inner, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop !== 'get' || typeof v !== 'function') return v;
        return (name: string, ...rest: unknown[]) => {
          read.push(name);
          return v.call(target, name, ...rest);
        };
      },
    });
    const fetcher = createMetaFetcher({
      bucket,
      now: () => NOW,
      filters: { ignoreDeletionMarksDelayMs: Number.POSITIVE_INFINITY },
    });
    const r = await fetcher.fetch();
    expect([...r.metas.keys()]).toEqual([id]);
    expect(read).toEqual([`${id}/meta.json`]);
  });
});
