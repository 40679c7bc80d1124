import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../encoding/crc32c.js';
import { CorruptionError } from '../errors.js';
import { Decbuf } from '../index/decbuf.js';

/** Name of a block's tombstones file. */
export const TOMBSTONES_FILENAME = 'tombstones';
/** Magic number of a tombstones file. */
export const TOMBSTONES_MAGIC = 0x0130ba30;
const TOMBSTONES_V1 = 1;

/** A deleted time range [minTime, maxTime], inclusive, as Prometheus's tombstones.Interval. */
export interface Interval {
  minTime: number;
  maxTime: number;
}

/** Deleted intervals per series reference. */
export type Tombstones = Map<number, Interval[]>;

/**
 * Parses a tombstones file: magic, version 1, entries (series ref uvarint, mint varint, maxt
 * varint), CRC32C over the entries. Errors are CorruptionErrors naming `file`.
 */
export function parseTombstones(bytes: Uint8Array, file = TOMBSTONES_FILENAME): Tombstones {
  if (bytes.length < 9) throw new CorruptionError(file, 0, `tombstones file too short (${bytes.length} bytes)`);
  const d = new Decbuf(bytes, file, 0, 0, bytes.length - 4);
  const magic = d.be32();
  if (magic !== TOMBSTONES_MAGIC) throw new CorruptionError(file, 0, `invalid magic number 0x${magic.toString(16)}`);
  const version = d.byte();
  if (version !== TOMBSTONES_V1) throw new CorruptionError(file, 4, `invalid tombstones version ${version}`);
  const want = new Decbuf(bytes, file, 0, bytes.length - 4).be32();
  const got = crc32c(bytes, 0, 5, bytes.length - 4);
  if (want !== got) throw new CorruptionError(file, bytes.length - 4, 'tombstones checksum mismatch');
  const out: Tombstones = new Map();
  while (d.remaining > 0) {
    const ref = d.uvarint();
    const minTime = d.varint();
    const maxTime = d.varint();
    let list = out.get(ref);
    if (!list) {
      list = [];
      out.set(ref, list);
    }
    addInterval(list, { minTime, maxTime });
  }
  return out;
}

// Keeps intervals sorted and merged, as Prometheus's Intervals.Add.
function addInterval(list: Interval[], n: Interval): void {
  list.push(n);
  list.sort((a, b) => a.minTime - b.minTime);
  let w = 0;
  for (const iv of list) {
    const last = list[w - 1];
    if (w > 0 && last && iv.minTime <= last.maxTime + 1) {
      if (iv.maxTime > last.maxTime) last.maxTime = iv.maxTime;
    } else {
      list[w++] = { ...iv };
    }
  }
  list.length = w;
}

/** Encodes tombstones; with none it is the 9-byte file Prometheus writes for every new block. */
export function encodeTombstones(stones: Tombstones = new Map()): Uint8Array {
  const body: number[] = [];
  const refs = [...stones.keys()].sort((a, b) => a - b);
  const uv = (v: number) => {
    while (v >= 0x80) {
      body.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    body.push(v);
  };
  for (const ref of refs) {
    for (const iv of stones.get(ref) ?? []) {
      uv(ref);
      uv(iv.minTime >= 0 ? iv.minTime * 2 : -iv.minTime * 2 - 1);
      uv(iv.maxTime >= 0 ? iv.maxTime * 2 : -iv.maxTime * 2 - 1);
    }
  }
  const out = new Uint8Array(5 + body.length + 4);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, TOMBSTONES_MAGIC);
  out[4] = TOMBSTONES_V1;
  out.set(body, 5);
  dv.setUint32(5 + body.length, crc32c(out, 0, 5, 5 + body.length));
  return out;
}

/** Reads `<dir>/tombstones`; a missing file means no tombstones (as Prometheus). */
export async function readTombstones(dir: string): Promise<Tombstones> {
  const path = join(dir, TOMBSTONES_FILENAME);
  try {
    return parseTombstones(await readFile(path), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
}

/** Writes `<dir>/tombstones` and fsyncs it. Returns its size. */
export async function writeTombstones(dir: string, stones?: Tombstones): Promise<number> {
  const bytes = encodeTombstones(stones);
  const fh = await open(join(dir, TOMBSTONES_FILENAME), 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return bytes.length;
}
