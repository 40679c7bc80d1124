import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptionError } from '../errors.js';
import { isULID } from './ulid.js';

/** Name of a block's metadata file. */
export const META_FILENAME = 'meta.json';

/** Counts Prometheus keeps in meta.json; zero counts are omitted on write (Go `omitempty`). */
export interface BlockStats {
  numSamples?: number;
  numFloatSamples?: number;
  numHistogramSamples?: number;
  numSeries?: number;
  numChunks?: number;
  numTombstones?: number;
}

/** A block named by ULID and time range (a compaction parent). */
export interface BlockDesc {
  ulid: string;
  minTime: number;
  maxTime: number;
}

/** How a block came to be: compaction level, the head blocks it holds, its direct parents. */
export interface BlockMetaCompaction {
  level: number;
  sources?: string[];
  deletable?: boolean;
  parents?: BlockDesc[];
  failed?: boolean;
  hints?: string[];
}

/** One file of a block as Thanos lists it in `thanos.files`. */
export interface ThanosFile {
  rel_path: string;
  /** Omitted for meta.json itself. */
  size_bytes?: number;
  /** Thanos's metadata.ObjectHash (`--hash-func`), e.g. `{ hashFunc: 'SHA256', value: '<hex>' }`. */
  hash?: { hashFunc: string; value: string };
}

/** Thanos's `thanos` section of meta.json (pkg/block/metadata), with Thanos's exact key names. */
export interface ThanosMeta {
  /** Thanos section version; 1 when absent. */
  version?: number;
  /** External labels of the producer (and tenant). */
  labels: Record<string, string>;
  /** Resolution in ms: 0 raw, 300000 (5m), 3600000 (1h). */
  downsample: { resolution: number };
  /** Which component uploaded it: sidecar, receive, compactor, ruler, bucket.*, test, or ''. */
  source: string;
  /** Deprecated list of chunk segment file names. */
  segment_files?: string[];
  /** All files of the block, sorted by rel_path. */
  files?: ThanosFile[];
  rewrites?: unknown[];
  index_stats?: { series_max_size?: number; chunk_max_size?: number };
  extensions?: unknown;
  upload_time?: string;
}

/**
 * A block's meta.json: Prometheus's BlockMeta (tsdb/block.go) plus the optional `thanos` section
 * Thanos adds. Times are ms since the epoch; maxTime is exclusive as in Prometheus.
 */
export interface BlockMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats: BlockStats;
  compaction: BlockMetaCompaction;
  /** Meta format version; always 1. */
  version: 1;
  thanos?: ThanosMeta;
}

/**
 * Parses meta.json text. Throws CorruptionError naming `fileName` when the text is not JSON or a
 * field has the wrong type, like Thanos's metadata.Read (version must be 1, thanos version 1).
 */
export function parseBlockMeta(text: string, fileName = META_FILENAME): BlockMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const m = /position (\d+)/.exec((err as Error).message);
    throw new CorruptionError(fileName, m ? Number(m[1]) : 0, `invalid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const bad = (detail: string): never => {
    throw new CorruptionError(fileName, 0, detail);
  };
  if (!isObject(raw)) return bad('meta.json is not a JSON object');
  const ulid = raw.ulid;
  if (typeof ulid !== 'string' || !isULID(ulid)) bad(`invalid ulid ${JSON.stringify(ulid)}`);
  const minTime = int(raw.minTime, 'minTime', bad);
  const maxTime = int(raw.maxTime, 'maxTime', bad);
  if (raw.version !== 1) bad(`unexpected meta file version ${JSON.stringify(raw.version)}`);
  const stats: BlockStats = {};
  if (raw.stats !== undefined && raw.stats !== null) {
    if (!isObject(raw.stats)) bad('stats is not an object');
    const s = raw.stats as Record<string, unknown>;
    for (const k of STAT_KEYS) {
      if (s[k] !== undefined) stats[k] = int(s[k], `stats.${k}`, bad);
    }
  }
  if (!isObject(raw.compaction)) bad('compaction is missing or not an object');
  const c = raw.compaction as Record<string, unknown>;
  const compaction: BlockMetaCompaction = { level: int(c.level, 'compaction.level', bad) };
  if (c.sources != null) compaction.sources = ulidList(c.sources, 'compaction.sources', bad);
  if (c.deletable != null) compaction.deletable = c.deletable === true;
  if (c.parents != null) {
    if (!Array.isArray(c.parents)) bad('compaction.parents is not an array');
    compaction.parents = (c.parents as unknown[]).map((p, i) => {
      if (!isObject(p)) return bad(`compaction.parents[${i}] is not an object`);
      const pu = p.ulid;
      if (typeof pu !== 'string' || !isULID(pu)) bad(`compaction.parents[${i}].ulid invalid`);
      return {
        ulid: (pu as string).toUpperCase(),
        minTime: int(p.minTime, `compaction.parents[${i}].minTime`, bad),
        maxTime: int(p.maxTime, `compaction.parents[${i}].maxTime`, bad),
      };
    });
  }
  if (c.failed != null) compaction.failed = c.failed === true;
  if (c.hints != null) {
    if (!Array.isArray(c.hints) || !c.hints.every((h) => typeof h === 'string')) bad('compaction.hints invalid');
    compaction.hints = c.hints as string[];
  }
  const meta: BlockMeta = {
    ulid: (ulid as string).toUpperCase(),
    minTime,
    maxTime,
    stats,
    compaction,
    version: 1,
  };
  if (raw.thanos != null) meta.thanos = parseThanos(raw.thanos, bad);
  return meta;
}

const STAT_KEYS = [
  'numSamples',
  'numFloatSamples',
  'numHistogramSamples',
  'numSeries',
  'numChunks',
  'numTombstones',
] as const;

function parseThanos(v: unknown, bad: (d: string) => never): ThanosMeta {
  if (!isObject(v)) return bad('thanos is not an object');
  const version = v.version == null ? undefined : int(v.version, 'thanos.version', bad);
  if (version !== undefined && version !== 0 && version !== 1) bad(`unexpected Thanos section version ${version}`);
  const labels: Record<string, string> = {};
  if (v.labels != null) {
    if (!isObject(v.labels)) bad('thanos.labels is not an object');
    for (const [k, lv] of Object.entries(v.labels)) {
      if (typeof lv !== 'string') bad(`thanos.labels.${k} is not a string`);
      labels[k] = lv as string;
    }
  }
  let resolution = 0;
  if (v.downsample != null) {
    if (!isObject(v.downsample)) bad('thanos.downsample is not an object');
    const r = (v.downsample as Record<string, unknown>).resolution;
    resolution = r == null ? 0 : int(r, 'thanos.downsample.resolution', bad);
  }
  if (v.source != null && typeof v.source !== 'string') bad('thanos.source is not a string');
  const t: ThanosMeta = { labels, downsample: { resolution }, source: (v.source as string | undefined) ?? '' };
  if (version !== undefined) t.version = version;
  if (v.segment_files != null) {
    if (!Array.isArray(v.segment_files) || !v.segment_files.every((s) => typeof s === 'string')) {
      bad('thanos.segment_files invalid');
    }
    t.segment_files = v.segment_files as string[];
  }
  if (v.files != null) {
    if (!Array.isArray(v.files)) bad('thanos.files is not an array');
    t.files = (v.files as unknown[]).map((f, i) => {
      if (!isObject(f) || typeof f.rel_path !== 'string') return bad(`thanos.files[${i}] invalid`);
      const file: ThanosFile = { rel_path: f.rel_path };
      if (f.size_bytes != null) file.size_bytes = int(f.size_bytes, `thanos.files[${i}].size_bytes`, bad);
      if (isObject(f.hash)) file.hash = f.hash as { hashFunc: string; value: string };
      return file;
    });
  }
  if (v.rewrites != null) t.rewrites = v.rewrites as unknown[];
  if (v.index_stats != null) {
    if (!isObject(v.index_stats)) bad('thanos.index_stats is not an object');
    const is = v.index_stats as Record<string, unknown>;
    t.index_stats = {};
    if (is.series_max_size != null) t.index_stats.series_max_size = int(is.series_max_size, 'series_max_size', bad);
    if (is.chunk_max_size != null) t.index_stats.chunk_max_size = int(is.chunk_max_size, 'chunk_max_size', bad);
  }
  if (v.extensions != null) t.extensions = v.extensions;
  if (typeof v.upload_time === 'string') t.upload_time = v.upload_time;
  return t;
}

/**
 * Serializes meta the way Go's encoding/json writes it with tab indentation: struct field order,
 * zero stats omitted, map keys sorted, `<`, `>` and `&` escaped. A meta with a `thanos` section
 * ends in a newline (Thanos uses json.Encoder); a plain Prometheus meta does not (MarshalIndent).
 */
export function serializeBlockMeta(meta: BlockMeta): string {
  const stats: Record<string, number> = {};
  for (const k of STAT_KEYS) {
    const v = meta.stats[k];
    if (v) stats[k] = v;
  }
  const c = meta.compaction;
  const compaction: Record<string, unknown> = { level: c.level };
  if (c.sources?.length) compaction.sources = c.sources;
  if (c.deletable) compaction.deletable = true;
  if (c.parents?.length) {
    compaction.parents = c.parents.map((p) => ({ ulid: p.ulid, minTime: p.minTime, maxTime: p.maxTime }));
  }
  if (c.failed) compaction.failed = true;
  if (c.hints?.length) compaction.hints = c.hints;
  const out: Record<string, unknown> = {
    ulid: meta.ulid,
    minTime: meta.minTime,
    maxTime: meta.maxTime,
    stats,
    compaction,
    version: 1,
  };
  if (meta.thanos) {
    const t = meta.thanos;
    const th: Record<string, unknown> = {};
    if (t.version) th.version = t.version;
    const labels: Record<string, string> = {};
    for (const k of Object.keys(t.labels).sort()) labels[k] = t.labels[k] as string;
    th.labels = labels;
    th.downsample = { resolution: t.downsample.resolution };
    th.source = t.source;
    if (t.segment_files?.length) th.segment_files = t.segment_files;
    if (t.files?.length) {
      th.files = t.files.map((f) => {
        const o: Record<string, unknown> = { rel_path: f.rel_path };
        if (f.size_bytes) o.size_bytes = f.size_bytes;
        if (f.hash) o.hash = f.hash;
        return o;
      });
    }
    if (t.rewrites?.length) th.rewrites = t.rewrites;
    const is: Record<string, number> = {};
    if (t.index_stats?.series_max_size) is.series_max_size = t.index_stats.series_max_size;
    if (t.index_stats?.chunk_max_size) is.chunk_max_size = t.index_stats.chunk_max_size;
    th.index_stats = is;
    if (t.extensions != null) th.extensions = t.extensions;
    if (t.upload_time) th.upload_time = t.upload_time;
    out.thanos = th;
  }
  // JSON.stringify writes `{}` for empty objects exactly like Go's MarshalIndent.
  const text = JSON.stringify(out, null, '\t').replace(/[<>&\u2028\u2029]/g, goEscape);
  return meta.thanos ? `${text}\n` : text;
}

function goEscape(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Reads and parses `<dir>/meta.json`; a missing file is a CorruptionError naming the path. */
export async function readBlockMeta(dir: string): Promise<BlockMeta> {
  const path = join(dir, META_FILENAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CorruptionError(path, 0, 'meta.json does not exist', { cause: err });
    }
    throw err;
  }
  return parseBlockMeta(text, path);
}

/**
 * Writes `<dir>/meta.json` atomically: to meta.json.tmp, fsync, rename, fsync the directory, as
 * Prometheus and Thanos do, so readers never see a half-written file.
 */
export async function writeBlockMeta(dir: string, meta: BlockMeta): Promise<number> {
  const path = join(dir, META_FILENAME);
  const tmp = `${path}.tmp`;
  const data = Buffer.from(serializeBlockMeta(meta), 'utf8');
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
  return data.length;
}

/** fsyncs a directory so a rename inside it survives a crash (best effort where unsupported). */
export async function syncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    await fh?.close();
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(v: unknown, field: string, bad: (d: string) => never): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) return bad(`${field} is not an integer: ${JSON.stringify(v)}`);
  return v;
}

function ulidList(v: unknown, field: string, bad: (d: string) => never): string[] {
  if (!Array.isArray(v)) return bad(`${field} is not an array`);
  return v.map((u, i) => {
    if (typeof u !== 'string' || !isULID(u)) return bad(`${field}[${i}] is not a ULID`);
    return u.toUpperCase();
  });
}
