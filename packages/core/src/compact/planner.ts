// Thanos's largeTotalIndexSizeFilter (pkg/compact/planner.go): a compaction whose output index
// could exceed --compact.block-max-index-size is re-planned without its biggest source block,
// which gets a no-compact mark, so no block ever grows an index past the limit (Prometheus's index
// format caps series/symbol offsets; thanos-io/thanos#1424).
import type { BlockMeta } from '@thanos-ts/tsdb';

/** no-compact-mark.json reason for a block left out by the index size limit (Thanos's IndexSizeExceedingNoCompactReason). */
export const INDEX_SIZE_EXCEEDING_REASON = 'index-size-exceeding';
/** Thanos's --compact.block-max-index-size default: 64GB (base 2). */
export const DEFAULT_BLOCK_MAX_INDEX_SIZE_BYTES = 64 * 1024 ** 3;

/** What {@link planWithIndexSizeLimit} needs from the compactor. */
export interface IndexSizeLimitOptions {
  /** Limit of the estimated output index, bytes; 0 disables the check. */
  maxIndexSizeBytes: number;
  /** The planner: the next blocks to compact, never any in `exclude`. */
  plan: (exclude: ReadonlySet<string>) => BlockMeta[];
  /** Blocks already excluded (no-compact or deletion marks); the filter adds to it. */
  exclude: Set<string>;
  /** Index size of a block, bytes: meta.json's `thanos.files` entry, or the bucket's when absent. */
  indexSize: (m: BlockMeta) => Promise<number>;
  /** Puts the no-compact mark (reason {@link INDEX_SIZE_EXCEEDING_REASON}) on a block. */
  markNoCompact: (m: BlockMeta, details: string) => Promise<void>;
}

/** The index size meta.json lists for a block, or undefined when it has none (Thanos then asks the bucket). */
export function listedIndexSize(m: BlockMeta): number | undefined {
  const f = m.thanos?.files?.find((x) => x.rel_path === 'index');
  return f?.size_bytes !== undefined && f.size_bytes > 0 ? f.size_bytes : undefined;
}

/**
 * Plans as `opts.plan` does, then sums the source index sizes (a worst-case estimate: indexes that
 * share nothing); once the sum reaches 85% of the limit (headroom for index bloat, as Thanos), the
 * biggest block seen so far is marked no-compact, excluded, and planning starts again. Returns a
 * plan within the limit (possibly empty).
 */
export async function planWithIndexSizeLimit(opts: IndexSizeLimitOptions): Promise<BlockMeta[]> {
  for (;;) {
    const plan = opts.plan(opts.exclude);
    if (opts.maxIndexSizeBytes <= 0) return plan;
    let total = 0;
    let biggest: BlockMeta | undefined;
    let biggestSize = Number.NEGATIVE_INFINITY;
    let over = false;
    for (const m of plan) {
      const size = await opts.indexSize(m);
      if (size > biggestSize) {
        biggestSize = size;
        biggest = m;
      }
      total += size;
      if (total >= opts.maxIndexSizeBytes * 0.85) {
        over = true;
        break;
      }
    }
    if (!over || !biggest) return plan;
    await opts.markNoCompact(
      biggest,
      `largeTotalIndexSizeFilter: Total compacted block's index size could exceed: ${opts.maxIndexSizeBytes} with this block. See https://github.com/thanos-io/thanos/issues/1424`,
    );
    opts.exclude.add(biggest.ulid);
  }
}
