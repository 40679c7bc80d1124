// Public names of the DB; the package entry re-exports them.
export { beyondTimeRetention, listBlockDirs, removeTmpDirs } from './blocks.js';
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
export { replayWAL, type WalReplayResult } from './replay.js';
