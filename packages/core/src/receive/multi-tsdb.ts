import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { type DB, type DBLogger, isULID, type Labels, openDB, readBlockMeta, writeBlock } from '@thanos-ts/tsdb';
import type { Logger } from '../log/logger.js';
import { createShipper, type Shipper } from '../sidecar/shipper.js';
import { createLocalStore } from '../storeapi/local-store.js';
import { MAX_TIME, MIN_TIME, type StoreAPI } from '../storeapi/store-api.js';
import { InvalidTenantError, PruneTenantError } from './errors.js';

/** One tenant's TSDB on this receiver. */
export interface TenantDB {
  readonly tenant: string;
  readonly db: DB;
  /** External labels of the tenant's data: the receiver's labels plus the tenant label. */
  readonly labels: Labels;
  /** StoreAPI over the tenant's head and local blocks. */
  readonly store: StoreAPI;
  readonly shipper: Shipper | undefined;
}

/** Options of {@link createMultiTSDB}. */
export interface MultiTSDBOptions {
  /** Directory holding one TSDB directory per tenant (--tsdb.path). */
  dir: string;
  /** Labels added to every tenant's data (--label). */
  externalLabels: Labels;
  /** Label naming the tenant (--receive.tenant-label-name). */
  tenantLabelName: string;
  blockDurationMs: number;
  retentionMs: number;
  outOfOrderTimeWindowMs: number;
  /** Write a head chunk snapshot when a tenant's TSDB closes, so its next open skips most WAL replay. Default false. */
  memorySnapshotOnShutdown?: boolean;
  bucket?: Bucket | undefined;
  logger: Logger;
}

/**
 * Reasons a tenant name cannot be a directory: Thanos's IsTenantValid (`path.Base(t) == t`) plus
 * `.`, `..`, backslashes and NUL, which Thanos lets through.
 */
export function validateTenant(tenant: string): void {
  if (
    tenant === '' ||
    tenant === '.' ||
    tenant === '..' ||
    tenant.includes('/') ||
    tenant.includes('\\') ||
    tenant.includes('\0') ||
    Buffer.byteLength(tenant) > 255
  )
    throw new InvalidTenantError(tenant);
}

/** Thanos's MultiTSDB: one TSDB per tenant under one directory, opened on first write. */
export interface MultiTSDB {
  /** Opens the tenant directories already on disk (WAL replay). */
  openExisting(): Promise<void>;
  /** The tenant's TSDB, opened (and created) on first use; concurrent calls share one open. */
  tenant(tenant: string): Promise<TenantDB>;
  /** Tenants open now. */
  tenants(): readonly TenantDB[];
  /** Persists every head that spans more than 1.5 blocks, applies retention, and ships new blocks. */
  flush(signal?: AbortSignal): Promise<{ blocks: number; uploaded: number }>;
  /**
   * Runs `fn` with the tenant's TSDB, opened on first use, counted as a write in flight: a tenant
   * is never pruned while one runs, and a write arriving while the tenant is pruned waits for
   * the prune to end and lands in the re-opened TSDB. Safe to call concurrently.
   */
  use<T>(tenant: string, fn: (t: TenantDB) => Promise<T>): Promise<T>;
  /**
   * Flushes and closes idle tenants (Thanos's MultiTSDB.Prune, each tenant as {@link pruneAction}
   * says). A tenant idle for more than 1.5 block durations has its whole head written to blocks
   * (then shipped by the next flush); one idle for more than the retention also has its blocks
   * shipped when a bucket is set and, once every block is in the bucket (or there is no bucket),
   * its TSDB closed and its directory removed. A tenant whose shipping fails is re-opened from its
   * blocks and retried next time. Resolves with the tenants flushed and pruned; rejects with an
   * AggregateError of PruneTenantError when some failed (the others are still done). Nothing
   * happens with a retention of 0, as in Thanos.
   */
  prune(nowMs: number, signal?: AbortSignal): Promise<PruneResult>;
  /** Closes every TSDB (their WALs stay for replay). */
  close(): Promise<void>;
}

/** What {@link MultiTSDB.prune} did. */
export interface PruneResult {
  /** Tenants whose TSDB was closed and whose directory was removed. */
  pruned: string[];
  /** Tenants whose whole head was written to blocks, and which stay open. */
  flushed: string[];
}

/** What a prune does to one tenant: nothing, write its head to blocks, or close and remove it. */
export type PruneAction = 'none' | 'flush' | 'prune';

/**
 * Thanos's receiver BlocksToDelete: of a tenant's blocks beyond retention, the ones its shipper
 * has uploaded, and empty ones (never shipped: they hold nothing).
 */
function uploadedOnly(shipper: Shipper, dir: string): (ulids: readonly string[]) => Promise<string[]> {
  return async (ulids) => {
    const uploaded = await shipper.uploadedBlocks();
    const out: string[] = [];
    for (const u of ulids) {
      if (uploaded.has(u)) out.push(u);
      else if ((await readBlockMeta(join(dir, u)).catch(() => undefined))?.stats?.numSamples === 0) out.push(u);
    }
    return out;
  };
}

/**
 * Thanos's pruneTSDB rule for one tenant at `nowMs`, with the receiver's retention and block
 * duration: 'prune' when its newest sample is more than `retentionMs` old; else 'flush' when its
 * head holds samples and the head's newest is more than 1.5 block durations old; else 'none'.
 * A retention of 0 disables both (Thanos's Prune returns at once). The newest sample is the
 * head's, or the newest block's end when the head is empty (an upper bound: a block ends at its
 * range's end): Thanos looks at the head only, whose newest time a restart forgets, so a
 * restarted Thanos never prunes a tenant that stays idle.
 */
export function pruneAction(db: DB, retentionMs: number, blockDurationMs: number, nowMs: number): PruneAction {
  if (retentionMs <= 0) return 'none';
  // An empty head's maxTime is only where it was truncated or opened (the newest block's end).
  let newest = db.head.numSeries > 0 ? db.head.maxTime : Number.NEGATIVE_INFINITY;
  for (const b of db.blocks()) newest = Math.max(newest, b.meta.maxTime - 1);
  if (!Number.isFinite(newest)) return 'none';
  if (nowMs - newest > retentionMs) return 'prune';
  const headMax = db.head.maxTime;
  if (db.head.numSeries > 0 && Number.isFinite(headMax) && nowMs - headMax > 1.5 * blockDurationMs) return 'flush';
  return 'none';
}

/** Files of a TSDB directory that hold the head (WAL, head chunks, chunk snapshots), not blocks. */
function isHeadFile(name: string): boolean {
  return name === 'wal' || name === 'chunks_head' || name.startsWith('chunk_snapshot.');
}

/** Creates the per-tenant TSDB set; no I/O until used. */
export function createMultiTSDB(opts: MultiTSDBOptions): MultiTSDB {
  const open = new Map<string, Promise<TenantDB>>();
  const ready = new Map<string, TenantDB>();
  // Writes running per tenant (see use()), and tenants being pruned with the promise that
  // settles when their prune ended (never rejects).
  const inflight = new Map<string, number>();
  const pruning = new Map<string, Promise<void>>();
  const log = opts.logger;
  let closed = false;

  async function openTenant(tenant: string): Promise<TenantDB> {
    const dir = join(opts.dir, tenant);
    const labels = opts.externalLabels.with(opts.tenantLabelName, tenant);
    const dbLog: DBLogger = {
      debug: (m, f) => log.debug(m, { tenant, ...f }),
      info: (m, f) => log.info(m, { tenant, ...f }),
      warn: (m, f) => log.warn(m, { tenant, ...f }),
      error: (m, f) => log.error(m, { tenant, ...f }),
    };
    const shipper = opts.bucket
      ? createShipper({ bucket: opts.bucket, dir, labels: () => labels.toRecord(), source: 'receive', logger: log })
      : undefined;
    const db = await openDB({
      dir,
      blockDurationMs: opts.blockDurationMs,
      retentionMs: opts.retentionMs,
      // As Thanos's receiver: with a bucket, local retention deletes only blocks already uploaded
      // (a bucket outage longer than the retention must not lose data).
      ...(shipper ? { blocksToDelete: uploadedOnly(shipper, dir) } : {}),
      outOfOrderTimeWindowMs: opts.outOfOrderTimeWindowMs,
      ...(opts.memorySnapshotOnShutdown ? { enableMemorySnapshotOnShutdown: true } : {}),
      logger: dbLog,
    });
    const store = createLocalStore({
      queryable: db.queryable(),
      externalLabels: labels,
      componentType: 'receive',
      chunkRange: opts.blockDurationMs,
    });
    const t: TenantDB = { tenant, db, labels, store, shipper };
    log.info('opened tenant tsdb', { tenant, series: db.head.numSeries, blocks: db.blocks().length });
    return t;
  }

  /**
   * Thanos's pruneTSDB for one claimed tenant (no write runs or starts while this runs). Thanos
   * compacts the whole head with DB.CompactHead(RangeHead); the tsdb here has no such call, so
   * the head is written to blocks beside the DB's own (one per block range, as Thanos's
   * flushHead aligns them), then the DB is closed and its WAL and head chunks removed: the
   * directory is then exactly a TSDB whose head was compacted. A crash between writing those
   * blocks and removing the WAL leaves the samples twice (block and WAL), never lost. A 'flush'
   * re-opens the tenant from there; a 'prune' ships, then removes the directory.
   */
  async function pruneTenant(t: TenantDB, action: 'flush' | 'prune', signal?: AbortSignal): Promise<void> {
    const dir = join(opts.dir, t.tenant);
    const head = t.db.head;
    const range = opts.blockDurationMs;
    log.info(action === 'prune' ? 'pruning tenant' : 'flushing head of idle tenant', {
      tenant: t.tenant,
      headMaxTime: head.maxTime,
    });
    const written: string[] = [];
    try {
      const mint = Math.min(head.minTime, head.minOutOfOrderTime());
      const maxt = head.maxTime;
      if (head.numSeries > 0 && Number.isFinite(mint))
        for (let a = Math.floor(mint / range) * range; a <= maxt; a += range) {
          signal?.throwIfAborted();
          const lo = Math.max(a, mint);
          const hi = Math.min(a + range - 1, maxt);
          const b = await writeBlock(head.rangeSeries(lo, hi), {
            outDir: dir,
            chunkRange: range,
            minTime: lo,
            maxTime: hi + 1,
          });
          if (b) written.push(b.ulid);
        }
    } catch (err) {
      // The head still holds everything: drop the partial copy so it is not shipped twice.
      for (const id of written) await rm(join(dir, id), { recursive: true, force: true });
      throw new PruneTenantError(t.tenant, `write head to blocks: ${(err as Error).message}`, { cause: err });
    }
    if (written.length > 0)
      log.info('wrote head of idle tenant to blocks', { tenant: t.tenant, blocks: written.join(',') });
    // From here on the tenant is gone from the StoreAPI until it is re-opened.
    ready.delete(t.tenant);
    open.delete(t.tenant);
    try {
      await t.db.close();
      for (const e of await readdir(dir)) if (isHeadFile(e)) await rm(join(dir, e), { recursive: true, force: true });
    } catch (err) {
      // Closed or half-cleaned: re-open (the WAL, if left, replays next to the blocks; nothing is lost).
      await reopen(t.tenant);
      throw new PruneTenantError(t.tenant, `close tsdb: ${(err as Error).message}`, { cause: err });
    }
    if (action === 'flush') {
      // Served again from its blocks at once; the regular flush ships them.
      await reopen(t.tenant);
      return;
    }
    if (t.shipper) {
      try {
        await t.shipper.sync(signal);
        const shipped = await t.shipper.uploadedBlocks();
        const missing: string[] = [];
        for (const e of await readdir(dir, { withFileTypes: true })) {
          if (!e.isDirectory() || !isULID(e.name) || shipped.has(e.name)) continue;
          // Empty blocks are never shipped (Thanos's shipper skips them) and hold nothing.
          if ((await readBlockMeta(join(dir, e.name))).stats.numSamples) missing.push(e.name);
        }
        if (missing.length > 0) throw new Error(`blocks not in the bucket yet: ${missing.join(', ')}`);
      } catch (err) {
        // Nothing unshipped is removed: serve the blocks again and retry at the next prune.
        await reopen(t.tenant);
        throw new PruneTenantError(t.tenant, `ship blocks: ${(err as Error).message}`, { cause: err });
      }
    }
    await rm(dir, { recursive: true, force: true });
    log.info('pruned idle tenant', { tenant: t.tenant, shipped: t.shipper !== undefined });
  }

  /**
   * Puts a tenant back after a flush or a failed prune, re-opened from its directory; resolves
   * once it is served again (or its open failed, logged; the next write retries the open).
   */
  async function reopen(tenant: string): Promise<void> {
    if (closed) return;
    const p = openTenant(tenant).then((t) => {
      ready.set(tenant, t);
      return t;
    });
    open.set(tenant, p);
    try {
      await p;
    } catch (err) {
      open.delete(tenant);
      log.error('re-open tenant tsdb after prune', { tenant, err: (err as Error).message });
    }
  }

  return {
    async openExisting() {
      let names: string[] = [];
      try {
        names = (await readdir(opts.dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      for (const name of names) {
        try {
          validateTenant(name);
        } catch {
          continue;
        }
        await this.tenant(name);
      }
    },
    tenant(tenant) {
      validateTenant(tenant);
      const pruned = pruning.get(tenant);
      if (pruned) return pruned.then(() => this.tenant(tenant));
      let p = open.get(tenant);
      if (!p) {
        if (closed) return Promise.reject(new Error(`open tenant ${tenant}: receiver closed`));
        p = openTenant(tenant).then((t) => {
          ready.set(tenant, t);
          return t;
        });
        open.set(tenant, p);
        // A failed open is retried by the next write instead of failing forever.
        p.catch(() => open.delete(tenant));
      }
      return p;
    },
    tenants: () => [...ready.values()],
    async use(tenant, fn) {
      for (;;) {
        const t = await this.tenant(tenant);
        // A prune may have claimed the tenant between the open resolving and this turn: go
        // round again, which waits for it (the check and the count below are one synchronous step,
        // as is prune's check of the count and its claim).
        if (pruning.has(tenant) || ready.get(tenant) !== t) continue;
        inflight.set(tenant, (inflight.get(tenant) ?? 0) + 1);
        try {
          return await fn(t);
        } finally {
          const n = (inflight.get(tenant) ?? 1) - 1;
          if (n === 0) inflight.delete(tenant);
          else inflight.set(tenant, n);
        }
      }
    },
    async prune(nowMs, signal) {
      const res: PruneResult = { pruned: [], flushed: [] };
      const errors: PruneTenantError[] = [];
      for (const t of [...ready.values()]) {
        signal?.throwIfAborted();
        if (closed) break;
        const action = pruneAction(t.db, opts.retentionMs, opts.blockDurationMs, nowMs);
        if (action === 'none') continue;
        // A write is running: the tenant is not idle (its sample may be old, but it is in use).
        if ((inflight.get(t.tenant) ?? 0) > 0 || pruning.has(t.tenant)) continue;
        let release = () => {};
        pruning.set(
          t.tenant,
          new Promise<void>((r) => {
            release = r;
          }),
        );
        try {
          await pruneTenant(t, action, signal);
          (action === 'prune' ? res.pruned : res.flushed).push(t.tenant);
        } catch (err) {
          errors.push(
            err instanceof PruneTenantError
              ? err
              : new PruneTenantError(t.tenant, (err as Error).message, { cause: err }),
          );
        } finally {
          pruning.delete(t.tenant);
          release();
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
      return res;
    },
    async flush(signal) {
      let blocks = 0;
      let uploaded = 0;
      for (const t of ready.values()) {
        signal?.throwIfAborted();
        const r = await t.db.compactHead();
        blocks += r.blocks.length;
        if (t.shipper) uploaded += (await t.shipper.sync(signal)).uploaded.length;
      }
      return { blocks, uploaded };
    },
    async close() {
      closed = true;
      const all = await Promise.allSettled(open.values());
      for (const r of all) if (r.status === 'fulfilled') await r.value.db.close();
      open.clear();
      ready.clear();
    },
  };
}

/** Time range of a tenant's data, ms, for Info: its oldest block or head sample up to "now and later". */
export function tenantTimeRange(t: TenantDB): { minTime: number; maxTime: number } {
  let min = Number.POSITIVE_INFINITY;
  for (const b of t.db.blocks()) min = Math.min(min, b.meta.minTime);
  if (t.db.head.numSeries > 0) min = Math.min(min, t.db.head.minTime);
  // Nothing stored yet: advertise everything, so a querier that cached this Info does not skip
  // data that arrives before its next Info round.
  return { minTime: Number.isFinite(min) ? min : MIN_TIME, maxTime: MAX_TIME };
}
