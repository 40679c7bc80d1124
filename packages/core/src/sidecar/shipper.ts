import { copyFile, link, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Bucket, isObjNotFoundErr } from '@thanos-ts/objstore';
import { type BlockMeta, isULID, META_FILENAME, parseBlockMeta, readBlockMeta } from '@thanos-ts/tsdb';
import { Counter, Gauge, type Registry } from 'prom-client';
import { uploadBlock } from '../block/upload.js';
import { type Logger, NOP_LOGGER } from '../log/logger.js';
import { ShipperError } from './errors.js';

/** Name of the shipper's state file in the TSDB directory (Thanos's shipper.DefaultMetaFilename). */
export const SHIPPER_META_FILENAME = 'thanos.shipper.json';

/** The shipper's state file, in Thanos's format: which blocks were fully uploaded. */
export interface ShipperMeta {
  version: 1;
  uploaded: string[];
}

/** Options of `createShipper`. */
export interface ShipperOptions {
  /** Where blocks go. */
  readonly bucket: Bucket;
  /** The TSDB directory to watch (Prometheus's --storage.tsdb.path). */
  readonly dir: string;
  /** External labels written into each uploaded block's `thanos.labels`; must not be empty. */
  readonly labels: () => Record<string, string>;
  /** `thanos.source` of uploaded blocks (default 'sidecar'). */
  readonly source?: string;
  /** Also upload compacted blocks (level > 1) once, e.g. when adding a sidecar to an old Prometheus. */
  readonly uploadCompacted?: boolean;
  /** State file name inside `dir` (default thanos.shipper.json). */
  readonly metaFileName?: string;
  readonly logger?: Logger;
  /** Registers thanos_shipper_* metrics when set. */
  readonly registry?: Registry;
}

/** Result of one sync. */
export interface ShipperSyncResult {
  /** Blocks uploaded by this sync. */
  readonly uploaded: string[];
}

/** Uploads new blocks from a TSDB directory to a bucket, each exactly once. */
export interface Shipper {
  /**
   * Uploads every block not yet shipped, oldest first, and records them in the state file. Calls
   * never overlap (a second call waits for the first). Rejects with ShipperError on the first
   * block that fails; the blocks before it stay recorded and the failed one is retried next time.
   */
  sync(signal?: AbortSignal): Promise<ShipperSyncResult>;
  /** ULIDs recorded as shipped in the state file. */
  uploadedBlocks(): Promise<Set<string>>;
}

/** Reads a shipper state file; undefined when it does not exist. Throws ShipperError when it is unreadable. */
export async function readShipperMeta(file: string): Promise<ShipperMeta | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ShipperError(`failed to read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let raw: { version?: unknown; uploaded?: unknown };
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ShipperError(`failed to parse ${file} as JSON: ${JSON.stringify(text.slice(0, 200))}`, { cause: err });
  }
  if (raw?.version !== 1) throw new ShipperError(`unexpected meta file version ${String(raw?.version)} in ${file}`);
  // Go writes a nil slice as null.
  const uploaded = raw.uploaded ?? [];
  if (!Array.isArray(uploaded) || uploaded.some((u) => typeof u !== 'string' || !isULID(u))) {
    throw new ShipperError(`${file}: "uploaded" is not a list of ULIDs`);
  }
  return { version: 1, uploaded: uploaded as string[] };
}

/** Writes the state file atomically (temp file, fsync, rename), tab-indented like Thanos. */
export async function writeShipperMeta(file: string, meta: ShipperMeta): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(`${JSON.stringify({ version: meta.version, uploaded: meta.uploaded }, null, '\t')}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/**
 * Thanos's shipper (pkg/shipper): watches Prometheus's TSDB directory and uploads each new block —
 * chunk segments and index first, then meta.json with the `thanos` section (external labels,
 * source, segment files, file sizes) last, so a block without meta.json in the bucket is known to
 * be partial. Shipped blocks are remembered in thanos.shipper.json, which survives restarts; a
 * block is only recorded there after its meta.json is uploaded, and a block already in the bucket
 * is recorded without uploading it again. Empty blocks are skipped; compacted blocks (level > 1)
 * only with `uploadCompacted`, after checking they overlap no block of the same labels in the bucket.
 */
export function createShipper(opts: ShipperOptions): Shipper {
  const log = opts.logger ?? NOP_LOGGER;
  const source = opts.source ?? 'sidecar';
  const metaFile = join(opts.dir, opts.metaFileName ?? SHIPPER_META_FILENAME);
  const metrics = opts.registry ? shipperMetrics(opts.registry) : undefined;
  let running: Promise<unknown> = Promise.resolve();

  async function localBlocks(): Promise<BlockMeta[]> {
    const entries = await readdir(opts.dir, { withFileTypes: true });
    const metas: BlockMeta[] = [];
    for (const e of entries) {
      if (!e.isDirectory() || !isULID(e.name)) continue;
      try {
        metas.push(await readBlockMeta(join(opts.dir, e.name)));
      } catch (err) {
        throw new ShipperError(`read metadata for block ${join(opts.dir, e.name)}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    return metas.sort((a, b) => a.minTime - b.minTime);
  }

  async function doSync(signal?: AbortSignal): Promise<ShipperSyncResult> {
    let state: ShipperMeta | undefined;
    try {
      state = await readShipperMeta(metaFile);
      if (!state) log.info('no meta file found, creating empty meta data to write later', { file: metaFile });
    } catch (err) {
      // The state file only saves bucket lookups: start over and rewrite it.
      log.error('failed to read meta file, creating empty meta data to write later', { err });
    }
    const shipped = new Set(state?.uploaded ?? []);
    // Rebuilt from the blocks that still exist locally, as Thanos does.
    const next: ShipperMeta = { version: 1, uploaded: [] };
    const uploaded: string[] = [];
    let bucketBlocks: BlockMeta[] | undefined;
    try {
      for (const m of await localBlocks()) {
        signal?.throwIfAborted();
        if (shipped.has(m.ulid)) {
          next.uploaded.push(m.ulid);
          continue;
        }
        if (!m.stats.numSamples) {
          log.debug('ignoring empty block', { block: m.ulid });
          continue;
        }
        if (m.compaction.level > 1 && !opts.uploadCompacted) continue;
        const metaName = `${m.ulid}/${META_FILENAME}`;
        let exists: boolean;
        try {
          exists = await opts.bucket.exists(metaName, signal ? { signal } : {});
        } catch (err) {
          throw new ShipperError(`check exists ${metaName} in bucket ${opts.bucket.name}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        if (exists) {
          next.uploaded.push(m.ulid);
          continue;
        }
        if (m.compaction.level > 1) {
          bucketBlocks ??= await bucketMetas(opts.bucket, opts.labels(), signal);
          const overlap = bucketBlocks.find((b) => b.minTime < m.maxTime && m.minTime < b.maxTime);
          if (overlap) {
            throw new ShipperError(
              `shipping compacted block ${m.ulid} is blocked; overlap spotted with ${overlap.ulid} [${overlap.minTime}, ${overlap.maxTime})`,
            );
          }
        }
        try {
          await shipBlock(m, signal);
        } catch (err) {
          metrics?.uploadFailures.inc();
          throw new ShipperError(`upload ${m.ulid}: ${(err as Error).message}`, { cause: err });
        }
        next.uploaded.push(m.ulid);
        uploaded.push(m.ulid);
        bucketBlocks?.push(m);
        metrics?.uploads.inc();
        log.info('uploaded block', { block: m.ulid, minTime: m.minTime, maxTime: m.maxTime });
      }
      metrics?.dirSyncs.inc();
      metrics?.uploadedCompacted.set(opts.uploadCompacted ? 1 : 0);
    } catch (err) {
      metrics?.dirSyncFailures.inc();
      // Keep what is already known shipped (including blocks uploaded before the failure).
      for (const id of shipped) if (!next.uploaded.includes(id)) next.uploaded.push(id);
      await writeShipperMeta(metaFile, next).catch((e) => log.warn('updating meta file failed', { err: e }));
      throw err;
    }
    try {
      await writeShipperMeta(metaFile, next);
    } catch (err) {
      log.warn('updating meta file failed', { err });
    }
    return { uploaded };
  }

  async function shipBlock(m: BlockMeta, signal?: AbortSignal): Promise<void> {
    const labels = opts.labels();
    log.info('upload new block', { id: m.ulid });
    // Hard-link the files into a private directory so Prometheus deleting or compacting the block
    // meanwhile cannot break the upload (Prometheus ignores directories that are not ULIDs).
    const blockDir = join(opts.dir, m.ulid);
    const upDir = join(opts.dir, 'thanos', 'upload', m.ulid);
    await rm(upDir, { recursive: true, force: true });
    await mkdir(join(upDir, 'chunks'), { recursive: true });
    try {
      const segments = (await readdir(join(blockDir, 'chunks'))).sort();
      for (const f of [...segments.map((s) => `chunks/${s}`), 'index']) {
        await linkOrCopy(join(blockDir, f), join(upDir, f));
      }
      await uploadBlock(opts.bucket, upDir, { labels, source, meta: m, ...(signal ? { signal } : {}) });
    } finally {
      await rm(upDir, { recursive: true, force: true }).catch((err) =>
        log.error('failed to clean upload directory', { dir: upDir, err }),
      );
    }
  }

  return {
    sync(signal) {
      const run = running.then(() => doSync(signal));
      running = run.catch(() => undefined);
      return run;
    },
    async uploadedBlocks() {
      return new Set((await readShipperMeta(metaFile).catch(() => undefined))?.uploaded ?? []);
    },
  };
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EXDEV' || code === 'EPERM' || code === 'ENOTSUP') await copyFile(from, to);
    else throw err;
  }
}

/** Metas of the blocks in the bucket whose `thanos.labels` equal `labels` (for the overlap check). */
async function bucketMetas(bucket: Bucket, labels: Record<string, string>, signal?: AbortSignal): Promise<BlockMeta[]> {
  const want = JSON.stringify(Object.entries(labels).sort());
  const out: BlockMeta[] = [];
  const o = signal ? { signal } : {};
  for await (const entry of bucket.iter('', o)) {
    const id = entry.replace(/\/$/, '');
    if (!isULID(id)) continue;
    let text: string;
    try {
      text = new TextDecoder().decode(await bucket.get(`${id}/${META_FILENAME}`, o));
    } catch (err) {
      if (isObjNotFoundErr(err)) continue; // partial upload or being deleted
      throw err;
    }
    const meta = parseBlockMeta(text, `${id}/${META_FILENAME}`);
    if (JSON.stringify(Object.entries(meta.thanos?.labels ?? {}).sort()) === want) out.push(meta);
  }
  return out;
}

function shipperMetrics(registry: Registry) {
  return {
    dirSyncs: new Counter({
      name: 'thanos_shipper_dir_syncs_total',
      help: 'Total number of dir syncs',
      registers: [registry],
    }),
    dirSyncFailures: new Counter({
      name: 'thanos_shipper_dir_sync_failures_total',
      help: 'Total number of failed dir syncs',
      registers: [registry],
    }),
    uploads: new Counter({
      name: 'thanos_shipper_uploads_total',
      help: 'Total number of uploaded blocks',
      registers: [registry],
    }),
    uploadFailures: new Counter({
      name: 'thanos_shipper_upload_failures_total',
      help: 'Total number of block upload failures',
      registers: [registry],
    }),
    uploadedCompacted: new Gauge({
      name: 'thanos_shipper_upload_compacted_done',
      help: 'If 1 it means shipper uploaded all compacted blocks from the filesystem.',
      registers: [registry],
    }),
  };
}
