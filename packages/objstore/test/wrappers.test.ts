import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  type Bucket,
  createMemoryBucket,
  isObjNotFoundErr,
  ObjstoreOperationError,
  withMetrics,
  withPrefix,
  withRetries,
} from '../src/index.js';

const bytes = (s: string) => new TextEncoder().encode(s);

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const n of it) out.push(n);
  return out;
}

/**
 * A fake: wraps a real in-memory bucket and fails chosen calls with a transient error, because
 * a 503 or a dropped connection on demand cannot be produced by s3rver.
 */
function flaky(
  inner: Bucket,
  failures: { [op: string]: number },
  iterFailAfter?: number,
): Bucket & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const hit = (op: string) => {
    calls[op] = (calls[op] ?? 0) + 1;
    if ((failures[op] ?? 0) > 0) {
      failures[op] = (failures[op] ?? 0) - 1;
      throw new ObjstoreOperationError(
        'OBJSTORE_REQUEST',
        op,
        '',
        'S3 SlowDown (HTTP 503): reduce your request rate',
        true,
        { status: 503 },
      );
    }
  };
  return {
    ...inner,
    calls,
    name: inner.name,
    provider: inner.provider,
    get: async (n, o) => {
      hit('get');
      return inner.get(n, o);
    },
    upload: async (n, b, o) => {
      hit('upload');
      return inner.upload(n, b, o);
    },
    exists: async (n, o) => {
      hit('exists');
      return inner.exists(n, o);
    },
    async *iter(dir, o) {
      calls.iter = (calls.iter ?? 0) + 1;
      let i = 0;
      for await (const n of inner.iter(dir, o)) {
        if (i === iterFailAfter && (failures.iter ?? 0) > 0) {
          failures.iter = (failures.iter ?? 0) - 1;
          throw new ObjstoreOperationError('OBJSTORE_UNREACHABLE', 'iter', dir, 'connection reset', true);
        }
        i++;
        yield n;
      }
    },
  };
}

describe('withRetries', () => {
  it('retries transient errors and gives up after maxAttempts', async () => {
    const mem = createMemoryBucket();
    await mem.upload('a', bytes('A'));
    const f = flaky(mem, { get: 2, exists: 5 });
    const b = withRetries(f, { maxAttempts: 3, minBackoffMs: 1 });
    expect(new TextDecoder().decode(await b.get('a'))).toBe('A');
    expect(f.calls.get).toBe(3);
    await expect(b.exists('a')).rejects.toBeInstanceOf(ObjstoreOperationError);
    expect(f.calls.exists).toBe(3);
  });

  it('never retries not-found', async () => {
    const f = flaky(createMemoryBucket(), {});
    const b = withRetries(f, { maxAttempts: 5, minBackoffMs: 1 });
    const err = await b.get('missing').catch((e: unknown) => e);
    expect(isObjNotFoundErr(err)).toBe(true);
    expect(f.calls.get).toBe(1);
  });

  it('retries byte uploads but not streams (they cannot be replayed)', async () => {
    const f = flaky(createMemoryBucket(), { upload: 1 });
    const b = withRetries(f, { maxAttempts: 3, minBackoffMs: 1 });
    await b.upload('x', bytes('x'));
    expect(f.calls.upload).toBe(2);
    const f2 = flaky(createMemoryBucket(), { upload: 1 });
    const b2 = withRetries(f2, { maxAttempts: 3, minBackoffMs: 1 });
    await expect(
      b2.upload(
        'x',
        (async function* () {
          yield bytes('x');
        })(),
      ),
    ).rejects.toBeInstanceOf(ObjstoreOperationError);
    expect(f2.calls.upload).toBe(1);
  });

  it('resumes a listing after a mid-way failure without repeating entries', async () => {
    const mem = createMemoryBucket();
    for (const n of ['a/1', 'a/2', 'a/3', 'a/4', 'a/5']) await mem.upload(n, bytes(n));
    const f = flaky(mem, { iter: 1 }, 3);
    const b = withRetries(f, { maxAttempts: 3, minBackoffMs: 1 });
    expect(await collect(b.iter('a', { recursive: true }))).toEqual(['a/1', 'a/2', 'a/3', 'a/4', 'a/5']);
    expect(f.calls.iter).toBe(2);
  });
});

describe('withMetrics', () => {
  it("exposes Thanos's metric names and labels", async () => {
    const registry = new Registry();
    const mem = createMemoryBucket({ name: 'blocks' });
    const b = withMetrics(mem, { registry });
    await b.upload('x/y', bytes('hello'));
    await b.get('x/y');
    await b.getRange('x/y', 1, 2);
    await b.get('nope').catch(() => {});
    await collect(b.iter(''));
    const text = await registry.metrics();
    expect(text).toContain('thanos_objstore_bucket_operations_total{bucket="blocks",operation="get"} 2');
    expect(text).toContain('thanos_objstore_bucket_operations_total{bucket="blocks",operation="upload"} 1');
    expect(text).toContain('thanos_objstore_bucket_operations_total{bucket="blocks",operation="iter"} 1');
    expect(text).toContain('thanos_objstore_bucket_operations_total{bucket="blocks",operation="delete"} 0');
    expect(text).toContain('thanos_objstore_bucket_operation_failures_total{bucket="blocks",operation="get"} 1');
    expect(text).toContain('thanos_objstore_bucket_operation_fetched_bytes_total{bucket="blocks",operation="get"} 5');
    expect(text).toContain(
      'thanos_objstore_bucket_operation_fetched_bytes_total{bucket="blocks",operation="get_range"} 2',
    );
    expect(text).toContain(
      'thanos_objstore_bucket_operation_transferred_bytes_count{bucket="blocks",operation="upload"} 1',
    );
    expect(text).toContain(
      'thanos_objstore_bucket_operation_duration_seconds_count{bucket="blocks",operation="get"} 1',
    );
    expect(text).toMatch(/thanos_objstore_bucket_last_successful_upload_time\{bucket="blocks"\} \d+/);
  });

  it('does not count expected errors or aborts as failures, and shares one registry between buckets', async () => {
    const registry = new Registry();
    const a = withMetrics(createMemoryBucket({ name: 'a' }), { registry, isExpectedError: isObjNotFoundErr });
    const c = withMetrics(createMemoryBucket({ name: 'c' }), { registry });
    await a.get('nope').catch(() => {});
    await c.get('nope', { signal: AbortSignal.abort() }).catch(() => {});
    await c.upload('s', bytes('1'));
    const chunks: Buffer[] = [];
    for await (const ch of await c.getStream('s')) chunks.push(ch as Buffer);
    const text = await registry.metrics();
    expect(text).toContain('thanos_objstore_bucket_operation_failures_total{bucket="a",operation="get"} 0');
    expect(text).toContain('thanos_objstore_bucket_operation_failures_total{bucket="c",operation="get"} 0');
    expect(text).toContain('thanos_objstore_bucket_operation_fetched_bytes_total{bucket="c",operation="get"} 1');
  });
});

describe('withPrefix', () => {
  it('keeps objects under the prefix and hides it from names', async () => {
    const mem = createMemoryBucket();
    const b = withPrefix(mem, '/tenant/');
    await b.upload('blk/meta.json', bytes('{}'));
    expect(await collect(mem.iter('', { recursive: true }))).toEqual(['tenant/blk/meta.json']);
    expect(await collect(b.iter(''))).toEqual(['blk/']);
    expect(await collect(b.iter('blk'))).toEqual(['blk/meta.json']);
    expect(withPrefix(mem, '//')).toBe(mem);
  });
});
