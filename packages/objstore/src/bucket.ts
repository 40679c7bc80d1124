import type { Readable } from 'node:stream';

/** Options accepted by every bucket call: an `AbortSignal` to give up early. */
export interface OperationOptions {
  signal?: AbortSignal;
}

/** Options for `Bucket.iter`. */
export interface IterOptions extends OperationOptions {
  /** List every object under the prefix instead of one directory level (default false). */
  recursive?: boolean;
}

/** What `Bucket.upload` accepts: bytes, a Node stream, or any async iterable of byte chunks. */
export type UploadBody = Uint8Array | Readable | AsyncIterable<Uint8Array>;

/** Metadata of one object. */
export interface ObjectAttributes {
  /** Size in bytes. */
  size: number;
  /** Last modification time as reported by the backend. */
  lastModified: Date;
}

/** Which backend a bucket talks to (Thanos's `type:` values, plus IN-MEMORY). */
export type BucketProvider = 'FILESYSTEM' | 'S3' | 'IN-MEMORY' | 'AZURE' | 'ALIYUNOSS';

/**
 * An object storage bucket with Thanos's objstore semantics.
 *
 * - Object names use `/` as the directory delimiter; there are no real directories.
 * - `iter(dir)` lists the entries one level under `dir` (a trailing `/` is implied): objects by
 *   their full name and sub-directories as `dir/sub/` (with the trailing `/`). With
 *   `recursive: true` it lists every object under `dir` and no directories. Names come in
 *   lexicographic order on every backend, and listing a missing directory yields nothing.
 * - `getRange(name, offset, length)` reads `length` bytes from `offset`; `length = -1` means
 *   "to the end". A range past the end is cut at the end of the object, and an offset at or
 *   past the end yields an empty array (on every backend).
 * - Reads of a missing object reject with `ObjectNotFoundError`; `delete` of a missing object
 *   succeeds (S3 semantics); `exists` never throws for a missing object.
 * - An object becomes visible only once `upload` has resolved: readers never see a partial
 *   object, on any backend.
 */
export interface Bucket {
  /** Human-readable bucket name (for logs and the metrics `bucket` label). */
  readonly name: string;
  /** The backend behind this bucket (wrappers report their inner bucket's provider). */
  readonly provider: BucketProvider;
  /** Reads a whole object. Prefer `getStream` for objects that may be large. */
  get(name: string, opts?: OperationOptions): Promise<Uint8Array>;
  /** Opens a whole object as a stream of chunks (a Node `Readable`, which is also async-iterable). */
  getStream(name: string, opts?: OperationOptions): Promise<Readable>;
  /** Reads `length` bytes at `offset` (`length = -1`: to the end). See the interface notes for edges. */
  getRange(name: string, offset: number, length: number, opts?: OperationOptions): Promise<Uint8Array>;
  /** Writes an object atomically, replacing any previous version. */
  upload(name: string, body: UploadBody, opts?: OperationOptions): Promise<void>;
  /** Removes an object; succeeds when it does not exist. */
  delete(name: string, opts?: OperationOptions): Promise<void>;
  /** Whether an object (not a directory) of that name exists. */
  exists(name: string, opts?: OperationOptions): Promise<boolean>;
  /** Size and modification time of an object; `ObjectNotFoundError` when it does not exist. */
  attributes(name: string, opts?: OperationOptions): Promise<ObjectAttributes>;
  /** Lists names under `dir` (see the interface notes). Stop early by breaking out of the loop. */
  iter(dir: string, opts?: IterOptions): AsyncIterable<string>;
  /** Releases connections and handles. The bucket must not be used afterwards. */
  close(): Promise<void>;
}

/** The object-name delimiter that models directories. */
export const DIR_DELIM = '/';
