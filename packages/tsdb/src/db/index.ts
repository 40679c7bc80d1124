// Public names of the DB; the package entry re-exports them.
export { beyondTimeRetention, listBlockDirs, removeTmpDirs } from './blocks.js';
export {
  ChunkSnapshotError,
  chunkSnapshotDirName,
  lastChunkSnapshot,
  loadChunkSnapshot,
  writeChunkSnapshot,
} from './chunk-snapshot.js';
export {
  type CompactHeadResult,
  type DB,
  type DBLogger,
  type DBOptions,
  DEFAULT_RETENTION_MS,
  openDB,
} from './db.js';
export { type DumpDBOptions, dumpDB } from './dump.js';
export { createDBQueryable } from './queryable.js';
export { openDBReadOnly, type ReadOnlyDB, type ReadOnlyDBOptions } from './readonly.js';
export { type ReplayWALOptions, replayWAL, type WalReplayResult } from './replay.js';
