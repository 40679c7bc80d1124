import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { type DB, type DBLogger, type Labels, openDB } from '@thanos-ts/tsdb';
import type { Logger } from '../log/logger.js';
import { createShipper, type Shipper } from '../sidecar/shipper.js';
import { createLocalStore } from '../storeapi/local-store.js';
import { MAX_TIME, MIN_TIME, type StoreAPI } from '../storeapi/store-api.js';
import { InvalidTenantError } from './errors.js';

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
  /** Closes every TSDB (their WALs stay for replay). */
  close(): Promise<void>;
}

/** Creates the per-tenant TSDB set; no I/O until used. */
export function createMultiTSDB(opts: MultiTSDBOptions): MultiTSDB {
  const open = new Map<string, Promise<TenantDB>>();
  const ready = new Map<string, TenantDB>();
  const log = opts.logger;
  let closed = false;

  async function openTenant(tenant: string): Promise<TenantDB> {
    const dir = join(opts.dir, tenant);
    const dbLog: DBLogger = {
      debug: (m, f) => log.debug(m, { tenant, ...f }),
      info: (m, f) => log.info(m, { tenant, ...f }),
      warn: (m, f) => log.warn(m, { tenant, ...f }),
      error: (m, f) => log.error(m, { tenant, ...f }),
    };
    const db = await openDB({
      dir,
      blockDurationMs: opts.blockDurationMs,
      retentionMs: opts.retentionMs,
      outOfOrderTimeWindowMs: opts.outOfOrderTimeWindowMs,
      ...(opts.memorySnapshotOnShutdown ? { enableMemorySnapshotOnShutdown: true } : {}),
      logger: dbLog,
    });
    const labels = opts.externalLabels.with(opts.tenantLabelName, tenant);
    const store = createLocalStore({
      queryable: db.queryable(),
      externalLabels: labels,
      componentType: 'receive',
      chunkRange: opts.blockDurationMs,
    });
    const shipper = opts.bucket
      ? createShipper({ bucket: opts.bucket, dir, labels: () => labels.toRecord(), source: 'receive', logger: log })
      : undefined;
    const t: TenantDB = { tenant, db, labels, store, shipper };
    log.info('opened tenant tsdb', { tenant, series: db.head.numSeries, blocks: db.blocks().length });
    return t;
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
