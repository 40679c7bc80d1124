import { randomBytes } from 'node:crypto';
import { type Dirent, type Stats, statSync } from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  opendir,
  readdir,
  readFile,
  rename,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { bodyChunks } from '../body.js';
import { type Bucket, DIR_DELIM, type IterOptions, type OperationOptions, type UploadBody } from '../bucket.js';
import { ObjectNotFoundError, ObjstoreError, ObjstoreInvalidArgumentError, ObjstoreOperationError } from '../errors.js';
import { normalizeIterDir, validateObjectName, validateRange } from '../names.js';

/**
 * Directory (under the bucket root) where uploads are written before being renamed into
 * place. It is never listed and object names may not start with it.
 */
export const FILESYSTEM_TEMP_DIR = '.thanos-ts-tmp';

/** Options of `createFilesystemBucket`. */
export interface FilesystemBucketOptions {
  /** Root directory of the bucket; created on first upload. Relative paths resolve against cwd. */
  directory: string;
  /**
   * Files kept open between ranged reads (`getRange`), least recently used closed first. Default
   * 64; 0 opens and closes the file for every read. A kept file is closed after
   * `openFileIdleMs` without reads, when its object is uploaded or deleted through this bucket,
   * and on `close()` (a file busy with reads when their last read ends).
   */
  maxOpenFiles?: number;
  /** Milliseconds a kept file stays open without reads. Default 10_000. */
  openFileIdleMs?: number;
}

/** A file kept open for ranged reads, and what it was when opened. */
interface OpenFile {
  readonly fh: FileHandle;
  readonly st: Stats;
  /** Reads in flight through `fh`; it is closed only at 0. */
  users: number;
  /** `performance.now()` of the last release. */
  lastUsed: number;
  /** Out of the cache: close once the last user releases it. */
  evicted: boolean;
}

/**
 * Whether `now` (a stat of the object's path) still names the file behind an open handle. While
 * the handle is open its inode cannot be reused, so another inode number means the name was
 * replaced (upload renames a new file over it); size and mtime catch writes in place that
 * bypassed upload.
 */
const sameFile = (opened: Stats, now: Stats): boolean =>
  opened.ino === now.ino && opened.dev === now.dev && opened.size === now.size && opened.mtimeMs === now.mtimeMs;

/**
 * A bucket stored as plain files under a directory: the embedded default and what Thanos's
 * FILESYSTEM type does. Object `a/b/c` is the file `<directory>/a/b/c`.
 *
 * Uploads are atomic: data goes to a temp file under `.thanos-ts-tmp/`, is fsynced, then renamed
 * over the target (and the parent directory fsynced), so a reader sees the old object or the
 * whole new one, and a crash never leaves a half-written object. Deleting an object removes
 * directories it leaves empty, so `iter` never shows empty "directories" (as Thanos's bucket).
 * Symbolic links are not followed.
 */
export function createFilesystemBucket(opts: FilesystemBucketOptions): Bucket {
  if (!opts.directory) throw new ObjstoreInvalidArgumentError('filesystem bucket: directory is empty');
  const root = resolve(opts.directory);
  const tempDir = join(root, FILESYSTEM_TEMP_DIR);
  const bucketName = `fs: ${root}`;
  const maxOpen = Math.max(0, opts.maxOpenFiles ?? 64);
  const idleMs = opts.openFileIdleMs ?? 10_000;

  const pathOf = (name: string): string => {
    validateObjectName(name);
    for (const segment of name.split(DIR_DELIM)) {
      if (segment === '' || segment === '.' || segment === '..') {
        throw new ObjstoreInvalidArgumentError(`object name ${JSON.stringify(name)} has an empty, "." or ".." segment`);
      }
    }
    if (name === FILESYSTEM_TEMP_DIR || name.startsWith(`${FILESYSTEM_TEMP_DIR}/`)) {
      throw new ObjstoreInvalidArgumentError(`object name ${JSON.stringify(name)} is reserved for in-flight uploads`);
    }
    return join(root, ...name.split(DIR_DELIM));
  };

  const fail = (op: string, name: string, err: unknown): never => {
    const code = (err as NodeJS.ErrnoException).code;
    // A missing file, a directory in its place, or a file where a parent directory should be
    // all mean "no such object".
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR')
      throw new ObjectNotFoundError(name, bucketName, { cause: err });
    if (err instanceof ObjstoreInvalidArgumentError || (err instanceof Error && err.name === 'AbortError')) throw err;
    const transient = code === 'EAGAIN' || code === 'EBUSY' || code === 'EMFILE' || code === 'ENFILE';
    throw new ObjstoreOperationError('OBJSTORE_FILESYSTEM', op, name, (err as Error).message, transient, {
      cause: err,
      setting: 'directory',
    });
  };

  // Ranged reads of one object come in bursts (a store gateway reads many chunk ranges of a
  // segment file per request): opening, fstat-ing and closing the file for each read was most of
  // their main-thread cost. Files are kept open by object name, and a read through a kept file
  // first stats the name; if it now points at another file (or none), the kept file is dropped
  // and the name opened again, so a replaced or deleted object is never served from the old file. Concurrent first reads of one name may each open it; the
  // last one opened is kept, the others are closed after their read.
  const files = new Map<string, OpenFile>();
  const closing = new Set<Promise<void>>();
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  const closeFile = (f: OpenFile): Promise<void> => {
    const p = f.fh.close().catch(() => {});
    closing.add(p);
    void p.then(() => closing.delete(p));
    return p;
  };
  /** Takes `f` out of the cache; it is closed now or when its last read releases it. */
  const evict = (name: string, f: OpenFile): void => {
    if (f.evicted) return;
    f.evicted = true;
    if (files.get(name) === f) files.delete(name);
    if (f.users === 0) void closeFile(f);
    if (files.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  /** Drops `name`'s kept file (after an upload or delete through this bucket). */
  const forget = (name: string): void => {
    const f = files.get(name);
    if (f) evict(name, f);
  };
  const sweep = (): void => {
    const now = performance.now();
    for (const [name, f] of [...files]) if (f.users === 0 && now - f.lastUsed >= idleMs) evict(name, f);
  };
  const openFile = async (name: string, file: string): Promise<OpenFile> => {
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      return fail('get', name, err);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new ObjectNotFoundError(name, bucketName);
      return { fh, st, users: 1, lastUsed: performance.now(), evicted: false };
    } catch (err) {
      await fh.close().catch(() => {});
      if (err instanceof ObjectNotFoundError) throw err;
      return fail('get_range', name, err);
    }
  };
  /**
   * A kept file for `name` if the name still points at it, else a freshly opened one; with one
   * more user. The check is a synchronous stat: a few microseconds on a local filesystem, far
   * less main-thread work than a stat through the thread pool (which cost as much as the open
   * and close it saves).
   */
  const acquire = async (name: string, file: string): Promise<OpenFile> => {
    const kept = files.get(name);
    if (kept) {
      let now: Stats | undefined;
      try {
        now = statSync(file, { throwIfNoEntry: false });
      } catch {
        now = undefined; // Opened again below, which reports the error.
      }
      if (now?.isFile() && sameFile(kept.st, now)) {
        kept.users++;
        // Most recently used last: Map order is the eviction order.
        files.delete(name);
        files.set(name, kept);
        return kept;
      }
      // Replaced or gone: never read through the old file.
      evict(name, kept);
    }
    const f = await openFile(name, file);
    if (closed || maxOpen === 0) {
      f.evicted = true; // Closed at release.
      return f;
    }
    const other = files.get(name);
    if (other) evict(name, other); // Ours is the newer look at the name.
    files.set(name, f);
    // Over the limit: close the least recently used files (busy ones when their reads end).
    for (const [n, g] of files) {
      if (files.size <= maxOpen) break;
      evict(n, g);
    }
    sweeper ??= setInterval(sweep, Math.max(idleMs, 10)).unref();
    return f;
  };
  /** One user less; the close of an evicted file's last user, for the read to wait on. */
  const release = (f: OpenFile): Promise<void> | undefined => {
    f.users--;
    f.lastUsed = performance.now();
    return f.evicted && f.users === 0 ? closeFile(f) : undefined;
  };

  const readRange = async (f: OpenFile, offset: number, length: number): Promise<Uint8Array> => {
    const size = Number(f.st.size);
    const end = length === -1 ? size : Math.min(size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    // Unzeroed: every byte returned is overwritten by the read below (short reads are cut off).
    const out: Uint8Array = Buffer.allocUnsafe(end - offset);
    let done = 0;
    while (done < out.byteLength) {
      const { bytesRead } = await f.fh.read(out, done, out.byteLength - done, offset + done);
      if (bytesRead === 0) break; // The file shrank under us (only if someone bypasses upload).
      done += bytesRead;
    }
    return done === out.byteLength ? out : out.subarray(0, done);
  };

  const readObject = async (
    name: string,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array> => {
    signal?.throwIfAborted();
    const f = await acquire(name, pathOf(name));
    try {
      return await readRange(f, offset, length);
    } catch (err) {
      return fail('get_range', name, err);
    } finally {
      // A read that closes its file returns after the close, so a bucket closed (or without kept
      // files) holds no descriptor once its reads have answered.
      await release(f);
    }
  };

  const isDirEmpty = async (dir: string): Promise<boolean> => {
    try {
      const d = await opendir(dir);
      try {
        return (await d.read()) === null;
      } finally {
        await d.close().catch(() => {});
      }
    } catch {
      return true;
    }
  };

  // Sort key giving S3's order: a directory "a" lists as "a/", so "a.txt" < "a/" < "a0".
  const sortKey = (e: Dirent): string => (e.isDirectory() ? `${e.name}/` : e.name);

  async function* walk(prefix: string, recursive: boolean, signal?: AbortSignal): AsyncGenerator<string> {
    const absDir = prefix === '' ? root : join(root, ...prefix.slice(0, -1).split(DIR_DELIM));
    let entries: Dirent[];
    try {
      entries = await readdir(absDir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw new ObjstoreOperationError('OBJSTORE_FILESYSTEM', 'iter', prefix, (err as Error).message, false, {
        cause: err,
      });
    }
    const keyed = entries.map((e) => [sortKey(e), e] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [, entry] of keyed) {
      signal?.throwIfAborted();
      if (prefix === '' && entry.name === FILESYSTEM_TEMP_DIR) continue;
      const name = `${prefix}${entry.name}`;
      if (entry.isDirectory()) {
        if (await isDirEmpty(join(absDir, entry.name))) continue;
        if (recursive) yield* walk(`${name}/`, true, signal);
        else yield `${name}/`;
      } else if (entry.isFile()) {
        yield name;
      }
    }
  }

  const removeEmptyParents = async (file: string): Promise<void> => {
    let dir = dirname(file);
    while (dir !== root && dir.startsWith(root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // Not empty (or already gone): stop climbing.
      }
      dir = dirname(dir);
    }
  };

  return {
    name: bucketName,
    provider: 'FILESYSTEM',
    async get(name: string, o?: OperationOptions) {
      o?.signal?.throwIfAborted();
      const file = pathOf(name);
      try {
        return new Uint8Array(await readFile(file, { signal: o?.signal }));
      } catch (err) {
        return fail('get', name, err);
      }
    },
    async getStream(name: string, o?: OperationOptions) {
      o?.signal?.throwIfAborted();
      const file = pathOf(name);
      let fh: Awaited<ReturnType<typeof open>>;
      try {
        fh = await open(file, 'r');
        if (!(await fh.stat()).isFile()) {
          await fh.close();
          throw new ObjectNotFoundError(name, bucketName);
        }
      } catch (err) {
        if (err instanceof ObjectNotFoundError) throw err;
        return fail('get', name, err);
      }
      return fh.createReadStream({ signal: o?.signal });
    },
    async getRange(name: string, offset: number, length: number, o?: OperationOptions) {
      validateRange(offset, length);
      return readObject(name, offset, length, o?.signal);
    },
    async upload(name: string, body: UploadBody, o?: OperationOptions) {
      o?.signal?.throwIfAborted();
      const file = pathOf(name);
      const temp = join(tempDir, `${randomBytes(8).toString('hex')}.tmp`);
      try {
        await mkdir(tempDir, { recursive: true });
        const fh = await open(temp, 'wx');
        try {
          for await (const chunk of bodyChunks(body, o?.signal)) {
            let written = 0;
            while (written < chunk.byteLength) {
              const { bytesWritten } = await fh.write(chunk, written, chunk.byteLength - written);
              written += bytesWritten;
            }
          }
          await fh.sync();
        } finally {
          await fh.close();
        }
        o?.signal?.throwIfAborted();
        // A concurrent delete may remove the (then empty) parent between mkdir and rename.
        for (let attempt = 0; ; attempt++) {
          await mkdir(dirname(file), { recursive: true });
          try {
            await rename(temp, file);
            forget(name);
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
          }
        }
        await syncDir(dirname(file));
      } catch (err) {
        await unlink(temp).catch(() => {});
        const code = (err as NodeJS.ErrnoException).code;
        // Aborts, bad names and errors of the caller's body stream are passed on as they are;
        // only file system failures become operation errors.
        if (err instanceof ObjstoreError || typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw err;
        const transient = code === 'EAGAIN' || code === 'EBUSY' || code === 'EMFILE' || code === 'ENFILE';
        throw new ObjstoreOperationError('OBJSTORE_FILESYSTEM', 'upload', name, (err as Error).message, transient, {
          cause: err,
          setting: 'directory',
        });
      }
    },
    async delete(name: string, o?: OperationOptions) {
      o?.signal?.throwIfAborted();
      const file = pathOf(name);
      forget(name);
      try {
        await unlink(file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        if (code === 'EISDIR' || code === 'EPERM') return; // A directory is not an object.
        fail('delete', name, err);
      }
      await removeEmptyParents(file);
    },
    async exists(name: string, o?: OperationOptions) {
      o?.signal?.throwIfAborted();
      const file = pathOf(name);
      try {
        return (await stat(file)).isFile();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return false;
        return fail('exists', name, err);
      }
    },
    async attributes(name: string, o?: OperationOptions) {
      o?.signal?.throwIfAborted();
      const file = pathOf(name);
      try {
        const st = await stat(file);
        if (!st.isFile()) throw new ObjectNotFoundError(name, bucketName);
        return { size: st.size, lastModified: st.mtime };
      } catch (err) {
        if (err instanceof ObjectNotFoundError) throw err;
        return fail('attributes', name, err);
      }
    },
    async *iter(dir: string, o?: IterOptions) {
      const prefix = normalizeIterDir(dir);
      if (prefix !== '') pathOf(prefix.slice(0, -1)); // Same name rules as objects: no "..", no escaping the root.
      yield* walk(prefix, o?.recursive ?? false, o?.signal);
    },
    async close() {
      closed = true;
      for (const [name, f] of [...files]) evict(name, f);
      await Promise.all([...closing]);
    },
  };
}

/** fsyncs a directory so a rename into it survives a crash (best effort: some filesystems refuse). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Directory fsync is not supported everywhere (e.g. some network filesystems); the rename
    // itself is still atomic, only its durability across power loss is weaker there.
  }
}
