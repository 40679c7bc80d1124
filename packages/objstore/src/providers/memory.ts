import { Readable } from 'node:stream';
import { collectBody } from '../body.js';
import type { Bucket, IterOptions, ObjectAttributes, OperationOptions, UploadBody } from '../bucket.js';
import { ObjectNotFoundError } from '../errors.js';
import { directoryEntries, normalizeIterDir, validateObjectName, validateRange } from '../names.js';

interface StoredObject {
  data: Uint8Array;
  lastModified: Date;
}

/** Options of `createMemoryBucket`. */
export interface MemoryBucketOptions {
  /** Name reported by `bucket.name` (default "in-memory"). */
  name?: string;
}

/**
 * A bucket held in process memory: for tests, examples and throwaway pipelines. Objects are
 * copied on upload and on read, so callers can reuse their buffers freely.
 */
export function createMemoryBucket(opts: MemoryBucketOptions = {}): Bucket {
  const objects = new Map<string, StoredObject>();
  const bucketName = opts.name ?? 'in-memory';

  const lookup = (name: string, signal?: AbortSignal): StoredObject => {
    signal?.throwIfAborted();
    validateObjectName(name);
    const obj = objects.get(name);
    if (!obj) throw new ObjectNotFoundError(name, bucketName);
    return obj;
  };

  return {
    name: bucketName,
    provider: 'IN-MEMORY',
    async get(name: string, o?: OperationOptions) {
      return lookup(name, o?.signal).data.slice();
    },
    async getStream(name: string, o?: OperationOptions) {
      return Readable.from([lookup(name, o?.signal).data.slice()], { objectMode: false });
    },
    async getRange(name: string, offset: number, length: number, o?: OperationOptions) {
      validateRange(offset, length);
      const { data } = lookup(name, o?.signal);
      const end = length === -1 ? data.byteLength : Math.min(data.byteLength, offset + length);
      return offset >= end ? new Uint8Array(0) : data.slice(offset, end);
    },
    async upload(name: string, body: UploadBody, o?: OperationOptions) {
      validateObjectName(name);
      const bytes = await collectBody(body, o?.signal);
      // Copy: the caller may reuse its buffer after upload resolves.
      objects.set(name, { data: bytes.slice(), lastModified: new Date() });
    },
    async delete(name: string, o?: OperationOptions) {
      o?.signal?.throwIfAborted();
      validateObjectName(name);
      objects.delete(name);
    },
    async exists(name: string, o?: OperationOptions) {
      o?.signal?.throwIfAborted();
      validateObjectName(name);
      return objects.has(name);
    },
    async attributes(name: string, o?: OperationOptions): Promise<ObjectAttributes> {
      const obj = lookup(name, o?.signal);
      return { size: obj.data.byteLength, lastModified: obj.lastModified };
    },
    async *iter(dir: string, o?: IterOptions) {
      o?.signal?.throwIfAborted();
      const prefix = normalizeIterDir(dir);
      // Snapshot the names first: uploads during iteration must not break the loop.
      const names = [...objects.keys()].filter((n) => n.startsWith(prefix)).sort();
      for (const entry of directoryEntries(names, prefix, o?.recursive ?? false)) {
        o?.signal?.throwIfAborted();
        yield entry;
      }
    },
    async close() {},
  };
}
