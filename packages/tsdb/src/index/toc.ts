import { crc32c } from '../encoding/crc32c.js';
import { CorruptionError } from '../errors.js';
import { Decbuf } from './decbuf.js';

/** Magic number at the start of an index file. */
export const INDEX_MAGIC = 0xbaaad700;
/** Index format version written and read (v2; v1 predates Prometheus 2.0's stable format). */
export const INDEX_FORMAT_V2 = 2;
/** Six 8-byte section offsets plus a CRC32C. */
export const INDEX_TOC_LEN = 6 * 8 + 4;

/** Table of contents at the end of an index: where each section starts (0 = absent). */
export interface IndexToc {
  symbols: number;
  series: number;
  labelIndices: number;
  labelIndicesTable: number;
  postings: number;
  postingsTable: number;
}

/** Parses and checksums the TOC from the last INDEX_TOC_LEN bytes of an index file. */
export function parseIndexToc(bytes: Uint8Array, file: string, fileOffset: number): IndexToc {
  if (bytes.length < INDEX_TOC_LEN) {
    throw new CorruptionError(file, fileOffset, `index too small for a table of contents (${bytes.length} bytes)`);
  }
  const d = new Decbuf(bytes, file, fileOffset);
  const toc: IndexToc = {
    symbols: d.be64(),
    series: d.be64(),
    labelIndices: d.be64(),
    labelIndicesTable: d.be64(),
    postings: d.be64(),
    postingsTable: d.be64(),
  };
  const want = d.be32();
  const got = crc32c(bytes, 0, 0, 48);
  if (want !== got) {
    throw new CorruptionError(
      file,
      fileOffset,
      `table of contents checksum mismatch: expected 0x${want.toString(16)}, got 0x${got.toString(16)}`,
    );
  }
  return toc;
}

/** Encodes a TOC with its CRC32C. */
export function encodeIndexToc(toc: IndexToc): Uint8Array {
  const out = new Uint8Array(INDEX_TOC_LEN);
  const dv = new DataView(out.buffer);
  const vals = [toc.symbols, toc.series, toc.labelIndices, toc.labelIndicesTable, toc.postings, toc.postingsTable];
  vals.forEach((v, i) => {
    dv.setUint32(i * 8, Math.floor(v / 4294967296));
    dv.setUint32(i * 8 + 4, v >>> 0);
  });
  dv.setUint32(48, crc32c(out, 0, 0, 48));
  return out;
}
