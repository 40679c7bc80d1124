import type { Bucket, IterOptions } from '../bucket.js';
import { normalizeIterDir } from '../names.js';

/**
 * Wraps a bucket so every object lives under `prefix/` (Thanos's `prefix:` config key): names
 * are passed without the prefix and listed without it. A prefix of only slashes or nothing
 * returns the bucket unchanged, as Thanos.
 */
export function withPrefix(bucket: Bucket, prefix: string): Bucket {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed.replaceAll('/', '') === '') return bucket;
  const p = `${trimmed}/`;
  const full = (name: string) => (name === '' ? name : p + name);
  return {
    name: bucket.name,
    provider: bucket.provider,
    get: (name, o) => bucket.get(full(name), o),
    getStream: (name, o) => bucket.getStream(full(name), o),
    getRange: (name, offset, length, o) => bucket.getRange(full(name), offset, length, o),
    upload: (name, body, o) => bucket.upload(full(name), body, o),
    delete: (name, o) => bucket.delete(full(name), o),
    exists: (name, o) => bucket.exists(full(name), o),
    attributes: (name, o) => bucket.attributes(full(name), o),
    async *iter(dir: string, o?: IterOptions) {
      for await (const name of bucket.iter(p + normalizeIterDir(dir), o)) yield name.slice(p.length);
    },
    close: () => bucket.close(),
  };
}
