import { join } from 'node:path';
import { type BlockReader, openBlock } from '../block/reader.js';
import { DEFAULT_BLOCK_DURATION } from '../block/writer.js';
import { Head } from '../head/head.js';
import type { Queryable } from '../storage/queryable.js';
import { BlockSet, listBlockDirs } from './blocks.js';
import { createDBQueryable } from './queryable.js';
import { replayWAL, type WalReplayResult } from './replay.js';

/** Options for {@link openDBReadOnly}. */
export interface ReadOnlyDBOptions {
  /** Data directory (Prometheus's --storage.tsdb.path, or one written by openDB). */
  dir: string;
  /** Chunk range of the head built from the WAL, ms. Default 2h. */
  blockDurationMs?: number;
}

/** A data directory opened for reading only: its blocks and a head replayed from its WAL. */
export interface ReadOnlyDB extends AsyncDisposable {
  readonly dir: string;
  readonly head: Head;
  /** What the WAL replay found; a corruption is reported here, never repaired. */
  readonly walReplay: WalReplayResult;
  blocks(): readonly BlockReader[];
  /** Head and blocks merged. */
  queryable(): Queryable;
  /** Closes the blocks. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens a data directory without changing anything in it (Prometheus's OpenDBReadOnly, which
 * `promtool tsdb dump` uses): blocks are opened, the WAL is replayed into a head up to the first
 * corruption, nothing is repaired, deleted or created. Works on the directory of a running
 * Prometheus.
 */
export async function openDBReadOnly(opts: ReadOnlyDBOptions): Promise<ReadOnlyDB> {
  const blocks = new BlockSet();
  for (const d of await listBlockDirs(opts.dir)) blocks.add(await openBlock(d));
  const head = new Head({ chunkRangeMs: opts.blockDurationMs ?? DEFAULT_BLOCK_DURATION });
  head.setMinValidTime(blocks.list.reduce((m, b) => Math.max(m, b.meta.maxTime), Number.NEGATIVE_INFINITY));
  let walReplay: WalReplayResult;
  try {
    walReplay = await replayWAL(head, join(opts.dir, 'wal'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      await blocks.remove(blocks.list);
      throw err;
    }
    walReplay = {
      checkpoint: undefined,
      records: 0,
      samples: 0,
      mmappedChunks: 0,
      mmappedSamples: 0,
      unknownRefs: 0,
      corruption: undefined,
    };
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= blocks.remove(blocks.list);
    return closing;
  };
  return {
    dir: opts.dir,
    head,
    walReplay,
    blocks: () => blocks.list,
    queryable: () => createDBQueryable(head, blocks),
    close,
    [Symbol.asyncDispose]: close,
  };
}
