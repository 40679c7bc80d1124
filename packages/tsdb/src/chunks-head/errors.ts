import { join } from 'node:path';
import { CorruptionError } from '../errors.js';
import { headChunkFileName } from './format.js';

/**
 * A head chunk file (`chunks_head/NNNNNN`) does not hold what the format promises: a bad header,
 * a checksum mismatch, a chunk cut short. `fileIndex` names the file (Prometheus's
 * chunks.CorruptionErr); the head deletes it and every later file, then replays the WAL for
 * what they held, so nothing is lost.
 */
export class HeadChunksCorruptionError extends CorruptionError {
  /** Stable code to branch on. */
  override readonly code: 'TSDB_HEAD_CHUNKS_CORRUPT' = 'TSDB_HEAD_CHUNKS_CORRUPT';
  /** The chunks_head directory. */
  readonly dir: string;
  /** Sequence number of the corrupt file. */
  readonly fileIndex: number;
  /** What was wrong, in Prometheus's words. */
  readonly detail: string;

  constructor(dir: string, fileIndex: number, offset: number, detail: string, options?: ErrorOptions) {
    const file = join(dir, headChunkFileName(fileIndex));
    super(file, offset, detail, options);
    this.dir = dir;
    this.fileIndex = fileIndex;
    this.detail = detail;
    // Prometheus's CorruptionErr.Error() text.
    this.message = `corruption in head chunk file ${file}: ${detail}`;
  }
}
