import { rm } from 'node:fs/promises';
import { makeTempDir } from '@thanos-ts/testing';
import { type DB, HeadAppender, openDB } from '@thanos-ts/tsdb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WriteError } from './errors.js';
import type { WriteSeries } from './wire.js';
import { GroupWriter, writeSeries } from './writer.js';

const T0 = Date.now() - 60_000;

/** Resolves after the current event-loop turn, when a GroupWriter has started its commit. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function series(name: string, t: number, v: number): WriteSeries {
  return {
    labels: [
      { name: '__name__', value: name },
      { name: 'job', value: 'test' },
    ],
    timestamps: [t],
    values: [v],
    histograms: 0,
  };
}

describe('GroupWriter (group commit of concurrent writes)', () => {
  let dir: string;
  let db: DB;

  beforeEach(async () => {
    dir = await makeTempDir('group-writer-');
    db = await openDB({ dir });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes of one turn share a commit, and writes arriving while it is in flight share the next', async () => {
    const w = new GroupWriter(db);
    const appenders = vi.spyOn(db, 'appender');
    const commits = vi.spyOn(HeadAppender.prototype, 'commit');
    const first = [w.write([series('a', T0, 1)]), w.write([series('b', T0, 1)])];
    await nextTurn();
    // The first group is being written to the WAL now: these two queue behind it, together.
    expect(commits).toHaveBeenCalledTimes(1);
    const second = [w.write([series('c', T0, 1), series('c2', T0, 2)]), w.write([series('d', T0, 1)])];
    const results = await Promise.all([...first, ...second]);
    expect(appenders).toHaveBeenCalledTimes(2);
    expect(commits).toHaveBeenCalledTimes(2);
    expect(results.map((r) => r.appended)).toEqual([1, 1, 2, 1]);
    expect(results.every((r) => r.error === undefined)).toBe(true);
    expect(db.head.stats().samplesAppended).toBe(5);
    expect(db.head.numSeries).toBe(5);
  });

  it('a write resolves only once its own group is committed and applied', async () => {
    const w = new GroupWriter(db);
    const seen: number[] = [];
    const a = w.write([series('a', T0, 1)]).then(() => seen.push(db.head.stats().samplesAppended));
    await nextTurn();
    const b = w.write([series('b', T0, 1)]).then(() => seen.push(db.head.stats().samplesAppended));
    await Promise.all([a, b]);
    // Each saw its samples in the head when it resolved: 1 after the first commit, 2 after the second.
    expect(seen).toEqual([1, 2]);
  });

  it('rejected samples are reported to the write that sent them only', async () => {
    const w = new GroupWriter(db);
    await w.write([series('a', T0, 1)]);
    const [ok, bad] = await Promise.all([
      w.write([series('a', T0 + 1000, 2)]),
      w.write([series('a', T0 - 1000, 3), series('b', T0, 1)]),
    ]);
    expect(ok.error).toBeUndefined();
    expect(bad.appended).toBe(1);
    expect(bad.error).toBeInstanceOf(WriteError);
    expect(bad.error?.kind).toBe('conflict');
    expect(bad.error?.message).toBe('add 1 samples: out of order sample');
  });

  it('a WAL failure fails every write of that commit, and the next commit works', async () => {
    const w = new GroupWriter(db);
    const real = HeadAppender.prototype.commit;
    let calls = 0;
    vi.spyOn(HeadAppender.prototype, 'commit').mockImplementation(function (this: HeadAppender) {
      calls++;
      // The second commit (the group of b and c) fails as a WAL write would.
      if (calls === 2) return Promise.reject(new Error('wal: disk full'));
      return real.call(this);
    });
    const a = w.write([series('a', T0, 1)]);
    await nextTurn();
    const results = await Promise.allSettled([a, w.write([series('b', T0, 1)]), w.write([series('c', T0, 1)])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    for (const r of results.slice(1)) {
      const err = (r as PromiseRejectedResult).reason as WriteError;
      expect(err).toBeInstanceOf(WriteError);
      expect(err.kind).toBe('internal');
      expect(err.message).toBe('commit samples: wal: disk full');
    }
    await expect(w.write([series('d', T0, 1)])).resolves.toMatchObject({ appended: 1 });
  });

  it('a write failing for a reason other than its samples rolls back its whole group', async () => {
    const w = new GroupWriter(db);
    const real = HeadAppender.prototype.append;
    vi.spyOn(HeadAppender.prototype, 'append').mockImplementation(function (this: HeadAppender, ref, t, v) {
      if (typeof ref !== 'number' && ref.get('__name__') === 'boom') throw new Error('series limit reached');
      return real.call(this, ref, t, v);
    });
    const a = w.write([series('a', T0, 1)]);
    await nextTurn();
    const [first, b, c] = await Promise.allSettled([
      a,
      // b and c share the group queued behind the first commit; c fails while appending.
      w.write([series('b', T0, 1)]),
      w.write([series('c', T0, 1), series('boom', T0, 1)]),
    ]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { appended: 1 } });
    expect((c as PromiseRejectedResult).reason.message).toBe('append sample: series limit reached');
    expect((b as PromiseRejectedResult).reason.message).toBe(
      'write committed together with a failed one: append sample: series limit reached',
    );
    // Nothing of b or c was stored; the next write starts a fresh group.
    expect(db.head.stats().samplesAppended).toBe(1);
    await expect(w.write([series('d', T0, 1)])).resolves.toMatchObject({ appended: 1 });
    expect(db.head.stats().samplesAppended).toBe(2);
  });

  it('writeSeries rolls back its own appender on such a failure', async () => {
    vi.spyOn(HeadAppender.prototype, 'append').mockImplementation(() => {
      throw new Error('series limit reached');
    });
    await expect(writeSeries(db, [series('a', T0, 1)])).rejects.toThrow('append sample: series limit reached');
    vi.restoreAllMocks();
    expect(db.head.stats().samplesAppended).toBe(0);
  });
});
