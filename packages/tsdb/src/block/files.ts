// The names of the files a block directory holds, locally and in a bucket: Prometheus's
// (meta.json, index, chunks/, tombstones) and the markers Thanos puts next to them. One place, so
// every component and tool spells them the same way.

/** Prometheus's block index file. */
export const INDEX_FILENAME = 'index';
/** Prometheus's chunk segment directory (`chunks/000001`, …). */
export const CHUNKS_DIRNAME = 'chunks';
/** Thanos's deletion mark: the block is deleted after --delete-delay (pkg/block/metadata/markers.go). */
export const DELETION_MARK_FILENAME = 'deletion-mark.json';
/** Thanos's no-compact mark: the compactor leaves the block alone (and says why). */
export const NO_COMPACT_MARK_FILENAME = 'no-compact-mark.json';
/** Thanos's no-downsample mark: the compactor does not downsample the block. */
export const NO_DOWNSAMPLE_MARK_FILENAME = 'no-downsample-mark.json';
