import { readdir } from 'node:fs/promises';
import { ThanosError } from '../errors.js';

/** Bytes in a WAL page. Fragments never cross a page; a segment is a whole number of pages. */
export const WAL_PAGE_SIZE = 32 * 1024;
/** Bytes in a fragment header: type (1), length (2, big endian), CRC32C (4, big endian). */
export const WAL_RECORD_HEADER_SIZE = 7;
/** Default segment size in bytes (Prometheus's wlog.DefaultSegmentSize, 128 MiB). */
export const WAL_DEFAULT_SEGMENT_SIZE: number = 128 * 1024 * 1024;

/** A segment's file name: its index, 8 digits zero padded, as Prometheus's wlog.SegmentName. */
export function segmentFileName(index: number): string {
  return String(index).padStart(8, '0');
}

/** One segment file of a WAL directory. */
export interface SegmentRef {
  /** File name inside the directory. */
  name: string;
  /** Segment index parsed from the name. */
  index: number;
}

// Go's strconv.Atoi accepts these names; anything else (`00000003.repair`, `checkpoint.…`) is
// not a segment.
const SEGMENT_NAME = /^\d+$/;

/**
 * Lists the segments of a WAL directory in index order, as Prometheus's listSegments: only names
 * that are whole numbers count, and a gap in the sequence is an error.
 */
export async function listSegments(dir: string): Promise<SegmentRef[]> {
  const refs: SegmentRef[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!SEGMENT_NAME.test(entry.name) || entry.isDirectory()) continue;
    refs.push({ name: entry.name, index: Number(entry.name) });
  }
  refs.sort((a, b) => a.index - b.index);
  for (let i = 0; i + 1 < refs.length; i++) {
    if ((refs[i] as SegmentRef).index + 1 !== (refs[i + 1] as SegmentRef).index) {
      throw new ThanosError('TSDB_WAL_SEGMENTS', `${dir}: segments are not sequential`);
    }
  }
  return refs;
}
