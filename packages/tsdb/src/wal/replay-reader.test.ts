import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashLabels } from '../head/head.js';
import { Labels } from '../labels/labels.js';
import type { WalCorruptionError } from './errors.js';
import { readWAL } from './reader.js';
import {
  decodeRecord,
  encodeSamplesRecord,
  encodeSeriesRecord,
  encodeTombstonesRecord,
  RECORD_SAMPLES,
  RECORD_SERIES,
} from './records.js';
import { KIND_RAW, KIND_SAMPLES, KIND_SERIES } from './replay-batch.js';
import {
  createReplayReader,
  type ReplayBatch,
  type ReplayReader,
  type ResumeAt,
  readDecodedInThread,
} from './replay-reader.js';
import { openWAL } from './wal.js';

const STALE_NAN = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0] as number;

// A record as a replay sees it, from a batch or from decodeRecord over readWAL.
type Seen =
  | { kind: 'series'; series: { ref: number; labels: Record<string, string> }[] }
  | { kind: 'samples'; samples: { ref: number; t: number; bits: string }[] }
  | { kind: 'raw'; hex: string };

const bits = (v: number) => Buffer.from(new Float64Array([v]).buffer).toString('hex');

function fromRecord(rec: Uint8Array): Seen {
  let d: ReturnType<typeof decodeRecord>;
  try {
    d = decodeRecord(rec);
  } catch {
    return { kind: 'raw', hex: Buffer.from(rec).toString('hex') };
  }
  if (d.type === 'series' && rec[0] === RECORD_SERIES)
    return { kind: 'series', series: d.series.map((s) => ({ ref: s.ref, labels: s.labels.toRecord() })) };
  if (d.type === 'samples' && rec[0] === RECORD_SAMPLES)
    return { kind: 'samples', samples: d.samples.map((s) => ({ ref: s.ref, t: s.t, bits: bits(s.v) })) };
  return { kind: 'raw', hex: Buffer.from(rec).toString('hex') };
}

async function readExpected(dir: string): Promise<{ seen: Seen[]; err?: WalCorruptionError }> {
  const seen: Seen[] = [];
  try {
    for await (const e of readWAL(dir)) seen.push(fromRecord(e.record));
  } catch (err) {
    return { seen, err: err as WalCorruptionError };
  }
  return { seen };
}

async function readBatches(reader: ReplayReader, dir: string): Promise<{ seen: Seen[]; err?: WalCorruptionError }> {
  const seen: Seen[] = [];
  try {
    for await (const b of reader.read([{ dir, first: -1, last: -1 }], 'wal')) seen.push(...seenInBatch(b));
  } catch (err) {
    return { seen, err: err as WalCorruptionError };
  }
  return { seen };
}

function seenInBatch(b: ReplayBatch): Seen[] {
  const seen: Seen[] = [];
  let si = 0;
  let li = 0;
  let sm = 0;
  let bp = 0;
  for (let r = 0; r < b.records; r++) {
    const n = b.counts[r] as number;
    if (b.kinds[r] === KIND_SERIES) {
      const series: { ref: number; labels: Record<string, string> }[] = [];
      for (let k = 0; k < n; k++, si++) {
        const flat: string[] = [];
        for (let j = 0; j < 2 * (b.labelCounts[si] as number); j++)
          flat.push(b.strings[b.labelIds[li++] as number] as string);
        const labels = Labels.fromSortedFlat(flat);
        // The worker's hash is the head's (non-ASCII strings included).
        expect((b.seriesHashes[si] as number) | 0).toBe(hashLabels(labels));
        series.push({ ref: b.seriesRefs[si] as number, labels: labels.toRecord() });
      }
      seen.push({ kind: 'series', series });
    } else if (b.kinds[r] === KIND_SAMPLES) {
      const samples: { ref: number; t: number; bits: string }[] = [];
      for (let k = sm; k < sm + n; k++)
        samples.push({
          ref: b.sampleRefs[k] as number,
          t: b.sampleTs[k] as number,
          bits: bits(b.sampleValues[k] as number),
        });
      sm += n;
      seen.push({ kind: 'samples', samples });
    } else {
      expect(b.kinds[r]).toBe(KIND_RAW);
      seen.push(fromRecord(b.bytes.subarray(bp, bp + n)));
      bp += n;
    }
  }
  return seen;
}

// Enough records to span several batches and segments: series with shared and non-ASCII
// strings, samples with a stale marker and negative deltas, tombstones, an unsorted (foreign)
// series record and a truncated samples record, which must reach the caller as bytes.
async function writeFixture(dir: string, compress: boolean): Promise<void> {
  const w = await openWAL({ dir, compress, segmentSizeBytes: 8 * 32 * 1024 });
  let ref = 1;
  for (let batch = 0; batch < 40; batch++) {
    const series = Array.from({ length: 500 }, (_, i) => ({
      ref: ref + i,
      labels: Labels.from({
        __name__: `metric_${i % 7}`,
        instance: `host-${batch}-${i}`,
        job: i % 3 === 0 ? 'nöde' : 'node',
      }),
    }));
    const samples = series.map((s, i) => ({
      ref: s.ref,
      t: 1_700_000_000_000 - i * 1000,
      v: i === 3 ? STALE_NAN : i * 0.5,
    }));
    await w.log([encodeSeriesRecord(series), encodeSamplesRecord(samples)]);
    ref += 500;
  }
  const unsorted = Uint8Array.from([RECORD_SERIES, 0, 0, 0, 0, 0, 0, 0, 9, 2, 1, 122, 1, 49, 1, 97, 1, 50]);
  const truncated = encodeSamplesRecord([{ ref: 1, t: 5, v: 1 }]).subarray(0, 20);
  await w.log([
    encodeTombstonesRecord([{ ref: 3, intervals: [{ minTime: 1, maxTime: 2 }] }]),
    unsorted,
    truncated,
    new Uint8Array(0),
  ]);
  await w.close();
}

describe.each([
  { name: 'in thread', threaded: false },
  { name: 'worker thread', threaded: true },
])('replay reader ($name)', ({ threaded }) => {
  let dir: string;
  let reader: ReplayReader;
  beforeEach(async () => {
    dir = await makeTempDir('replay-reader-');
    reader = createReplayReader({ threaded });
  });
  afterEach(async () => {
    await reader.close();
    await removeTempDir(dir);
  });

  it.each([{ compress: true }, { compress: false }])(
    'decodes what decodeRecord decodes, in order (compress=$compress)',
    async ({ compress }) => {
      expect(reader.threaded).toBe(threaded);
      await writeFixture(dir, compress);
      const want = await readExpected(dir);
      const got = await readBatches(reader, dir);
      expect(want.err).toBeUndefined();
      expect(got.err).toBeUndefined();
      expect(got.seen.length).toBe(want.seen.length);
      expect(got.seen).toEqual(want.seen);
      // A second read on the same reader starts afresh.
      expect((await readBatches(reader, dir)).seen.length).toBe(want.seen.length);
    },
  );

  it('delivers the records before a corruption, then the same WalCorruptionError as readWAL', async () => {
    await writeFixture(dir, false);
    const file = join(dir, '00000001');
    const bytes = await readFile(file);
    bytes[5000] = (bytes[5000] as number) ^ 0xff;
    await writeFile(file, bytes);
    const want = await readExpected(dir);
    const got = await readBatches(reader, dir);
    expect(want.err).toBeDefined();
    expect(got.err).toMatchObject({
      code: 'TSDB_WAL_CORRUPT',
      segment: want.err?.segment,
      offset: want.err?.offset,
      message: want.err?.message,
    });
    expect(got.seen).toEqual(want.seen);
  });

  it('stops cleanly when the caller breaks off, and reads again after', async () => {
    await writeFixture(dir, true);
    for await (const _ of reader.read([{ dir, first: -1, last: -1 }], 'wal')) break;
    const want = await readExpected(dir);
    expect((await readBatches(reader, dir)).seen).toEqual(want.seen);
  });
});

// While the worker starts, the threaded reader decodes in place and hands the rest over at a
// record boundary: handing over after any batch (the records already read into memory still
// decoded in place) and resuming from the returned position must read every record once, across
// segment ends too.
describe('replay reader handover', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('replay-handover-');
    await writeFixture(dir, true);
  });
  afterEach(() => removeTempDir(dir));

  it.each([{ after: 1 }, { after: 2 }, { after: 5 }, { after: 9 }])(
    'handing over after $after batches and resuming there reads each record once',
    async ({ after }) => {
      const want = await readExpected(dir);
      const seen: Seen[] = [];
      let batches = 0;
      const strings: string[] = [];
      const started: ResumeAt[] = [];
      const it = readDecodedInThread([{ dir, first: -1, last: -1 }], 'wal', {
        ready: () => batches >= after,
        start: (at) => started.push(at),
      });
      let r = await it.next();
      while (!r.done) {
        batches++;
        strings.push(...r.value.newStrings);
        seen.push(...seenInBatch({ ...r.value, strings }));
        r = await it.next();
      }
      const at = r.value;
      expect(at).toBeDefined();
      // The records already in memory (the rest of the read window) are decoded here too.
      expect(started).toEqual([at]);
      expect(batches).toBeGreaterThanOrEqual(after);
      const rest = createReplayReader({ threaded: true });
      try {
        for await (const b of rest.read([{ dir, first: at?.segment ?? -1, last: -1, firstOffset: at?.offset }], 'wal'))
          seen.push(...seenInBatch(b));
      } finally {
        await rest.close();
      }
      expect(want.err).toBeUndefined();
      expect(seen).toEqual(want.seen);
    },
  );

  it('reads to the end in place when the worker is never ready', async () => {
    const it = readDecodedInThread([{ dir, first: -1, last: -1 }], 'wal', {
      ready: () => false,
      start: () => expect.unreachable(),
    });
    let r = await it.next();
    while (!r.done) r = await it.next();
    expect(r.value).toBeUndefined();
  });
});
