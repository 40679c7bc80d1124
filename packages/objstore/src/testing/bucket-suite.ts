import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Bucket, isObjNotFoundErr, ObjectNotFoundError, ObjstoreInvalidArgumentError } from '../index.js';

/** A fresh, empty bucket made for one test of {@link describeBucket}; `close` releases it. */
export interface BucketUnderTest {
  readonly bucket: Bucket;
  /** Releases the bucket (temp dirs, connections). Called once, after the test, even when it failed. */
  close(): Promise<void>;
}

/**
 * Makes a fresh, empty bucket for one test. `partSize` (bytes) is the multipart part size the
 * suite's large-object test expects, for backends that split uploads.
 */
export type BucketSetup = (opts: { partSize: number }) => Promise<BucketUnderTest>;

/** Known defects of a reference server that no client can work around (each says why). */
export interface ServerQuirks {
  /**
   * s3rver 3.7 answers a Range GET on a zero-byte object with `Content-Length: 1` and no body,
   * so the connection is reset; real S3 answers 416. Set false to skip that one assertion.
   */
  rangeOnEmptyObject?: boolean;
  /**
   * The bucket serves the root listing (`iter('')`) from a cache for a while, as Thanos's caching
   * bucket does (`blocks_iter_ttl`, default 5m): a root listing after a delete may still show the
   * deleted object. Set true and the suite expects the root listing to be exactly the one cached
   * before the delete (still checking every other listing is current). Default false.
   */
  cachedRootListing?: boolean;
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const bytes = (s: string) => new TextEncoder().encode(s);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const PART_SIZE = 5 * 1024 * 1024;

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const n of it) out.push(n);
  return out;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** Deterministic pseudo-random bytes (no two parts alike, so a misplaced part is caught). */
function patternBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Registers (with vitest's `describe`/`it`) the one behaviour suite every Bucket must pass:
 * Thanos's objstore acceptance semantics plus the edges this package promises (range edges, empty
 * objects, multipart, pagination, aborts). `setup` runs once per test, so tests never see each
 * other's objects. Call it at the top level of a test file, as Thanos's `objtesting.AcceptanceTest`.
 */
export function describeBucket(name: string, setup: BucketSetup, quirks: ServerQuirks = {}): void {
  const withBucket = (fn: (b: Bucket) => Promise<void>) => async () => {
    const { bucket, close } = await setup({ partSize: PART_SIZE });
    try {
      await fn(bucket);
    } finally {
      await close();
    }
  };

  describe(`bucket behaviour: ${name}`, () => {
    it(
      'reports missing objects with a typed not-found error, and bad names as invalid arguments',
      withBucket(async (b) => {
        const err = await caught(b.get('id1/obj_1.some'));
        expect(err).toBeInstanceOf(ObjectNotFoundError);
        expect(isObjNotFoundErr(err)).toBe(true);
        expect((err as ObjectNotFoundError).code).toBe('OBJSTORE_NOT_FOUND');
        expect(isObjNotFoundErr(await caught(b.getRange('id1/obj_1.some', 0, 10)))).toBe(true);
        expect(isObjNotFoundErr(await caught(b.getRange('id1/obj_1.some', 0, 0)))).toBe(true);
        expect(isObjNotFoundErr(await caught(b.getStream('id1/obj_1.some')))).toBe(true);
        expect(isObjNotFoundErr(await caught(b.attributes('id1/obj_1.some')))).toBe(true);
        expect(await b.exists('id1/obj_1.some')).toBe(false);
        const empty = await caught(b.get(''));
        expect(empty).toBeInstanceOf(ObjstoreInvalidArgumentError);
        expect(isObjNotFoundErr(empty)).toBe(false);
        expect(await caught(b.getRange('x', -1, 2))).toBeInstanceOf(ObjstoreInvalidArgumentError);
      }),
    );

    it(
      'reads back whole objects and ranges at every edge',
      withBucket(async (b) => {
        await b.upload('id1/obj_1.some', bytes('@test-data@'));
        expect(text(await b.get('id1/obj_1.some'))).toBe('@test-data@');
        expect(await b.exists('id1/obj_1.some')).toBe(true);
        const attrs = await b.attributes('id1/obj_1.some');
        expect(attrs.size).toBe(11);
        expect(Math.abs(attrs.lastModified.getTime() - Date.now())).toBeLessThan(10 * 60_000);
        const cases: [number, number, string][] = [
          [1, 3, 'tes'], // Thanos acceptance test
          [1, -1, 'test-data@'], // open-ended
          [3, 9999, 'st-data@'], // length past the end is cut at the end
          [0, 11, '@test-data@'], // exactly the object
          [0, 1, '@'], // first byte
          [10, 1, '@'], // last byte
          [10, 5, '@'], // last byte, length past end
          [11, 1, ''], // offset == size
          [11, -1, ''],
          [500, 3, ''], // offset past the end
          [4, 0, ''], // zero length
        ];
        for (const [off, len, want] of cases) {
          expect(text(await b.getRange('id1/obj_1.some', off, len)), `range(${off}, ${len})`).toBe(want);
        }
        const chunks: Buffer[] = [];
        for await (const c of await b.getStream('id1/obj_1.some')) chunks.push(Buffer.from(c));
        expect(Buffer.concat(chunks).toString()).toBe('@test-data@');
      }),
    );

    it(
      'stores empty objects',
      withBucket(async (b) => {
        await b.upload('e/empty', new Uint8Array(0));
        expect((await b.get('e/empty')).byteLength).toBe(0);
        if (quirks.rangeOnEmptyObject !== false) expect((await b.getRange('e/empty', 0, 10)).byteLength).toBe(0);
        expect((await b.getRange('e/empty', 0, -1)).byteLength).toBe(0);
        expect((await b.attributes('e/empty')).size).toBe(0);
        expect(await b.exists('e/empty')).toBe(true);
        expect(await collect(b.iter('e'))).toEqual(['e/empty']);
        await b.upload('e/empty-stream', Readable.from([]));
        expect((await b.attributes('e/empty-stream')).size).toBe(0);
      }),
    );

    it(
      'uploads from streams and async iterables, and overwrites',
      withBucket(async (b) => {
        await b.upload('s/readable', Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
        await b.upload(
          's/iterable',
          (async function* () {
            yield bytes('12');
            yield bytes('345');
          })(),
        );
        expect(text(await b.get('s/readable'))).toBe('abcd');
        expect(text(await b.get('s/iterable'))).toBe('12345');
        await b.upload('s/readable', bytes('replaced'));
        await b.upload('s/readable', bytes('replaced')); // idempotent
        expect(text(await b.get('s/readable'))).toBe('replaced');
      }),
    );

    it(
      "lists with Thanos's directory semantics, in lexicographic order",
      withBucket(async (b) => {
        const objects = [
          'id1/obj_1.some',
          'id1/obj_2.some',
          'id1/obj_3.some',
          'id1/sub/subobj_1.some',
          'id1/sub/subobj_2.some',
          'id2/obj_4.some',
          'obj_5.some',
          'id1.txt',
          'id10/x',
        ];
        for (const o of objects) await b.upload(o, bytes(`@${o}@`));
        expect(await collect(b.iter(''))).toEqual(['id1.txt', 'id1/', 'id10/', 'id2/', 'obj_5.some']);
        expect(await collect(b.iter('', { recursive: true }))).toEqual([...objects].sort());
        const id1 = ['id1/obj_1.some', 'id1/obj_2.some', 'id1/obj_3.some', 'id1/sub/'];
        expect(await collect(b.iter('id1/'))).toEqual(id1);
        expect(await collect(b.iter('id1'))).toEqual(id1);
        const id1r = [
          'id1/obj_1.some',
          'id1/obj_2.some',
          'id1/obj_3.some',
          'id1/sub/subobj_1.some',
          'id1/sub/subobj_2.some',
        ];
        expect(await collect(b.iter('id1', { recursive: true }))).toEqual(id1r);
        expect(await collect(b.iter('id1/', { recursive: true }))).toEqual(id1r);
        expect(await collect(b.iter('id0'))).toEqual([]);
        expect(await collect(b.iter('id1/obj_1.some'))).toEqual([]);

        await b.delete('id1/obj_2.some');
        await b.delete('id1/obj_2.some'); // deleting a missing object succeeds
        expect(await collect(b.iter('id1/'))).toEqual(['id1/obj_1.some', 'id1/obj_3.some', 'id1/sub/']);
        await b.delete('id2/obj_4.some');
        expect(await collect(b.iter(''))).toEqual(
          quirks.cachedRootListing
            ? ['id1.txt', 'id1/', 'id10/', 'id2/', 'obj_5.some']
            : ['id1.txt', 'id1/', 'id10/', 'obj_5.some'],
        );
        expect(await collect(b.iter('id2/'))).toEqual([]);
        expect(await b.exists('id2/obj_4.some')).toBe(false);
      }),
    );

    it(
      'pages through more than 1,000 keys with and without a delimiter',
      withBucket(async (b) => {
        const files = Array.from({ length: 560 }, (_, i) => `many/f${String(i).padStart(4, '0')}`);
        const dirs = Array.from({ length: 480 }, (_, i) => `many/d${String(i).padStart(4, '0')}/x`);
        await inParallel([...files, ...dirs], 16, (n) => b.upload(n, bytes(n)));
        const flat = await collect(b.iter('many'));
        const wantFlat = [...files, ...dirs.map((d) => d.slice(0, -1))].sort();
        expect(flat.length).toBe(1040);
        expect(flat).toEqual(wantFlat);
        const deep = await collect(b.iter('many/', { recursive: true }));
        expect(deep).toEqual([...files, ...dirs].sort());
        // Stopping early is allowed and stops the listing.
        const firstFive: string[] = [];
        for await (const n of b.iter('many', { recursive: true })) {
          firstFive.push(n);
          if (firstFive.length === 5) break;
        }
        expect(firstFive).toEqual(deep.slice(0, 5));
      }),
    );

    it(
      'uploads large objects in parts (3 parts of 5 MiB) and reads ranges across part edges',
      withBucket(async (b) => {
        const size = 2 * PART_SIZE + 1234;
        const data = patternBytes(size, 7);
        // Stream it in odd-sized chunks so parts must be re-cut from the input.
        const chunkSize = 777_777;
        await b.upload(
          'big/object',
          (async function* () {
            for (let at = 0; at < size; at += chunkSize) yield data.subarray(at, Math.min(size, at + chunkSize));
          })(),
        );
        expect((await b.attributes('big/object')).size).toBe(size);
        expect(sha(await b.get('big/object'))).toBe(sha(data));
        const edge = await b.getRange('big/object', PART_SIZE - 10, 20);
        expect(Buffer.from(edge).equals(Buffer.from(data.subarray(PART_SIZE - 10, PART_SIZE + 10)))).toBe(true);
        const tail = await b.getRange('big/object', size - 5, 100);
        expect(Buffer.from(tail).equals(Buffer.from(data.subarray(size - 5)))).toBe(true);
      }),
    );

    it(
      'serves objects laid out as Thanos blocks (meta.json, chunks/NNNNNN) like any other, read twice',
      withBucket(async (b) => {
        // Caching wrappers treat these names specially (chunk subranges, meta.json contents and
        // existence); a second read may come from the cache and must be byte-identical.
        const block = '01HF8000000000000000000RAW';
        const chunk = patternBytes(70_001, 3);
        const meta = bytes('{"ulid":"01HF8000000000000000000RAW","version":1}');
        await b.upload(`${block}/chunks/000001`, chunk);
        await b.upload(`${block}/meta.json`, meta);
        for (let round = 0; round < 2; round++) {
          const where = `round ${round}`;
          expect(text(await b.get(`${block}/meta.json`)), where).toBe(text(meta));
          expect(await b.exists(`${block}/meta.json`), where).toBe(true);
          expect(await b.exists(`${block}/no-meta.json`), where).toBe(false);
          expect(await b.exists('01HF8000000000000000000XXX/meta.json'), where).toBe(false);
          expect((await b.attributes(`${block}/chunks/000001`)).size, where).toBe(chunk.length);
          const ranges: [number, number][] = [
            [0, 1],
            [0, 70_001],
            [16_000, 20_000],
            [69_990, 100],
            [70_000, -1],
            [70_001, 10],
            [12_345, 0],
          ];
          for (const [off, len] of ranges) {
            const got = await b.getRange(`${block}/chunks/000001`, off, len);
            const want = chunk.subarray(
              Math.min(off, chunk.length),
              len < 0 ? chunk.length : Math.min(chunk.length, off + len),
            );
            expect(sha(got), `${where}: range(${off}, ${len})`).toBe(sha(want));
          }
          expect(isObjNotFoundErr(await caught(b.getRange(`${block}/chunks/000002`, 0, 10))), where).toBe(true);
          expect(isObjNotFoundErr(await caught(b.get(`${block}/deletion-mark.json`))), where).toBe(true);
        }
      }),
    );

    it(
      'honours an aborted signal on every call',
      withBucket(async (b) => {
        await b.upload('a/x', bytes('x'));
        const signal = AbortSignal.abort();
        const calls: (() => Promise<unknown>)[] = [
          () => b.get('a/x', { signal }),
          () => b.getRange('a/x', 0, 1, { signal }),
          () => b.upload('a/y', bytes('y'), { signal }),
          () => b.exists('a/x', { signal }),
          () => b.attributes('a/x', { signal }),
          () => b.delete('a/x', { signal }),
          () => collect(b.iter('a', { signal })),
        ];
        for (const call of calls) expect((await caught(call())) as Error).toHaveProperty('name', 'AbortError');
        expect(await b.exists('a/y')).toBe(false);
        expect(await b.exists('a/x')).toBe(true);
      }),
    );
  });
}
