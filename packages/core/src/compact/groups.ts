import { type BlockMeta, compareStrings } from '@thanos-ts/tsdb';
import { xxhash64 } from '../cache/xxhash.js';

/** Resolution of a block's meta, ms (0 when it has no thanos section). */
export const resolutionOf = (m: BlockMeta): number => m.thanos?.downsample.resolution ?? 0;

/**
 * Prometheus's labels.Hash of a label map: xxhash64 over `name 0xff value 0xff` for each label
 * in name order, as a decimal string (how Thanos prints it in group keys).
 */
export function labelsHash(labels: Record<string, string>): string {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const name of Object.keys(labels).sort(compareStrings)) {
    for (const s of [name, labels[name] as string]) {
      const b = enc.encode(s);
      parts.push(b, SEP);
      size += b.length + 1;
    }
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return xxhash64(all).toString();
}
const SEP = new Uint8Array([0xff]);

/**
 * Thanos's compaction group key (metadata.Thanos.GroupKey): `<resolution>@<labels hash>`. Blocks
 * with the same external labels and resolution are compacted together; the key also names the
 * group's scratch directory under `<data-dir>/compact/`.
 */
export function groupKey(m: BlockMeta): string {
  return `${resolutionOf(m)}@${labelsHash(m.thanos?.labels ?? {})}`;
}

/** A human-readable group name for logs and the status page: `<resolution>@{a="b", …}`. */
export function groupName(m: BlockMeta): string {
  const l = m.thanos?.labels ?? {};
  const inner = Object.keys(l)
    .sort(compareStrings)
    .map((k) => `${k}=${JSON.stringify(l[k])}`)
    .join(', ');
  return `${resolutionOf(m)}@{${inner}}`;
}

/**
 * Thanos's ReplicaLabelRemover: copies of the metas with the replica labels dropped from their
 * external labels, so HA replicas fall into one group and vertical compaction merges them. A block
 * left with no label gets `<first replica label>="deduped"`, as in Thanos.
 */
export function removeReplicaLabels(metas: readonly BlockMeta[], replicaLabels: readonly string[]): BlockMeta[] {
  if (replicaLabels.length === 0) return [...metas];
  return metas.map((m) => {
    const labels = { ...(m.thanos?.labels ?? {}) };
    let changed = false;
    for (const r of replicaLabels) {
      if (r in labels) {
        delete labels[r];
        changed = true;
      }
    }
    if (!changed) return m;
    if (Object.keys(labels).length === 0) labels[replicaLabels[0] as string] = 'deduped';
    return { ...m, thanos: { ...(m.thanos ?? { downsample: { resolution: 0 }, source: '' }), labels } };
  });
}

/**
 * Thanos's DefaultDeduplicateFilter: within each group, a block whose compaction sources are all
 * part of another block's sources is a duplicate (a compaction result and its sources both
 * present, e.g. after a crash between upload and marking). Returns the duplicates' ULIDs; their
 * data is in the covering block.
 */
export function duplicateBlocks(metas: readonly BlockMeta[]): Set<string> {
  const byGroup = new Map<string, BlockMeta[]>();
  for (const m of metas) {
    const k = groupKey(m);
    const list = byGroup.get(k) ?? [];
    list.push(m);
    byGroup.set(k, list);
  }
  const dups = new Set<string>();
  for (const list of byGroup.values()) {
    // Most sources first; ties by ULID.
    list.sort(
      (a, b) =>
        (b.compaction.sources?.length ?? 0) - (a.compaction.sources?.length ?? 0) || compareStrings(a.ulid, b.ulid),
    );
    const covering: Set<string>[] = [];
    for (const m of list) {
      const sources = m.compaction.sources ?? [m.ulid];
      if (covering.some((c) => sources.every((s) => c.has(s)))) {
        dups.add(m.ulid);
        continue;
      }
      covering.push(new Set(sources));
    }
  }
  return dups;
}

/** Blocks of one group, by minTime. */
export interface BlockGroup {
  key: string;
  /** `<resolution>@{labels}` for humans. */
  name: string;
  labels: Record<string, string>;
  resolution: number;
  metas: BlockMeta[];
}

/** Thanos's DefaultGrouper: blocks by group key, groups sorted by key, metas by minTime. */
export function groupBlocks(metas: readonly BlockMeta[]): BlockGroup[] {
  const groups = new Map<string, BlockGroup>();
  for (const m of metas) {
    const key = groupKey(m);
    let g = groups.get(key);
    if (!g) {
      g = { key, name: groupName(m), labels: { ...(m.thanos?.labels ?? {}) }, resolution: resolutionOf(m), metas: [] };
      groups.set(key, g);
    }
    g.metas.push(m);
  }
  const out = [...groups.values()].sort((a, b) => compareStrings(a.key, b.key));
  for (const g of out) g.metas.sort((a, b) => a.minTime - b.minTime);
  return out;
}

/**
 * Prometheus's OverlappingBlocks over metas sorted by minTime: the runs of blocks whose time
 * ranges overlap (empty when none).
 */
export function overlappingBlocks(byMinTime: readonly BlockMeta[]): BlockMeta[][] {
  const out: BlockMeta[][] = [];
  let run: BlockMeta[] = [];
  let maxT = Number.NEGATIVE_INFINITY;
  for (const m of byMinTime) {
    if (run.length > 0 && m.minTime < maxT) {
      run.push(m);
      if (m.maxTime > maxT) maxT = m.maxTime;
    } else {
      if (run.length > 1) out.push(run);
      run = [m];
      maxT = m.maxTime;
    }
  }
  if (run.length > 1) out.push(run);
  return out;
}
