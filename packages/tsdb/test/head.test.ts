import { describe, expect, it } from 'vitest';
import { cutXorChunks } from '../src/chunkenc/chunk.js';
import { hashLabels } from '../src/head/head.js';
import { createHead, type Head } from '../src/head/index.js';
import { Labels } from '../src/labels/labels.js';
import { Matcher } from '../src/labels/matcher.js';
import { isStaleNaN, STALE_NAN } from '../src/storage/stale.js';

const H = 3600_000;
const ALL = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER };
const L = (r: Record<string, string>) => Labels.from(r);

async function add(head: Head, labels: Labels, samples: [number, number][]): Promise<number> {
  const app = head.appender();
  let ref = 0;
  for (const [t, v] of samples) ref = app.append(labels, t, v);
  await app.commit();
  return ref;
}

async function samplesOf(head: Head, matchers: Matcher[], start = ALL.start, end = ALL.end) {
  const res = await head.queryable().select(matchers, { start, end });
  return res.map((s) => ({ labels: s.labels.toRecord(), t: [...s.timestamps], v: [...s.values] }));
}

describe('head appender', () => {
  it('appends by labels and by ref; refs are stable and commits become visible', async () => {
    const head = createHead();
    const app = head.appender();
    const a = app.append(L({ __name__: 'up', job: 'a' }), 1000, 1);
    const b = app.append(L({ __name__: 'up', job: 'b' }), 1000, 0);
    expect(a).not.toBe(b);
    expect(app.append(a, 2000, 1)).toBe(a);
    expect(await samplesOf(head, [])).toEqual([]); // not committed yet
    await app.commit();
    const app2 = head.appender();
    expect(app2.append(L({ job: 'a', __name__: 'up' }), 3000, 5)).toBe(a);
    await app2.commit();
    expect(await samplesOf(head, [new Matcher('=', '__name__', 'up')])).toEqual([
      { labels: { __name__: 'up', job: 'a' }, t: [1000, 2000, 3000], v: [1, 1, 5] },
      { labels: { __name__: 'up', job: 'b' }, t: [1000], v: [0] },
    ]);
    expect(head.stats()).toMatchObject({ numSeries: 2, samplesAppended: 4, minTime: 1000, maxTime: 3000 });
  });

  it.each([
    {
      name: 'out of order',
      first: [[10_000, 1]] as [number, number][],
      next: [5_000, 1] as [number, number],
      code: 'TSDB_OUT_OF_ORDER_SAMPLE',
      message: 'out of order sample',
    },
    {
      name: 'duplicate timestamp with another value',
      first: [[10_000, 1]] as [number, number][],
      next: [10_000, 2] as [number, number],
      code: 'TSDB_DUPLICATE_SAMPLE_FOR_TIMESTAMP',
      message: 'duplicate sample for timestamp',
    },
    {
      name: 'older than the appendable window (half a chunk range behind)',
      first: [[3 * H, 1]] as [number, number][],
      next: [3 * H - H - 1, 1] as [number, number],
      code: 'TSDB_OUT_OF_BOUNDS',
      message: 'out of bounds',
    },
  ])('rejects a sample: $name', async ({ first, next, code, message }) => {
    const head = createHead();
    const lbls = L({ __name__: 'm' });
    await add(head, lbls, first);
    const app = head.appender();
    let err: unknown;
    try {
      app.append(lbls, next[0], next[1]);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code, message, timestamp: next[0], series: '{__name__="m"}' });
    // The appender stays usable after a rejected sample.
    app.append(lbls, 20_000 + 3 * H, 7);
    await app.commit();
  });

  it('drops an exact duplicate silently, keeps NaN payloads apart (stale marker vs NaN)', async () => {
    const head = createHead();
    const lbls = L({ __name__: 'm' });
    // Plain JS number arrays quiet a NaN's payload, so the marker goes straight to append.
    const first = head.appender();
    first.append(lbls, 1000, 1);
    first.append(lbls, 2000, STALE_NAN);
    await first.commit();
    const app = head.appender();
    app.append(lbls, 1000 + 1000, STALE_NAN); // exact duplicate of the newest sample: accepted
    expect(() => app.append(lbls, 2000, Number.NaN)).toThrow('duplicate sample for timestamp');
    await app.commit();
    const [s] = await head.queryable().select([], ALL);
    expect([...(s?.timestamps ?? [])]).toEqual([1000, 2000]);
    expect(isStaleNaN(s?.values[1] as number)).toBe(true);
    expect(head.stats().samplesAppended).toBe(2);
  });

  it('re-checks samples at commit: a concurrent commit wins, the loser is dropped', async () => {
    const head = createHead();
    const lbls = L({ __name__: 'm' });
    await add(head, lbls, [[1000, 1]]);
    const a1 = head.appender();
    const a2 = head.appender();
    a1.append(lbls, 3000, 3);
    a2.append(lbls, 2000, 2);
    await a1.commit();
    await a2.commit();
    expect((await samplesOf(head, []))[0]?.t).toEqual([1000, 3000]);
    expect(head.stats().samplesRejectedAtCommit).toBe(1);
  });

  it('rollback discards samples but keeps created series; a closed appender refuses use', async () => {
    const head = createHead();
    const app = head.appender();
    const ref = app.append(L({ __name__: 'x' }), 1000, 1);
    await app.rollback();
    expect(await samplesOf(head, [])).toEqual([]);
    expect(head.getByRef(ref)?.labels.toRecord()).toEqual({ __name__: 'x' });
    await expect(app.commit()).rejects.toMatchObject({
      code: 'TSDB_APPENDER_CLOSED',
      message: 'append was already committed/rolled back',
    });
    expect(() => app.append(ref, 2000, 1)).toThrow(/already committed/);
  });

  it('enforces maxSeries and maxSamplesPerCommit with clear errors', async () => {
    const head = createHead({ maxSeries: 2, maxSamplesPerCommit: 3 });
    const app = head.appender();
    app.append(L({ a: '1' }), 1000, 1);
    app.append(L({ a: '2' }), 1000, 1);
    expect(() => app.append(L({ a: '3' }), 1000, 1)).toThrow(
      expect.objectContaining({
        code: 'TSDB_SERIES_LIMIT',
        message: 'series limit of 2 exceeded: cannot create series {a="3"}',
      }),
    );
    app.append(L({ a: '1' }), 2000, 1);
    expect(() => app.append(L({ a: '2' }), 2000, 1)).toThrow(
      expect.objectContaining({ code: 'TSDB_SAMPLES_PER_COMMIT_LIMIT' }),
    );
    await app.commit();
    expect(head.stats().samplesAppended).toBe(3);
  });

  it('rejects empty labels and unknown refs', () => {
    const app = createHead().appender();
    expect(() => app.append(Labels.EMPTY, 1, 1)).toThrow(
      expect.objectContaining({ code: 'TSDB_INVALID_SAMPLE', message: 'empty labelset: invalid sample' }),
    );
    expect(() => app.append(42, 1, 1)).toThrow(expect.objectContaining({ code: 'TSDB_UNKNOWN_SERIES_REF' }));
  });

  it('keeps series apart whose label hashes collide', async () => {
    const seen = new Map<number, Labels>();
    let pair: [Labels, Labels] | undefined;
    // Sequential numbers spread too evenly under FNV; pseudo-random values collide by the birthday
    // bound (~77k draws for even odds in 32 bits).
    let seed = 12345;
    for (let i = 0; !pair && i < 2_000_000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const l = L({ __name__: 'c', i: seed.toString(36) + (i % 7).toString() });
      const h = hashLabels(l);
      const other = seen.get(h);
      if (other) pair = [other, l];
      else seen.set(h, l);
    }
    expect(pair).toBeDefined();
    const [x, y] = pair as [Labels, Labels];
    expect(hashLabels(x)).toBe(hashLabels(y));
    const head = createHead();
    const app = head.appender();
    const rx = app.append(x, 1000, 1);
    const ry = app.append(y, 1000, 2);
    await app.commit();
    expect(rx).not.toBe(ry);
    expect(head.getByLabels(x)?.ref).toBe(rx);
    expect(head.getByLabels(y)?.ref).toBe(ry);
    expect((await samplesOf(head, [new Matcher('=', 'i', y.get('i'))]))[0]?.v).toEqual([2]);
  });
});

describe('head chunks', () => {
  it.each([
    { name: '15s scrape over 5h', step: 15_000, n: 1200, start: 0 },
    { name: '1s scrape crossing a boundary', step: 1000, n: 3000, start: 2 * H - 1_000_000 },
    { name: 'jittered 10s', step: 10_000, n: 2500, start: 123_456, jitter: true },
  ])('cuts chunks where Prometheus does: $name', async ({ step, n, start, jitter }) => {
    const head = createHead({ chunkRangeMs: 2 * H });
    const lbls = L({ __name__: 'm' });
    const ts: number[] = [];
    const vs: number[] = [];
    let t = start;
    for (let i = 0; i < n; i++) {
      t += jitter ? step + ((i * 7919) % 997) - 498 : step;
      ts.push(t);
      vs.push(Math.sin(i) * 100);
    }
    // Commit in batches of 100, as a scraper would.
    for (let i = 0; i < n; i += 100) {
      const app = head.appender();
      for (let j = i; j < Math.min(n, i + 100); j++) app.append(lbls, ts[j] as number, vs[j] as number);
      await app.commit();
    }
    const s = head.getByLabels(lbls);
    const got = s?.chunksOverlapping(ALL.start, ALL.end) ?? [];
    // cutXorChunks implements the same appendPreprocessor rule and is checked against promtool.
    const want = cutXorChunks(ts, vs, 2 * H);
    expect(got.map((c) => [c.minTime, c.maxTime])).toEqual(want.map((c) => [c.minTime, c.maxTime]));
    expect(got.map((c) => Buffer.from(c.data).toString('hex'))).toEqual(
      want.map((c) => Buffer.from(c.data).toString('hex')),
    );
    for (const c of got) expect(Math.floor(c.minTime / (2 * H))).toBe(Math.floor(c.maxTime / (2 * H)));
  });
});

describe('head out-of-order window', () => {
  it('accepts samples within the window, rejects older ones with "too old sample"', async () => {
    const head = createHead({ outOfOrderTimeWindowMs: 10 * 60_000 });
    const lbls = L({ __name__: 'm' });
    await add(head, lbls, [
      [H, 1],
      [H + 60_000, 2],
    ]);
    const app = head.appender();
    app.append(lbls, H + 30_000, 1.5); // out of order, within 10m
    app.append(lbls, H - 5 * 60_000, 0.5);
    expect(() => app.append(lbls, H + 60_000 - 11 * 60_000, 0)).toThrow(
      expect.objectContaining({ code: 'TSDB_TOO_OLD_SAMPLE', message: 'too old sample' }),
    );
    await app.commit();
    // Enough out-of-order samples to cut several OOO chunks.
    const app2 = head.appender();
    for (let i = 1; i <= 70; i++) app2.append(lbls, H - i * 1000, -i);
    await app2.commit();
    const [s] = await samplesOf(head, []);
    expect(s?.t.length).toBe(4 + 70);
    expect(s?.t).toEqual([...(s?.t ?? [])].sort((a, b) => a - b));
    const want = [H, H + 60_000, H + 30_000, H - 5 * 60_000];
    for (let i = 1; i <= 70; i++) want.push(H - i * 1000);
    expect(s?.t).toEqual(want.sort((a, b) => a - b));
    expect(head.stats().outOfOrderSamplesAppended).toBe(72);
    const ranged = await samplesOf(head, [], H - 3000, H + 30_000);
    expect(ranged[0]?.t).toEqual([H - 3000, H - 2000, H - 1000, H, H + 30_000]);
  });

  it('rejects out-of-order samples with the default window 0', async () => {
    const head = createHead();
    await add(head, L({ __name__: 'm' }), [[H, 1]]);
    expect(() => head.appender().append(L({ __name__: 'm' }), H - 1, 1)).toThrow('out of order sample');
  });
});

describe('head index', () => {
  const seed = async () => {
    const head = createHead();
    const app = head.appender();
    app.append(L({ __name__: 'http', code: '200', path: '/a' }), 1000, 1);
    app.append(L({ __name__: 'http', code: '500', path: '/a' }), 1000, 2);
    app.append(L({ __name__: 'http', code: '200' }), 1000, 3);
    app.append(L({ __name__: 'cpu', cpu: '0' }), 1000, 4);
    await app.commit();
    return head;
  };
  it.each([
    { name: 'equal', m: [['=', '__name__', 'http']], want: [3, 1, 2] },
    {
      name: 'not equal',
      m: [
        ['=', '__name__', 'http'],
        ['!=', 'code', '200'],
      ],
      want: [2],
    },
    { name: 'regex set', m: [['=~', 'code', '200|500']], want: [3, 1, 2] },
    { name: 'negative regex', m: [['!~', '__name__', 'h.*']], want: [4] },
    {
      name: 'label absent (="")',
      m: [
        ['=', '__name__', 'http'],
        ['=', 'path', ''],
      ],
      want: [3],
    },
    { name: 'label present (!="")', m: [['!=', 'path', '']], want: [1, 2] },
    { name: 'regex matching empty', m: [['=~', 'path', '/a|']], want: [4, 3, 1, 2] },
    { name: 'no match', m: [['=', '__name__', 'nope']], want: [] },
  ])('selects by matchers: $name', async ({ m, want }) => {
    const head = await seed();
    const res = await head.queryable().select(
      m.map(([t, n, v]) => new Matcher(t as '=', n as string, v as string)),
      ALL,
    );
    expect(res.map((s) => s.values[0])).toEqual(want);
    const sorted = [...res].sort((a, b) => (a.labels.key() < b.labels.key() ? -1 : 1));
    expect(res.map((s) => s.labels.toString())).toEqual(sorted.map((s) => s.labels.toString()));
  });

  it('answers label names and values, with and without matchers', async () => {
    const q = (await seed()).queryable();
    expect(await q.labelNames([], ALL)).toEqual(['__name__', 'code', 'cpu', 'path']);
    expect(await q.labelNames([new Matcher('=', '__name__', 'cpu')], ALL)).toEqual(['__name__', 'cpu']);
    expect(await q.labelValues('code', [], ALL)).toEqual(['200', '500']);
    expect(await q.labelValues('code', [new Matcher('=', 'path', '/a')], ALL)).toEqual(['200', '500']);
    expect(await q.labelValues('code', [], { start: 5000, end: 6000 })).toEqual([]);
  });
});

describe('head truncation', () => {
  it('drops chunks before mint and series left empty; their refs are gone', async () => {
    const head = createHead({ chunkRangeMs: 2 * H });
    const old = await add(head, L({ __name__: 'old' }), [
      [1000, 1],
      [2000, 2],
    ]);
    const samples: [number, number][] = [];
    for (let t = 0; t < 5 * H; t += 60_000) samples.push([t, t]);
    const live = await add(head, L({ __name__: 'live' }), samples);
    head.truncateMemory(2 * H, 7);
    expect(head.getByRef(old)).toBeUndefined();
    expect(head.deleted.get(old)).toBe(7);
    expect(head.getByRef(live)).toBeDefined();
    expect(head.minTime).toBe(2 * H);
    const [s] = await samplesOf(head, []);
    expect(s?.labels).toEqual({ __name__: 'live' });
    expect(s?.t[0]).toBe(2 * H);
    expect(await head.queryable().labelValues('__name__', [], ALL)).toEqual(['live']);
    expect(() => head.appender().append(old, 5 * H, 1)).toThrow(
      expect.objectContaining({ code: 'TSDB_UNKNOWN_SERIES_REF' }),
    );
    // Samples before the new minimum are out of bounds now.
    expect(() => head.appender().append(live, 2 * H - 1, 1)).toThrow('out of bounds');
  });

  it('reports compactable once the head spans more than 1.5 chunk ranges', async () => {
    const head = createHead({ chunkRangeMs: 2 * H });
    await add(head, L({ __name__: 'm' }), [
      [0, 1],
      [3 * H, 1],
    ]);
    expect(head.compactable()).toBe(false);
    await add(head, L({ __name__: 'm' }), [[3 * H + 1, 1]]);
    expect(head.compactable()).toBe(true);
    const block = [...head.rangeSeries(0, 2 * H - 1)];
    expect(block.map((s) => Array.from(s.timestamps))).toEqual([[0]]);
  });
});
