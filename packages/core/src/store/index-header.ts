import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { type ByteRangeSource, CorruptionError, INDEX_MAGIC, type IndexToc, parseIndexToc } from '@thanos-ts/tsdb';

/** File name of the index-header inside `dataDir/<ulid>/`. */
export const INDEX_HEADER_FILENAME = 'index-header';

/** Six 8-byte section offsets and a CRC32C end every v2 index. */
const INDEX_TOC_LEN = 6 * 8 + 4;
const HEADER_MAGIC = 0x54534948; // "TSIH"
const HEADER_VERSION = 1;

/** One chunk segment file of a block and its size. */
export interface SegmentFile {
  name: string;
  size: number;
}

/**
 * The parts of a block's index needed to open it without downloading it: the 5-byte head and
 * symbol table (bytes [0, toc.series)), the postings offset table with the TOC (bytes
 * [toc.postingsTable, size)), plus the chunk segment sizes. Like Thanos's binary index-header,
 * it is built from a few ranged reads and kept on local disk so a restart reads nothing from the
 * bucket; postings lists and series stay in the bucket and are read on demand.
 */
export interface IndexHeader {
  indexSize: number;
  toc: IndexToc;
  segments: SegmentFile[];
  /** Byte ranges of the index copied verbatim, ascending and non-overlapping. */
  regions: Array<{ offset: number; bytes: Uint8Array }>;
}

/**
 * Builds an index-header with three ranged reads of the index (TOC, postings offset table,
 * head + symbols). Throws CorruptionError when the magic, version or TOC are wrong.
 */
export async function buildIndexHeader(
  index: ByteRangeSource,
  segments: SegmentFile[],
  signal?: AbortSignal,
): Promise<IndexHeader> {
  const size = await index.size();
  const file = index.name;
  if (size < 5 + INDEX_TOC_LEN) throw new CorruptionError(file, 0, `index file too small (${size} bytes)`);
  const toc = parseIndexToc(
    await readExactly(index, size - INDEX_TOC_LEN, INDEX_TOC_LEN, signal),
    file,
    size - INDEX_TOC_LEN,
  );
  const limit = size - INDEX_TOC_LEN;
  if (toc.series <= 5 || toc.series > limit || toc.postingsTable === 0 || toc.postingsTable > limit)
    throw new CorruptionError(
      file,
      limit,
      `table of contents points outside the file (series=${toc.series}, postingsTable=${toc.postingsTable}, size=${size})`,
    );
  const [head, tail] = await Promise.all([
    readExactly(index, 0, toc.series, signal),
    readExactly(index, toc.postingsTable, size - toc.postingsTable, signal),
  ]);
  const magic = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
  if (magic !== INDEX_MAGIC) throw new CorruptionError(file, 0, `invalid magic number 0x${magic.toString(16)}`);
  return {
    indexSize: size,
    toc,
    segments,
    regions: [
      { offset: 0, bytes: head },
      { offset: toc.postingsTable, bytes: tail },
    ],
  };
}

async function readExactly(
  src: ByteRangeSource,
  offset: number,
  length: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const b = await src.read(offset, length, signal);
  if (b.length < length)
    throw new CorruptionError(
      src.name,
      offset + b.length,
      `unexpected end of file (wanted ${length} bytes at ${offset})`,
    );
  return b;
}

/**
 * Serializes an index-header: magic, version, JSON description length + JSON, then each
 * region's bytes, then a CRC32 of everything before it.
 */
export function encodeIndexHeader(h: IndexHeader): Uint8Array {
  const desc = new TextEncoder().encode(
    JSON.stringify({
      indexSize: h.indexSize,
      toc: h.toc,
      segments: h.segments,
      regions: h.regions.map((r) => [r.offset, r.bytes.length]),
    }),
  );
  const total = 4 + 1 + 4 + desc.length + h.regions.reduce((a, r) => a + r.bytes.length, 0) + 4;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, HEADER_MAGIC);
  out[4] = HEADER_VERSION;
  dv.setUint32(5, desc.length);
  out.set(desc, 9);
  let p = 9 + desc.length;
  for (const r of h.regions) {
    out.set(r.bytes, p);
    p += r.bytes.length;
  }
  dv.setUint32(p, crc32(out.subarray(0, p)));
  return out;
}

/** Parses an encoded index-header; CorruptionError naming `file` when it is damaged. */
export function decodeIndexHeader(bytes: Uint8Array, file: string): IndexHeader {
  if (bytes.length < 13) throw new CorruptionError(file, 0, 'index-header too short');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (dv.getUint32(0) !== HEADER_MAGIC) throw new CorruptionError(file, 0, 'not an index-header (bad magic)');
  if (bytes[4] !== HEADER_VERSION) throw new CorruptionError(file, 4, `unsupported index-header version ${bytes[4]}`);
  const end = bytes.length - 4;
  if (dv.getUint32(end) !== crc32(bytes.subarray(0, end)))
    throw new CorruptionError(file, end, 'index-header checksum mismatch');
  const descLen = dv.getUint32(5);
  const desc = JSON.parse(new TextDecoder().decode(bytes.subarray(9, 9 + descLen))) as {
    indexSize: number;
    toc: IndexToc;
    segments: SegmentFile[];
    regions: Array<[number, number]>;
  };
  let p = 9 + descLen;
  const regions = desc.regions.map(([offset, length]) => {
    const r = { offset, bytes: bytes.subarray(p, p + length) };
    p += length;
    return r;
  });
  if (p !== end) throw new CorruptionError(file, p, 'index-header regions do not add up');
  return { indexSize: desc.indexSize, toc: desc.toc, segments: desc.segments, regions };
}

/** Writes an index-header atomically (temp file + rename). */
export async function writeIndexHeader(path: string, h: IndexHeader): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, encodeIndexHeader(h));
  await rename(tmp, path);
}

/** Reads an index-header from disk; undefined when absent, CorruptionError when damaged. */
export async function readIndexHeader(path: string): Promise<IndexHeader | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return decodeIndexHeader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path);
}

/**
 * A ByteRangeSource for a block's index that answers from the index-header's regions when a
 * read falls inside one, and from `remote` (the bucket, usually through the index cache)
 * otherwise. This lets tsdb's IndexReader open a block with no bucket reads at all.
 */
export class IndexHeaderRangeSource implements ByteRangeSource {
  private regions: IndexHeader['regions'];

  constructor(
    header: IndexHeader,
    private readonly remote: ByteRangeSource,
  ) {
    this.regions = header.regions;
    this.indexSize = header.indexSize;
  }

  private readonly indexSize: number;

  get name(): string {
    return this.remote.name;
  }

  async size(): Promise<number> {
    return this.indexSize;
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const end = Math.min(this.indexSize, offset + length);
    for (const r of this.regions) {
      if (offset >= r.offset && end <= r.offset + r.bytes.length)
        return r.bytes.subarray(offset - r.offset, end - r.offset);
    }
    return this.remote.read(offset, end - offset, signal);
  }

  /** Forgets the local regions once the reader has parsed them (they are large and no longer needed). */
  dropRegions(): void {
    this.regions = [];
  }
}
