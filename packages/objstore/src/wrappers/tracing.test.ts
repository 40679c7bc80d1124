import { describe, expect, it } from 'vitest';
import { createMemoryBucket } from '../providers/memory.js';
import { type BucketSpanner, withTracing } from './tracing.js';

interface Recorded {
  name: string;
  attributes: Record<string, string | number | boolean>;
  ended: boolean;
  error?: unknown;
}

// A spanner that records what the wrapper asks for (the real one is core's withSpan).
function recorder(): { spans: Recorded[]; spanner: BucketSpanner } {
  const spans: Recorded[] = [];
  const spanner: BucketSpanner = async (name, attributes, fn) => {
    const r: Recorded = { name, attributes: { ...attributes }, ended: false };
    spans.push(r);
    try {
      return await fn({ setAttribute: (k, v) => (r.attributes[k] = v) });
    } catch (err) {
      r.error = err;
      throw err;
    } finally {
      r.ended = true;
    }
  };
  return { spans, spanner };
}

describe('withTracing', () => {
  it('names operations as Thanos does, with names, ranges and bytes', async () => {
    const { spans, spanner } = recorder();
    const b = withTracing(createMemoryBucket(), spanner);
    await b.upload('a/1', new TextEncoder().encode('hello world'));
    await b.upload('a/2', new TextEncoder().encode('x'));
    expect((await b.get('a/1')).byteLength).toBe(11);
    expect(new TextDecoder().decode(await b.getRange('a/1', 6, 5))).toBe('world');
    expect(await b.exists('a/3')).toBe(false);
    await expect(b.attributes('nope')).rejects.toThrow();
    const listed: string[] = [];
    for await (const n of b.iter('a/')) listed.push(n);
    await b.delete('a/2');
    expect(listed).toEqual(['a/1', 'a/2']);
    expect(spans.map((s) => [s.name, s.attributes, s.ended])).toEqual([
      ['bucket_upload', { name: 'a/1' }, true],
      ['bucket_upload', { name: 'a/2' }, true],
      ['bucket_get', { name: 'a/1', bytes: 11 }, true],
      ['bucket_get_range', { name: 'a/1', offset: 6, length: 5, bytes: 5 }, true],
      ['bucket_exists', { name: 'a/3', exists: false }, true],
      ['bucket_attributes', { name: 'nope' }, true],
      ['bucket_iter', { dir: 'a/', recursive: false, entries: 2 }, true],
      ['bucket_delete', { name: 'a/2' }, true],
    ]);
    expect(spans[5]?.error).toBeDefined();
  });

  it('a listing abandoned early still ends its span', async () => {
    const { spans, spanner } = recorder();
    const b = withTracing(createMemoryBucket(), spanner);
    for (const n of ['x/1', 'x/2', 'x/3']) await b.upload(n, new Uint8Array(1));
    for await (const _ of b.iter('x/')) break;
    await new Promise((r) => setImmediate(r));
    const iter = spans.find((s) => s.name === 'bucket_iter');
    expect(iter?.attributes.entries).toBe(1);
    expect(iter?.ended).toBe(true);
  });
});
